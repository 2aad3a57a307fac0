"""/videos: generate, read, list, cancel, and the live progress stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC
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
from api.models import (
    ErrorResponse,
    FavoriteOut,
    GenerateAccepted,
    GenerateRequest,
    ProgressEvent,
    VideoOut,
    VideoPage,
    VideoSummary,
)
from api.routes.webhooks import CALLBACK_EXAMPLES, get_worker, refuse_unsafe_url
from nexus_core.catalog.queries import search_terms, set_favorite
from nexus_core.clock import utcnow
from nexus_core.models import VideoStatus
from nexus_core.pricing import plan_violations, token_cost
from nexus_core.progress import OverallProgress, overall_progress
from nexus_core.service_level import served_request

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
SEARCH_EXAMPLES = {
    "words": {"summary": "Videos about black holes", "value": "black hole"},
    "fragment": {"summary": "Part of a word matches too", "value": "astro"},
}
PREVIEW_EXAMPLE = {
    "preview": {
        "summary": "A cheap draft of a 4K request (served at 720p STANDARD, fewer diffusion steps)",
        "value": {"prompt": "A 20-second tour of the solar system", "duration_seconds": 20, "quality": "ULTRA",
                  "resolution": "2160p", "preview": True},
    },
}
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
           description="Any unique string (a UUID): a retried POST with the same key returns the first answer "
                       "and charges once."),
]



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
        "links": videos.links(row["id"]), "title": row["title"], "favorite": row["favorited_at"] is not None,
        "favorited_at": row["favorited_at"], "adjustments": row["adjustments"] or [],
    }


def _settle_if_final(state: AppState, row: RowMapping) -> None:
    """A final status whose tokens are still held: settle now (idempotent; the relay does it too)."""
    if row["reservation_state"] == "reserved" and VideoStatus(row["status"]).is_final:
        with state.db.write() as session:
            ledger.settle(session, video_id=row["id"], status=row["status"], now=utcnow())


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
    body: Annotated[GenerateRequest, Body(openapi_examples={**GENERATE_EXAMPLES, **PREVIEW_EXAMPLE,
                                                            **CALLBACK_EXAMPLES})],
    user: CurrentUser,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Price, reserve and queue a video: 202 with its id, cost and queue position."""
    if body.callback_url is not None:  # 422 for a private address outside local development
        refuse_unsafe_url(get_worker(request), body.callback_url, field="callback_url")
    violations = plan_violations(user.plan, body)
    if violations:
        first = violations[0]
        raise ApiError(403, "plan_limit", "; ".join(v.message for v in violations), field=first.field,
                       plan=user.plan.value)
    asked = body.video_request()
    # What is served (a preview; ULTRA as HD without a GPU pool) is what is made, recorded and charged.
    served = served_request(asked, gpu_pool=state.settings.gpu_pool)
    cost = token_cost(asked, gpu_pool=state.settings.gpu_pool)
    fingerprint = videos.request_hash(body) if idempotency_key else None
    now = utcnow()
    try:
        with state.db.write() as session:
            if idempotency_key and fingerprint:
                replay = videos.find_replay(session, user_id=user.user_id, key=idempotency_key,
                                            fingerprint=fingerprint)
                if replay is not None:
                    return JSONResponse(replay.body, status_code=replay.status_code,
                                        headers={"Idempotent-Replayed": "true"})
            ledger.ensure_account(session, user_id=user.user_id, plan=user.plan, now=now)
            answer = videos.submit(session, user_id=user.user_id, request=served.request, cost=cost, now=now,
                                   idempotency_key=idempotency_key, fingerprint=fingerprint,
                                   callback_url=body.callback_url, adjustments=served.adjustments)
    except videos.IdempotencyConflict as exc:
        raise _idempotency_conflict() from exc
    except ledger.InsufficientTokens as exc:
        raise ApiError(402, "insufficient_tokens", str(exc), balance=exc.balance, cost=exc.cost) from exc
    except IntegrityError:
        if not (idempotency_key and fingerprint):
            raise
        # A concurrent request with the same key committed first: answer what it answered (409 when that
        # request had another body).
        with state.db.read() as session:
            try:
                replay = videos.find_replay(session, user_id=user.user_id, key=idempotency_key,
                                            fingerprint=fingerprint)
            except videos.IdempotencyConflict as exc:
                raise _idempotency_conflict() from exc
        if replay is None:
            raise
        return JSONResponse(replay.body, status_code=replay.status_code, headers={"Idempotent-Replayed": "true"})
    state.relay.wake()
    return JSONResponse(answer, status_code=202, headers={"Location": answer["links"]["self"]})


def _idempotency_conflict() -> ApiError:
    return ApiError(409, "idempotency_conflict", "this Idempotency-Key was used with a different request",
                    field="Idempotency-Key")


@router.get("", response_model=VideoPage, responses=_ERRORS)
def list_videos(
    user: CurrentUser,
    session: SessionDep,
    status: Annotated[VideoStatus | None, Query(description="Only videos in this status.")] = None,
    cursor: Annotated[str | None, Query(max_length=512, pattern=videos.CURSOR_PATTERN,
                                        description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    favorite: Annotated[bool | None, Query(description="true: only favorites; false: only the others.")] = None,
    in_flight: Annotated[bool, Query(description="true: only QUEUED and PROCESSING videos.")] = False,
    q: Annotated[str | None, Query(min_length=1, max_length=200, openapi_examples=SEARCH_EXAMPLES,
                                   description="Words that must all appear (case-insensitive, anywhere in a word) "
                                               "in the title or the narration.")] = None,
) -> dict[str, Any]:
    """The caller's videos, newest first; filtered by status, favorites, in flight, and search words."""
    try:
        terms = search_terms(q) if q is not None else []
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"q: {exc}", field="q") from exc
    try:
        rows, next_cursor = videos.list_videos(session, user_id=user.user_id, status=status, cursor=cursor,
                                               limit=limit, favorite=favorite, in_flight=in_flight, terms=terms)
    except ValueError as exc:
        raise ApiError(422, "validation_error", f"cursor: {exc}", field="cursor") from exc
    items = [
        VideoSummary(
            id=r["id"], status=r["status"], phase=r["phase"], percent=r["percent"], error=r["error"],
            prompt=r["request"]["prompt"], duration_seconds=r["request"]["duration_seconds"],
            quality=r["request"]["quality"], resolution=r["request"]["resolution"], token_cost=r["token_cost"],
            created_at=r["created_at"], completed_at=r["completed_at"], title=r["title"],
            favorite=r["favorited_at"] is not None, preview=bool(r["request"].get("preview", False)),
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
def cancel_video(request: Request, video: OwnedVideo, user: CurrentUser, state: StateDep) -> dict[str, Any]:
    """Stop the work (a queued video never starts), release the tokens; status CANCELLED."""
    cancelled = video["status"] == VideoStatus.CANCELLED.value
    if not cancelled:
        with state.db.write() as session:
            cancelled = videos.cancel(session, video_id=video["id"], now=utcnow())
    with state.db.read() as session:
        row = videos.get_video(session, video_id=video["id"], user_id=user.user_id)
    if row is None:  # removed since the dependency read it
        raise not_found()
    if not cancelled and row["status"] != VideoStatus.CANCELLED.value:  # cancelled meanwhile: fine
        raise ApiError(409, "already_final", f"the video is already {row['status']}")
    state.relay.wake()
    return _video_out(state, request, row, queue_position=None)


def _favorite(video_id: str, user: CurrentUser, state: StateDep, *, on: bool) -> dict[str, Any]:
    with state.db.write() as session:
        try:
            favorited_at = set_favorite(session, video_id, user_id=user.user_id, favorite=on, now=utcnow())
        except LookupError as exc:
            raise not_found() from exc
    return {"id": video_id, "favorite": favorited_at is not None, "favorited_at": favorited_at}


_FAVORITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_ERRORS, 404: {"model": ErrorResponse, "description": "No such video of the caller's."},
    200: {"content": {"application/json": {"example": {"id": "3f9c2a1b7d4e8f60", "favorite": True,
                                                       "favorited_at": "2026-01-21T09:30:00Z"}}}},
}


@router.put("/{video_id}/favorite", response_model=FavoriteOut, responses=_FAVORITE_RESPONSES)
def add_favorite(video_id: VideoId, user: CurrentUser, state: StateDep) -> dict[str, Any]:
    """Mark the video as a favorite (idempotent: marking again keeps the first time); list with ?favorite=true."""
    return _favorite(video_id, user, state, on=True)


@router.delete("/{video_id}/favorite", response_model=FavoriteOut, responses=_FAVORITE_RESPONSES)
def remove_favorite(video_id: VideoId, user: CurrentUser, state: StateDep) -> dict[str, Any]:
    """No longer a favorite (idempotent)."""
    return _favorite(video_id, user, state, on=False)


def _progress_row(state: AppState, video_id: str) -> RowMapping | None:
    with state.db.read() as session:
        return videos.progress(session, video_id=video_id)


def _progress_event(
    state: AppState, request: Request, video_id: str, row: RowMapping, previous: OverallProgress | None
) -> tuple[dict[str, Any], OverallProgress]:
    """The event's data: overall and phase percent, time left; the files' links once COMPLETED."""
    status = VideoStatus(row["status"])
    started = row["started_at"]
    if started is not None and started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    done = overall_progress(
        status=status, phase=row["phase"], asset_percent=row["percent"], finished_assets=row["phase_seconds"],
        elapsed_s=(utcnow() - started).total_seconds() if started else None, previous=previous,
    )
    data: dict[str, Any] = {"id": video_id, "status": status.value, "phase": done.phase, "percent": done.percent,
                            "phase_percent": done.phase_percent, "eta_s": done.eta_s, "error": row["error"]}
    if status is VideoStatus.COMPLETED and "video" in row["artifacts"]:
        data["result"] = {**result_links(state.links, video_id=video_id, artifacts=row["artifacts"],
                                         base_url=str(request.base_url)), "size_bytes": row["size_bytes"],
                          "duration_s": row["duration_s"]}
    if status.is_final:
        data["adjustments"] = row["adjustments"] or []
    return ProgressEvent.model_validate(data).model_dump(mode="json"), done


_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


@router.get(
    "/{video_id}/events", response_class=EventSourceResponse,
    responses={401: {"description": "No valid bearer token.", "content": _JSON_ERROR},
               404: {"description": "No such video.", "content": _JSON_ERROR},
               422: {"description": "A malformed video id.", "content": _JSON_ERROR},
               429: {"description": "Over the rate limit; see Retry-After.", "content": _JSON_ERROR},
               200: {"description": "`event: progress` on every change of status, phase or percent (overall, "
                                    "never going down, with the phase's own percent and the seconds left); "
                                    "`event: done` at COMPLETED (with the files' links), FAILED or CANCELLED, "
                                    "then the stream ends.",
                     "content": {"text/event-stream": {"schema": ProgressEvent.model_json_schema()}}}},
)
async def video_events(request: Request, video: OwnedVideo, state: StateDep) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events of the overall percent (it only grows), the phase and its percent, until a final state."""
    video_id = video["id"]
    last_key: tuple[Any, ...] | None = None
    previous: OverallProgress | None = None
    deadline = anyio.current_time() + state.settings.sse_max_s
    sequence = 0
    while anyio.current_time() < deadline:
        row = await anyio.to_thread.run_sync(_progress_row, state, video_id)
        if row is None:
            return
        data, previous = _progress_event(state, request, video_id, row, previous)
        final = VideoStatus(data["status"]).is_final
        key = (data["status"], data["phase"], data["percent"], data["phase_percent"], data["error"])
        if key != last_key or final:
            sequence += 1
            yield ServerSentEvent(data=data, event="done" if final else "progress", id=str(sequence))
            last_key = key
        if final:
            return
        await anyio.sleep(state.settings.sse_poll_s)
