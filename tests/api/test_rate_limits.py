"""Token-bucket rate limits, Redis-backed and in memory: 429 with Retry-After past the limit."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from api.core.ratelimit import GLOBAL_KEY, Bucket, MemoryRateLimiter, RateLimiter, RedisRateLimiter
from tests.api.support import API, ApiServer, Keys, RecordingDispatcher, make_settings, new_user

USER_LIMITED = {"rate_limit_user_per_s": 1.0, "rate_limit_user_burst": 5}
OVERALL_LIMITED = {"rate_limit_global_per_s": 0.5, "rate_limit_global_burst": 8}


@pytest.fixture(scope="module", params=["redis", "memory"])
def limited(
    request: pytest.FixtureRequest, serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str],
    keys: Keys, tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., ApiServer]:
    """limited(**limits): a server with these limits, rate-limiting in Redis or in memory."""
    redis = request.getfixturevalue("redis_url") if request.param == "redis" else None

    def make(**limits: float) -> ApiServer:
        settings = make_settings(tmp_path_factory.mktemp("limited"), new_postgres_database(), keys, redis_url=redis,
                                 **limits)
        server = serve(settings, dispatcher=RecordingDispatcher())
        assert isinstance(server.state.limiter, RedisRateLimiter if redis else MemoryRateLimiter)
        return server

    return make


def test_a_user_past_the_burst_gets_429_with_retry_after(limited: Callable[..., ApiServer]) -> None:
    server = limited(**USER_LIMITED)
    with server.user_client() as client, server.user_client() as other:
        codes = [client.get(f"{API}/videos").status_code for _ in range(7)]
        assert codes[:5] == [200] * 5
        assert codes[5:] == [429, 429]
        refused = client.get(f"{API}/videos")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        error = refused.json()["error"]
        assert error["code"] == "rate_limited" and 0 < error["retry_after_s"] <= 1.0
        assert other.get(f"{API}/videos").status_code == 200  # another user has their own bucket
        time.sleep(error["retry_after_s"] + 0.05)
        assert client.get(f"{API}/videos").status_code == 200


def test_the_overall_limit_applies_across_users(limited: Callable[..., ApiServer]) -> None:
    server = limited(**OVERALL_LIMITED)
    clients = [server.user_client() for _ in range(3)]
    try:
        codes = [client.get(f"{API}/videos").status_code for _ in range(4) for client in clients]
    finally:
        for client in clients:
            client.close()
    assert codes.count(200) == 8  # the overall burst, although no user passed their own
    assert codes.count(429) == 4


# -- the limiters themselves ------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limiters(redis_url: str) -> list[RateLimiter]:
    return [MemoryRateLimiter(), RedisRateLimiter(redis_url, prefix=f"nexus-test:{uuid.uuid4().hex[:8]}:")]


def test_buckets_take_all_or_nothing(redis_url: str) -> None:
    for limiter in _limiters(redis_url):
        user, overall = Bucket(f"user:{new_user()}", 1.0, 3), Bucket(GLOBAL_KEY, 0.001, 4)
        other = Bucket(f"user:{new_user()}", 1.0, 3)
        assert [limiter.hit([user, overall]).allowed for _ in range(4)] == [True, True, True, False]
        # The refused request took no token from the overall bucket: one is left for another user.
        assert limiter.hit([other, overall]).allowed
        decision = limiter.hit([other, overall])
        assert not decision.allowed and decision.retry_after_s > 100  # the overall bucket refills slowly
        limiter.close()


def test_memory_bucket_refills_at_its_rate() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    bucket = Bucket("user:x", 20.0, 20)
    assert all(limiter.hit([bucket]).allowed for _ in range(20))
    refused = limiter.hit([bucket])
    assert not refused.allowed and refused.retry_after_s == pytest.approx(0.05)
    assert refused.retry_after_header == "1"
    clock.now += 0.05
    assert limiter.hit([bucket]).allowed
    clock.now += 10
    assert sum(limiter.hit([bucket]).allowed for _ in range(25)) == 20


def test_redis_down_falls_back_to_memory(tmp_path: Path) -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", timeout_s=0.2)
    bucket = Bucket("user:y", 1.0, 2)
    assert [limiter.hit([bucket]).allowed for _ in range(3)] == [True, True, False]
    assert limiter.ping() is False
