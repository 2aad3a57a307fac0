"""Calls to outside systems that fail well: a circuit breaker and retries with backoff (pure, thread-safe)."""

from __future__ import annotations

import contextlib
import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")
Clock = Callable[[], float]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitOpenError(RuntimeError):
    """Raised instead of calling while the breaker is open."""


class CircuitBreaker:
    """Opens after `failure_threshold` failures in a row; after `reset_timeout_s` one trial call may pass
    (half-open): its success closes the breaker, its failure opens it again."""

    def __init__(self, *, failure_threshold: int = 3, reset_timeout_s: float = 60.0, clock: Clock = time.monotonic):
        if failure_threshold < 1 or reset_timeout_s < 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout_s >= 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._trial_running or self._clock() - self._opened_at >= self.reset_timeout_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """True when a call may go out now; in half-open only one trial at a time (it must be recorded)."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._trial_running = False

    def call(self, fn: Callable[[], T], *, is_failure: Callable[[BaseException], bool] = lambda _: True) -> T:
        """Run fn through the breaker. An exception for which is_failure is False still proves the
        service answered, so it counts as a success before it propagates."""
        if not self.allow():
            raise CircuitOpenError(f"circuit open: retrying after {self.reset_timeout_s:g} s")
        try:
            result = fn()
        except BaseException as exc:
            if is_failure(exc):
                self.record_failure()
            else:
                self.record_success()
            raise
        self.record_success()
        return result


# ---------------------------------------------------------------- retries

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})  # besides every 5xx
UNAVAILABLE_STATUS = frozenset({401, 403})  # the service answers, but not to us: as good as down


def is_retryable_status(status: int) -> bool:
    """429 (rate limit), a few other 4xx meaning 'try again', and every 5xx."""
    return status >= 500 or status in RETRYABLE_STATUS


@dataclass(frozen=True)
class ApiFailure:
    """How a call to an outside API failed: its HTTP status (None: no answer, e.g. a timeout) and headers."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    permanent: bool = False  # e.g. a 429 that says the quota is spent: waiting will not help

    @property
    def retryable(self) -> bool:
        return not self.permanent and (self.status is None or is_retryable_status(self.status))

    @property
    def unavailable(self) -> bool:
        """True when this failure says the service cannot serve us now (what a circuit breaker counts)."""
        return self.status is None or self.status in UNAVAILABLE_STATUS or is_retryable_status(self.status)

    def describe(self) -> str:
        return "no answer (timeout or connection error)" if self.status is None else f"HTTP {self.status}"


def parse_retry_after(headers: Mapping[str, str], *, now: Clock = time.time) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` (seconds or an HTTP date); None if absent."""
    lower = {k.lower(): v for k, v in headers.items()}
    with contextlib.suppress(KeyError, ValueError):
        return max(0.0, float(lower["retry-after-ms"]) / 1000)
    value = lower.get("retry-after", "").strip()
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now())
    return None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter. `attempts` counts every call, the first included."""

    attempts: int = 4
    base_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 30.0
    jitter: float = 0.25  # each delay is scaled by a random factor in [1 - jitter, 1 + jitter]

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_s < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("Backoff needs attempts >= 1, base_s >= 0 and jitter in [0, 1]")

    def delay(self, retry: int, rand: float) -> float:
        """The wait before retry number `retry` (0 for the first), for a uniform random number in [0, 1)."""
        raw = min(self.max_delay_s, self.base_s * self.factor**retry)
        return raw * (1.0 + self.jitter * (2.0 * rand - 1.0))


def retry_call(
    fn: Callable[[], T],
    *,
    classify: Callable[[BaseException], ApiFailure | None],
    backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """Call fn until it succeeds, retrying only failures that classify as retryable (429, 5xx, timeouts).

    A Retry-After the server sends is honoured as the wait; when it asks for longer than
    backoff.max_delay_s, or the attempts are spent, the last exception propagates.
    """
    for attempt in range(backoff.attempts):
        try:
            return fn()
        except Exception as exc:
            failure = classify(exc)
            if failure is None or not failure.retryable or attempt + 1 >= backoff.attempts:
                raise
            asked = parse_retry_after(failure.headers)
            wait = asked if asked is not None else backoff.delay(attempt, rand())
            if wait > backoff.max_delay_s:
                raise
            sleep(wait)
    raise AssertionError("unreachable: Backoff.attempts must be >= 1")
