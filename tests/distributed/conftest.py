"""The distributed test runs only when asked (`make test-distributed`, which builds the image first).

It needs buildah and the image `nexus-video:dev` (NEXUS_TEST_IMAGE), and takes a few minutes: the
default `make test` and CI skip it with the reason (see the report in docs/deployment.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

IMAGE = os.environ.get("NEXUS_TEST_IMAGE", "nexus-video:dev")
OPT_IN = "NEXUS_TEST_DISTRIBUTED"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "distributed: each step in its own container (make test-distributed)")


def image_missing_reason() -> str | None:
    """Why the image cannot be used here, or None when buildah has it."""
    if shutil.which("buildah") is None:
        return "buildah is not installed (make image installs it)"
    proc = subprocess.run(["buildah", "inspect", "--type", "image", IMAGE], capture_output=True, text=True,
                          timeout=60, check=False)
    return None if proc.returncode == 0 else f"image {IMAGE} not built (make image)"


@pytest.fixture(scope="session")
def container_image() -> str:
    """The image name; skips unless opted in, fails when opted in and the image is missing."""
    if os.environ.get(OPT_IN) != "1":
        pytest.skip(f"each step in its own container: run `make test-distributed` ({OPT_IN}=1)")
    reason = image_missing_reason()
    if reason:
        pytest.fail(reason, pytrace=False)
    return IMAGE
