"""`nexus list`, `nexus status`, `nexus cancel`, `nexus open`: the real CLI against the real catalog."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest

from nexus_assets.definitions import make_video_job
from nexus_assets.partitions import VIDEOS_PARTITION
from nexus_cli.instance import project_file
from nexus_cli.main import main
from nexus_core.catalog import Catalog, VideoRecord
from nexus_core.models import VideoRequest, VideoStatus
from nexus_core.settings import NexusSettings

pytestmark = pytest.mark.slow


def _queued_video(settings: NexusSettings) -> str:
    video_id = f"q{uuid.uuid4().hex[:12]}"
    request = VideoRequest(prompt="Tides on a rocky shore", duration_seconds=5, resolution="360p")
    Catalog(settings.catalog_url).create_video(video_id=video_id, request=request, user_id="alice")
    dg.DagsterInstance.get().add_dynamic_partitions(VIDEOS_PARTITION, [video_id])
    return video_id


def test_list_prints_stable_tab_separated_columns_when_piped(
    nexus_settings: NexusSettings, hd_video: VideoRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--status", "completed"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line.split("\t") for line in lines if line.startswith(hd_video.video_id))
    assert len(row) == 7 and row[1] == "COMPLETED" and row[5] == "8.00"
    assert all(line.split("\t")[1] == "COMPLETED" for line in lines)
    assert main(["list", "--limit", "-1"]) == 2


def test_status_says_where_a_video_is_and_refuses_unknown_ids(
    hd_video: VideoRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", hd_video.video_id]) == 0
    fields = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert fields["status"] == "COMPLETED" and fields["id"] == hd_video.video_id
    assert "renditions" in fields["seconds"] and fields["title"] != "-"
    assert main(["status", hd_video.video_id, "--json"]) == 0
    assert f'"video_id": "{hd_video.video_id}"' in capsys.readouterr().out
    assert main(["status", "nosuchvideo"]) == 2
    err = capsys.readouterr().err
    assert "no video 'nosuchvideo' in the catalog" in err and "nexus list" in err and "Traceback" not in err


def test_open_prints_one_existing_path_per_line(hd_video: VideoRecord, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["open", hd_video.video_id]) == 0
    paths = [Path(line) for line in capsys.readouterr().out.splitlines()]
    assert paths[0].name == "video.mp4"
    assert {p.suffix for p in paths} >= {".mp4", ".srt", ".vtt", ".jpg", ".txt"}
    assert all(p.is_file() for p in paths)
    assert main(["open", "nosuchvideo"]) == 2


def test_cancel_stops_a_queued_video_and_its_run(
    nexus_settings: NexusSettings, hd_video: VideoRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    video_id = _queued_video(nexus_settings)
    instance = dg.DagsterInstance.get()
    run = instance.create_run_for_job(make_video_job(), tags={"dagster/partition": video_id})  # not started yet
    assert main(["cancel", video_id]) == 0
    assert f"video {video_id}: CANCELLED" in capsys.readouterr().out
    assert Catalog(nexus_settings.catalog_url).require(video_id).status is VideoStatus.CANCELLED
    assert instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.CANCELED
    assert main(["cancel", video_id]) == 1
    assert "only a QUEUED or PROCESSING video can be cancelled" in capsys.readouterr().err
    assert main(["open", video_id]) == 1
    assert main(["cancel", hd_video.video_id]) == 1
    assert main(["cancel", "nosuchvideo"]) == 2


def test_list_is_a_table_in_a_terminal(hd_video: VideoRecord) -> None:
    """Run `nexus list` in a pseudo-terminal, as a person would see it."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "nexus_cli.main", "list"], stdout=follower, stderr=follower,
                            stdin=subprocess.DEVNULL, cwd=project_file("workspace.yaml").parent,
                            env={**os.environ, "COLUMNS": "160", "TERM": "xterm"})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=60) == 0
    os.close(leader)
    out = b"".join(chunks).decode(errors="replace")
    assert "status" in out and "created at" in out and hd_video.video_id in out
    assert "\t" not in out
