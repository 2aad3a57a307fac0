"""The token ledger: never negative under concurrency, settled exactly once, refunds on failure."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from api import ledger, videos
from api.core.db import Database
from api.tables import accounts, reservations
from api.tables import ledger as ledger_rows
from nexus_core.catalog import Catalog
from nexus_core.models import VideoRequest
from nexus_core.pricing import Plan
from tests.api.support import API, SHORT, ApiServer, new_user, wait_for

TWENTY_TOKENS = {**SHORT, "duration_seconds": 20, "resolution": "720p"}  # 20 s x STANDARD x 720p


def _now() -> datetime:
    return datetime.now(UTC)


def test_concurrent_requests_over_the_balance_on_postgres(pg_api: ApiServer) -> None:
    """A FREE account (100 tokens) fires 12 requests of 20 tokens at once: exactly 5 are accepted."""
    token = pg_api.keys.token(new_user(), plan="FREE")
    with pg_api.client(token) as client:
        assert client.get(f"{API}/tokens").json()["balance"] == 100
    barrier = threading.Barrier(12)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def post() -> None:
        with pg_api.client(token) as client:
            barrier.wait()
            response = client.post(f"{API}/videos/generate", json=TWENTY_TOKENS)
            with lock:
                answers.append(response)

    threads = [threading.Thread(target=post) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] * 5 + [402] * 7, [a.text for a in answers if a.status_code not in (202, 402)]
    for refused in (a for a in answers if a.status_code == 402):
        assert refused.json()["error"]["cost"] == 20 and 0 <= refused.json()["error"]["balance"] < 20
    with pg_api.client(token) as client:
        body = client.get(f"{API}/tokens", params={"limit": 100}).json()
        assert (body["balance"], body["reserved"]) == (0, 100)
        assert [e["kind"] for e in body["entries"]].count("reserve") == 5
        assert len(client.get(f"{API}/videos").json()["items"]) == 5


def test_refund_when_the_pipeline_fails(pg_api: ApiServer) -> None:
    """The pipeline marks the catalog FAILED; the relay (and any read) gives the reservation back, once."""
    with pg_api.user_client(plan="PREMIUM") as client:
        start = client.get(f"{API}/tokens").json()["balance"]
        video_id = client.post(f"{API}/videos/generate", json=TWENTY_TOKENS).json()["id"]
        with Catalog(pg_api.settings.database_url) as catalog:  # what nexus_assets.phases does on an error
            catalog.start_phase(video_id, phase="script")
            catalog.mark_failed(video_id, error="scenario: the writer gave up", phase="script")
        wait_for(lambda: _reservation_state(pg_api, video_id) == "released", what="the relay settles")
        body = client.get(f"{API}/tokens").json()
        assert (body["balance"], body["reserved"]) == (start, 0)
        assert [e["kind"] for e in body["entries"]][:2] == ["release", "reserve"]
        video = client.get(f"{API}/videos/{video_id}").json()
        assert video["status"] == "FAILED" and video["error"] == "scenario: the writer gave up"
        assert client.get(f"{API}/tokens").json()["balance"] == start


def test_charge_when_the_pipeline_completes(pg_api: ApiServer) -> None:
    with pg_api.user_client(plan="PREMIUM") as client:
        start = client.get(f"{API}/tokens").json()["balance"]
        video_id = client.post(f"{API}/videos/generate", json=TWENTY_TOKENS).json()["id"]
        with Catalog(pg_api.settings.database_url) as catalog:
            catalog.mark_completed(video_id, size_bytes=1, duration_s=20.0, artifacts={})
        assert client.get(f"{API}/videos/{video_id}").json()["status"] == "COMPLETED"  # settles on read
        assert _reservation_state(pg_api, video_id) == "charged"
        body = client.get(f"{API}/tokens").json()
        assert (body["balance"], body["reserved"]) == (start - 20, 0)
        assert [e["kind"] for e in body["entries"]][:2] == ["charge", "reserve"]


def _reservation_state(server: ApiServer, video_id: str) -> str | None:
    with server.state.db.read() as session:
        return session.scalar(select(reservations.c.state).where(reservations.c.video_id == video_id))


# -- the ledger functions on both backends ----------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("new_postgres_database")()
    db = Database(url)
    yield db
    db.close()


def _submit(db: Database, user: str, cost: int) -> str:
    request = VideoRequest(**SHORT)
    with db.write() as session:
        ledger.ensure_account(session, user_id=user, plan=Plan.FREE, now=_now())
        return str(videos.submit(session, user_id=user, request=request, cost=cost, now=_now())["id"])


def test_a_settlement_applied_twice_counts_once(database: Database) -> None:
    user = new_user()
    done, failed = _submit(database, user, 30), _submit(database, user, 20)
    with database.write() as session:
        assert ledger.get_balance(session, user_id=user) == ledger.Balance(50, 50)
    for _ in range(3):
        with database.write() as session:
            ledger.settle(session, video_id=done, status="COMPLETED", now=_now())
            ledger.settle(session, video_id=failed, status="FAILED", now=_now())
            ledger.release(session, video_id=done, now=_now())  # a late, contradictory settlement
            ledger.charge(session, video_id=failed, now=_now())
    with database.read() as session:
        assert ledger.get_balance(session, user_id=user) == ledger.Balance(70, 0)
        kinds = session.execute(select(ledger_rows.c.video_id, ledger_rows.c.kind)
                                .where(ledger_rows.c.user_id == user)).all()
    assert sorted(kinds, key=str) == sorted([(None, "grant"), (done, "reserve"), (failed, "reserve"),
                                             (done, "charge"), (failed, "release")], key=str)


def test_the_ledger_refuses_a_second_row_of_a_kind_for_a_video(database: Database) -> None:
    user = new_user()
    video_id = _submit(database, user, 10)
    with pytest.raises(IntegrityError), database.write() as session:
        session.execute(insert(ledger_rows).values(user_id=user, video_id=video_id, kind="reserve", amount=10,
                                                   balance_after=0, reserved_after=0, created_at=_now()))


def test_the_balance_cannot_go_negative_even_by_hand(database: Database) -> None:
    user = new_user()
    with database.write() as session:
        ledger.ensure_account(session, user_id=user, plan=Plan.FREE, now=_now())
    with pytest.raises(IntegrityError), database.write() as session:
        from sqlalchemy import update

        session.execute(update(accounts).where(accounts.c.user_id == user).values(balance=-1))


def test_concurrent_reservations_in_threads_never_overdraw(database: Database) -> None:
    user = new_user()
    with database.write() as session:
        ledger.ensure_account(session, user_id=user, plan=Plan.FREE, now=_now())  # 100 tokens
    outcomes: list[str] = []
    barrier = threading.Barrier(10)

    def reserve() -> None:
        barrier.wait()
        try:
            _submit(database, user, 15)
            outcomes.append("ok")
        except ledger.InsufficientTokens:
            outcomes.append("short")

    run_all([reserve] * 10)
    assert sorted(outcomes) == ["ok"] * 6 + ["short"] * 4
    with database.read() as session:
        assert ledger.get_balance(session, user_id=user) == ledger.Balance(10, 90)
        total = session.scalar(select(func.count()).select_from(reservations).where(reservations.c.user_id == user))
    assert total == 6


def run_all(functions: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=f) for f in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _catalog(database: Database) -> Catalog:
    return Catalog(database.engine.url.render_as_string(hide_password=False))


def _kinds(database: Database, user: str) -> list[tuple[str, str | None]]:
    with database.read() as session:
        rows = session.execute(select(ledger_rows.c.kind, ledger_rows.c.note).where(ledger_rows.c.user_id == user)
                               .order_by(ledger_rows.c.id)).all()
    return [(kind, note) for kind, note in rows]


def test_a_failed_video_remade_to_completed_is_charged_once_and_a_remake_never_again(database: Database) -> None:
    user = new_user()
    video_id = _submit(database, user, 30)
    catalog = _catalog(database)
    catalog.mark_failed(video_id, error="renditions: ffmpeg exited 1", phase="encoding")
    assert ledger.settle_finished(database) >= 1
    with database.read() as session:
        assert ledger.get_balance(session, user_id=user) == ledger.Balance(100, 0)  # released
    # an operator's backfill re-makes it: FAILED -> PROCESSING -> COMPLETED
    catalog.start_phase(video_id, phase="encoding", run_id="backfill-run")
    catalog.mark_completed(video_id, size_bytes=10, duration_s=5.0, artifacts={"video": "v.mp4"})
    for _ in range(3):  # every pass, and the API's on-read settlement, may see it: charged once
        ledger.settle_finished(database, user_id=user)
        with database.write() as session:
            ledger.settle(session, video_id=video_id, status="COMPLETED", now=_now())
    with database.read() as session:
        assert ledger.get_balance(session, user_id=user) == ledger.Balance(70, 0)
    assert [k for k, _ in _kinds(database, user)] == ["grant", "reserve", "release", "charge"]
    assert _kinds(database, user)[-1][1] == ledger.REMADE_NOTE
    # a second re-make of the COMPLETED, charged video (renditions only) charges nothing
    catalog.start_phase(video_id, phase="encoding", run_id="operator-run")
    catalog.finish_phase(video_id, phase="renditions", seconds=1.0, run_id="operator-run")
    ledger.settle_finished(database, user_id=user)
    with database.read() as session:
        assert ledger.get_balance(session, user_id=user) == ledger.Balance(70, 0)
    assert len(_kinds(database, user)) == 4
    catalog.close()


def test_a_completed_video_charged_from_its_reservation_is_not_charged_by_a_remake(database: Database) -> None:
    user = new_user()
    video_id = _submit(database, user, 25)
    catalog = _catalog(database)
    catalog.mark_completed(video_id, size_bytes=10, duration_s=5.0, artifacts={"video": "v.mp4"})
    ledger.settle_finished(database, user_id=user)
    catalog.start_phase(video_id, phase="rendering", run_id="operator-run")  # stays COMPLETED
    catalog.mark_completed(video_id, size_bytes=11, duration_s=5.0, artifacts={"video": "v.mp4"})
    ledger.settle_finished(database, user_id=user)
    with database.read() as session:
        assert ledger.get_balance(session, user_id=user) == ledger.Balance(75, 0)
    assert [k for k, _ in _kinds(database, user)] == ["grant", "reserve", "charge"]
    catalog.close()


def test_a_remade_video_the_balance_cannot_cover_is_owed_until_it_can(database: Database) -> None:
    user = new_user()
    video_id = _submit(database, user, 30)
    catalog = _catalog(database)
    catalog.mark_failed(video_id, error="boom")
    ledger.settle_finished(database, user_id=user)
    _submit(database, user, 95)  # the person spends the released tokens on another video: balance 5
    catalog.start_phase(video_id, phase="script", run_id="backfill-run")
    catalog.mark_completed(video_id, size_bytes=10, duration_s=5.0, artifacts={"video": "v.mp4"})
    ledger.settle_finished(database, user_id=user)
    with database.read() as session:
        assert ledger.get_balance(session, user_id=user) == ledger.Balance(5, 95)  # owed, nothing negative
        assert (video_id, "COMPLETED") in ledger.pending_settlements(session, user_id=user)
    with database.write() as session:
        ledger.grant(session, user_id=user, amount=50, now=_now())
    assert ledger.settle_finished(database, user_id=user) == 1
    with database.read() as session:
        assert ledger.get_balance(session, user_id=user) == ledger.Balance(25, 95)
        assert ledger.pending_settlements(session, user_id=user) == []
    catalog.close()


@pytest.mark.parametrize(("plan", "welcome"), [(Plan.FREE, 100), (Plan.PREMIUM, 1000)])
@pytest.mark.parametrize("grant_first", [True, False], ids=["grant-first", "first-call-first"])
def test_welcome_tokens_are_credited_once_whichever_comes_first(
    database: Database, plan: Plan, welcome: int, grant_first: bool
) -> None:
    user = new_user()
    steps = [lambda s: ledger.grant(s, user_id=user, amount=5, now=_now()),
             lambda s: ledger.ensure_account(s, user_id=user, plan=plan, now=_now())]
    for step in steps if grant_first else reversed(steps):
        with database.write() as session:
            step(session)
    for _ in range(2):  # later first-sight checks credit nothing
        with database.write() as session:
            assert ledger.ensure_account(session, user_id=user, plan=plan, now=_now()) is False
    with database.read() as session:
        assert ledger.get_balance(session, user_id=user) == ledger.Balance(welcome + 5, 0)
        assert session.scalar(select(accounts.c.plan).where(accounts.c.user_id == user)) == plan.value
    assert sorted(note or "" for kind, note in _kinds(database, user)) == sorted(
        ["granted", f"welcome to the {plan.value} plan"])


def test_grant_tokens_before_the_first_api_call_keeps_the_welcome(
    pg_api: ApiServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """README's order: `nexus grant-tokens` first, then the person's first call (a PREMIUM user: 1000 + 5)."""
    from nexus_cli.main import main

    user = new_user()
    monkeypatch.setenv("NEXUS_DATABASE_URL", pg_api.settings.database_url)
    assert main(["grant-tokens", "--user", user, "--amount", "5"]) == 0
    assert "balance 5" in capsys.readouterr().out
    with pg_api.client(pg_api.keys.token(user, plan="PREMIUM")) as client:
        body = client.get(f"{API}/tokens").json()
    assert (body["balance"], body["plan"]) == (1005, "PREMIUM")
    assert main(["grant-tokens", "--user", user, "--amount", "5"]) == 0
    assert "balance 1010" in capsys.readouterr().out
