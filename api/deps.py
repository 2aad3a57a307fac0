"""FastAPI dependencies as Annotated aliases: StateDep, SessionDep, CurrentUser, AdminUser, OwnedVideo."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, RowMapping

from api import videos
from api.core.config import Settings
from api.core.db import Database
from api.core.metrics import Metrics
from api.core.ratelimit import GLOBAL_KEY, Bucket, RateLimiter
from api.core.security import AuthError, Principal, TokenVerifier
from api.dispatch import Dispatcher
from api.downloads import LocalSignedLinks
from api.errors import ApiError, not_found
from api.relay import Relay
from nexus_core.storage_keys import VIDEO_ID_PATTERN


@dataclass
class AppState:
    """Everything a request needs, built once per app by create_app()."""

    settings: Settings
    db: Database
    verifier: TokenVerifier
    limiter: RateLimiter
    links: LocalSignedLinks
    dispatcher: Dispatcher
    relay: Relay
    metrics: Metrics


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.nexus
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Connection]:
    """A connection for reads, held until the response is sent (writes go through `state.db.write()`, one
    transaction each). Not for streaming routes: they would hold it for the whole stream."""
    with state.db.read() as session:
        yield session


SessionDep = Annotated[Connection, Depends(get_session)]

bearer = HTTPBearer(
    auto_error=False, bearerFormat="JWT",
    description="An RS256 JWT: sub = user id, plan = FREE | PREMIUM | VIP, roles, exp. `nexus dev-token` mints one.",
)


def _unauthorized(code: str, message: str) -> ApiError:
    challenge = f'Bearer error="invalid_token", error_description="{message}"' if code != "missing_token" else "Bearer"
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


async def get_current_user(
    request: Request, state: StateDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """The verified caller, within the rate limits (429 with Retry-After beyond them).

    Async on purpose: verification is cached CPU work and the in-memory limiter does no I/O, so a request
    makes no thread hop before its route (the Redis limiter hops once).
    """
    if credentials is None:
        header = request.headers.get("authorization")
        if header:
            raise _unauthorized("invalid_scheme", "use an 'Authorization: Bearer <token>' header")
        raise _unauthorized("missing_token", "this route needs an 'Authorization: Bearer <token>' header")
    try:
        principal = state.verifier.verify(credentials.credentials)
    except AuthError as exc:
        raise _unauthorized(exc.code, exc.message) from exc
    request.state.user_id = principal.user_id  # for the access log line (api/core/metrics.py)
    settings = state.settings
    decision = await state.limiter.ahit([
        Bucket(f"user:{principal.user_id}", settings.rate_limit_user_per_s, settings.rate_limit_user_burst),
        Bucket(GLOBAL_KEY, settings.rate_limit_global_per_s, settings.rate_limit_global_burst),
    ])
    if not decision.allowed:
        raise ApiError(429, "rate_limited", f"too many requests; retry in {decision.retry_after_header} s",
                       headers={"Retry-After": decision.retry_after_header},
                       retry_after_s=round(decision.retry_after_s, 3))
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def require_admin(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise ApiError(403, "forbidden", "this route needs the admin role")
    return user


AdminUser = Annotated[Principal, Depends(require_admin)]

VideoId = Annotated[str, Path(pattern=VIDEO_ID_PATTERN, description="The video's id.", examples=["3f9c2a71b04e4d58"])]


def get_owned_video(video_id: VideoId, user: CurrentUser, state: StateDep) -> RowMapping:
    """The caller's video (404 for an unknown id and for another user's video alike); releases its
    connection at once, so a long stream holds none."""
    with state.db.read() as session:
        row = videos.get_video(session, video_id=video_id, user_id=user.user_id)
    if row is None:
        raise not_found()
    return row


OwnedVideo = Annotated[RowMapping, Depends(get_owned_video)]
