"""The outbox: a request is written with its video row and waits there while the queue is down."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select, update

from api.core.db import Database
from api.relay import Relay
from api.tables import outbox
from tests.api.support import API, SHORT, ApiServer, RecordingDispatcher, make_settings, wait_for


def _outbox_rows(server: ApiServer, video_id: str) -> list[dict[str, object]]:
    with server.state.db.read() as session:
        rows = session.execute(select(outbox).where(outbox.c.video_id == video_id).order_by(outbox.c.id)).mappings()
        return [dict(r) for r in rows]


def test_a_request_waits_in_the_outbox_while_the_queue_is_down(
    pg_api: ApiServer, dispatcher: RecordingDispatcher
) -> None:
    dispatcher.down = True
    try:
        with pg_api.user_client() as client:
            response = client.post(f"{API}/videos/generate", json=SHORT)
            assert response.status_code == 202  # accepted although the queue is down
            video_id = response.json()["id"]
            # one failed attempt; then the relay probes the queue instead of sending the row again
            wait_for(lambda: _outbox_rows(pg_api, video_id)[0]["last_error"], what="a failed attempt")
            (row,) = _outbox_rows(pg_api, video_id)
            assert row["delivered_at"] is None and row["kind"] == "generate"
            assert "the queue is down" in str(row["last_error"])
            assert row["payload"]["request"]["prompt"] == SHORT["prompt"]  # type: ignore[index]
            assert client.get(f"{API}/videos/{video_id}").json()["status"] == "QUEUED"
            assert video_id not in dispatcher.dispatched
    finally:
        dispatcher.down = False
    wait_for(lambda: video_id in dispatcher.dispatched, timeout_s=15, what="delivery once the queue is back")
    wait_for(lambda: _outbox_rows(pg_api, video_id)[0]["delivered_at"] is not None, what="the row is marked")
    assert dispatcher.dispatched.count(video_id) == 1


def test_readyz_says_when_the_queue_is_down(pg_api: ApiServer, dispatcher: RecordingDispatcher) -> None:
    with pg_api.client() as client:
        assert client.get("/readyz").status_code == 200
        dispatcher.down = True
        try:
            response = client.get("/readyz")
        finally:
            dispatcher.down = False
    assert response.status_code == 503
    assert response.json()["checks"]["queue"].startswith("unreachable")
    assert response.json()["checks"]["database"] == "ok"


def test_relays_in_several_workers_hand_each_row_over_once(
    keys: object, new_postgres_database: object, tmp_path: Path
) -> None:
    """Four relays race over the same outbox (as four uvicorn workers would): every row goes exactly once."""
    from datetime import UTC, datetime

    from api import ledger, videos
    from nexus_core.models import VideoRequest
    from nexus_core.pricing import Plan

    url = new_postgres_database()  # type: ignore[operator]
    db = Database(url)
    now = datetime.now(UTC)
    with db.write() as session:
        ledger.ensure_account(session, user_id="racer", plan=Plan.VIP, now=now)
        ids = [videos.submit(session, user_id="racer", request=VideoRequest(**SHORT), cost=3, now=now)["id"]
               for _ in range(40)]
    dispatcher = RecordingDispatcher()
    relays = [Relay(Database(url, migrate=False), dispatcher, batch=7) for _ in range(4)]
    barrier = threading.Barrier(4)

    def drain(relay: Relay) -> None:
        barrier.wait()
        for _ in range(10):
            relay.run_once()

    threads = [threading.Thread(target=drain, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(dispatcher.dispatched) == sorted(ids)
    with db.read() as session:
        assert session.scalar(select(outbox.c.id).where(outbox.c.delivered_at.is_(None))) is None
    db.close()


def test_relay_works_on_sqlite(tmp_path: Path, keys: object) -> None:
    from datetime import UTC, datetime

    from api import ledger, videos
    from nexus_core.models import VideoRequest
    from nexus_core.pricing import Plan

    settings = make_settings(tmp_path, None, keys)  # type: ignore[arg-type]
    db = Database(settings.database_url)
    now = datetime.now(UTC)
    with db.write() as session:
        ledger.ensure_account(session, user_id="solo", plan=Plan.FREE, now=now)
        video_id = videos.submit(session, user_id="solo", request=VideoRequest(**SHORT), cost=3, now=now)["id"]
    dispatcher = RecordingDispatcher()
    report = Relay(db, dispatcher).run_once()
    assert (report.delivered, dispatcher.dispatched) == (1, [video_id])
    assert Relay(db, dispatcher).run_once().delivered == 0
    db.close()


def test_a_run_left_by_a_restarted_api_process_is_failed_and_refunded(tmp_path: Path, keys: object) -> None:
    """Another (since restarted) worker started the run; it died unreaped: the pidfile names a gone process."""
    import json
    import subprocess
    from datetime import UTC, datetime

    from api import ledger, videos
    from api.dispatch import SubprocessDispatcher
    from nexus_core.catalog import Catalog
    from nexus_core.models import VideoRequest
    from nexus_core.pricing import Plan

    db = Database(f"sqlite:///{tmp_path / 'catalog.db'}")
    now = datetime.now(UTC)
    with db.write() as session:
        ledger.ensure_account(session, user_id="orphan", plan=Plan.FREE, now=now)
        video_id = videos.submit(session, user_id="orphan", request=VideoRequest(**SHORT), cost=3, now=now)["id"]
        session.execute(update(outbox).values(delivered_at=now))  # the dead worker had handed it over
    with Catalog(f"sqlite:///{tmp_path / 'catalog.db'}") as catalog:
        catalog.start_phase(video_id, phase="assets")
    dead = subprocess.Popen(["true"])
    dead.wait()
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / f"{video_id}.pid").write_text(json.dumps({"pid": dead.pid, "video_id": video_id}))
    report = Relay(db, SubprocessDispatcher(run_dir=runs)).run_once()
    assert report.reaped == 1
    with db.read() as session:
        row = videos.get_video(session, video_id=video_id, user_id="orphan")
        assert row is not None
        assert (row["status"], row["error"]) == ("FAILED", "the pipeline process ended without a final status")
        assert ledger.get_balance(session, user_id="orphan") == ledger.Balance(100, 0)
    assert not (runs / f"{video_id}.pid").exists()
    db.close()
