"""Token-bucket rate limits: per user and overall, checked together. In Redis when configured (shared by
every worker and host), in memory otherwise (per process)."""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

GLOBAL_KEY = "*"
_EPSILON = 1e-9  # float refill arithmetic must not refuse a token that is due


@dataclass(frozen=True)
class Bucket:
    """`rate` tokens per second refill a bucket of `burst` tokens; one request takes one token."""

    key: str
    rate: float
    burst: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, at least 1 (Retry-After takes an integer)."""
        return str(max(1, math.ceil(self.retry_after_s)))


class RateLimiter(ABC):
    @abstractmethod
    def hit(self, buckets: list[Bucket]) -> Decision:
        """Take one token from every bucket, or from none when any is empty (then say how long to wait)."""

    async def ahit(self, buckets: list[Bucket]) -> Decision:
        """hit() from async code: no thread hop where the limiter does no I/O."""
        return self.hit(buckets)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        return None


class MemoryRateLimiter(RateLimiter):
    """Buckets in this process, behind one lock; the least recently used are forgotten past max_keys."""

    def __init__(self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys
        self._now = clock

    def hit(self, buckets: list[Bucket]) -> Decision:
        with self._lock:
            now = self._now()
            levels: list[float] = []
            wait = 0.0
            for bucket in buckets:
                tokens, stamp = self._state.get(bucket.key, (float(bucket.burst), now))
                tokens = min(float(bucket.burst), tokens + max(0.0, now - stamp) * bucket.rate)
                levels.append(tokens)
                if tokens < 1.0 - _EPSILON:
                    wait = max(wait, (1.0 - tokens) / bucket.rate)
            if wait > 0:
                return Decision(False, wait)
            for bucket, tokens in zip(buckets, levels, strict=True):
                self._state[bucket.key] = (max(0.0, tokens - 1.0), now)
                self._state.move_to_end(bucket.key)
            while len(self._state) > self._max_keys:
                self._state.popitem(last=False)
            return Decision(True)


# KEYS: bucket keys; ARGV: rate1, burst1, rate2, burst2, ... Server time, so hosts' clocks do not matter.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local levels = {}
local wait = 0
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'stamp')
  local tokens = tonumber(state[1])
  local stamp = tonumber(state[2])
  if tokens == nil or stamp == nil then tokens = burst; stamp = now end
  tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
  levels[i] = tokens
  if tokens < 1 - 1e-9 then
    local w = (1 - tokens) / rate
    if w > wait then wait = w end
  end
end
if wait > 0 then return {0, tostring(wait)} end
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(math.max(0, levels[i] - 1)), 'stamp', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst / rate * 1000) + 1000)
end
return {1, '0'}
"""


class RedisRateLimiter(RateLimiter):
    """Buckets in Redis, updated atomically by one Lua script; falls back to memory while Redis is down."""

    def __init__(self, url: str, *, prefix: str = "nexus:rl:", timeout_s: float = 0.5) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._script = self._redis.register_script(_LUA)
        self._prefix = prefix
        self._fallback = MemoryRateLimiter()
        self._warned_at = 0.0

    def hit(self, buckets: list[Bucket]) -> Decision:
        import redis

        args: list[float | int] = []
        for bucket in buckets:
            args += [bucket.rate, bucket.burst]
        try:
            allowed, wait = self._script(keys=[self._prefix + b.key for b in buckets], args=args)
        except redis.RedisError as exc:
            if time.monotonic() - self._warned_at > 30:
                self._warned_at = time.monotonic()
                log.warning("rate limits: Redis unavailable (%s); limiting in memory meanwhile", exc)
            return self._fallback.hit(buckets)
        return Decision(bool(int(allowed)), float(wait))

    async def ahit(self, buckets: list[Bucket]) -> Decision:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.hit, buckets)

    def ping(self) -> bool:
        import redis

        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self._redis.close()


def make_rate_limiter(redis_url: str | None, *, prefix: str = "nexus:rl:") -> RateLimiter:
    return RedisRateLimiter(redis_url, prefix=prefix) if redis_url else MemoryRateLimiter()
