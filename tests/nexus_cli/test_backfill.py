"""`nexus backfill` submits a real Dagster backfill that the daemon runs: the phase and downstream only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from nexus_cli.backfill import FINAL_BACKFILL_STATES
from nexus_cli.instance import project_file
from nexus_cli.main import main
from nexus_core.catalog import Catalog, VideoRecord
from nexus_core.models import VideoStatus
from nexus_core.settings import NexusSettings

pytestmark = pytest.mark.slow


def test_backfill_rematerializes_the_phase_and_downstream_in_the_daemon(
    nexus_settings: NexusSettings, hd_video: VideoRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = nexus_settings.object_store_root / "videos" / hd_video.video_id
    master, rendition = folder / "rendering" / "master.mp4", folder / "encoding" / "h264.mp4"
    master_time, rendition_time = master.stat().st_mtime_ns, rendition.stat().st_mtime_ns

    assert main(["backfill", "--phase", "encoding", "--status", "COMPLETED", "--video", hd_video.video_id]) == 0
    instance = dg.DagsterInstance.get()
    (backfill,) = [b for b in instance.get_backfills() if b.tags.get("nexus/phase") == "encoding"]
    assert backfill.backfill_id in capsys.readouterr().out
    selected = {k.to_user_string() for k in backfill.asset_selection}
    assert selected == {"renditions", "published_video"}

    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(project_file("workspace.yaml"))],
        cwd=project_file("workspace.yaml").parent, env=dict(os.environ), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            status = instance.get_backfill(backfill.backfill_id).status
            if status in FINAL_BACKFILL_STATES:
                break
            time.sleep(1)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=30)
    assert status.value == "COMPLETED_SUCCESS", _failures(instance, backfill.backfill_id)
    assert rendition.stat().st_mtime_ns > rendition_time
    assert master.stat().st_mtime_ns == master_time
    assert Catalog(nexus_settings.catalog_url).require(hd_video.video_id).status is VideoStatus.COMPLETED


def _failures(instance: dg.DagsterInstance, backfill_id: str) -> list[str]:
    """The step errors of the backfill's failed runs, for the assertion message."""
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    return [
        str(event.dagster_event.event_specific_data)[:800]
        for run in runs
        if run.status is not dg.DagsterRunStatus.SUCCESS
        for event in instance.all_logs(run.run_id)
        if event.dagster_event and event.dagster_event.is_failure
    ]


def test_wait_without_a_daemon_says_so_at_once(
    hd_video: VideoRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    dg.DagsterInstance.get().wipe_daemon_heartbeats()  # no daemon of an earlier test counts as running
    started = time.monotonic()
    assert main(["backfill", "--phase", "finalization", "--video", hd_video.video_id, "--wait"]) == 1
    assert time.monotonic() - started < 30
    out = capsys.readouterr().out
    assert "no Dagster daemon is running" in out and "nexus ui" in out
