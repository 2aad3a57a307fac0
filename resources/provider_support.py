"""What the hosted providers share: retries and a circuit breaker per endpoint, a concurrency limit,
and an on-disk response cache."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg

from nexus_core.resilience import ApiFailure, Backoff, CircuitBreaker, CircuitOpenError, retry_call

T = TypeVar("T")
Classifier = Callable[[BaseException], ApiFailure | None]

_LOCK = threading.Lock()
_BREAKERS: dict[tuple[str, int, float], CircuitBreaker] = {}
_LIMITS: dict[tuple[str, int], threading.BoundedSemaphore] = {}


class ProviderUnavailableError(RuntimeError):
    """A hosted provider could not give a result (down, rate-limited, refused, circuit open): fall back."""


def shared_breaker(name: str, *, failure_threshold: int, reset_timeout_s: float) -> CircuitBreaker:
    """The process-wide breaker of one endpoint, shared by every copy of a resource and every thread."""
    with _LOCK:
        key = (name, failure_threshold, reset_timeout_s)
        if key not in _BREAKERS:
            _BREAKERS[key] = CircuitBreaker(failure_threshold=failure_threshold, reset_timeout_s=reset_timeout_s)
        return _BREAKERS[key]


def shared_limit(name: str, size: int) -> threading.BoundedSemaphore:
    """The process-wide limit on concurrent calls to one endpoint (an account's plan allows so many)."""
    with _LOCK:
        return _LIMITS.setdefault((name, size), threading.BoundedSemaphore(size))


@dataclass(frozen=True)
class FileCache:
    """Paid responses on disk under root, by key; writes are atomic, so a reader never sees half a file."""

    root: Path

    def path(self, key: str, suffix: str) -> Path:
        return self.root / key[:2] / f"{key}{suffix}"

    def read_bytes(self, key: str, suffix: str) -> bytes | None:
        path = self.path(key, suffix)
        return path.read_bytes() if path.is_file() else None

    def write_bytes(self, key: str, suffix: str, data: bytes) -> Path:
        path = self.path(key, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def read_json(self, key: str) -> dict[str, Any] | None:
        raw = self.read_bytes(key, ".json")
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None  # a corrupt entry is a miss; the next write replaces it
        return data if isinstance(data, dict) else None

    def write_json(self, key: str, data: dict[str, Any]) -> None:
        self.write_bytes(key, ".json", json.dumps(data, ensure_ascii=False, sort_keys=True).encode())


class HostedProvider(dg.ConfigurableResource):
    """Knobs every hosted API shares: timeout, retries with backoff, circuit breaker and response cache."""

    timeout_s: float = 60.0
    max_attempts: int = 4
    backoff_base_s: float = 0.5
    max_retry_wait_s: float = 30.0
    breaker_failures: int = 3
    breaker_reset_s: float = 120.0
    cache_dir: str | None = None  # unset: no cache (every call is paid)

    def endpoint(self) -> str:
        """Identifies the service for the shared breaker and limits (subclasses add their base URL)."""
        return type(self).__name__

    def cache(self) -> FileCache | None:
        return FileCache(Path(self.cache_dir).expanduser()) if self.cache_dir else None

    def breaker(self) -> CircuitBreaker:
        return shared_breaker(
            self.endpoint(), failure_threshold=self.breaker_failures, reset_timeout_s=self.breaker_reset_s
        )

    def backoff(self) -> Backoff:
        return Backoff(attempts=self.max_attempts, base_s=self.backoff_base_s, max_delay_s=self.max_retry_wait_s)

    def call_api(
        self, fn: Callable[[], T], *, classify: Classifier, limit: threading.BoundedSemaphore | None = None
    ) -> T:
        """fn through the breaker with retries (each attempt inside `limit`); any failure of the API
        itself, or an open breaker, becomes ProviderUnavailableError. Other exceptions propagate."""

        def attempt() -> T:
            if limit is None:
                return fn()
            with limit:
                return fn()

        def is_outage(exc: BaseException) -> bool:
            failure = classify(exc)
            return failure is not None and failure.unavailable

        try:
            return self.breaker().call(
                lambda: retry_call(attempt, classify=classify, backoff=self.backoff()), is_failure=is_outage
            )
        except CircuitOpenError as exc:
            raise ProviderUnavailableError(str(exc)) from exc
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            raise ProviderUnavailableError(f"{failure.describe()}: {_short(exc)}") from exc


def fallback_label(fallback: str, primary: str, reason: str) -> str:
    """The provider label of a fallback result, e.g. 'template (fallback from openai:gpt-4o-mini: HTTP 503)'."""
    return f"{fallback} (fallback from {primary}: {reason})"


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
