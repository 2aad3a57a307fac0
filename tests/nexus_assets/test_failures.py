"""Failures mark the video FAILED with the reason, stop downstream work, and publish nothing."""

from __future__ import annotations

import uuid

import dagster as dg
import pytest

from nexus_assets.definitions import build_definitions
from nexus_assets.partitions import VIDEOS_PARTITION
from nexus_core import storage_keys as keys
from nexus_core.catalog import Catalog
from nexus_core.models import Made, Scenario, Scene, VideoRequest, VideoStatus
from nexus_core.settings import NexusSettings
from resources import resources_for
from resources.script_writer import ScriptWriter
from resources.storage import LocalObjectStore

pytestmark = pytest.mark.slow


class WrongLengthScriptWriter(ScriptWriter):
    """A writer (as an LLM might be) whose scenes do not add up to the requested duration."""

    def write(self, request: VideoRequest, *, video_id: str) -> Made[Scenario]:
        scene = Scene(scene_number=1, duration_seconds=request.duration_seconds + 4, description="A field",
                      visual_elements=["grass"], dialogue="Hello there.", camera_angle="wide", lighting="soft")
        return Made(Scenario(title="Too long", scenes=[scene]), "wrong-length")


def _new_video(settings: NexusSettings, **overrides: object) -> str:
    video_id = f"t{uuid.uuid4().hex[:12]}"
    request = VideoRequest(prompt="Autumn leaves in a quiet park", duration_seconds=5, resolution="360p",
                           frame_rate=24, music_style="none", **overrides)
    Catalog(settings.catalog_url).create_video(video_id=video_id, request=request)
    dg.DagsterInstance.get().add_dynamic_partitions(VIDEOS_PARTITION, [video_id])
    return video_id


def _materialize(settings: NexusSettings, video_id: str, selection: list[str], **resources: object):
    defs = build_definitions(settings)
    assets = list(defs.assets or [])
    return dg.materialize(
        assets, selection=selection, partition_key=video_id, instance=dg.DagsterInstance.get(),
        resources={**resources_for("local", settings), **resources}, raise_on_error=False,
    )


def test_bad_scenario_fails_the_blocking_check_and_stops_downstream(nexus_settings: NexusSettings) -> None:
    video_id = _new_video(nexus_settings)
    result = _materialize(nexus_settings, video_id, ["scenario", "scene_images"],
                          script_writer=WrongLengthScriptWriter())
    assert not result.success
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [False]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "scene_images" not in materialized
    record = Catalog(nexus_settings.catalog_url).require(video_id)
    assert record.status is VideoStatus.FAILED
    assert "scenario check failed" in (record.error or "")
    assert "sum" in (record.error or "") or "duration" in (record.error or "")


def test_corrupt_stored_image_fails_compositing_and_publishes_nothing(nexus_settings: NexusSettings) -> None:
    video_id = _new_video(nexus_settings)
    assert _materialize(nexus_settings, video_id, ["scenario", "scene_images", "voiceover"]).success
    store = LocalObjectStore(root=str(nexus_settings.object_store_root))
    store.put_bytes(keys.scene_image(video_id, 1), b"not a png")
    result = _materialize(nexus_settings, video_id, ["composited_scenes"])
    assert not result.success
    record = Catalog(nexus_settings.catalog_url).require(video_id)
    assert record.status is VideoStatus.FAILED
    assert record.error and record.error.startswith("composited_scenes:")
    assert record.phase == "compositing"
    assert not store.exists(keys.published(video_id, "video.mp4"))


def test_missing_upstream_names_the_phase_to_run_first(nexus_settings: NexusSettings) -> None:
    video_id = _new_video(nexus_settings)
    result = _materialize(nexus_settings, video_id, ["master"])
    assert not result.success
    record = Catalog(nexus_settings.catalog_url).require(video_id)
    assert record.status is VideoStatus.FAILED
    assert "materialize" in (record.error or "")


def test_cancelled_video_is_not_processed(nexus_settings: NexusSettings) -> None:
    video_id = _new_video(nexus_settings)
    catalog = Catalog(nexus_settings.catalog_url)
    catalog.mark_cancelled(video_id)
    result = _materialize(nexus_settings, video_id, ["scenario"])
    assert not result.success
    assert catalog.require(video_id).status is VideoStatus.CANCELLED
    store = LocalObjectStore(root=str(nexus_settings.object_store_root))
    assert not store.exists(keys.scenario(video_id))
