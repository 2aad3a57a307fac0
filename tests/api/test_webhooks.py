"""Signed webhooks over real HTTP on PostgreSQL: a receiving HTTP server on loopback checks every message
with the `standardwebhooks` library (the spec's reference verifier, not our code); receivers that fail
twice, that never answer; cancel, pipeline-made FAILED and progress, a request's callback_url; SSRF
refusals with private addresses not allowed; secret rotation; replay. Every message a test reads is
validated against its documented model (api.webhooks.messages, the OpenAPI `webhooks` section), a
video.completed with its files' links included. The real pipeline's COMPLETED is in the slow test at the end."""

from __future__ import annotations

import json
import random
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from api.core.config import Settings
from api.core.db import Database
from api.downloads import LocalSignedLinks
from api.models import VideoResult
from api.webhooks import store
from api.webhooks.messages import EXAMPLES, MESSAGE_MODELS, parse_message
from api.webhooks.worker import RetryPolicy, build_worker
from nexus_core.catalog.repository import Catalog
from nexus_core.settings import NexusSettings
from resources.storage import LocalObjectStore
from tests.api.support import API, SHORT, ApiServer, Keys, RecordingDispatcher, make_settings, wait_for

FAST = {"webhook_interval_s": 0.1, "webhook_retry_base_s": 0.2, "webhook_retry_max_s": 0.5,
        "webhook_timeout_s": 0.5, "relay_interval_s": 0.2}


# -- a receiver: a real HTTP server on loopback that verifies with the standardwebhooks library -----------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_by: list[str]  # the secrets (by label) whose signature checked out

    @property
    def json(self) -> dict[str, Any]:
        """The body, after checking it against its type's documented model (no field more, none missing)."""
        parsed: dict[str, Any] = json.loads(self.body)
        model = parse_message(self.body)
        assert type(model) is MESSAGE_MODELS[parsed["type"]]
        # Models that ignore unknown fields (api.models.VideoResult) must not hide one either.
        assert _shape(model.model_dump(mode="json", by_alias=True, exclude_unset=True)) == _shape(parsed)
        return parsed


def _shape(value: Any) -> Any:
    """The keys of nested objects (lists by position), values left out."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return None


@dataclass
class Receiver:
    """Answers each path with its scripted status codes (then 200); remembers every message."""

    server: ThreadingHTTPServer
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> label -> secret
    scripts: dict[str, list[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = []
            for label, secret in receiver.secrets.get(self.path, {}).items():
                try:
                    Webhook(secret).verify(body, headers)
                    verified.append(label)
                except WebhookVerificationError:
                    pass
            with receiver.lock:
                receiver.received.append(Received(self.path, headers, body, verified))
                script = receiver.scripts.get(self.path, [])
                status = script.pop(0) if script else 200
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = Receiver(server)
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="webhook-receiver")
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def silent_url() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    host, port = sock.getsockname()
    yield f"http://{host}:{port}/never"
    sock.close()


@pytest.fixture(scope="module")
def hook_api(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys,
    tmp_path_factory: pytest.TempPathFactory,
) -> ApiServer:
    """Local settings (loopback receivers allowed), backoff in fractions of a second."""
    settings = make_settings(tmp_path_factory.mktemp("hooks"), new_postgres_database(), keys, **FAST)
    return serve(settings, dispatcher=RecordingDispatcher())


@pytest.fixture(scope="module")
def strict_api(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys,
    tmp_path_factory: pytest.TempPathFactory,
) -> ApiServer:
    """As production: private, loopback and link-local addresses refused."""
    settings = make_settings(tmp_path_factory.mktemp("hooks-strict"), new_postgres_database(), keys,
                             webhook_allow_private=False, **FAST)
    return serve(settings, dispatcher=RecordingDispatcher())


def _register(client: httpx.Client, receiver: Receiver, path: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"{API}/webhooks", json={"url": receiver.base_url + path, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secrets[path] = {"current": created["secret"]}
    return created


def _deliveries(client: httpx.Client, endpoint_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/webhooks/{endpoint_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _delivered(client: httpx.Client, endpoint_id: str, delivery_id: str, timeout_s: float = 15) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        found = [d for d in _deliveries(client, endpoint_id) if d["id"] == delivery_id]
        return found[0] if found and found[0]["status"] == "delivered" else None

    return wait_for(done, timeout_s=timeout_s, every_s=0.1, what=f"delivery {delivery_id}")


# -- endpoints and the signature ----------------------------------------------------------------------


def test_an_endpoint_gets_a_test_event_that_standardwebhooks_verifies(hook_api: ApiServer, receiver: Receiver) -> None:
    with hook_api.user_client() as client:
        created = _register(client, receiver, "/basic", description="my receiver")
        assert created["secret"].startswith("whsec_") and created["id"].startswith("ep_")
        assert created["events"] == ["video.completed", "video.failed", "video.cancelled"]
        listed = client.get(f"{API}/webhooks").json()
        assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]

        queued = client.post(f"{API}/webhooks/{created['id']}/test")
        assert queued.status_code == 202 and queued.json()["status"] == "pending"
        delivery = _delivered(client, created["id"], queued.json()["id"])
        assert [a["status_code"] for a in delivery["attempt_log"]] == [200]

        [message] = receiver.on("/basic")
        assert message.verified_by == ["current"]  # the reference library accepts our signature
        assert message.headers["webhook-id"] == delivery["id"]
        assert message.headers["webhook-signature"].startswith("v1,")
        assert abs(int(message.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 30
        assert message.json["type"] == "webhook.test"
        assert message.json["data"]["endpoint_id"] == created["id"]
        tampered = {**message.headers, "webhook-id": "msg_other"}
        with pytest.raises(WebhookVerificationError):
            Webhook(created["secret"]).verify(message.body, tampered)

        with hook_api.user_client() as stranger:  # another user's endpoint is not there for them
            assert stranger.get(f"{API}/webhooks/{created['id']}").status_code == 404
            assert stranger.post(f"{API}/webhooks/{created['id']}/test").status_code == 404
            assert stranger.delete(f"{API}/webhooks/{created['id']}").status_code == 404
        assert client.delete(f"{API}/webhooks/{created['id']}").status_code == 204
        assert client.get(f"{API}/webhooks").json() == []
        assert client.get(f"{API}/webhooks/{created['id']}").status_code == 404


def test_bad_endpoints_are_refused_with_a_reason(hook_api: ApiServer) -> None:
    with hook_api.user_client() as client:
        for body, bad_field in (
            ({"url": "ftp://example.com/x"}, "url"),
            ({"url": "https://user:pw@example.com/x"}, "url"),
            ({"url": "https://example.com/x", "events": ["video.exploded"]}, "events"),
            ({"url": "https://example.com/x", "events": []}, "events"),
        ):
            response = client.post(f"{API}/webhooks", json=body)
            assert response.status_code == 422, body
            assert response.json()["error"]["field"].startswith(bad_field)


def test_a_receiver_that_fails_twice_gets_the_message_on_the_third_attempt(
    hook_api: ApiServer, receiver: Receiver
) -> None:
    receiver.scripts["/flaky"] = [500, 500]
    with hook_api.user_client() as client:
        endpoint = _register(client, receiver, "/flaky")
        queued = client.post(f"{API}/webhooks/{endpoint['id']}/test").json()
        delivery = _delivered(client, endpoint["id"], queued["id"])
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
    assert [a["error"] for a in delivery["attempt_log"]] == ["HTTP 500", "HTTP 500", None]
    assert delivery["attempts"] == 3 and delivery["last_status_code"] == 200
    messages = receiver.on("/flaky")
    assert len(messages) == 3
    assert {m.headers["webhook-id"] for m in messages} == {queued["id"]}  # one id for every retry
    assert all(m.verified_by == ["current"] and m.json["type"] == "webhook.test" for m in messages)
    gaps = [(b["at"], a["at"]) for a, b in zip(delivery["attempt_log"], delivery["attempt_log"][1:], strict=False)]
    assert all(datetime.fromisoformat(later) > datetime.fromisoformat(earlier) for later, earlier in gaps)


def test_a_receiver_that_never_answers_times_out_and_is_retried_later(hook_api: ApiServer, silent_url: str) -> None:
    with hook_api.user_client() as client:
        created = client.post(f"{API}/webhooks", json={"url": silent_url}).json()
        queued = client.post(f"{API}/webhooks/{created['id']}/test").json()

        def timed_out() -> dict[str, Any] | None:
            [delivery] = _deliveries(client, created["id"])
            return delivery if delivery["attempt_log"] else None

        delivery = wait_for(timed_out, timeout_s=15, every_s=0.1, what="a timed-out attempt")
    assert delivery["id"] == queued["id"] and delivery["status"] == "pending"
    attempt = delivery["attempt_log"][0]
    assert attempt["status_code"] is None and attempt["error"].startswith("timeout after 0.5 s")
    assert attempt["duration_ms"] >= 450
    assert datetime.fromisoformat(delivery["next_attempt_at"]) > datetime.fromisoformat(attempt["at"])


def test_backoff_doubles_with_jitter_for_at_least_a_day() -> None:
    policy = RetryPolicy(base_s=5, max_s=3600, retry_for_s=25 * 3600)
    rng = random.Random(7)
    for attempt in range(1, 20):
        ceiling = min(3600, 5 * 2 ** (attempt - 1))
        delays = {policy.delay_s(attempt, rng) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1  # jittered
    defaults = Settings(core=NexusSettings())
    assert defaults.webhook_retry_for_s >= 24 * 3600


def test_a_delivery_is_marked_failed_after_its_retry_period_and_at_once_on_410(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys,
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver,
) -> None:
    settings = make_settings(tmp_path_factory.mktemp("hooks-short"), new_postgres_database(), keys,
                             **{**FAST, "webhook_retry_for_s": 1.5})
    short = serve(settings, dispatcher=RecordingDispatcher())
    receiver.scripts["/down"] = [503] * 50
    receiver.scripts["/gone"] = [410]
    with short.user_client() as client:
        down, gone = _register(client, receiver, "/down"), _register(client, receiver, "/gone")
        client.post(f"{API}/webhooks/{down['id']}/test")
        client.post(f"{API}/webhooks/{gone['id']}/test")

        def failed(endpoint_id: str) -> Callable[[], dict[str, Any] | None]:
            return lambda: next((d for d in _deliveries(client, endpoint_id) if d["status"] == "failed"), None)

        given_up = wait_for(failed(down["id"]), timeout_s=15, what="the retry period to end")
        refused = wait_for(failed(gone["id"]), timeout_s=15, what="410 Gone")
    codes = [a["status_code"] for a in given_up["attempt_log"]]
    assert len(codes) >= 3 and set(codes) == {503} and given_up["next_attempt_at"] is None
    first, last = given_up["attempt_log"][0]["at"], given_up["attempt_log"][-1]["at"]
    assert (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds() >= 1.0
    assert [a["status_code"] for a in refused["attempt_log"]] == [410]


# -- events: cancel (same transaction), pipeline-made FAILED and progress, a request's callback ------------


def test_cancel_sends_video_cancelled_to_endpoints_and_to_the_request_callback(
    hook_api: ApiServer, receiver: Receiver
) -> None:
    with hook_api.user_client() as client:
        endpoint = _register(client, receiver, "/cancelled")
        accepted = client.post(f"{API}/videos/generate",
                               json={**SHORT, "callback_url": receiver.base_url + "/callback"})
        assert accepted.status_code == 202, accepted.text
        video_id, callback = accepted.json()["id"], accepted.json()["callback"]
        assert callback["secret"].startswith("whsec_")
        receiver.secrets["/callback"] = {"current": callback["secret"]}
        assert client.post(f"{API}/videos/{video_id}/cancel").status_code == 200
        # Written in the cancel's own transaction: the delivery exists as soon as the cancel answered.
        [delivery] = _deliveries(client, endpoint["id"])
        assert (delivery["event_type"], delivery["video_id"]) == ("video.cancelled", video_id)
        _delivered(client, endpoint["id"], delivery["id"])
        wait_for(lambda: receiver.on("/callback"), what="the callback")
        [callback_delivery] = _deliveries(client, callback["webhook_id"])
        assert callback_delivery["event_type"] == "video.cancelled"
        assert client.get(f"{API}/videos/{video_id}").json()["request"].get("callback_url") is None

    for path in ("/cancelled", "/callback"):
        [message] = receiver.on(path)
        assert message.verified_by == ["current"]
        assert message.json["type"] == "video.cancelled"
        assert message.json["data"]["id"] == video_id and message.json["data"]["status"] == "CANCELLED"
        assert message.json["data"]["links"]["self"] == f"{API}/videos/{video_id}"


def test_failed_and_progress_made_by_the_pipeline_are_observed_and_sent_once(
    hook_api: ApiServer, receiver: Receiver
) -> None:
    with hook_api.user_client() as client:
        endpoint = _register(client, receiver, "/pipeline", events=["video.failed", "video.progress"])
        video_id = client.post(f"{API}/videos/generate", json=SHORT).json()["id"]
        with Catalog(hook_api.settings.database_url) as catalog:  # what the pipeline's assets do
            catalog.start_phase(video_id, phase="script")
            wait_for(lambda: receiver.on("/pipeline"), what="the progress event")
            catalog.start_phase(video_id, phase="assets")
            wait_for(lambda: len(receiver.on("/pipeline")) >= 2, what="the second progress event")
            assert catalog.mark_failed(video_id, error="the voice service is down", phase="assets")
        wait_for(lambda: len(receiver.on("/pipeline")) >= 3, what="video.failed")
        deliveries = wait_for(lambda: [d for d in _deliveries(client, endpoint["id"]) if d["status"] == "delivered"]
                              if len(_deliveries(client, endpoint["id"])) == 3 else None, what="3 deliveries")
        assert len(deliveries) == 3
    messages = receiver.on("/pipeline")
    assert [(m.json["type"], m.json["data"]["phase"]) for m in messages] == [
        ("video.progress", "script"), ("video.progress", "assets"), ("video.failed", "assets")]
    assert messages[-1].json["data"]["error"] == "the voice service is down"
    assert all(m.verified_by == ["current"] for m in messages)
    with Database(hook_api.settings.database_url, migrate=False) as db, db.write() as session:
        # Seen again (another pass, another API process): nothing left to write, and writing twice adds nothing.
        assert store.observe(session, now=datetime.now(UTC), window=timedelta(days=1)) == []
        again = store.delivery_row(endpoint["id"], "someone", video_id, "video.failed", "", {}, datetime.now(UTC))
        assert store.record_observed(session, [again]) == 0


def test_completed_sends_video_completed_with_links_that_download(hook_api: ApiServer, receiver: Receiver) -> None:
    """What the pipeline's last asset does (files in the store, the catalog marked COMPLETED), the message's
    `result` checked against the documented model and its link fetched."""
    body = b"\x00\x00\x00\x18ftypmp42" + uuid.uuid4().bytes
    settings = hook_api.settings
    with hook_api.user_client() as client:
        endpoint = _register(client, receiver, "/done")
        video_id = client.post(f"{API}/videos/generate", json=SHORT).json()["id"]
        key, captions = f"videos/{video_id}/final/video.mp4", f"videos/{video_id}/final/captions.vtt"
        files = LocalObjectStore(root=str(settings.core.object_store_root))
        files.put_bytes(key, body)
        files.put_bytes(captions, b"WEBVTT\n")
        with Catalog(settings.database_url) as catalog:
            assert catalog.mark_completed(video_id, size_bytes=len(body), duration_s=5.0,
                                          artifacts={"video": key, "captions_vtt": captions})
        [message] = wait_for(lambda: receiver.on("/done"), what="video.completed")
        _delivered(client, endpoint["id"], message.headers["webhook-id"])
    assert message.verified_by == ["current"]
    data = message.json["data"]  # validated: VideoCompletedMessage, result a VideoResult with no field more
    assert (message.json["type"], data["id"], data["status"], data["percent"]) == (
        "video.completed", video_id, "COMPLETED", 100.0)
    assert set(data["result"]) == set(VideoResult.model_fields)
    assert data["result"]["size_bytes"] == len(body) and set(data["result"]["captions"]) == {"vtt"}
    video_url = urlsplit(data["result"]["video_url"])  # made for public_url: fetch the same path and query here
    with httpx.Client(timeout=30) as anonymous:
        assert anonymous.get(f"{hook_api.base_url}{video_url.path}?{video_url.query}").content == body


# -- the OpenAPI document describes the messages ----------------------------------------------------------


def _without_nulls(value: Any) -> Any:
    """As FastAPI writes examples in the document (exclude_none)."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def test_the_openapi_document_describes_every_message_with_an_example(hook_api: ApiServer) -> None:
    spec = httpx.get(f"{hook_api.base_url}{API}/openapi.json", timeout=30).json()
    assert set(spec["webhooks"]) == {*store.EVENT_TYPES, store.TEST_EVENT} == set(EXAMPLES)
    schemas = spec["components"]["schemas"]
    for event_type, operation in ((name, item["post"]) for name, item in spec["webhooks"].items()):
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= {
            p["name"] for p in operation["parameters"] if p["in"] == "header" and p.get("required")}
        assert "HMAC-SHA256" in operation["description"] and "25 h" in operation["description"]
        assert {"200", "410", "default"} <= set(operation["responses"])
        content = operation["requestBody"]["content"]["application/json"]
        model = MESSAGE_MODELS[event_type]
        assert content["schema"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert schemas[model.__name__]["properties"]["type"]["const"] == event_type
        [example] = content["examples"].values()
        assert example["value"] == _without_nulls(EXAMPLES[event_type])
        assert type(parse_message(json.dumps(EXAMPLES[event_type]))) is model  # a valid message
    result = schemas["VideoCompletedData"]["properties"]["result"]
    assert {"$ref": "#/components/schemas/VideoResult"} in result["anyOf"]


# -- SSRF: private addresses refused outside local development --------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://192.168.0.10/hook", "http://169.254.169.254/latest",
    "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://0.0.0.0/hook", "http://localhost:8080/hook",
    "https://metadata.google.internal/x",
])
def test_private_addresses_are_refused_in_production(strict_api: ApiServer, url: str) -> None:
    with strict_api.user_client() as client:
        response = client.post(f"{API}/webhooks", json={"url": url})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "unsafe_url"
        callback = client.post(f"{API}/videos/generate", json={**SHORT, "callback_url": url})
        assert callback.status_code == 422 and callback.json()["error"]["field"] == "callback_url"


def test_production_settings_refuse_private_addresses_by_default(
    strict_api: ApiServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("prod")
    prod = Settings(core=NexusSettings(home=home, environment="prod"))
    local = Settings(core=NexusSettings(home=home, environment="local"))
    db: Database = strict_api.state.db
    links: LocalSignedLinks = strict_api.state.links
    assert build_worker(prod, db, links).allow_private is False
    assert build_worker(local, db, links).allow_private is True


def test_the_address_is_checked_again_at_delivery_time(strict_api: ApiServer, receiver: Receiver) -> None:
    """An endpoint whose name now resolves to a loopback address (stored before, as a DNS change would make
    it): the attempt is refused before any connection, logged, and retried later."""
    user = f"ssrf-{datetime.now(UTC).timestamp():.0f}"
    with strict_api.state.db.write() as session:
        row, _secret = store.create_endpoint(session, user_id=user, url=receiver.base_url + "/ssrf",
                                             events=list(store.DEFAULT_EVENTS), description=None,
                                             now=datetime.now(UTC))
    with strict_api.user_client(user) as client:
        client.post(f"{API}/webhooks/{row['id']}/test")

        def refused() -> dict[str, Any] | None:
            [delivery] = _deliveries(client, row["id"])
            return delivery if delivery["attempt_log"] else None

        delivery = wait_for(refused, what="a refused attempt")
    assert delivery["status"] == "pending"
    assert delivery["attempt_log"][0]["error"].startswith("refused: the URL points at 127.0.0.1")
    assert receiver.on("/ssrf") == []


# -- rotation and replay ------------------------------------------------------------------------------


def test_after_a_rotation_messages_carry_both_signatures(hook_api: ApiServer, receiver: Receiver) -> None:
    with hook_api.user_client() as client:
        endpoint = _register(client, receiver, "/rotated")
        rotated = client.post(f"{API}/webhooks/{endpoint['id']}/rotate-secret")
        assert rotated.status_code == 200
        new_secret = rotated.json()["secret"]
        assert new_secret.startswith("whsec_") and new_secret != endpoint["secret"]
        assert rotated.json()["previous_secret_expires_at"] is not None
        receiver.secrets["/rotated"] = {"old": endpoint["secret"], "new": new_secret}
        queued = client.post(f"{API}/webhooks/{endpoint['id']}/test").json()
        _delivered(client, endpoint["id"], queued["id"])
        listed = client.get(f"{API}/webhooks/{endpoint['id']}").json()
        assert listed["previous_secret_expires_at"] is not None
    [message] = receiver.on("/rotated")
    assert len(message.headers["webhook-signature"].split(" ")) == 2
    assert sorted(message.verified_by) == ["new", "old"]  # either secret verifies during the grace period
    assert message.json["data"]["endpoint_id"] == endpoint["id"]


def test_a_delivered_message_can_be_replayed_with_the_same_id(hook_api: ApiServer, receiver: Receiver) -> None:
    with hook_api.user_client() as client:
        endpoint = _register(client, receiver, "/replay")
        queued = client.post(f"{API}/webhooks/{endpoint['id']}/test").json()
        _delivered(client, endpoint["id"], queued["id"])
        replay = client.post(f"{API}/webhooks/{endpoint['id']}/deliveries/{queued['id']}/replay")
        assert replay.status_code == 202 and replay.json()["status"] == "pending"
        wait_for(lambda: len(receiver.on("/replay")) == 2, what="the replay")
        delivery = _delivered(client, endpoint["id"], queued["id"])
        missing = client.post(f"{API}/webhooks/{endpoint['id']}/deliveries/msg_{'0' * 32}/replay")
        assert missing.status_code == 404
    assert [a["status_code"] for a in delivery["attempt_log"]] == [200, 200]
    first, again = receiver.on("/replay")
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == queued["id"]
    assert first.json == again.json and again.verified_by == ["current"]


# -- the real pipeline ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_completed_video_sends_video_completed_with_its_links(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys,
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver,
) -> None:
    settings = make_settings(tmp_path_factory.mktemp("hooks-live"), new_postgres_database(), keys,
                             dispatcher="subprocess", **FAST)
    live = serve(settings)
    with live.user_client(plan="FREE") as client:
        endpoint = _register(client, receiver, "/completed")
        video_id = client.post(f"{API}/videos/generate", json=SHORT).json()["id"]
        wait_for(lambda: receiver.on("/completed"), timeout_s=240, every_s=0.5, what="video.completed")
        [delivery] = _deliveries(client, endpoint["id"])
    [message] = receiver.on("/completed")
    assert message.verified_by == ["current"] and delivery["status"] == "delivered"
    data = message.json["data"]
    assert message.json["type"] == "video.completed" and data["id"] == video_id and data["status"] == "COMPLETED"
    assert abs(data["duration_s"] - 5.0) < 0.2
    result = data["result"]
    assert set(result["captions"]) >= {"vtt"} and len(result["thumbnails"]) == 3
    # Links are made for settings.public_url (here the default host:port); fetch the same path and query here.
    video_url = urlsplit(result["video_url"])
    with httpx.Client(timeout=30) as anonymous:
        mp4 = anonymous.get(f"{live.base_url}{video_url.path}?{video_url.query}")
    assert mp4.status_code == 200 and mp4.content[4:8] == b"ftyp" and len(mp4.content) == result["size_bytes"]
