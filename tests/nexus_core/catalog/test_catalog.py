"""The catalog's contract, run on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from nexus_core.catalog import Catalog, VideoCancelled, VideoExists, VideoNotFound, VideoRecord, migrate
from nexus_core.catalog.engine import normalize_url
from nexus_core.catalog.tables import Base
from nexus_core.models import Quality, VideoRequest, VideoStatus

REPO = Path(__file__).resolve().parents[3]
REQUEST = VideoRequest(prompt="A lighthouse at dawn", duration_seconds=12, quality=Quality.STANDARD)


class FakeClock:
    """A clock the test moves by hand, one second per call unless told otherwise."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _status(catalog: Catalog, video_id: str) -> VideoStatus:
    return catalog.require(video_id).status


# -- create, get, duplicates ------------------------------------------------------------------------


def test_create_video_returns_a_queued_record(catalog: Catalog) -> None:
    record = catalog.create_video(video_id="v1", request=REQUEST, user_id="u1")
    assert isinstance(record, VideoRecord)
    assert (record.video_id, record.id, record.user_id, record.status) == ("v1", "v1", "u1", VideoStatus.QUEUED)
    assert (record.phase, record.percent, record.artifacts, record.phase_seconds) == (None, 0.0, {}, {})
    assert record.error is None and record.started_at is None and record.completed_at is None
    assert catalog.get("v1") == record


def test_request_round_trips_as_a_video_request(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    assert catalog.get_request("v1") == REQUEST
    assert catalog.require("v1").request == REQUEST


def test_timestamps_are_timezone_aware_utc(catalog: Catalog) -> None:
    before = datetime.now(UTC)
    record = catalog.create_video(video_id="v1", request=REQUEST)
    stored = catalog.require("v1")
    assert stored.created_at.tzinfo is UTC and stored.updated_at.tzinfo is UTC
    assert before <= stored.created_at <= datetime.now(UTC)
    assert stored.created_at == record.created_at


def test_get_of_an_unknown_id_is_none_and_require_names_it(catalog: Catalog) -> None:
    assert catalog.get("nope") is None
    with pytest.raises(VideoNotFound, match="'nope'"):
        catalog.require("nope")
    with pytest.raises(VideoNotFound, match="'nope'"):
        catalog.get_request("nope")


def test_creating_a_duplicate_raises_video_exists(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST, user_id="u1")
    with pytest.raises(VideoExists, match="'v1'"):
        catalog.create_video(video_id="v1", request=REQUEST, user_id="u2")
    assert catalog.require("v1").user_id == "u1"


def test_create_video_rejects_an_unsafe_id(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="invalid video id"):
        catalog.create_video(video_id="../etc", request=REQUEST)


@pytest.mark.parametrize(
    "write",
    [
        lambda c: c.start_phase("ghost", phase="script"),
        lambda c: c.report_progress("ghost", phase="script", percent=5),
        lambda c: c.finish_phase("ghost", phase="script", seconds=1.0),
        lambda c: c.mark_failed("ghost", error="boom"),
        lambda c: c.mark_completed("ghost", size_bytes=1, duration_s=1.0, artifacts={}),
        lambda c: c.mark_cancelled("ghost"),
        lambda c: c.set_run_id("ghost", run_id="r1"),
    ],
    ids=["start", "progress", "finish", "failed", "completed", "cancelled", "run_id"],
)
def test_writes_to_an_unknown_video_raise_not_found(catalog: Catalog, write: Callable[[Catalog], object]) -> None:
    with pytest.raises(VideoNotFound, match="'ghost'"):
        write(catalog)


# -- lifecycle --------------------------------------------------------------------------------------


def test_lifecycle_queued_processing_completed(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.start_phase("v1", phase="script")
    record = catalog.require("v1")
    assert (record.status, record.phase, record.percent) == (VideoStatus.PROCESSING, "script", 0.0)
    assert record.started_at is not None
    catalog.report_progress("v1", phase="script", percent=42.5)
    assert catalog.require("v1").percent == 42.5
    catalog.finish_phase("v1", phase="scenario", seconds=1.25, artifacts={"scenario": "videos/v1/script/s.json"})
    catalog.start_phase("v1", phase="rendering")
    assert catalog.require("v1").started_at == record.started_at
    changed = catalog.mark_completed(
        "v1", size_bytes=1_234_567, duration_s=12.04, artifacts={"video": "videos/v1/final/video.mp4"}
    )
    done = catalog.require("v1")
    assert changed is True
    assert (done.status, done.percent, done.size_bytes, done.duration_s) == (
        VideoStatus.COMPLETED,
        100.0,
        1_234_567,
        12.04,
    )
    assert done.artifacts == {"scenario": "videos/v1/script/s.json", "video": "videos/v1/final/video.mp4"}
    assert done.completed_at is not None and done.completed_at >= done.started_at  # type: ignore[operator]
    assert done.is_final


def test_report_progress_clamps_to_0_100_and_promotes_queued(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.report_progress("v1", phase="assets", percent=250)
    record = catalog.require("v1")
    assert (record.status, record.phase, record.percent) == (VideoStatus.PROCESSING, "assets", 100.0)
    assert record.started_at is not None
    catalog.report_progress("v1", phase="assets", percent=-3)
    assert catalog.require("v1").percent == 0.0
    with pytest.raises(ValueError, match="NaN"):
        catalog.report_progress("v1", phase="assets", percent=float("nan"))


def test_mark_failed_keeps_the_reason_and_phase(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.start_phase("v1", phase="compositing")
    assert catalog.mark_failed("v1", error="ffmpeg exited 1: no such filter 'zoompan2'") is True
    record = catalog.require("v1")
    assert record.status is VideoStatus.FAILED
    assert record.error == "ffmpeg exited 1: no such filter 'zoompan2'"
    assert record.phase == "compositing"
    assert catalog.mark_failed("v1", error="a second reason", phase="encoding") is False
    assert catalog.require("v1").error == "ffmpeg exited 1: no such filter 'zoompan2'"


def test_a_failed_video_can_be_retried(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.mark_failed("v1", error="boom", phase="script")
    catalog.start_phase("v1", phase="script")
    record = catalog.require("v1")
    assert (record.status, record.error) == (VideoStatus.PROCESSING, None)


def test_a_completed_video_stays_completed_while_part_of_it_is_remade(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.mark_completed("v1", size_bytes=10, duration_s=1.0, artifacts={"video": "a.mp4"})
    completed_at = catalog.require("v1").completed_at
    assert catalog.mark_cancelled("v1") is False
    assert catalog.mark_failed("v1", error="late") is False
    record = catalog.start_phase("v1", phase="encoding", run_id="run-2")
    assert (record.status, record.completed_at, record.percent) == (VideoStatus.COMPLETED, completed_at, 100.0)
    catalog.report_progress("v1", phase="encoding", percent=40)
    catalog.finish_phase("v1", phase="renditions", seconds=2.5, artifacts={"rendition_h264": "r.mp4"}, run_id="run-2")
    catalog.start_phase("v1", phase="finalization", run_id="run-2")
    assert catalog.mark_completed("v1", size_bytes=20, duration_s=1.0, artifacts={"video": "b.mp4"}) is False
    catalog.finish_phase("v1", phase="published_video", seconds=1.0, run_id="run-2")
    final = catalog.require("v1")
    assert (final.status, final.size_bytes, final.completed_at) == (VideoStatus.COMPLETED, 20, completed_at)
    assert final.artifacts == {"video": "b.mp4", "rendition_h264": "r.mp4"}
    assert final.phase_seconds["renditions"] == 2.5
    (remake,) = final.remakes
    assert (remake.run_id, remake.phases, remake.assets) == ("run-2", ["encoding", "finalization"],
                                                           ["renditions", "published_video"])
    assert remake.error is None and remake.finished_at is not None


def test_a_failed_remake_keeps_the_video_completed_with_the_reason(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.mark_completed("v1", size_bytes=10, duration_s=1.0, artifacts={"video": "a.mp4"})
    catalog.start_phase("v1", phase="encoding", run_id="run-2")
    assert catalog.mark_failed("v1", error="renditions: disk full", phase="encoding", run_id="run-2") is False
    record = catalog.require("v1")
    assert (record.status, record.error, record.artifacts) == (VideoStatus.COMPLETED, None, {"video": "a.mp4"})
    assert record.last_remake is not None and record.last_remake.error == "renditions: disk full"
    catalog.start_phase("v1", phase="rendering", run_id="run-3")
    assert [r.run_id for r in catalog.require("v1").remakes] == ["run-2", "run-3"]


def test_a_failed_video_remade_goes_through_processing(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.mark_failed("v1", error="boom", phase="encoding")
    record = catalog.start_phase("v1", phase="encoding", run_id="run-2")
    assert (record.status, record.error, record.remakes) == (VideoStatus.PROCESSING, None, [])
    assert catalog.mark_completed("v1", size_bytes=20, duration_s=1.0, artifacts={"video": "b.mp4"}) is True


def test_the_title_is_kept_clean_and_short(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.set_title("v1", "  The   Sun\nand  its planets " + "x" * 300)
    title = catalog.require("v1").title
    assert title is not None and title.startswith("The Sun and its planets x") and len(title) == 200
    with pytest.raises(VideoNotFound):
        catalog.set_title("nope", "x")


def test_a_cancelled_video_refuses_progress_and_stays_cancelled(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.start_phase("v1", phase="assets")
    assert catalog.mark_cancelled("v1") is True
    with pytest.raises(VideoCancelled, match="'v1'"):
        catalog.report_progress("v1", phase="assets", percent=50)
    with pytest.raises(VideoCancelled):
        catalog.start_phase("v1", phase="compositing")
    with pytest.raises(VideoCancelled):
        catalog.finish_phase("v1", phase="voiceover", seconds=1.0, artifacts={"voice": "k"})
    assert catalog.mark_failed("v1", error="stopped") is False
    assert catalog.mark_completed("v1", size_bytes=1, duration_s=1.0, artifacts={}) is False
    assert catalog.mark_cancelled("v1") is False
    record = catalog.require("v1")
    assert (record.status, record.artifacts, record.error) == (VideoStatus.CANCELLED, {}, None)


def test_finish_phase_merges_artifacts_and_records_seconds(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.start_phase("v1", phase="assets")
    catalog.finish_phase("v1", phase="scene_images", seconds=3.5, artifacts={"image_1": "i1", "shared": "old"})
    catalog.finish_phase("v1", phase="voiceover", seconds=1.0, artifacts={"voice_1": "v1", "shared": "new"})
    catalog.finish_phase("v1", phase="music_bed", seconds=0.25)
    catalog.finish_phase("v1", phase="voiceover", seconds=2.0)
    record = catalog.require("v1")
    assert record.artifacts == {"image_1": "i1", "voice_1": "v1", "shared": "new"}
    assert record.phase_seconds == {"scene_images": 3.5, "voiceover": 2.0, "music_bed": 0.25}
    assert (record.phase, record.percent) == ("assets", 100.0)
    with pytest.raises(ValueError, match="seconds"):
        catalog.finish_phase("v1", phase="x", seconds=-1.0)


def test_json_columns_keep_insertion_order(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    order = ["scenario", "scene_images", "voiceover", "music_bed", "composited_scenes", "master"]
    for phase in order:
        catalog.finish_phase("v1", phase=phase, seconds=1.0, artifacts={f"{phase}_key": phase})
    record = catalog.require("v1")
    assert list(record.phase_seconds) == order
    assert list(record.artifacts) == [f"{p}_key" for p in order]


def test_times_from_another_timezone_are_stored_as_utc(catalog_url: str) -> None:
    athens = timezone(timedelta(hours=2))
    moment = datetime(2025, 6, 1, 14, 30, tzinfo=athens)
    with Catalog(catalog_url, clock=lambda: moment) as catalog:
        catalog.create_video(video_id="v1", request=REQUEST)
        catalog.report_progress("v1", phase="script", percent=10)
        record = catalog.require("v1")
    assert record.created_at == moment and record.created_at.tzinfo is UTC
    assert record.started_at == moment and record.created_at.hour == 12


def test_set_run_id(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    catalog.set_run_id("v1", run_id="3f2a9c1e-run")
    assert catalog.require("v1").dagster_run_id == "3f2a9c1e-run"


# -- listing ----------------------------------------------------------------------------------------


@pytest.fixture
def listed(catalog_url: str) -> Iterator[tuple[Catalog, datetime]]:
    """Five videos created a second apart: v0 (oldest) .. v4 (newest), in two users and three statuses."""
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    with Catalog(catalog_url, clock=FakeClock(start)) as catalog:
        for index in range(5):
            catalog.create_video(video_id=f"v{index}", request=REQUEST, user_id="alice" if index % 2 else "bob")
        catalog.mark_completed("v1", size_bytes=1, duration_s=1.0, artifacts={})
        catalog.mark_failed("v2", error="boom")
        catalog.mark_completed("v3", size_bytes=1, duration_s=1.0, artifacts={})
        yield catalog, start


def _ids(records: list[VideoRecord]) -> list[str]:
    return [r.video_id for r in records]


def test_list_videos_is_newest_first(listed: tuple[Catalog, datetime]) -> None:
    catalog, _ = listed
    assert _ids(catalog.list_videos()) == ["v4", "v3", "v2", "v1", "v0"]
    assert _ids(catalog.list_videos(limit=2)) == ["v4", "v3"]
    assert catalog.list_videos(limit=0) == []


def test_list_videos_filters(listed: tuple[Catalog, datetime]) -> None:
    catalog, start = listed
    assert _ids(catalog.list_videos(status=VideoStatus.COMPLETED)) == ["v3", "v1"]
    assert _ids(catalog.list_videos(status=VideoStatus.QUEUED)) == ["v4", "v0"]
    assert _ids(catalog.list_videos(user_id="alice")) == ["v3", "v1"]
    assert _ids(catalog.list_videos(user_id="bob", status=VideoStatus.FAILED)) == ["v2"]
    assert _ids(catalog.list_videos(since=start + timedelta(seconds=3))) == ["v4", "v3", "v2"]
    assert _ids(catalog.list_videos(video_ids=["v0", "v3", "missing"])) == ["v3", "v0"]
    assert catalog.list_videos(video_ids=[]) == []
    assert _ids(catalog.list_videos(user_id="alice", since=start + timedelta(seconds=3), limit=1)) == ["v3"]
    with pytest.raises(ValueError, match="timezone-aware"):
        catalog.list_videos(since=datetime(2025, 1, 1))


# -- concurrency ------------------------------------------------------------------------------------

WORKERS = 6
PROCESSES = 4
ROUNDS = 8

_WORKER = """
import sys, time
from pathlib import Path
from nexus_core.catalog import Catalog

url, video_id, name, rounds, go = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
catalog = Catalog(url)
Path(f"{go}.{name}").touch()
while not go.exists():
    time.sleep(0.002)
for i in range(rounds):
    catalog.report_progress(video_id, phase="assets", percent=i * 10)
    catalog.finish_phase(video_id, phase=f"{name}-{i}", seconds=i / 10, artifacts={f"{name}-{i}": f"k/{name}/{i}"})
catalog.close()
"""


def _expected(names: list[str]) -> tuple[dict[str, str], dict[str, float]]:
    artifacts = {f"{n}-{i}": f"k/{n}/{i}" for n in names for i in range(ROUNDS)}
    seconds = {f"{n}-{i}": i / 10 for n in names for i in range(ROUNDS)}
    return artifacts, seconds


def test_concurrent_threads_lose_no_update(catalog: Catalog) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    names = [f"t{n}" for n in range(WORKERS)]

    def work(name: str) -> None:
        for i in range(ROUNDS):
            catalog.report_progress("v1", phase="assets", percent=i * 10)
            catalog.finish_phase("v1", phase=f"{name}-{i}", seconds=i / 10, artifacts={f"{name}-{i}": f"k/{name}/{i}"})

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(work, names))
    record = catalog.require("v1")
    assert (record.artifacts, record.phase_seconds) == _expected(names)


def _python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _run_workers(argvs: list[list[str]], go: Path) -> None:
    """Start one Python per argv; each touches GO.NAME when ready (its last argument is its name); release
    them together once all are ready, and check each exit."""
    procs = [
        subprocess.Popen(argv, cwd=REPO, env=_python_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for argv in argvs
    ]
    deadline = time.monotonic() + 60
    ready = [Path(f"{go}.{argv[-1]}") for argv in argvs]
    while not all(p.exists() for p in ready) and time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            break
        time.sleep(0.01)
    go.touch()
    failures = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        if proc.returncode:
            failures.append(f"exit {proc.returncode}:\n{out.decode(errors='replace')}")
    assert not failures, "\n".join(failures)


def test_concurrent_processes_lose_no_update(catalog: Catalog, catalog_url: str, tmp_path: Path) -> None:
    catalog.create_video(video_id="v1", request=REQUEST)
    names = [f"p{n}" for n in range(PROCESSES)]
    go = tmp_path / "go"
    argvs = [[sys.executable, "-c", _WORKER, catalog_url, "v1", n, str(ROUNDS), str(go), n] for n in names]
    _run_workers(argvs, go)
    record = catalog.require("v1")
    assert (record.artifacts, record.phase_seconds) == _expected(names)


_OPENER = """
import sys, time
from pathlib import Path
go = Path(sys.argv[2])
from nexus_core.catalog import Catalog
Path(f"{go}.{sys.argv[3]}").touch()
while not go.exists():
    time.sleep(0.002)
Catalog(sys.argv[1]).close()
"""


def test_processes_opening_a_fresh_database_at_once_all_succeed(
    fresh_database: Callable[[], str], tmp_path: Path
) -> None:
    url = fresh_database()
    go = tmp_path / "go"
    _run_workers([[sys.executable, "-c", _OPENER, url, str(go), f"o{n}"] for n in range(4)], go)
    with Catalog(url, migrate_on_open=False) as catalog, catalog.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        assert conn.execute(text("SELECT count(*) FROM videos")).scalar_one() == 0


# -- migrations -------------------------------------------------------------------------------------


def test_upgrade_is_idempotent(fresh_database: Callable[[], str]) -> None:
    url = fresh_database()
    with Catalog(url) as first:
        first.create_video(video_id="v1", request=REQUEST)
        migrate.upgrade(first.engine)
        migrate.upgrade(first.engine)
    with Catalog(url) as second, second.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        assert second.require("v1").request == REQUEST


def test_models_match_migrations(fresh_database: Callable[[], str]) -> None:
    with Catalog(fresh_database()) as catalog, catalog.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": True,
            "include_object": migrate.on_this_backend(conn.dialect.name),  # GIN indexes: PostgreSQL only
        })
        assert compare_metadata(context, Base.metadata) == []
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("videos")}
    assert {"ix_videos_user_id_created_at", "ix_videos_status_created_at", "ix_videos_created_at",
            "ix_videos_favorites", "ix_videos_in_flight"} <= indexes
    if catalog.backend == "postgresql":
        assert {"ix_videos_scenario", "ix_videos_search_text"} <= indexes


def test_downgrade_to_base_then_upgrade_again(fresh_database: Callable[[], str]) -> None:
    with Catalog(fresh_database()) as catalog:
        with catalog.engine.begin() as conn:
            command.downgrade(migrate.alembic_config(conn), "base")
            assert not inspect(conn).has_table("videos")
        migrate.upgrade(catalog.engine)
        catalog.create_video(video_id="v1", request=REQUEST)
        assert catalog.require("v1").status is VideoStatus.QUEUED


# -- engine -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgres://u:p@db:5432/nexus", "postgresql+psycopg2"),
        ("postgresql://u@db/nexus", "postgresql+psycopg2"),
        ("postgresql+psycopg2://u@db/nexus", "postgresql+psycopg2"),
        ("sqlite:///tmp/catalog.db", "sqlite"),
    ],
)
def test_urls_get_an_installed_driver(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


def test_unsupported_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported catalog URL"):
        normalize_url("mysql://u:secret@db/nexus")


def test_sqlite_catalog_uses_wal_and_creates_its_folder(tmp_path: Path) -> None:
    with Catalog(f"sqlite:///{tmp_path / 'deep' / 'er' / 'catalog.db'}") as catalog:
        with catalog.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000
        assert catalog.backend == "sqlite"


def test_postgres_url_hides_the_password() -> None:
    catalog = Catalog("postgresql://nexus:s3cret@127.0.0.1:1/nexus", migrate_on_open=False)
    assert "s3cret" not in repr(catalog) and catalog.backend == "postgresql"
    catalog.close()


def test_a_failed_run_is_not_revived_by_its_own_later_step(catalog: Catalog) -> None:
    from nexus_core.catalog import RunAlreadyFailed

    catalog.create_video(video_id="sib", request=VideoRequest(prompt="siblings"))
    catalog.start_phase("sib", phase="assets", run_id="run-1")
    catalog.mark_failed("sib", error="voiceover: espeak crashed", phase="assets")
    with pytest.raises(RunAlreadyFailed):
        catalog.start_phase("sib", phase="assets", run_id="run-1")
    assert catalog.require("sib").status is VideoStatus.FAILED
    catalog.start_phase("sib", phase="assets", run_id="run-2")
    record = catalog.require("sib")
    assert record.status is VideoStatus.PROCESSING and record.dagster_run_id == "run-2" and not record.error
