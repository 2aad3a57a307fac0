"""The token ledger: every change of a balance goes through these functions, inside the caller's transaction.

An account has `balance` (spendable) and `reserved` (held for videos in flight). A request reserves its
cost (balance -> reserved) with one conditional UPDATE, so concurrent requests can never take the
balance below zero on PostgreSQL or SQLite. Each movement appends one ledger row; the ledger's unique
(video_id, kind) makes "at most one charge per video" a database fact.

Settlement: a video with a reservation is charged exactly once, whatever path made it COMPLETED. The
paths (`settle` is their one home; reservation state x the video's status):
- reserved + COMPLETED: charge the reservation (reserved -> gone).
- reserved + FAILED or CANCELLED: release it (reserved -> balance).
- released + COMPLETED: the video failed (its tokens went back), then an operator's backfill re-made it.
  It is charged now, from the balance (balance -> gone), with a ledger row saying so. When the balance
  does not cover it the video is owed: nothing changes, and every later settlement pass tries again, so
  it is charged as soon as the balance covers it (a grant, a release). Nothing goes negative.
- charged + anything: nothing. Re-making part of a COMPLETED, charged video (a backfill, a UI launch)
  never charges again; the catalog keeps such a video COMPLETED throughout.
- no reservation (made with `nexus generate`, or sent on Kafka by another producer): nothing to settle.
A settlement applied twice finds the reservation settled and does nothing.

Welcome tokens: an account's plan welcome tokens are credited exactly once, the first time its owner is
seen (`ensure_account`), even when an admin's grant opened the account before (`welcomed_at`).

Lock order, to stay free of deadlocks on PostgreSQL: a transaction settles one video (its reservation row,
then its account row); a request locks its account row and then only inserts new rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from api.core.db import Database
from api.tables import accounts, ledger, reservations
from nexus_core.catalog.tables import UTCDateTime, videos
from nexus_core.models import VideoStatus
from nexus_core.pricing import PLAN_LIMITS, Plan

FINAL_STATUSES = (VideoStatus.COMPLETED.value, VideoStatus.FAILED.value, VideoStatus.CANCELLED.value)


@dataclass(frozen=True)
class Balance:
    balance: int
    reserved: int


class InsufficientTokens(Exception):
    """The balance does not cover the cost."""

    def __init__(self, *, balance: int, cost: int) -> None:
        super().__init__(f"this request costs {cost} tokens; the balance is {balance}")
        self.balance = balance
        self.cost = cost


# Statements are built once (with bind parameters): building a statement costs more Python time than
# running it, and a request runs several.
_OPEN_ACCOUNT = {
    name: builder(accounts).on_conflict_do_nothing(index_elements=["user_id"])
    for name, builder in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def _welcome_statement(builder: Any) -> Any:
    """Open the account welcomed, or mark an open, never-welcomed one welcomed (its plan with it); returns a
    row only when the welcome is due now, so two racing first calls credit it once."""
    statement = builder(accounts)
    return statement.on_conflict_do_update(
        index_elements=["user_id"],
        set_={"plan": statement.excluded.plan, "welcomed_at": statement.excluded.welcomed_at,
              "updated_at": statement.excluded.updated_at},
        where=accounts.c.welcomed_at.is_(None),
    ).returning(accounts.c.user_id)


_WELCOME = {name: _welcome_statement(builder) for name, builder in (("postgresql", postgresql.insert),
                                                                    ("sqlite", sqlite.insert))}
_APPEND = insert(ledger)
_BALANCE = select(accounts.c.balance, accounts.c.reserved).where(accounts.c.user_id == bindparam("b_user_id"))
_CREDIT = (
    update(accounts).where(accounts.c.user_id == bindparam("b_user_id"))
    .values(balance=accounts.c.balance + bindparam("b_amount"), updated_at=bindparam("b_now", type_=UTCDateTime()))
    .returning(accounts.c.balance, accounts.c.reserved)
)
_RESERVE = (
    update(accounts).where(accounts.c.user_id == bindparam("b_user_id"), accounts.c.balance >= bindparam("b_amount"))
    .values(balance=accounts.c.balance - bindparam("b_amount"), reserved=accounts.c.reserved + bindparam("b_amount"),
            updated_at=bindparam("b_now", type_=UTCDateTime()))
    .returning(accounts.c.balance, accounts.c.reserved)
)
_HOLD = insert(reservations)
_SETTLE = (
    update(reservations)
    .where(reservations.c.video_id == bindparam("b_video_id"), reservations.c.state == "reserved")
    .values(state=bindparam("b_state"), settled_at=bindparam("b_now", type_=UTCDateTime()))
    .returning(reservations.c.user_id, reservations.c.amount)
)
_OWED = (  # a released reservation whose video the catalog says is COMPLETED (re-made after failing)
    select(reservations.c.user_id, reservations.c.amount)
    .join(videos, videos.c.id == reservations.c.video_id)
    .where(reservations.c.video_id == bindparam("b_video_id"), reservations.c.state == "released",
           videos.c.status == VideoStatus.COMPLETED.value)
    .with_for_update(of=reservations)
)
_MARK_CHARGED = (
    update(reservations)
    .where(reservations.c.video_id == bindparam("b_video_id"), reservations.c.state == "released")
    .values(state="charged", settled_at=bindparam("b_now", type_=UTCDateTime()))
)
_CHARGE_BALANCE = (
    update(accounts).where(accounts.c.user_id == bindparam("b_user_id"), accounts.c.balance >= bindparam("b_amount"))
    .values(balance=accounts.c.balance - bindparam("b_amount"), updated_at=bindparam("b_now", type_=UTCDateTime()))
    .returning(accounts.c.balance, accounts.c.reserved)
)
REMADE_NOTE = "re-made after it failed: charged from the balance"
_SPEND = (
    update(accounts).where(accounts.c.user_id == bindparam("b_user_id"))
    .values(reserved=accounts.c.reserved - bindparam("b_amount"), updated_at=bindparam("b_now", type_=UTCDateTime()))
    .returning(accounts.c.balance, accounts.c.reserved)
)
_REFUND = (
    update(accounts).where(accounts.c.user_id == bindparam("b_user_id"))
    .values(reserved=accounts.c.reserved - bindparam("b_amount"), balance=accounts.c.balance + bindparam("b_amount"),
            updated_at=bindparam("b_now", type_=UTCDateTime()))
    .returning(accounts.c.balance, accounts.c.reserved)
)


def _append(
    session: Connection, *, user_id: str, video_id: str | None, kind: str, amount: int, after: Row[Any],
    note: str | None, now: datetime,
) -> None:
    session.execute(_APPEND, {
        "user_id": user_id, "video_id": video_id, "kind": kind, "amount": amount, "balance_after": after.balance,
        "reserved_after": after.reserved, "note": note, "created_at": now,
    })


def _credit(session: Connection, *, user_id: str, amount: int, note: str | None, now: datetime) -> Balance:
    after = session.execute(_CREDIT, {"b_user_id": user_id, "b_amount": amount, "b_now": now}).one()
    _append(session, user_id=user_id, video_id=None, kind="grant", amount=amount, after=after, note=note, now=now)
    return Balance(after.balance, after.reserved)


def ensure_account(session: Connection, *, user_id: str, plan: Plan, now: datetime, welcome: bool = True) -> bool:
    """Open the account on first sight; with `welcome`, credit its plan's welcome tokens unless it already
    had them (an admin's grant may have opened it first). Returns whether the welcome was credited now."""
    if not welcome:
        session.execute(_OPEN_ACCOUNT[session.dialect.name], {
            "user_id": user_id, "plan": plan.value, "balance": 0, "reserved": 0, "created_at": now,
            "updated_at": now, "welcomed_at": None,
        })
        return False
    due = session.execute(_WELCOME[session.dialect.name], {
        "user_id": user_id, "plan": plan.value, "balance": 0, "reserved": 0, "created_at": now, "updated_at": now,
        "welcomed_at": now,
    }).first() is not None
    tokens = PLAN_LIMITS[plan].welcome_tokens
    if due and tokens > 0:
        _credit(session, user_id=user_id, amount=tokens, note=f"welcome to the {plan.value} plan", now=now)
    return due


def get_balance(session: Connection, *, user_id: str) -> Balance | None:
    row = session.execute(_BALANCE, {"b_user_id": user_id}).first()
    return Balance(row.balance, row.reserved) if row is not None else None


def grant(session: Connection, *, user_id: str, amount: int, now: datetime, note: str | None = None) -> Balance:
    """Add tokens to an account (an admin's grant); opens the account, without welcome tokens, if needed."""
    if amount <= 0:
        raise ValueError(f"a grant must be a positive number of tokens, got {amount}")
    ensure_account(session, user_id=user_id, plan=Plan.FREE, now=now, welcome=False)
    return _credit(session, user_id=user_id, amount=amount, note=note or "granted", now=now)


def reserve(session: Connection, *, user_id: str, video_id: str, amount: int, now: datetime) -> Balance:
    """Hold `amount` tokens for a video; raises InsufficientTokens (changing nothing) when the balance is short."""
    if amount <= 0:
        raise ValueError(f"a reservation must be a positive number of tokens, got {amount}")
    after = session.execute(_RESERVE, {"b_user_id": user_id, "b_amount": amount, "b_now": now}).first()
    if after is None:
        current = get_balance(session, user_id=user_id)
        raise InsufficientTokens(balance=current.balance if current else 0, cost=amount)
    session.execute(_HOLD, {"video_id": video_id, "user_id": user_id, "amount": amount, "state": "reserved",
                            "created_at": now})
    _append(session, user_id=user_id, video_id=video_id, kind="reserve", amount=amount, after=after, note=None,
            now=now)
    return Balance(after.balance, after.reserved)


def _settle(session: Connection, *, video_id: str, refund: bool, note: str | None, now: datetime) -> bool:
    state, kind = ("released", "release") if refund else ("charged", "charge")
    held = session.execute(_SETTLE, {"b_video_id": video_id, "b_state": state, "b_now": now}).first()
    if held is None:
        return False
    after = session.execute(_REFUND if refund else _SPEND,
                            {"b_user_id": held.user_id, "b_amount": held.amount, "b_now": now}).one()
    _append(session, user_id=held.user_id, video_id=video_id, kind=kind, amount=held.amount, after=after, note=note,
            now=now)
    return True


def _charge_remade(session: Connection, *, video_id: str, now: datetime) -> bool:
    """A released video that is COMPLETED after all: charge its cost from the balance once, if it covers it."""
    owed = session.execute(_OWED, {"b_video_id": video_id}).first()
    if owed is None:
        return False
    after = session.execute(_CHARGE_BALANCE, {"b_user_id": owed.user_id, "b_amount": owed.amount, "b_now": now}).first()
    if after is None:
        return False  # the balance does not cover it: still owed, tried again at the next settlement
    session.execute(_MARK_CHARGED, {"b_video_id": video_id, "b_now": now})
    _append(session, user_id=owed.user_id, video_id=video_id, kind="charge", amount=owed.amount, after=after,
            note=REMADE_NOTE, now=now)
    return True


def charge(session: Connection, *, video_id: str, now: datetime) -> bool:
    """The video is COMPLETED: spend its reservation, or, if it was released when the video failed, charge
    the balance (see the paths above). Returns False when there was nothing to charge (or it is owed)."""
    return (_settle(session, video_id=video_id, refund=False, note=None, now=now)
            or _charge_remade(session, video_id=video_id, now=now))


def release(session: Connection, *, video_id: str, now: datetime, note: str | None = None) -> bool:
    """The video FAILED or was CANCELLED: give its reservation back. Returns False when already settled."""
    return _settle(session, video_id=video_id, refund=True, note=note, now=now)


def settle(session: Connection, *, video_id: str, status: VideoStatus | str, now: datetime) -> bool:
    """Settle a reservation from the video's status (a no-op unless final and unsettled)."""
    status = VideoStatus(status)
    if status is VideoStatus.COMPLETED:
        return charge(session, video_id=video_id, now=now)
    if status in (VideoStatus.FAILED, VideoStatus.CANCELLED):
        return release(session, video_id=video_id, now=now, note=status.value.lower())
    return False


def pending_settlements(session: Connection, *, user_id: str | None = None, limit: int = 200) -> list[tuple[str, str]]:
    """(video id, status) of unsettled reservations whose video reached a final status, and of released ones
    whose video was re-made to COMPLETED (owed)."""
    query = (
        select(reservations.c.video_id, videos.c.status)
        .join(videos, videos.c.id == reservations.c.video_id)
        .where(or_(
            and_(reservations.c.state == "reserved", videos.c.status.in_(FINAL_STATUSES)),
            and_(reservations.c.state == "released", videos.c.status == VideoStatus.COMPLETED.value),
        ))
        .order_by(reservations.c.state)  # 'reserved' first: owed videos never hold up ordinary settlements
        .limit(limit)
    )
    if user_id is not None:
        query = query.where(reservations.c.user_id == user_id)
    return [(video_id, status) for video_id, status in session.execute(query).all()]


def settle_finished(database: Database, *, user_id: str | None = None, limit: int = 200) -> int:
    """Settle every finished video, each in its own transaction (the lock order above); returns how many."""
    with database.read() as session:
        pending = pending_settlements(session, user_id=user_id, limit=limit)
    settled = 0
    for video_id, status in pending:
        with database.write() as session:
            settled += settle(session, video_id=video_id, status=status, now=datetime.now(UTC))
    return settled


def recent_entries(session: Connection, *, user_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """The account's latest ledger rows, newest first."""
    rows = session.execute(
        select(ledger).where(ledger.c.user_id == user_id).order_by(ledger.c.id.desc()).limit(limit)
    ).mappings()
    return [dict(row) for row in rows]


def total_reserved(session: Connection) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(accounts.c.reserved), 0))) or 0)
