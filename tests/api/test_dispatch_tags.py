"""The API's local dispatcher starts runs tagged with the video's owner and source api."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from api.dispatch import SubprocessDispatcher
from nexus_core.catalog import Catalog
from nexus_core.models import VideoRequest, VideoStatus
from nexus_core.run_tags import PROMPT_TAG, SOURCE_TAG, TITLE_TAG, USER_TAG
from nexus_core.settings import NexusSettings

pytestmark = pytest.mark.slow


def test_subprocess_dispatch_tags_the_run_with_owner_and_source(nexus_settings: NexusSettings, tmp_path: Path) -> None:
    video_id = f"d{uuid.uuid4().hex[:12]}"
    request = VideoRequest(prompt="Lanterns drifting on a calm river at night", duration_seconds=5,
                           resolution="360p", frame_rate=24, music_style="none", caption_style="none")
    catalog = Catalog(nexus_settings.catalog_url)
    catalog.create_video(video_id=video_id, request=request, user_id="alice")
    dispatcher = SubprocessDispatcher(run_dir=tmp_path, env=dict(os.environ))
    dispatcher.dispatch(video_id)
    deadline, done = time.monotonic() + 240, []
    while time.monotonic() < deadline and not done:
        done = [code for vid, code in dispatcher.finished() if vid == video_id]
        time.sleep(0.5)
    assert done == [0], (tmp_path / f"{video_id}.log").read_text()[-3000:]
    assert catalog.require(video_id).status is VideoStatus.COMPLETED
    (run,) = dg.DagsterInstance.get().get_runs(dg.RunsFilter(tags={"dagster/partition": video_id}))
    assert (run.tags[USER_TAG], run.tags[SOURCE_TAG]) == ("alice", "api")
    assert run.tags[PROMPT_TAG] == "Lanterns drifting on a calm river at night"
    assert run.tags[TITLE_TAG] == catalog.require(video_id).title
    catalog.close()
