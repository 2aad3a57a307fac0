"""/videos: generate, read, list, cancel, and the live progress stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError

from api import ledger, videos
from api.deps import AppState, CurrentUser, OwnedVideo, SessionDep, StateDep, VideoId
from api.downloads import result_links
from api.errors import ApiError, not_found
from api.models import ErrorResponse, GenerateAccepted, ProgressEvent, VideoOut, VideoPage, VideoSummary
from nexus_core.models import VideoRequest, VideoStatus
from nexus_core.pricing import plan_violations, token_cost

router = APIRouter(prefix="/videos", tags=["videos"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No valid bearer token."},
    429: {"model": ErrorResponse, "description": "Over the rate limit; see Retry-After."},
}
GENERATE_EXAMPLES = {
    "short": {
        "summary": "A 30 s 720p explainer",
        "value": {"prompt": "A 30-second explainer on black holes, cinematic music", "duration_seconds": 30,
                  "quality": "HD", "resolution": "720p", "music_style": "cinematic"},
    },
    "vertical": {
        "summary": "A 15 s vertical clip in French",
        "value": {"prompt": "Trois astuces pour bien dormir", "duration_seconds": 15, "aspect": "9:16",
                  "resolution": "1080p", "quality": "STANDARD", "language": "fr", "music_style": "ambient"},
    },
}
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
           description="Any unique string (a UUID): a retried POST with the same key returns the first answer "
                       "and charges once."),
]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _video_out(state: AppState, request: Request, row: RowMapping, *, queue_position: int | None) -> dict[str, Any]:
    status = VideoStatus(row["status"])
    result = None
    if status is VideoStatus.COMPLETED and "video" in row["artifacts"]:
        result = {
            **result_links(state.links, video_id=row["id"], artifacts=row["artifacts"], base_url=str(request.base_url)),
            "size_bytes": row["size_bytes"], "duration_s": row["duration_s"],
        }
    return {
        "id": row["id"], "status": status, "phase": row["phase"], "percent": row["percent"], "error": row["error"],
        "request": row["request"], "token_cost": row["token_cost"], "queue_position": queue_position,
        "timings": row["phase_seconds"], "created_at": row["created_at"], "updated_at": row["updated_at"],
        "started_at": row["started_at"], "completed_at": row["completed_at"], "result": result,
        "links": videos.links(row["id"]),
    }


def _settle_if_final(state: AppState, row: RowMapping) -> None:
    """A final status whose tokens are still held: settle now (idempotent; the relay does it too)."""
    if row["reservation_state"] == "reserved" and VideoStatus(row["status"]).is_final:
        with state.db.write() as session:
            ledger.settle(session, video_id=row["id"], status=row["status"], now=_utcnow())


@router.post(
    "/generate", status_code=202, response_model=GenerateAccepted,
    responses={**_ERRORS, 400: {"model": ErrorResponse, "description": "The body is not JSON."},
               402: {"model": ErrorResponse, "description": "Not enough tokens (balance and cost)."},
               403: {"model": ErrorResponse, "description": "The plan does not allow this request."},
               409: {"model": ErrorResponse, "description": "The Idempotency-Key was used for another request."},
               413: {"model": ErrorResponse, "description": "The body is over the size limit."}},
)
def generate(
    request: Request,
    body: Annotated[VideoRequest, Body(openapi_examples=GENERATE_EXAMPLES)],
    user: CurrentUser,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Price, reserve and queue a video: 202 with its id, cost and queue position."""
    violations = plan_violations(user.plan, body)
    if violations:
        first = violations[0]
        raise ApiError(403, "plan_limit", "; ".join(v.message for v in violations), field=first.field,
                       plan=user.plan.value)
    cost = token_cost(body)
    fingerprint = videos.request_hash(body) if idempotency_key else None
    now = _utcnow()
    try:
        with state.db.write() as session:
            if idempotency_key and fingerprint:
                replay = videos.find_replay(session, user_id=user.user_id, key=idempotency_key,
                                            fingerprint=fingerprint)
                if replay is not None:
                    return JSONResponse(replay.body, status_code=replay.status_code,
                                        headers={"Idempotent-Replayed": "true"})
            ledger.ensure_account(session, user_id=user.user_id, plan=user.plan, now=now)
            answer = videos.submit(session, user_id=user.user_id, request=body, cost=cost, now=now,
                                   idempotency_key=idempotency_key, fingerprint=fingerprint)
    except videos.IdempotencyConflict as exc:
        raise ApiError(409, "idempotency_conflict", "this Idempotency-Key was used with a different request",
                       field="Idempotency-Key") from exc
    except ledger.InsufficientTokens as exc:
        raise ApiError(402, "insufficient_tokens", str(exc), balance=exc.balance, cost=exc.cost) from exc
    except IntegrityError:
        if not (idempotency_key and fingerprint):
            raise
        # A concurrent request with the same key committed first: answer what it answered.
        with state.db.read() as session:
            replay = videos.find_replay(session, user_id=user.user_id, key=idempotency_key, fingerprint=fingerprint)
        if replay is None:
            raise
        return JSONResponse(replay.body, status_code=replay.status_code, headers={"Idempotent-Replayed": "true"})
    state.relay.wake()
    return JSONResponse(answer, status_code=202, headers={"Location": answer["links"]["self"]})


@router.get("", response_model=VideoPage, responses=_ERRORS)
def list_videos(
    user: CurrentUser,
    session: SessionDep,
    status: Annotated[VideoStatus | None, Query(description="Only videos in this status.")] = None,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The caller's videos, newest first."""
    try:
        rows, next_cursor = videos.list_videos(session, user_id=user.user_id, status=status, cursor=cursor,
                                               limit=limit)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"cursor: {exc}", field="cursor") from exc
    items = [
        VideoSummary(
            id=r["id"], status=r["status"], phase=r["phase"], percent=r["percent"], error=r["error"],
            prompt=r["request"]["prompt"], duration_seconds=r["request"]["duration_seconds"],
            quality=r["request"]["quality"], resolution=r["request"]["resolution"], token_cost=r["token_cost"],
            created_at=r["created_at"], completed_at=r["completed_at"],
        )
        for r in rows
    ]
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{video_id}", response_model=VideoOut, responses={**_ERRORS, 404: {"model": ErrorResponse}})
def get_video(request: Request, video_id: VideoId, user: CurrentUser, state: StateDep) -> dict[str, Any]:
    """Status, phase, percent, error, timings; when COMPLETED, signed URLs of the files."""
    with state.db.read() as session:  # in the route, not a dependency: the hot path makes one thread hop
        video = videos.get_video(session, video_id=video_id, user_id=user.user_id)
    if video is None:
        raise not_found()
    _settle_if_final(state, video)
    position = None
    if video["status"] == VideoStatus.QUEUED.value:
        with state.db.read() as session:
            position = videos.queue_position(session, video_id=video["id"], created_at=video["created_at"])
    return _video_out(state, request, video, queue_position=position)


@router.post(
    "/{video_id}/cancel", response_model=VideoOut,
    responses={**_ERRORS, 404: {"model": ErrorResponse},
               409: {"model": ErrorResponse, "description": "The video already COMPLETED or FAILED."}},
)
def cancel_video(request: Request, video_id: VideoId, user: CurrentUser, state: StateDep) -> dict[str, Any]:
    """Stop the work (a queued video never starts), release the tokens; status CANCELLED."""
    with state.db.write() as session:
        row = videos.get_video(session, video_id=video_id, user_id=user.user_id)
        if row is None:
            raise not_found()
        if row["status"] != VideoStatus.CANCELLED.value and not videos.cancel(session, video_id=video_id,
                                                                             now=_utcnow()):
            raise ApiError(409, "already_final", f"the video is already {row['status']}")
    state.relay.wake()
    with state.db.read() as session:
        row = videos.get_video(session, video_id=video_id, user_id=user.user_id)
    assert row is not None
    return _video_out(state, request, row, queue_position=None)


def _progress(state: AppState, video_id: str) -> dict[str, Any] | None:
    with state.db.read() as session:
        return videos.progress(session, video_id=video_id)


_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


@router.get(
    "/{video_id}/events", response_class=EventSourceResponse,
    responses={401: {"description": "No valid bearer token.", "content": _JSON_ERROR},
               404: {"description": "No such video.", "content": _JSON_ERROR},
               422: {"description": "A malformed video id.", "content": _JSON_ERROR},
               429: {"description": "Over the rate limit; see Retry-After.", "content": _JSON_ERROR},
               200: {"description": "`event: progress` on every change of status, phase or percent; "
                                    "`event: done` at COMPLETED, FAILED or CANCELLED, then the stream ends.",
                     "content": {"text/event-stream": {"schema": ProgressEvent.model_json_schema()}}}},
)
async def video_events(video: OwnedVideo, state: StateDep) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events of phase and percent changes until a final state."""
    video_id = video["id"]
    last: dict[str, Any] | None = None
    deadline = anyio.current_time() + state.settings.sse_max_s
    sequence = 0
    while anyio.current_time() < deadline:
        current = await anyio.to_thread.run_sync(_progress, state, video_id)
        if current is None:
            return
        final = VideoStatus(current["status"]).is_final
        if current != last:
            sequence += 1
            yield ServerSentEvent(data=current, event="done" if final else "progress", id=str(sequence))
            last = current
        if final:
            return
        await anyio.sleep(state.settings.sse_poll_s)
