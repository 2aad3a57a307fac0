"""Headless Chromium for the browser tests: Debian's chromium driven by Playwright (scripts/test-extras.sh
installs both), and the folder each test keeps its screenshots in."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium (a Playwright Browser); the test is skipped where either is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is installed by scripts/test-extras.sh")
    if not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium at /usr/bin/chromium: scripts/test-extras.sh installs Debian's chromium")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshots(name: str) -> Path:
    """$NEXUS_TEST_ARTIFACTS/<name> (default tests/.artifacts/<name>), emptied of earlier screenshots."""
    folder = Path(os.environ.get("NEXUS_TEST_ARTIFACTS") or REPO / "tests" / ".artifacts") / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder
