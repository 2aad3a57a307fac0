"""Re-materializing part of a finished video keeps the catalog true; a partition that names no video is
refused at the first asset and removed by the maintenance sensor."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest

from nexus_assets.definitions import build_definitions
from nexus_assets.partitions import VIDEOS_PARTITION
from nexus_cli.instance import project_file
from nexus_core.catalog import Catalog, VideoRecord
from nexus_core.models import VideoStatus
from nexus_core.run_tags import PROMPT_TAG, SOURCE_TAG, TITLE_TAG, USER_TAG
from nexus_core.settings import NexusSettings
from resources import resources_for
from resources.catalog import CatalogResource
from sensors.maintenance import build_unknown_partition_sensor, plan_unknown_partitions

pytestmark = pytest.mark.slow


def test_rematerializing_renditions_of_a_finished_video_leaves_it_completed(
    nexus_settings: NexusSettings, hd_video: VideoRecord
) -> None:
    catalog = Catalog(nexus_settings.catalog_url)
    before = catalog.require(hd_video.video_id)
    assert before.status is VideoStatus.COMPLETED
    rendition = nexus_settings.object_store_root / "videos" / hd_video.video_id / "encoding" / "h264.mp4"
    rendition_time = rendition.stat().st_mtime_ns
    # exactly what an operator types (README): the dagster CLI, in its own process, against the instance
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "nexus_assets.definitions",
         "--select", "renditions", "--partition", hd_video.video_id],
        cwd=project_file("workspace.yaml").parent, env=dict(os.environ), capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    after = catalog.require(hd_video.video_id)
    assert (after.status, after.percent, after.error) == (VideoStatus.COMPLETED, 100.0, None)
    assert after.completed_at == before.completed_at
    remake = after.last_remake
    assert remake is not None and remake.run_id == after.dagster_run_id
    assert (remake.phases, remake.assets, remake.error) == (["encoding"], ["renditions"], None)
    assert remake.finished_at is not None and remake.finished_at >= remake.started_at
    assert after.artifacts["rendition_h264"] == f"videos/{hd_video.video_id}/encoding/h264.mp4"
    assert after.artifacts["video"] == before.artifacts["video"]
    assert after.updated_at > before.updated_at and "renditions" in after.phase_seconds
    assert rendition.stat().st_mtime_ns > rendition_time
    # the run launched by hand carries the video's owner, its source and what it is about
    run = dg.DagsterInstance.get().get_run_by_id(remake.run_id or "")
    assert run is not None
    assert (run.tags[USER_TAG], run.tags[SOURCE_TAG]) == ("local", "ui")
    assert run.tags[PROMPT_TAG].startswith("A short tour of the solar system")
    assert run.tags[TITLE_TAG] == after.title and after.title
    catalog.close()


def test_generated_runs_are_tagged_with_user_source_prompt_and_title(hd_video: VideoRecord) -> None:
    instance = dg.DagsterInstance.get()
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": hd_video.video_id, SOURCE_TAG: "cli"}))
    assert runs
    tags = runs[-1].tags  # the first run: `nexus generate`
    assert tags[USER_TAG] == "local" and tags[PROMPT_TAG].endswith("…")
    assert len(tags[PROMPT_TAG].split()) == 8
    assert tags[TITLE_TAG]
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("published_video"), asset_partitions=[hd_video.video_id]),
        limit=1, ascending=False,
    ).records
    assert records and records[0].asset_materialization is not None
    metadata = records[0].asset_materialization.metadata
    assert "![" in metadata["preview"].value and "poster.jpg" in metadata["preview"].value
    assert metadata["prompt"].value.startswith("A short tour")


def test_a_partition_that_names_no_video_fails_at_the_first_asset_and_is_removed(
    nexus_settings: NexusSettings, hd_video: VideoRecord
) -> None:
    instance = dg.DagsterInstance.get()
    junk = f"junk{uuid.uuid4().hex[:8]}"
    instance.add_dynamic_partitions(VIDEOS_PARTITION, [junk])  # as the UI's "Add partition" does
    result = dg.materialize(
        list(build_definitions(nexus_settings).assets or []), selection=["scenario", "scene_images"],
        partition_key=junk, instance=instance, resources=resources_for("local", nexus_settings),
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "scenario"
    message = failure.step_failure_data.user_failure_data.description or ""
    assert "is not a video in the catalog" in message and junk in message
    catalog = Catalog(nexus_settings.catalog_url)
    assert catalog.get(junk) is None

    # the sensor keeps it through its grace period, then removes it, and only it
    # (the session's instance also holds other tests' videos, recorded in their own catalogs)
    partitions = [p for p in instance.get_dynamic_partitions(VIDEOS_PARTITION) if p in (junk, hd_video.video_id)]
    expired, cursor = plan_unknown_partitions(catalog, partitions, None, now=1000.0, grace_s=600)
    assert expired == []
    expired, _ = plan_unknown_partitions(catalog, partitions, cursor, now=1599.0, grace_s=600)
    assert expired == []
    expired, _ = plan_unknown_partitions(catalog, partitions, cursor, now=1600.0, grace_s=600)
    assert expired == [junk]

    sensor = build_unknown_partition_sensor(grace_s=0)
    context = dg.build_sensor_context(instance=instance, resources={
        "catalog": CatalogResource(url=nexus_settings.catalog_url)})
    tick = sensor(context)
    assert isinstance(tick, dg.SensorResult)
    (delete,) = tick.dynamic_partitions_requests or []
    assert junk in (delete.partition_keys or []) and hd_video.video_id not in (delete.partition_keys or [])
    instance.delete_dynamic_partition(VIDEOS_PARTITION, junk)
    assert hd_video.video_id in instance.get_dynamic_partitions(VIDEOS_PARTITION)
    catalog.close()
