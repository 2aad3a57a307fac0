"""Video requests as the API sees them: submit (video row + reservation + outbox row in one transaction),
read, list with a cursor, cancel. Uses the catalog's `videos` table inside the caller's session."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, bindparam, func, insert, or_, select

from api import ledger, outbox
from api.core.config import API_PREFIX
from api.models import CallbackOut, GenerateAccepted, VideoLinks
from api.tables import idempotency_keys, reservations
from api.webhooks import store as webhooks
from nexus_core.catalog.queries import list_filters
from nexus_core.catalog.repository import cancel_statement, fail_unfinished_statement
from nexus_core.catalog.tables import videos
from nexus_core.models import VideoRequest, VideoStatus
from nexus_core.service_level import Adjustment
from nexus_core.storage_keys import is_video_id, new_video_id

CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"  # what encode_cursor makes: unpadded URL-safe base64
_QUEUED = VideoStatus.QUEUED.value


def request_hash(request: VideoRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def links(video_id: str) -> dict[str, str]:
    base = f"{API_PREFIX}/videos/{video_id}"
    return {"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel"}


class IdempotencyConflict(Exception):
    """The Idempotency-Key was first used with a different request."""


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def find_replay(session: Connection, *, user_id: str, key: str, fingerprint: str) -> Replay | None:
    """The stored first answer for this key, or None; raises IdempotencyConflict for another body."""
    row = session.execute(
        select(idempotency_keys.c.request_hash, idempotency_keys.c.status_code, idempotency_keys.c.response)
        .where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
    ).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyConflict(key)
    return Replay(row.status_code, dict(row.response))


_AHEAD = select(func.count()).select_from(videos).where(
    videos.c.status == _QUEUED,
    or_(videos.c.created_at < bindparam("created_at", type_=videos.c.created_at.type),
        and_(videos.c.created_at == bindparam("created_at", type_=videos.c.created_at.type),
             videos.c.id < bindparam("video_id"))),
)
_INSERT_VIDEO = insert(videos)
_INSERT_KEY = insert(idempotency_keys)


def queue_position(session: Connection, *, video_id: str, created_at: datetime) -> int:
    """1 + the QUEUED videos created before this one (everyone's: they share the pipeline)."""
    ahead = session.scalar(_AHEAD, {"created_at": created_at, "video_id": video_id})
    return int(ahead or 0) + 1


def submit(
    session: Connection,
    *,
    user_id: str,
    request: VideoRequest,
    cost: int,
    now: datetime,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    callback_url: str | None = None,
    adjustments: Sequence[Adjustment] = (),
) -> dict[str, Any]:
    """Reserve the cost, record the QUEUED video and its outbox row (and the callback_url's webhook
    endpoint, whose secret the answer holds); returns the 202 body.

    Raises ledger.InsufficientTokens (nothing written). With an idempotency key, the answer is stored in
    the same transaction: a concurrent retry fails on the key's primary key and replays this answer.
    """
    video_id = new_video_id()
    ledger.reserve(session, user_id=user_id, video_id=video_id, amount=cost, now=now)
    stored_request = request.model_dump(mode="json")
    session.execute(_INSERT_VIDEO, {
        "id": video_id, "user_id": user_id, "request": stored_request, "status": _QUEUED, "phase": None,
        "percent": 0.0, "artifacts": {}, "error": None, "phase_seconds": {}, "created_at": now, "updated_at": now,
        "adjustments": [a.model_dump(mode="json") for a in adjustments] or None,  # preview, ULTRA as HD
    })
    outbox.enqueue(session, video_id=video_id, kind="generate", now=now, payload={
        "video_id": video_id, "user_id": user_id, "request": stored_request, "token_cost": cost,
        "requested_at": now.isoformat(), "source": "api",
    })
    callback = None
    if callback_url is not None:
        endpoint, secret = webhooks.create_endpoint(session, user_id=user_id, url=callback_url, now=now,
                                                    events=list(webhooks.DEFAULT_EVENTS), description=None,
                                                    video_id=video_id)
        callback = CallbackOut(webhook_id=endpoint["id"], secret=secret)
    body = GenerateAccepted(
        id=video_id, status=VideoStatus.QUEUED, token_cost=cost,
        queue_position=queue_position(session, video_id=video_id, created_at=now), created_at=now,
        links=VideoLinks(**links(video_id)), callback=callback, adjustments=list(adjustments),
    ).model_dump(mode="json")
    if idempotency_key is not None:
        session.execute(_INSERT_KEY, {
            "user_id": user_id, "key": idempotency_key, "request_hash": fingerprint or "", "status_code": 202,
            "response": body, "video_id": video_id, "created_at": now,
        })
    return body


# Every column the answers use: not the scenario JSON nor the search text (kilobytes a row, read by ?q= only).
_ANSWERED = [c for c in videos.c if c.name not in ("scenario", "search_text")]


def _video_query() -> Any:
    return select(
        *_ANSWERED, reservations.c.amount.label("token_cost"), reservations.c.state.label("reservation_state"),
    ).outerjoin(reservations, reservations.c.video_id == videos.c.id)


# Built once: building a SELECT costs more than running this one (the hot path of GET /videos/{id}).
_VIDEO_BY_ID = _video_query().where(videos.c.id == bindparam("video_id"))


def get_video(session: Connection, *, video_id: str, user_id: str) -> RowMapping | None:
    """The caller's video with its token cost; None when absent or someone else's."""
    row = session.execute(_VIDEO_BY_ID, {"video_id": video_id}).mappings().first()
    if row is None or row["user_id"] != user_id:
        return None
    return row


_PROGRESS = select(
    videos.c.status, videos.c.phase, videos.c.percent, videos.c.error, videos.c.phase_seconds, videos.c.started_at,
    videos.c.artifacts, videos.c.size_bytes, videos.c.duration_s, videos.c.adjustments,
).where(videos.c.id == bindparam("video_id"))


def progress(session: Connection, *, video_id: str) -> RowMapping | None:
    """What the progress stream reads: status, phase, the running asset's percent, error, finished assets
    (phase_seconds), started_at, artifacts (for the links at the end)."""
    return session.execute(_PROGRESS, {"video_id": video_id}).mappings().first()


def artifacts_of(session: Connection, *, video_id: str) -> dict[str, str] | None:
    """The artifact keys of a video (None when it is not in the catalog)."""
    artifacts = session.scalar(select(videos.c.artifacts).where(videos.c.id == video_id))
    return dict(artifacts) if artifacts is not None else None


def encode_cursor(created_at: datetime, video_id: str) -> str:
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), video_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ValueError on anything but a cursor this API made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, video_id = json.loads(raw)
        created_at = datetime.fromisoformat(stamp)
    except Exception as exc:
        raise ValueError("not a cursor from this API") from exc
    if not is_video_id(video_id) or created_at.tzinfo is None:
        raise ValueError("not a cursor from this API")
    return created_at, video_id


def list_videos(
    session: Connection, *, user_id: str, limit: int, status: VideoStatus | None = None, cursor: str | None = None,
    favorite: bool | None = None, in_flight: bool = False, terms: Sequence[str] = (),
) -> tuple[list[RowMapping], str | None]:
    """The caller's videos, newest first, `limit` at a time; returns (rows, next cursor or None). The filters
    (favorites, in flight, search words) are the catalog's (nexus_core.catalog.queries), each served by an index."""
    query = (
        _video_query().where(videos.c.user_id == user_id)
        .order_by(videos.c.created_at.desc(), videos.c.id.desc()).limit(limit + 1)
    )
    if status is not None:
        query = query.where(videos.c.status == VideoStatus(status).value)
    query = query.where(*list_filters(favorite=favorite, in_flight_only=in_flight, terms=terms))
    if cursor is not None:
        created_at, video_id = decode_cursor(cursor)
        query = query.where(or_(
            videos.c.created_at < created_at, and_(videos.c.created_at == created_at, videos.c.id < video_id),
        ))
    rows = list(session.execute(query).mappings())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["created_at"], rows[-1]["id"])


def cancel(session: Connection, *, video_id: str, now: datetime) -> bool:
    """QUEUED or PROCESSING -> CANCELLED, its tokens released and a cancel row in the outbox, in the
    caller's transaction; returns whether the status changed."""
    changed = session.execute(cancel_statement(video_id, now=now)).rowcount  # the catalog's rule
    if not changed:
        return False
    ledger.release(session, video_id=video_id, now=now, note="cancelled")
    outbox.enqueue(session, video_id=video_id, kind="cancel", now=now, payload={"video_id": video_id})
    webhooks.record_event(session, video_id=video_id, event_type="video.cancelled", now=now)  # same transaction
    return True


def fail_if_unfinished(session: Connection, *, video_id: str, error: str, now: datetime) -> bool:
    """A run ended without a final status (killed, crashed): FAILED with the reason, tokens released."""
    changed = session.execute(fail_unfinished_statement(video_id, error=error, now=now)).rowcount
    if changed:
        ledger.release(session, video_id=video_id, now=now, note="failed")
    return bool(changed)


def count_by_status(session: Connection) -> dict[str, int]:
    rows = session.execute(select(videos.c.status, func.count()).group_by(videos.c.status)).all()
    return {status: int(count) for status, count in rows}
