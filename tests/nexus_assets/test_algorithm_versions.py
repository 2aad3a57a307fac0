"""A step's code version is part of its reuse hash: the same version reuses the stored clips, a changed one
makes them again (a backfill after a change to motion.py or compositor.py must not keep the old clips)."""

from __future__ import annotations

import uuid

import dagster as dg
import pytest

from nexus_assets.definitions import build_definitions
from nexus_assets.partitions import VIDEOS_PARTITION
from nexus_core import storage_keys as keys
from nexus_core.algorithm_versions import ALGORITHM_VERSIONS
from nexus_core.catalog import Catalog
from nexus_core.models import VideoRequest
from nexus_core.settings import NexusSettings
from resources import resources_for
from resources.pipeline import PipelineConfig

pytestmark = pytest.mark.slow


def _materialize(settings: NexusSettings, video_id: str, selection: list[str], **versions: int) -> dict[str, int]:
    """Run the real steps with the local resources; the `reused` count of each step that reports one."""
    resources = resources_for("local", settings)
    resources["pipeline"] = PipelineConfig(workers=settings.workers, algorithm_versions=versions)
    result = dg.materialize(
        list(build_definitions(settings).assets or []), selection=selection, partition_key=video_id,
        instance=dg.DagsterInstance.get(), resources=resources,
    )
    assert result.success
    return {
        e.asset_key.to_user_string(): int(e.materialization.metadata["reused"].value)  # type: ignore[arg-type]
        for e in result.get_asset_materialization_events() if "reused" in e.materialization.metadata
    }


def test_compositing_reuses_clips_of_the_same_version_and_remakes_them_when_it_changes(
    nexus_settings: NexusSettings,
) -> None:
    video_id = f"t{uuid.uuid4().hex[:12]}"
    request = VideoRequest(prompt="A lighthouse on a windy cape at dusk", duration_seconds=5, resolution="360p",
                           frame_rate=24, music_style="none")
    Catalog(nexus_settings.catalog_url).create_video(video_id=video_id, request=request)
    dg.DagsterInstance.get().add_dynamic_partitions(VIDEOS_PARTITION, [video_id])
    first = _materialize(nexus_settings, video_id, ["scenario", "scene_images", "voiceover", "composited_scenes"])
    assert first["composited_scenes"] == 0
    clip = nexus_settings.object_store_root / keys.scene_clip(video_id, 1)
    made_at = clip.stat().st_mtime_ns

    same = ALGORITHM_VERSIONS["composited_scenes"]
    assert _materialize(nexus_settings, video_id, ["composited_scenes"], composited_scenes=same) == {
        "composited_scenes": len(_clips(nexus_settings, video_id))
    }
    assert clip.stat().st_mtime_ns == made_at

    assert _materialize(nexus_settings, video_id, ["composited_scenes"], composited_scenes=same + 1) == {
        "composited_scenes": 0
    }
    assert clip.stat().st_mtime_ns > made_at
    # the other steps keep their own versions: images and voice are still reused
    assert _materialize(nexus_settings, video_id, ["scene_images", "voiceover"], composited_scenes=same + 1) == {
        "scene_images": len(_clips(nexus_settings, video_id)),
        "voiceover": len(_clips(nexus_settings, video_id)),
    }


def _clips(settings: NexusSettings, video_id: str) -> list[str]:
    return [p.name for p in (settings.object_store_root / "videos" / video_id / "compositing").glob("*.mp4")]
