"""End to end on PostgreSQL: Dagster's runs, event log and schedules (deploy/dagster.postgres.yaml) and the
video catalog on one PostgreSQL server; a real 5 s video is made and probed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from sqlalchemy import create_engine, text

from nexus_cli.generate import submit_video
from nexus_core.catalog import Catalog
from nexus_core.media.probe import probe
from nexus_core.models import Aspect, MusicStyle, Quality, Resolution, VideoRequest, VideoStatus
from resources.storage import LocalObjectStore

# The catalog tests' PostgreSQL: NEXUS_TEST_POSTGRES_URL, else the server scripts/services.sh starts.
from tests.nexus_core.catalog.conftest import PostgresDatabases, postgres_server_url  # noqa: F401

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
INSTANCE_YAML = REPO / "deploy" / "dagster.postgres.yaml"
ASSETS = {"scenario", "scene_images", "voiceover", "music_bed", "composited_scenes", "master", "renditions",
          "published_video"}


@dataclass(frozen=True)
class PostgresVideo:
    """One video made with both stores on PostgreSQL, and where to look."""

    instance: dg.DagsterInstance
    dagster_url: str
    catalog_url: str
    store: LocalObjectStore
    video_id: str
    run_id: str
    run_output: str


def _row(url: str, sql: str, **params: object) -> tuple[object, ...]:
    """The one row a query returns, read straight from the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text(sql), params).one())
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def postgres_video(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresVideo]:  # noqa: F811
    """Make one 5 s 360p video, Dagster and catalog each in a fresh database on the test server."""
    databases = PostgresDatabases(postgres_server_url, "nexus_pg_pipeline")
    home = tmp_path_factory.mktemp("nexus-pg-home")
    (home / "dagster").mkdir()
    shutil.copyfile(INSTANCE_YAML, home / "dagster" / "dagster.yaml")
    dagster_url, catalog_url = databases.create(), databases.create()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(home / "dagster"))
        env.setenv("NEXUS_DAGSTER_PG_URL", dagster_url)
        env.setenv("NEXUS_HOME", str(home))
        env.setenv("NEXUS_DATABASE_URL", catalog_url)
        env.delenv("NEXUS_STORE_ROOT", raising=False)
        env.setenv("NEXUS_ENVIRONMENT", "local")
        instance = dg.DagsterInstance.get()
        request = VideoRequest(
            prompt="Lighthouses of the Atlantic coast", duration_seconds=5, resolution=Resolution.P360,
            aspect=Aspect.LANDSCAPE, frame_rate=24, quality=Quality.STANDARD, music_style=MusicStyle.NONE,
        )
        with Catalog(catalog_url) as catalog:
            video_id = submit_video(instance, catalog, request)
        try:
            # In its own process, as the API's hand-off runs it: one process, one set of resources.
            proc = subprocess.run([sys.executable, "-m", "nexus_cli.main", "run-video", video_id],
                                  env=dict(os.environ), capture_output=True, text=True, timeout=300, check=False)
            records = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": video_id}))
            run_id = records[0].dagster_run.run_id if records else ""
            yield PostgresVideo(instance, dagster_url, catalog_url, LocalObjectStore(root=str(home / "store")),
                                video_id, run_id, proc.stdout + proc.stderr)
        finally:
            instance.dispose()
            databases.drop_all()


def test_instance_keeps_runs_events_and_schedules_in_postgres(postgres_video: PostgresVideo) -> None:
    instance = postgres_video.instance
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)


def test_the_run_completes_and_is_recorded_in_postgres(postgres_video: PostgresVideo) -> None:
    run_id, video_id = postgres_video.run_id, postgres_video.video_id
    record = postgres_video.instance.get_run_record_by_id(run_id)
    assert record is not None and record.dagster_run.status is dg.DagsterRunStatus.SUCCESS, postgres_video.run_output
    assert record is not None and record.dagster_run.status is dg.DagsterRunStatus.SUCCESS
    assert record.dagster_run.tags["dagster/partition"] == video_id
    url = postgres_video.dagster_url
    assert _row(url, "SELECT status FROM runs WHERE run_id = :id", id=run_id) == ("SUCCESS",)
    (events,) = _row(url, "SELECT count(*) FROM event_logs WHERE run_id = :id", id=run_id)
    assert isinstance(events, int) and events > len(ASSETS)
    assert video_id in postgres_video.instance.get_dynamic_partitions("videos")
    materialized = {
        e.dagster_event.asset_key.to_user_string()
        for e in postgres_video.instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        if e.dagster_event and e.dagster_event.asset_key
    }
    assert materialized == ASSETS
    latest = postgres_video.instance.get_latest_materialization_event(dg.AssetKey("published_video"))
    assert latest is not None and latest.run_id == run_id


def test_the_catalog_on_postgres_records_the_finished_video(postgres_video: PostgresVideo) -> None:
    with Catalog(postgres_video.catalog_url) as catalog:
        assert catalog.backend == "postgresql"
        record = catalog.require(postgres_video.video_id)
    assert record.status is VideoStatus.COMPLETED and record.error in (None, "")
    assert abs(record.duration_s - 5.0) <= 0.1
    assert set(record.phase_seconds) >= ASSETS
    row = _row(postgres_video.catalog_url, "SELECT status, dagster_run_id FROM videos WHERE id = :id",
               id=postgres_video.video_id)
    assert row == ("COMPLETED", postgres_video.run_id)


def test_the_video_has_the_requested_duration_and_streams(postgres_video: PostgresVideo) -> None:
    with Catalog(postgres_video.catalog_url) as catalog:
        record = catalog.require(postgres_video.video_id)
    path = postgres_video.store.path_of(record.artifacts["video"])
    info = probe(path)
    assert abs(info.duration_s - 5.0) <= 0.1
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == (640, 360)
    assert info.fps == pytest.approx(24.0)
    assert record.size_bytes == path.stat().st_size
