"""Re-materializing one asset of a finished video from the Dagster UI, by clicking, in a real browser.

`nexus ui` (dagster dev: webserver, daemon, code server) runs on a loopback port against a Nexus home of
this module's own; a 5 s 360p video is made with the real pipeline while it starts. Headless Chromium
(Debian's, driven by Playwright) then does what an operator does: open the asset `renditions`, click
Materialize, pick the video's partition, launch one run, follow it to Success. The catalog must say
COMPLETED afterwards, with the re-made phase in its latest remake, and the rendition file is new.
The selectors are the texts and roles of the UI of dagster-webserver 1.13.27 (the pyproject pin).

The home is separate from the session's (tests/conftest.py) because the daemon leaves its heartbeats in
the instance, and `nexus backfill --wait` tests expect none there. Screenshots of each step go to
$NEXUS_TEST_ARTIFACTS/ui (default tests/.artifacts/ui)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from nexus_cli.instance import prepare_instance
from nexus_core.catalog import Catalog, VideoRecord
from nexus_core.models import VideoStatus
from nexus_core.run_tags import SOURCE_TAG, USER_TAG
from nexus_core.settings import NexusSettings
from tests.browser import chromium, screenshots

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
UI_START_S = 180.0  # dagster dev loads the code location in two processes: ~30 s on a busy 2-core machine
UI_WAIT_MS = 30_000  # a page, a dialog, a toast (Playwright's expect waits 5 s unless told)
RUN_DONE_MS = 180_000
NUX_KEY = "communityNux"  # dagster-webserver's localStorage key for "the community modal was dismissed"
TERMINAL = re.compile(r"^(Success|Failure|Canceled)$")


@dataclass
class NexusUi:
    """`nexus ui` as a person starts it, and the dagster dev process group it starts."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def wait_ready(self, timeout_s: float = UI_START_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"nexus ui exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        pytest.fail(f"the Dagster UI did not answer within {timeout_s:.0f} s:\n{self.log_tail()}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    """The processes whose parent is pid (from /proc: no psutil dependency)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _stop(ui: NexusUi) -> None:
    """Kill dagster dev's process group (its own session, made by `nexus ui`), then `nexus ui` itself.

    `nexus ui` is frozen first, so that it cannot start dagster dev after we looked (a test that fails
    early stops it while it is still starting). A SIGTERM would take ~16 s here, and the code server
    respawns its gRPC children meanwhile; this home is thrown away, so SIGKILL at once."""
    if ui.proc.poll() is None:
        os.kill(ui.proc.pid, signal.SIGSTOP)
    for child in _children(ui.proc.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            group = os.getpgid(child)
            os.kill(child, signal.SIGKILL)
            if group != os.getpgrp():
                os.killpg(group, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(ui.proc.pid, signal.SIGKILL)  # `nexus ui` leads a session of its own (start_new_session)
    ui.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def ui_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NexusSettings]:
    """A Nexus home (catalog, object store, Dagster instance) for this module only."""
    home = tmp_path_factory.mktemp("ui-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEXUS_HOME", str(home))
        env.setenv("DAGSTER_HOME", str(home / "dagster"))
        env.delenv("NEXUS_DATABASE_URL", raising=False)
        env.delenv("NEXUS_STORE_ROOT", raising=False)
        settings = NexusSettings()
        prepare_instance(settings)
        yield settings


@pytest.fixture(scope="module")
def nexus_ui(ui_settings: NexusSettings) -> Iterator[NexusUi]:
    """`nexus ui --port P`, started and not yet waited for: it boots while the video is made."""
    port = _free_port()
    log = ui_settings.resolved_home / "nexus-ui.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "nexus"), "ui", "--port", str(port)],
            cwd=REPO, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    ui = NexusUi(proc=proc, url=f"http://127.0.0.1:{port}", log=log)
    try:
        yield ui
    finally:
        _stop(ui)


@pytest.fixture(scope="module")
def finished_video(ui_settings: NexusSettings, nexus_ui: NexusUi) -> VideoRecord:
    """A finished 5 s 360p video, made by `nexus generate` while the UI starts.

    In its own process: an in-process run would start its steps from the multiprocessing forkserver that
    an earlier test of the session started, with that test's NEXUS_HOME in its environment."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "nexus"), "generate", "A short tour of the solar system, from the Sun to "
         "Neptune", "--duration", "5", "--resolution", "360p", "--fps", "24", "--quality", "STANDARD"],
        cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    catalog = Catalog(ui_settings.catalog_url)
    (record,) = catalog.list_videos()
    catalog.close()
    assert record.status is VideoStatus.COMPLETED
    return record


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def shots() -> Path:
    return screenshots("ui")


def test_rematerializing_renditions_from_the_ui_keeps_the_video_completed(
    browser: Any, shots: Path, finished_video: VideoRecord, nexus_ui: NexusUi, ui_settings: NexusSettings
) -> None:
    from playwright.sync_api import expect

    video_id = finished_video.video_id
    catalog = Catalog(ui_settings.catalog_url)
    before = catalog.require(video_id)
    rendition = ui_settings.object_store_root / "videos" / video_id / "encoding" / "h264.mp4"
    rendition_time = rendition.stat().st_mtime_ns
    nexus_ui.wait_ready()

    context = browser.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    # On a loopback origin the UI greets a new browser with a "Join the Dagster community" modal, one second
    # after its `shouldShowNux` query answers: it can open over a dropdown and swallow the click meant for
    # it. The UI skips it when localStorage already says `communityNux` (what its Skip button writes); the
    # handler stays for a UI version that changes the key.
    page.add_init_script(f"window.localStorage.setItem({NUX_KEY!r}, JSON.stringify('1'))")
    page.add_locator_handler(page.get_by_role("button", name="Skip", exact=True), lambda skip: skip.click())
    try:
        # 1. the asset's page
        page.goto(f"{nexus_ui.url}/assets/renditions")
        materialize = page.get_by_role("button", name="Materialize…")
        expect(materialize).to_be_enabled(timeout=UI_WAIT_MS)
        expect(page.get_by_text("H.264 for every quality")).to_be_visible(timeout=UI_WAIT_MS)  # its description
        page.screenshot(path=shots / "01-asset-renditions.png")

        # 2. Materialize… opens the launch dialog with its partition selection
        materialize.click()
        dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize renditions")
        expect(dialog).to_be_visible(timeout=UI_WAIT_MS)
        dialog.get_by_text("Select a partition or create one").click()
        page.get_by_placeholder("Filter partitions").fill(video_id)
        page.screenshot(path=shots / "02-partition-list.png")

        # 3. pick the video's partition: one run, not a backfill
        page.get_by_role("menuitem").filter(has_text=video_id).click()
        dialog.get_by_text("Launch runs to materialize renditions").click()  # closes the partition list
        expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible(timeout=UI_WAIT_MS)
        launch = dialog.get_by_role("button", name="Launch 1 run")
        expect(launch).to_be_enabled(timeout=UI_WAIT_MS)
        page.screenshot(path=shots / "03-one-partition-selected.png")

        # 4. launch; the toast links to the run
        launch.click()
        expect(dialog).to_be_hidden(timeout=UI_WAIT_MS)
        toast = page.get_by_text(re.compile(r"^Launched run [0-9a-f]{8}$"))
        expect(toast).to_be_visible(timeout=UI_WAIT_MS)
        view = page.get_by_role("link", name="View", exact=True)
        href = view.get_attribute("href") or ""
        run_id = href.rsplit("/", 1)[-1]
        assert re.fullmatch(r"[0-9a-f-]{36}", run_id), href
        assert toast.inner_text() == f"Launched run {run_id[:8]}"
        page.screenshot(path=shots / "04-run-launched.png")

        # 5. follow the run in the UI until it ends (queued, started by the daemon, then Success)
        view.click()
        expect(page).to_have_url(re.compile(f"/runs/{run_id}"), timeout=UI_WAIT_MS)
        status = page.get_by_text(TERMINAL)
        expect(status).to_be_visible(timeout=RUN_DONE_MS)
        page.screenshot(path=shots / "05-run-finished.png")
        run = dg.DagsterInstance.get().get_run_by_id(run_id)
        assert run is not None
        assert status.inner_text() == "Success", f"run {run_id} ended {run.status}:\n{nexus_ui.log_tail()}"
        expect(page.get_by_text(f"partition: {video_id}")).to_be_visible(timeout=UI_WAIT_MS)

        # 6. back on the asset's page, its latest materialization links to that run
        page.goto(f"{nexus_ui.url}/assets/renditions")
        expect(page.locator(f"a[href^='/runs/{run_id}']").first).to_be_visible(timeout=UI_WAIT_MS)
        page.screenshot(path=shots / "06-asset-after.png")
    except Exception:
        page.screenshot(path=shots / "failed.png")
        print(f"screenshot of the failure: {shots / 'failed.png'}; nexus ui's log ends:\n{nexus_ui.log_tail()}")
        raise
    finally:
        context.close()

    # the run is the one the UI launched, for that partition, tagged as a UI run of the video's owner
    assert run.is_success and run.tags["dagster/partition"] == video_id
    assert run.tags.get("dagster/from_ui") == "true"
    assert (run.tags[USER_TAG], run.tags[SOURCE_TAG]) == ("local", "ui")
    assert run.asset_selection == {dg.AssetKey("renditions")}
    latest = dg.DagsterInstance.get().get_latest_materialization_event(dg.AssetKey("renditions"))
    assert latest is not None and latest.run_id == run_id

    # the catalog: still COMPLETED, the re-made phase recorded against that run, the rendition new
    after = catalog.require(video_id)
    catalog.close()
    assert (after.status, after.percent, after.error) == (VideoStatus.COMPLETED, 100.0, None)
    assert after.completed_at == before.completed_at
    remake = after.last_remake
    assert remake is not None and remake.run_id == run_id
    assert "encoding" in remake.phases
    assert (remake.phases, remake.assets, remake.error) == (["encoding"], ["renditions"], None)
    assert remake.finished_at is not None and remake.finished_at >= remake.started_at
    assert after.artifacts["video"] == before.artifacts["video"]
    assert rendition.stat().st_mtime_ns > rendition_time
