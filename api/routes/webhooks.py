"""/webhooks: a user's endpoints (create, list, read, delete, rotate the secret, send a test event), each
endpoint's delivery log, and replaying a delivery. Messages follow the Standard Webhooks scheme."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from sqlalchemy import RowMapping

from api.deps import CurrentUser, StateDep
from api.errors import ApiError, not_found
from api.models import ErrorResponse
from api.webhooks import store
from api.webhooks.schemas import DeliveryOut, DeliveryPage, SecretRotated, WebhookCreated, WebhookIn, WebhookOut
from api.webhooks.urls import UrlRefused, check_registration
from api.webhooks.worker import WebhookWorker
from nexus_core.clock import utcnow

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

EndpointId = Annotated[str, Path(pattern=r"^ep_[0-9a-f]{24}$", description="The endpoint's id.",
                                 examples=["ep_5d0c1f2a9b8e7d6c5b4a3f21"])]
DeliveryId = Annotated[str, Path(pattern=r"^msg_[0-9a-f]{32}$", description="The delivery's id (its webhook-id).",
                                 examples=["msg_0f1e2d3c4b5a69788796a5b4c3d2e1f0"])]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No valid bearer token."},
    429: {"model": ErrorResponse, "description": "Over the rate limit; see Retry-After."},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No such endpoint."}}

CREATE_EXAMPLES = {
    "final": {"summary": "Completed, failed and cancelled videos",
              "value": {"url": "https://example.com/hooks/nexus", "description": "production"}},
    "progress": {"summary": "Every phase too",
                 "value": {"url": "https://example.com/hooks/nexus",
                           "events": ["video.completed", "video.failed", "video.progress"]}},
}
CALLBACK_EXAMPLES = {  # for POST /videos/generate
    "callback": {"summary": "With a callback URL for its final event",
                 "value": {"prompt": "A 30-second explainer on black holes", "duration_seconds": 30,
                           "callback_url": "https://example.com/hooks/video-done"}},
}
_ENDPOINT_EXAMPLE = {
    "id": "ep_5d0c1f2a9b8e7d6c5b4a3f21", "url": "https://example.com/hooks/nexus",
    "events": ["video.completed", "video.failed", "video.cancelled"], "description": "production", "video_id": None,
    "created_at": "2026-02-10T12:00:00Z", "previous_secret_expires_at": None,
}
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
_DELIVERY_EXAMPLE = {
    "id": "msg_0f1e2d3c4b5a69788796a5b4c3d2e1f0", "event_type": "video.completed", "video_id": "3f9c2a71b04e4d58",
    "status": "delivered", "attempts": 3, "next_attempt_at": None, "last_status_code": 200, "last_error": None,
    "created_at": "2026-02-10T12:03:00Z", "delivered_at": "2026-02-10T12:03:31Z",
    "attempt_log": [
        {"attempt": 1, "status_code": 500, "error": "HTTP 500", "duration_ms": 41, "at": "2026-02-10T12:03:00Z"},
        {"attempt": 2, "status_code": None, "error": "timeout after 10 s (ReadTimeout)", "duration_ms": 10004,
         "at": "2026-02-10T12:03:04Z"},
        {"attempt": 3, "status_code": 200, "error": None, "duration_ms": 38, "at": "2026-02-10T12:03:31Z"},
    ],
}


def _example(value: Any) -> dict[str, Any]:
    return {"content": {"application/json": {"example": value}}}


def get_worker(request: Request) -> WebhookWorker:
    worker: WebhookWorker = request.app.state.webhooks
    return worker


WorkerDep = Annotated[WebhookWorker, Depends(get_worker)]



def refuse_unsafe_url(worker: WebhookWorker, url: str, *, field: str) -> None:
    """422 for a URL webhooks may not point at (malformed; a private address outside local development)."""
    try:
        check_registration(url, allow_private=worker.allow_private)
    except UrlRefused as exc:
        raise ApiError(422, "unsafe_url", str(exc), field=field) from exc


def _endpoint_out(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    until = row["previous_until"] if row["previous_secret"] else None
    return {"id": row["id"], "url": row["url"], "events": row["events"], "description": row["description"],
            "video_id": row["video_id"], "created_at": row["created_at"],
            "previous_secret_expires_at": until if until and until > utcnow() else None}


def _delivery_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "next_attempt_at": row["next_attempt_at"] if row["status"] == "pending" else None,
            "attempt_log": [{**a, "at": a["created_at"]} for a in row["attempt_log"]]}


def _owned(state: Any, user_id: str, endpoint_id: str) -> RowMapping:
    with state.db.read() as session:
        row = store.get_endpoint(session, user_id=user_id, endpoint_id=endpoint_id)
    if row is None:
        raise not_found("webhook endpoint")
    return row


@router.post(
    "", status_code=201, response_model=WebhookCreated,
    responses={**_ERRORS, 201: _example({**_ENDPOINT_EXAMPLE, "secret": _SECRET}),
               400: {"model": ErrorResponse, "description": "The body is not JSON."},
               409: {"model": ErrorResponse, "description": "The user has the most endpoints allowed."},
               413: {"model": ErrorResponse, "description": "The body is over the size limit."},
               422: {"model": ErrorResponse, "description": "A malformed URL, or one on a private address."}},
)
def create_webhook(
    body: Annotated[WebhookIn, Body(openapi_examples=CREATE_EXAMPLES)], user: CurrentUser, state: StateDep,
    worker: WorkerDep,
) -> dict[str, Any]:
    """Register an endpoint; the answer holds its signing secret, shown this once."""
    refuse_unsafe_url(worker, body.url, field="url")
    limit = state.settings.webhook_max_endpoints
    with state.db.write() as session:
        if store.count_endpoints(session, user_id=user.user_id) >= limit:
            raise ApiError(409, "too_many_endpoints", f"at most {limit} webhook endpoints per user")
        row, secret = store.create_endpoint(session, user_id=user.user_id, url=body.url, events=list(body.events),
                                            description=body.description, now=utcnow())
    return {**_endpoint_out(row), "secret": secret}


@router.get("", response_model=list[WebhookOut], responses={**_ERRORS, 200: _example([_ENDPOINT_EXAMPLE])})
def list_webhooks(user: CurrentUser, state: StateDep) -> list[dict[str, Any]]:
    """The caller's endpoints (without their secrets), oldest first; callbacks of requests included."""
    with state.db.read() as session:
        return [_endpoint_out(row) for row in store.list_endpoints(session, user_id=user.user_id)]


@router.get("/{endpoint_id}", response_model=WebhookOut,
            responses={**_ERRORS, **_NOT_FOUND, 200: _example(_ENDPOINT_EXAMPLE)})
def get_webhook(endpoint_id: EndpointId, user: CurrentUser, state: StateDep) -> dict[str, Any]:
    """One endpoint (without its secret)."""
    return _endpoint_out(_owned(state, user.user_id, endpoint_id))


@router.delete("/{endpoint_id}", status_code=204, response_class=Response, responses={**_ERRORS, **_NOT_FOUND})
def delete_webhook(endpoint_id: EndpointId, user: CurrentUser, state: StateDep) -> Response:
    """Remove the endpoint with its delivery log; pending deliveries are dropped."""
    with state.db.write() as session:
        if not store.delete_endpoint(session, user_id=user.user_id, endpoint_id=endpoint_id):
            raise not_found("webhook endpoint")
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate-secret", response_model=SecretRotated,
    responses={**_ERRORS, **_NOT_FOUND, 200: _example({"id": _ENDPOINT_EXAMPLE["id"], "secret": _SECRET,
                                                        "previous_secret_expires_at": "2026-02-11T12:00:00Z"})},
)
def rotate_webhook_secret(endpoint_id: EndpointId, user: CurrentUser, state: StateDep) -> dict[str, Any]:
    """A new secret, shown once; the old one keeps signing too (a second signature) for the grace period."""
    _owned(state, user.user_id, endpoint_id)
    grace = timedelta(seconds=state.settings.webhook_rotation_grace_s)
    with state.db.write() as session:
        secret, until = store.rotate_secret(session, endpoint_id=endpoint_id, now=utcnow(), grace=grace)
    return {"id": endpoint_id, "secret": secret, "previous_secret_expires_at": until if grace else None}


@router.post(
    "/{endpoint_id}/test", status_code=202, response_model=DeliveryOut,
    responses={**_ERRORS, **_NOT_FOUND, 202: _example({**_DELIVERY_EXAMPLE, "event_type": "webhook.test",
                                                        "video_id": None, "status": "pending", "attempts": 0,
                                                        "next_attempt_at": "2026-02-10T12:03:00Z",
                                                        "last_status_code": None, "delivered_at": None,
                                                        "attempt_log": []})},
)
def send_test_event(endpoint_id: EndpointId, user: CurrentUser, state: StateDep, worker: WorkerDep) -> dict[str, Any]:
    """Queue a `webhook.test` message to the endpoint; follow it in the delivery log."""
    endpoint = _owned(state, user.user_id, endpoint_id)
    with state.db.write() as session:
        row = store.record_test(session, endpoint=endpoint, now=utcnow())
    worker.wake()
    return _delivery_out({**row, "attempt_log": []})


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryPage,
            responses={**_ERRORS, **_NOT_FOUND, 200: _example({"items": [_DELIVERY_EXAMPLE]})})
def list_deliveries(
    endpoint_id: EndpointId, user: CurrentUser, state: StateDep,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$",
                                        description="Only deliveries in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """The endpoint's deliveries, newest first, each with every attempt's status code, error and duration."""
    _owned(state, user.user_id, endpoint_id)
    with state.db.read() as session:
        rows = store.list_deliveries(session, endpoint_id=endpoint_id, limit=limit, status=status)
    return {"items": [_delivery_out(row) for row in rows]}


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/replay", status_code=202, response_model=DeliveryOut,
    responses={**_ERRORS, 404: {"model": ErrorResponse, "description": "No such endpoint or delivery."},
               202: _example({**_DELIVERY_EXAMPLE, "status": "pending", "delivered_at": None})},
)
def replay_delivery(
    endpoint_id: EndpointId, delivery_id: DeliveryId, user: CurrentUser, state: StateDep, worker: WorkerDep
) -> dict[str, Any]:
    """Send a delivery again (delivered or failed alike), with the same webhook-id and a new retry period."""
    _owned(state, user.user_id, endpoint_id)
    with state.db.write() as session:
        if not store.replay(session, endpoint_id=endpoint_id, delivery_id=delivery_id, now=utcnow()):
            raise not_found("delivery")
        row = store.get_delivery(session, endpoint_id=endpoint_id, delivery_id=delivery_id)
    assert row is not None
    worker.wake()
    return _delivery_out(row)
