"""The outbox: a row per hand-off (generate, cancel), written in the same transaction as the request.

api.relay moves the rows to the pipeline; a row stays undelivered until the dispatcher takes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from api.tables import outbox

_ENQUEUE = insert(outbox)


def enqueue(session: Connection, *, video_id: str, kind: str, payload: dict[str, Any], now: datetime) -> None:
    """Add a row in the caller's transaction (the same one that records the request)."""
    session.execute(_ENQUEUE, {"video_id": video_id, "kind": kind, "payload": payload, "created_at": now,
                               "available_at": now, "attempts": 0})


def pending_count(session: Connection) -> int:
    """Rows not yet handed over (the queue's backlog as this side sees it)."""
    return int(session.scalar(select(func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None))) or 0)
