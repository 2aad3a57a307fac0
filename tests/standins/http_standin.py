"""A real HTTP server on 127.0.0.1 for tests: answers from a queue of scripted replies, else a default
handler; records every request and the most requests it ever had in flight at once."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class Reply:
    """What to answer: a status, a body (bytes, text, or anything JSON) and headers, after an optional delay."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


Handler = Callable[[Recorded], Reply]
Check = Callable[[Recorded], Reply | None]


def error_reply(status: int, message: str, **headers: str) -> Reply:
    return Reply(status, {"error": {"message": message, "type": "standin_error", "code": None}}, headers)


class StandIn:
    """The server: `check` rejects malformed requests as the real API would, `queue()` scripts the next
    answers, `handle` gives the default answer, and `outage` makes every request a 503."""

    def __init__(self, handle: Handler, check: Check | None = None) -> None:
        self._handle = handle
        self._check = check or (lambda _request: None)
        self._lock = threading.Lock()
        self._queued: deque[Reply] = deque()
        self._in_flight = 0
        self.requests: list[Recorded] = []
        self.max_in_flight = 0
        self.outage = False
        self.latency_s = 0.0  # added to every answer, to overlap concurrent requests
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="standin", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, before the default handler."""
        with self._lock:
            self._queued.extend(replies)

    def calls(self, path_part: str = "") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    def _answer(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.outage:
                return error_reply(503, "service unavailable (stand-in outage)")
            rejected = self._check(request)
            if rejected is not None:
                return rejected
            with self._lock:
                queued = self._queued.popleft() if self._queued else None
            reply = queued or self._handle(request)
            time.sleep(self.latency_s + reply.delay_s)
            return reply
        finally:
            with self._lock:
                self._in_flight -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                parts = urlsplit(self.path)
                request = Recorded(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = standin._answer(request)
                body, content_type = reply.encoded()
                self.send_response(reply.status)
                headers = {"content-type": content_type, **{k.lower(): v for k, v in reply.headers.items()}}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        return _Handler
