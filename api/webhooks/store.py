"""The webhook rows: endpoints, deliveries and the attempt log, always inside the caller's transaction.

A delivery is written where the status changes: `record_event` in the transaction that cancels a video,
and `observe` for what the pipeline changed (COMPLETED, FAILED, a new phase), which the API only learns by
reading the catalog. Both insert with ON CONFLICT DO NOTHING on (endpoint, video, event, step), so seeing
the same change twice, from two processes or two passes, writes one delivery: at-least-once, never lost
(the status itself is durable and `observe` keeps looking until the delivery exists).
"""

from __future__ import annotations

import secrets as random_ids
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, Text, and_, cast, delete, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from api.core.config import API_PREFIX
from api.tables import webhook_attempts, webhook_deliveries, webhook_endpoints
from api.webhooks.signing import new_secret
from nexus_core.catalog.tables import videos
from nexus_core.models import VideoStatus

EVENT_TYPES = ("video.completed", "video.failed", "video.cancelled", "video.progress")
DEFAULT_EVENTS = ("video.completed", "video.failed", "video.cancelled")
TEST_EVENT = "webhook.test"
FINAL_EVENTS = {VideoStatus.COMPLETED.value: "video.completed", VideoStatus.FAILED.value: "video.failed",
                VideoStatus.CANCELLED.value: "video.cancelled"}
_OBSERVE_BATCH = 500

_VIDEO_COLUMNS = (videos.c.id, videos.c.user_id, videos.c.status, videos.c.phase, videos.c.percent, videos.c.error,
                  videos.c.title, videos.c.created_at, videos.c.completed_at, videos.c.duration_s,
                  videos.c.size_bytes, videos.c.adjustments)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def new_endpoint_id() -> str:
    return "ep_" + random_ids.token_hex(12)


def new_message_id() -> str:
    return "msg_" + random_ids.token_hex(16)


# -- endpoints ------------------------------------------------------------------------------------------


def create_endpoint(
    session: Connection, *, user_id: str, url: str, events: list[str], description: str | None, now: datetime,
    video_id: str | None = None,
) -> tuple[dict[str, Any], str]:
    """A new endpoint; returns (its row, its secret): the only time the secret is handed out."""
    secret = new_secret()
    row = {"id": new_endpoint_id(), "user_id": user_id, "url": url, "description": description,
           "events": list(events), "secret": secret, "previous_secret": None, "previous_until": None,
           "video_id": video_id, "created_at": now, "updated_at": now}
    session.execute(webhook_endpoints.insert(), row)
    return row, secret


def count_endpoints(session: Connection, *, user_id: str) -> int:
    """The user's registered endpoints (a request's callback does not count)."""
    rows = session.execute(select(webhook_endpoints.c.id).where(
        webhook_endpoints.c.user_id == user_id, webhook_endpoints.c.video_id.is_(None))).all()
    return len(rows)


def list_endpoints(session: Connection, *, user_id: str) -> list[RowMapping]:
    return list(session.execute(
        select(webhook_endpoints).where(webhook_endpoints.c.user_id == user_id)
        .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
    ).mappings())


def get_endpoint(session: Connection, *, user_id: str, endpoint_id: str) -> RowMapping | None:
    """The user's endpoint; None when absent or someone else's."""
    return session.execute(select(webhook_endpoints).where(
        webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.user_id == user_id)).mappings().first()


def delete_endpoint(session: Connection, *, user_id: str, endpoint_id: str) -> bool:
    """The endpoint, its deliveries (pending ones are never sent) and its log."""
    gone = session.execute(delete(webhook_endpoints).where(
        webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.user_id == user_id)).rowcount
    if gone:
        session.execute(delete(webhook_attempts).where(webhook_attempts.c.endpoint_id == endpoint_id))
        session.execute(delete(webhook_deliveries).where(webhook_deliveries.c.endpoint_id == endpoint_id))
    return bool(gone)


def rotate_secret(session: Connection, *, endpoint_id: str, now: datetime, grace: timedelta) -> tuple[str, datetime]:
    """A new secret; the current one keeps signing (a second signature) for `grace`. Returns (secret, until)."""
    current = session.execute(select(webhook_endpoints.c.secret).where(webhook_endpoints.c.id == endpoint_id)
                              .with_for_update()).scalar_one()
    secret, until = new_secret(), now + grace
    session.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id).values(
        secret=secret, previous_secret=current if grace > timedelta(0) else None,
        previous_until=until if grace > timedelta(0) else None, updated_at=now))
    return secret, until


def signing_secrets(endpoint: RowMapping | dict[str, Any], *, now: datetime) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one during its grace period."""
    found = [endpoint["secret"]]
    if endpoint["previous_secret"] and endpoint["previous_until"] and endpoint["previous_until"] > now:
        found.append(endpoint["previous_secret"])
    return found


# -- events -------------------------------------------------------------------------------------------


def video_data(video: RowMapping | dict[str, Any]) -> dict[str, Any]:
    """The `data` of a video event (the files' signed links are added when it is sent: they expire)."""
    base = f"{API_PREFIX}/videos/{video['id']}"
    return {
        "id": video["id"], "status": video["status"], "phase": video["phase"], "percent": video["percent"],
        "error": video["error"], "title": video["title"], "created_at": _iso(video["created_at"]),
        "completed_at": _iso(video["completed_at"]), "duration_s": video["duration_s"],
        "size_bytes": video["size_bytes"], "adjustments": video["adjustments"] or [],
        "links": {"self": base, "events": f"{base}/events"},
    }


def message(event_type: str, data: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The Standard Webhooks payload shape: type, timestamp, data."""
    return {"type": event_type, "timestamp": _iso(now), "data": data}


def _insert_ignoring_duplicates(session: Connection, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    builder = postgresql.insert if session.dialect.name == "postgresql" else sqlite.insert
    statement = builder(webhook_deliveries).on_conflict_do_nothing(
        index_elements=["endpoint_id", "video_id", "event_type", "step"])
    written = 0
    for row in rows:  # one by one: rowcount says which were new
        written += session.execute(statement, row).rowcount or 0
    return written


def delivery_row(endpoint_id: str, user_id: str, video_id: str | None, event_type: str, step: str,
              payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"id": new_message_id(), "endpoint_id": endpoint_id, "user_id": user_id, "video_id": video_id,
            "event_type": event_type, "step": step, "payload": payload, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "lease_until": None, "retry_from": now, "last_status_code": None,
            "last_error": None, "created_at": now, "delivered_at": None}


def _subscribed(event_type: str) -> Any:
    # JSON on both backends: the list as text holds the quoted name (names are from EVENT_TYPES, no quotes).
    return cast(webhook_endpoints.c.events, Text).like(f'%"{event_type}"%')


def record_event(session: Connection, *, video_id: str, event_type: str, now: datetime, step: str = "") -> int:
    """A delivery of `event_type` for the video to each of its owner's endpoints that asked for it, in the
    caller's transaction (the one that changed the status); returns how many were new."""
    video = session.execute(select(*_VIDEO_COLUMNS).where(videos.c.id == video_id)).mappings().first()
    if video is None or video["user_id"] is None:
        return 0
    endpoints = session.execute(select(webhook_endpoints.c.id).where(
        webhook_endpoints.c.user_id == video["user_id"], _subscribed(event_type),
        or_(webhook_endpoints.c.video_id.is_(None), webhook_endpoints.c.video_id == video_id),
    )).scalars().all()
    payload = message(event_type, video_data(video), now=now)
    return _insert_ignoring_duplicates(session, [
        delivery_row(endpoint_id, video["user_id"], video_id, event_type, step, payload, now)
        for endpoint_id in endpoints
    ])


def _unrecorded(status: str, event_type: str, *, since: datetime, progress: bool) -> Any:
    """Videos in `status` (changed since `since` and since the endpoint was made) and the endpoints that
    asked for the event but have no delivery of it yet."""
    step = videos.c.phase if progress else ""
    query = (
        select(*_VIDEO_COLUMNS, webhook_endpoints.c.id.label("endpoint_id"))
        .join(webhook_endpoints, and_(
            webhook_endpoints.c.user_id == videos.c.user_id,
            or_(webhook_endpoints.c.video_id.is_(None), webhook_endpoints.c.video_id == videos.c.id)))
        .where(videos.c.status == status, videos.c.updated_at >= since,
               videos.c.updated_at >= webhook_endpoints.c.created_at, _subscribed(event_type),
               ~exists().where(webhook_deliveries.c.endpoint_id == webhook_endpoints.c.id,
                               webhook_deliveries.c.video_id == videos.c.id,
                               webhook_deliveries.c.event_type == event_type,
                               webhook_deliveries.c.step == step))
        .limit(_OBSERVE_BATCH)
    )
    return query.where(videos.c.phase.is_not(None)) if progress else query


def observe(session: Connection, *, now: datetime, window: timedelta) -> list[dict[str, Any]]:
    """The deliveries that changes made by the pipeline call for and that are not written yet (final
    statuses, and for endpoints that ask, each new phase). A read: `record_observed` writes them."""
    since = now - window
    found: list[dict[str, Any]] = []
    checks = [(status, event, False) for status, event in FINAL_EVENTS.items()]
    checks.append((VideoStatus.PROCESSING.value, "video.progress", True))
    for status, event_type, progress in checks:
        rows = session.execute(_unrecorded(status, event_type, since=since, progress=progress)).mappings().all()
        found.extend(
            delivery_row(row["endpoint_id"], row["user_id"], row["id"], event_type, row["phase"] if progress else "",
                      message(event_type, video_data(row), now=now), now)
            for row in rows
        )
    return found


def record_observed(session: Connection, deliveries: list[dict[str, Any]]) -> int:
    """Write what `observe` found; idempotent (another pass or process may have written some): returns how
    many were new."""
    return _insert_ignoring_duplicates(session, deliveries)


def record_test(session: Connection, *, endpoint: RowMapping, now: datetime) -> dict[str, Any]:
    """A `webhook.test` delivery to this endpoint (whatever it subscribed to)."""
    payload = message(TEST_EVENT, {"endpoint_id": endpoint["id"], "message": "a test event from Nexus Video"},
                      now=now)
    row = delivery_row(endpoint["id"], endpoint["user_id"], None, TEST_EVENT, "", payload, now)
    session.execute(webhook_deliveries.insert(), row)
    return row


# -- the delivery log ---------------------------------------------------------------------------------


def list_deliveries(
    session: Connection, *, endpoint_id: str, limit: int, status: str | None = None
) -> list[dict[str, Any]]:
    """The endpoint's deliveries, newest first, each with its attempts (oldest first)."""
    query = (select(webhook_deliveries).where(webhook_deliveries.c.endpoint_id == endpoint_id)
             .order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id.desc()).limit(limit))
    if status is not None:
        query = query.where(webhook_deliveries.c.status == status)
    deliveries = [dict(row) for row in session.execute(query).mappings()]
    if not deliveries:
        return []
    attempts: dict[str, list[dict[str, Any]]] = {d["id"]: [] for d in deliveries}
    for row in session.execute(
        select(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(list(attempts)))
        .order_by(webhook_attempts.c.id)
    ).mappings():
        attempts[row["delivery_id"]].append(dict(row))
    for delivery in deliveries:
        delivery["attempt_log"] = attempts[delivery["id"]]
    return deliveries


def get_delivery(session: Connection, *, endpoint_id: str, delivery_id: str) -> dict[str, Any] | None:
    row = session.execute(select(webhook_deliveries).where(
        webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.endpoint_id == endpoint_id)).mappings().first()
    if row is None:
        return None
    delivery = dict(row)
    delivery["attempt_log"] = [dict(r) for r in session.execute(
        select(webhook_attempts).where(webhook_attempts.c.delivery_id == delivery_id).order_by(webhook_attempts.c.id)
    ).mappings()]
    return delivery


def replay(session: Connection, *, endpoint_id: str, delivery_id: str, now: datetime) -> bool:
    """Send a delivery again (same webhook-id, so receivers can dedupe), with a fresh retry period."""
    return bool(session.execute(update(webhook_deliveries).where(
        webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.endpoint_id == endpoint_id,
    ).values(status="pending", next_attempt_at=now, retry_from=now, lease_until=None, delivered_at=None)).rowcount)


# -- what the worker does with the rows -----------------------------------------------------------------


def claim(session: Connection, *, now: datetime, lease: timedelta, batch: int) -> list[RowMapping]:
    """Lease due deliveries (one UPDATE; rows another process leased are skipped), counting the attempt."""
    due = (webhook_deliveries.c.status == "pending", webhook_deliveries.c.next_attempt_at <= now,
           or_(webhook_deliveries.c.lease_until.is_(None), webhook_deliveries.c.lease_until < now))
    ids = (select(webhook_deliveries.c.id).where(*due).order_by(webhook_deliveries.c.next_attempt_at)
           .limit(batch).scalar_subquery())
    return list(session.execute(
        update(webhook_deliveries).where(webhook_deliveries.c.id.in_(ids), *due)
        .values(lease_until=now + lease, attempts=webhook_deliveries.c.attempts + 1)
        .returning(webhook_deliveries.c.id, webhook_deliveries.c.endpoint_id, webhook_deliveries.c.video_id,
                   webhook_deliveries.c.event_type, webhook_deliveries.c.payload, webhook_deliveries.c.attempts,
                   webhook_deliveries.c.retry_from)
    ).mappings())


def endpoints_by_id(session: Connection, ids: list[str]) -> dict[str, RowMapping]:
    if not ids:
        return {}
    rows = session.execute(select(webhook_endpoints).where(webhook_endpoints.c.id.in_(ids))).mappings()
    return {row["id"]: row for row in rows}


def record_attempt(
    session: Connection, *, delivery: RowMapping, status_code: int | None, error: str | None, duration_ms: int,
    now: datetime, outcome: str, next_attempt_at: datetime | None,
) -> None:
    """Log the attempt and move the delivery on: delivered, failed, or pending until `next_attempt_at`."""
    session.execute(webhook_attempts.insert(), {
        "delivery_id": delivery["id"], "endpoint_id": delivery["endpoint_id"], "attempt": delivery["attempts"],
        "status_code": status_code, "error": error[:2000] if error else None, "duration_ms": duration_ms,
        "created_at": now,
    })
    values: dict[str, Any] = {"status": outcome, "lease_until": None, "last_status_code": status_code,
                              "last_error": error[:2000] if error else None}
    if outcome == "delivered":
        values["delivered_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    session.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery["id"]).values(**values))


def video_artifacts(session: Connection, *, video_id: str) -> RowMapping | None:
    return session.execute(select(videos.c.artifacts, videos.c.size_bytes, videos.c.duration_s)
                           .where(videos.c.id == video_id)).mappings().first()
