"""One logging setup for every process: human text in a terminal, JSON lines for a log collector.

configure_logging() is called once at process start (the CLI's main, the API's create_app, the Dagster
code location's build_definitions); it is idempotent. The format is NEXUS_LOG_FORMAT: `json`, `text`, or
`auto` (the default): JSON when NEXUS_ENVIRONMENT=prod and stderr is not a terminal (a pod), text otherwise.

Every line carries the video id, run id, phase and user id that the code bound with log_context() (or
passed as `extra=`). Bearer tokens and JWTs are scrubbed from every message; prompts are never logged.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["json", "text"]

FIELDS: tuple[str, ...] = ("video_id", "run_id", "phase", "user_id")
# Other `extra=` keys a line may carry into JSON (figures, never free text from a request).
EXTRA_FIELDS: tuple[str, ...] = ("asset", "seconds", "method", "route", "status", "duration_ms", "source",
                                 "partition", "offset", "pid", "reason")
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_context: ContextVar[Mapping[str, str]] = ContextVar("nexus_log_context", default={})  # noqa: B039 (never mutated)

_pipeline_log = logging.getLogger("nexus.pipeline")

_JWT = re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+")
_SECRET_PARAM = re.compile(r"(?i)\b((?:token|access_token|api_key|apikey|password|secret|sig)=)[^&\s\"']+")


def redact(text: str) -> str:
    """The text with bearer tokens, JWTs and secret-looking query parameters replaced by [redacted]."""
    text = _BEARER.sub(r"\1[redacted]", text)
    text = _JWT.sub("[redacted]", text)
    return _SECRET_PARAM.sub(r"\1[redacted]", text)


def current_context() -> dict[str, str]:
    """The fields bound in this thread or task."""
    return dict(_context.get())


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Bind these fields (video_id, run_id, phase, user_id) to every log line inside the block."""
    token = _context.set({**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


@contextmanager
def logged_phase(*, video_id: str, run_id: str | None, phase: str, asset: str) -> Iterator[None]:
    """One asset of a phase: its ids bound to every line inside; a line when it starts, ends and fails."""
    ids = {"video_id": video_id, "run_id": run_id, "phase": phase, "asset": asset}
    with log_context(video_id=video_id, run_id=run_id, phase=phase):
        started = time.monotonic()
        _pipeline_log.info("%s started", asset, extra=ids)
        try:
            yield
        except BaseException as exc:
            _pipeline_log.error("%s failed: %s: %s", asset, type(exc).__name__, str(exc)[:500],
                                extra={**ids, "seconds": round(time.monotonic() - started, 3)})
            raise
        _pipeline_log.info("%s finished", asset, extra={**ids, "seconds": round(time.monotonic() - started, 3)})


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The context fields of a record: bound ones, overridden by the record's own `extra=`."""
    out: dict[str, Any] = dict(_context.get())
    for name in FIELDS + EXTRA_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            out[name] = value
    return out


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the context fields, exc when there is one."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if self.service:
            line["service"] = self.service
        line.update(record_fields(record))
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: message [video=... run=... phase=... user=...]`, tokens scrubbed."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = redact(super().format(record))
        fields = {k: v for k, v in record_fields(record).items() if k in FIELDS}
        if fields:
            text += " [" + " ".join(f"{k.removesuffix('_id')}={v}" for k, v in fields.items()) + "]"
        return text


def resolve_format(value: str | None, *, environment: str | None, interactive: bool) -> LogFormat:
    """json or text, from NEXUS_LOG_FORMAT's value; `auto` (or unset): JSON for prod outside a terminal."""
    choice = (value or "auto").strip().lower()
    if choice in ("json", "text"):
        return "json" if choice == "json" else "text"
    if choice != "auto":
        raise ValueError(f"NEXUS_LOG_FORMAT must be json, text or auto, got {value!r}")
    return "json" if environment == "prod" and not interactive else "text"


class _NexusHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure_logging installs (so a second call recognises it)."""


def configure_logging(fmt: str | None = None, *, service: str | None = None, level: str | int | None = None,
                      stream: TextIO | None = None) -> LogFormat:
    """Install the process's log handler on the root logger, once; returns the format in use.

    Args:
        fmt: json, text or auto; default NEXUS_LOG_FORMAT (read here, at process start).
        service: names the process in JSON lines (api, pipeline, cli, exporter).
        level: the root level; default NEXUS_LOG_LEVEL, else INFO for JSON and WARNING for text (a
            terminal sees what it saw before: warnings and errors, not every library's INFO line).
        stream: where lines go (default stderr).
    """
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, _NexusHandler):
            if isinstance(handler.formatter, JsonFormatter):
                _route_uvicorn_to_root()  # uvicorn.run may have configured its loggers since
                return "json"
            return "text"
    out = stream or sys.stderr
    chosen = resolve_format(fmt if fmt is not None else os.environ.get("NEXUS_LOG_FORMAT"),
                            environment=os.environ.get("NEXUS_ENVIRONMENT", "local"),
                            interactive=bool(getattr(out, "isatty", lambda: False)()))
    if chosen == "text" and root.handlers:
        return "text"  # someone (a test runner, an embedding program) already decides where text goes
    handler = _NexusHandler(out)
    handler.setFormatter(JsonFormatter(service) if chosen == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("NEXUS_LOG_LEVEL", "INFO" if chosen == "json" else "WARNING").upper())
    if chosen == "json":
        _route_uvicorn_to_root()
    return chosen


def _route_uvicorn_to_root() -> None:
    """uvicorn's own handlers write text: send its lines through the root's JSON handler instead."""
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
