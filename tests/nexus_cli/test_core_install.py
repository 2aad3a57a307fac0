"""`make demo` installs only the core dependencies: its import path must not need an optional extra."""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ("fastapi", "uvicorn", "openai", "elevenlabs", "boto3", "torch", "diffusers", "dagster_k8s", "kubernetes")


def test_the_demo_path_imports_no_optional_extra() -> None:
    code = (
        "import sys, nexus_cli.main, nexus_cli.generate, nexus_assets.definitions\n"
        "nexus_cli.main.build_parser()\n"
        "nexus_assets.definitions.build_definitions()\n"
        f"print(','.join(m for m in {OPTIONAL!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the demo path imports optional packages: {out.stdout.strip()}"
