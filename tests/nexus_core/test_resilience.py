"""The circuit breaker and retries with backoff, on a fake clock and a recorded sleep."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from nexus_core.resilience import (
    ApiFailure,
    Backoff,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    parse_retry_after,
    retry_call,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Failing(Exception):
    def __init__(self, failure: ApiFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


def classify(exc: BaseException) -> ApiFailure | None:
    return exc.failure if isinstance(exc, Failing) else None


def script(*outcomes: ApiFailure | str) -> tuple[Callable[[], str], list[int]]:
    """A call that fails or returns per outcome, in order; the list counts calls."""
    calls: list[int] = []

    def call() -> str:
        outcome = outcomes[len(calls)]
        calls.append(1)
        if isinstance(outcome, ApiFailure):
            raise Failing(outcome)
        return outcome

    return call, calls


# ---------------------------------------------------------------- circuit breaker


def test_breaker_opens_after_the_threshold_and_half_opens_after_the_timeout() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=30, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # nobody else while it runs
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()


def test_a_failed_trial_opens_the_breaker_again_for_a_full_timeout() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 9
    assert not breaker.allow()


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_call_refuses_while_open_and_counts_only_failures_that_say_so() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=60, clock=FakeClock())
    bad_request, _ = script(ApiFailure(400))
    with pytest.raises(Failing):
        breaker.call(bad_request, is_failure=lambda e: classify(e) is not None and classify(e).unavailable)
    assert breaker.state is BreakerState.CLOSED  # a 400 is an answer: the service is up
    outage, _ = script(ApiFailure(503))
    with pytest.raises(Failing):
        breaker.call(outage)
    never, calls = script("ok")
    with pytest.raises(CircuitOpenError):
        breaker.call(never)
    assert calls == []


def test_only_one_of_many_threads_gets_the_half_open_trial() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=1, clock=clock)
    breaker.record_failure()
    clock.now += 1
    barrier = threading.Barrier(16)
    allowed: list[bool] = []

    def try_once() -> None:
        barrier.wait()
        allowed.append(breaker.allow())

    threads = [threading.Thread(target=try_once) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 1


# ---------------------------------------------------------------- retries


def test_retries_a_503_with_growing_jittered_delays_then_succeeds() -> None:
    sleeps: list[float] = []
    call, calls = script(ApiFailure(503), ApiFailure(None), ApiFailure(502), "done")
    backoff = Backoff(attempts=4, base_s=1.0, factor=2.0, jitter=0.25)
    assert retry_call(call, classify=classify, backoff=backoff, sleep=sleeps.append, rand=lambda: 1.0) == "done"
    assert len(calls) == 4
    assert sleeps == pytest.approx([1.25, 2.5, 5.0])
    assert backoff.delay(0, 0.0) == pytest.approx(0.75)


def test_does_not_retry_a_client_error_or_a_spent_quota() -> None:
    for failure in (ApiFailure(400), ApiFailure(401), ApiFailure(429, permanent=True)):
        call, calls = script(failure, "never")
        with pytest.raises(Failing):
            retry_call(call, classify=classify, backoff=Backoff(), sleep=lambda _: None)
        assert len(calls) == 1


def test_an_unknown_exception_is_not_retried() -> None:
    calls: list[int] = []

    def broken() -> str:
        calls.append(1)
        raise KeyError("a bug, not an outage")

    with pytest.raises(KeyError):
        retry_call(broken, classify=classify, backoff=Backoff(), sleep=lambda _: None)
    assert calls == [1]


def test_honours_retry_after_and_gives_up_when_it_asks_too_much() -> None:
    sleeps: list[float] = []
    call, _ = script(ApiFailure(429, {"Retry-After": "7"}), "ok")
    assert retry_call(call, classify=classify, backoff=Backoff(max_delay_s=30), sleep=sleeps.append) == "ok"
    assert sleeps == [7.0]
    call, calls = script(ApiFailure(429, {"retry-after": "120"}), "ok")
    with pytest.raises(Failing):
        retry_call(call, classify=classify, backoff=Backoff(max_delay_s=30), sleep=sleeps.append)
    assert len(calls) == 1


def test_the_last_failure_propagates_when_attempts_run_out() -> None:
    call, calls = script(ApiFailure(500), ApiFailure(503), "too late")
    with pytest.raises(Failing, match="HTTP 503"):
        retry_call(call, classify=classify, backoff=Backoff(attempts=2, base_s=0), sleep=lambda _: None)
    assert len(calls) == 2


def test_parse_retry_after_reads_ms_seconds_and_http_dates() -> None:
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    when = datetime(2030, 1, 1, 0, 0, 10, tzinfo=UTC)
    assert parse_retry_after({"retry-after": format_datetime(when, usegmt=True)},
                             now=lambda: when.timestamp() - 10) == pytest.approx(10)
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None


def test_failure_kinds() -> None:
    assert ApiFailure(None).retryable and ApiFailure(None).unavailable
    assert ApiFailure(429).retryable and ApiFailure(500).unavailable
    assert not ApiFailure(401).retryable and ApiFailure(401).unavailable
    assert not ApiFailure(422).retryable and not ApiFailure(422).unavailable
    with pytest.raises(ValueError):
        Backoff(attempts=0)
