"""The messages the API sends to webhook endpoints, for the OpenAPI document's top-level `webhooks` section
(OpenAPI 3.1; /docs and /redoc show them under Webhooks). Declarations only: nothing here is served, the
worker (api.webhooks.worker) sends them; `FastAPI(webhooks=router)` puts them in the document."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header

from api.core.config import Settings
from api.webhooks.messages import (
    EXAMPLES,
    VideoCancelledMessage,
    VideoCompletedMessage,
    VideoFailedMessage,
    VideoProgressMessage,
    WebhookTestMessage,
)
from api.webhooks.worker import USER_AGENT


def _default(name: str) -> float:
    value: float = Settings.model_fields[name].default
    return value


_HOURS = _default("webhook_retry_for_s") / 3600
DELIVERY = f"""
Each message is a JSON `POST` following [Standard Webhooks](https://www.standardwebhooks.com/), signed with
the endpoint's `whsec_...` secret (shown once, when the endpoint is made or its secret rotated):

* `webhook-id`: the message's id (`msg_...`), the same on every retry and replay: use it to drop duplicates
  (delivery is at-least-once).
* `webhook-timestamp`: Unix seconds when this attempt was signed; refuse ones far from your clock (replays).
* `webhook-signature`: `v1,` + base64(HMAC-SHA256(key, `{{webhook-id}}.{{webhook-timestamp}}.{{body}}`)), the
  key being the base64-decoded part of the secret after `whsec_`; during a rotation's grace period two
  signatures, space-separated (either one verifying is enough). Any Standard Webhooks library checks it,
  e.g. `standardwebhooks.Webhook(secret).verify(body, headers)` in Python.

Answer with any 2xx within {_default("webhook_timeout_s"):g} s (the default; connect and answer) to
acknowledge: the answer's body is ignored and redirects are not followed. Anything else, or no answer in
time, is retried with exponential backoff and jitter ({_default("webhook_retry_base_s"):g} s doubling, at most
{_default("webhook_retry_max_s") / 60:g} min apart) for {_HOURS:g} h after the event, then the delivery is
marked failed; `410 Gone` marks it failed at once. Every attempt is listed by
`GET /api/v1/webhooks/{{endpoint_id}}/deliveries`; `POST .../deliveries/{{delivery_id}}/replay` sends one again.
"""


def signed_headers(
    webhook_id: Annotated[str, Header(alias="webhook-id", description="The message id; the same on every retry.",
                                      examples=["msg_0f1e2d3c4b5a69788796a5b4c3d2e1f0"])],
    webhook_timestamp: Annotated[str, Header(alias="webhook-timestamp", pattern=r"^[0-9]+$",
                                             description="Unix seconds when this attempt was signed.",
                                             examples=["1770724980"])],
    webhook_signature: Annotated[str, Header(
        alias="webhook-signature", pattern=r"^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$",
        description="`v1,<base64 HMAC-SHA256>`; two, space-separated, while a rotated secret's grace lasts.",
        examples=["v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="])],
    user_agent: Annotated[str | None, Header(alias="user-agent", examples=[USER_AGENT])] = None,
) -> None:
    """The Standard Webhooks headers of every message (declared once for the document)."""


RESPONSES: dict[int | str, dict[str, Any]] = {
    410: {"description": "Gone: the delivery is marked failed at once, with no more retries."},
    "default": {"description": f"Anything else, or no answer in time: retried with backoff for {_HOURS:g} h."},
}
router = APIRouter(dependencies=[Depends(signed_headers)], responses=RESPONSES)


def _options(event_type: str, doc: str | None) -> dict[str, Any]:
    """The operation's texts: the model's docstring ("type: what it means.") as summary, the rules below."""
    return {"summary": (doc or event_type).strip().rstrip("."), "description": DELIVERY,
            "status_code": 200, "response_description": "Received (any 2xx): the answer's body is ignored.",
            "operation_id": "webhook_" + event_type.replace(".", "_")}


def _examples(event_type: str) -> Any:
    return Body(openapi_examples={event_type: {"summary": f"A {event_type} message",
                                               "value": EXAMPLES[event_type]}})


# Documentation only: receivers implement these; the API never serves them (the bodies are empty).


@router.post("video.completed", **_options("video.completed", VideoCompletedMessage.__doc__))
def video_completed(body: Annotated[VideoCompletedMessage, _examples("video.completed")]) -> None:
    """What a receiver's endpoint takes for video.completed: declared for the document, never served."""


@router.post("video.failed", **_options("video.failed", VideoFailedMessage.__doc__))
def video_failed(body: Annotated[VideoFailedMessage, _examples("video.failed")]) -> None:
    """What a receiver's endpoint takes for video.failed: declared for the document, never served."""


@router.post("video.cancelled", **_options("video.cancelled", VideoCancelledMessage.__doc__))
def video_cancelled(body: Annotated[VideoCancelledMessage, _examples("video.cancelled")]) -> None:
    """What a receiver's endpoint takes for video.cancelled: declared for the document, never served."""


@router.post("video.progress", **_options("video.progress", VideoProgressMessage.__doc__))
def video_progress(body: Annotated[VideoProgressMessage, _examples("video.progress")]) -> None:
    """What a receiver's endpoint takes for video.progress: declared for the document, never served."""


@router.post("webhook.test", **_options("webhook.test", WebhookTestMessage.__doc__))
def webhook_test(body: Annotated[WebhookTestMessage, _examples("webhook.test")]) -> None:
    """What a receiver's endpoint takes for webhook.test: declared for the document, never served."""
