"""How uvicorn serves the app: limits on what a client may send before the app sees it.

A request's head (request line and headers) is capped at MAX_HEAD_BYTES: beyond it the connection gets
431 and is closed at once, so an 8 MB Authorization header is never buffered, parsed or verified. With
httptools (uvicorn[standard], the fast parser `nexus api` uses) a small subclass counts the head's bytes as
they arrive; with h11 the same cap is h11's own `max_incomplete_event_size`.
"""

from __future__ import annotations

from typing import Any

MAX_HEAD_BYTES = 32 * 1024  # a JWT is ~1 KB; browsers send 2-8 KB of headers; nginx's default is 8-32 KB
_TOO_LARGE = b"Request header fields too large"


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    HAVE_HTTPTOOLS = True
except ImportError:  # no httptools: uvicorn_limits() picks h11 and its own cap
    HAVE_HTTPTOOLS = False


if HAVE_HTTPTOOLS:

    class BoundedHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """httptools with a cap on the request head: 431 and close once it passes MAX_HEAD_BYTES. At module
        level: uvicorn's worker processes unpickle the class by name."""

        _head_bytes = 0
        _in_head = True
        _tail = b""

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head = True

        def on_headers_complete(self) -> None:
            self._in_head, self._head_bytes, self._tail = False, 0, b""
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_head = True  # a kept-alive connection: the next bytes are the next request's head
            super().on_message_complete()

        def data_received(self, data: bytes) -> None:
            if self._in_head:  # count the head's bytes only: a chunk can hold its end and the body's start
                window = self._tail + data
                end = window.find(b"\r\n\r\n")
                self._head_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
                self._tail = window[-3:]
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._refuse()
                    return
            super().data_received(data)

        def _refuse(self) -> None:
            if self.transport.is_closing():
                return
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; "
                                 b"charset=utf-8\r\ncontent-length: " + str(len(_TOO_LARGE)).encode() +
                                 b"\r\nconnection: close\r\n\r\n" + _TOO_LARGE)
            self.transport.close()


def uvicorn_limits() -> dict[str, Any]:
    """Keyword arguments for uvicorn.run / uvicorn.Config that cap the request head."""
    if HAVE_HTTPTOOLS:
        return {"http": BoundedHttpToolsProtocol}
    return {"http": "h11", "h11_max_incomplete_event_size": MAX_HEAD_BYTES}
