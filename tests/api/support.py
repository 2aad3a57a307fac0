"""Helpers shared by the API tests: keys and tokens, a recording dispatcher, the server in a thread."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from api.core.config import Settings
from api.core.security import mint_token
from api.dispatch import Dispatcher, DispatchError
from nexus_core.settings import NexusSettings

API = "/api/v1"
SHORT = {"prompt": "A quiet park in autumn", "duration_seconds": 5, "resolution": "360p", "quality": "STANDARD",
         "music_style": "none"}


@dataclass(frozen=True)
class Keys:
    private_pem: bytes
    public_path: Path

    def token(self, user: str, plan: str = "PREMIUM", roles: tuple[str, ...] = (), ttl_s: int = 600) -> str:
        return mint_token(self.private_pem, user_id=user, plan=plan, roles=roles, ttl_s=ttl_s)


def new_user(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class RecordingDispatcher(Dispatcher):
    """Runs nothing; remembers hand-offs and cancellations; can pretend the queue is down."""

    name = "recording"
    dispatched: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    down: bool = False
    attempts: int = 0

    def dispatch(self, video_id: str, payload: Any = None) -> None:
        self.attempts += 1
        if self.down:
            raise DispatchError("the queue is down")
        self.dispatched.append(video_id)

    def cancel(self, video_id: str) -> None:
        if self.down:
            raise DispatchError("the queue is down")
        self.cancelled.append(video_id)

    def ready(self) -> tuple[bool, str]:
        return (False, "the queue is down") if self.down else (True, "ok")


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class ApiServer:
    """The app under uvicorn in a thread; `client(token)` talks to it over HTTP."""

    app: Any
    settings: Settings
    base_url: str
    server: uvicorn.Server
    thread: threading.Thread
    keys: Keys

    @property
    def state(self) -> Any:
        return self.app.state.nexus

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        all_headers = dict(headers)
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.base_url, headers=all_headers, timeout=30.0)

    def user_client(self, user: str | None = None, plan: str = "PREMIUM", roles: tuple[str, ...] = ()) -> httpx.Client:
        return self.client(self.keys.token(user or new_user(), plan=plan, roles=roles))

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)


def start_server(app: Any, settings: Settings, keys: Keys) -> ApiServer:
    sock = _free_socket()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="uvicorn-test")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    host, port = sock.getsockname()
    return ApiServer(app, settings, f"http://{host}:{port}", server, thread, keys)


def make_settings(home: Path, database_url: str | None, keys: Keys, **overrides: Any) -> Settings:
    core = NexusSettings(home=home, database_url=database_url)
    values: dict[str, Any] = {
        "core": core, "jwt_public_key_file": keys.public_path, "dev_keys": False, "relay_interval_s": 0.2,
        "relay_retry_base_s": 0.2, "sse_poll_s": 0.2, "rate_limit_prefix": f"nexus-test:{uuid.uuid4().hex[:8]}:",
    }
    values.update(overrides)
    return Settings(**values)


def wait_for(predicate: Callable[[], Any], *, timeout_s: float = 10.0, every_s: float = 0.05, what: str = "") -> Any:
    """Poll until predicate() is truthy; returns its value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate}")
        time.sleep(every_s)


def sse_events(client: httpx.Client, path: str, *, timeout_s: float = 120) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a Server-Sent Events stream such as /videos/{id}/events."""
    with client.stream("GET", path, timeout=timeout_s) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event, data = "message", ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data += line.split(":", 1)[1].strip()
            elif line == "" and data:
                yield event, json.loads(data)
                event, data = "message", ""
