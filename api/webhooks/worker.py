"""The webhook worker: a background thread in each API process, beside the outbox relay.

Each pass (1) observes what the pipeline changed and writes the missing deliveries (store.observe), (2)
leases the due deliveries, (3) sends them, several at once, each signed with the endpoint's secret(s) to the
address checked just before (urls.resolve_target), and (4) logs the attempt: a 2xx answer delivers; anything
else is retried with exponential backoff and jitter until the retry period (25 h by default) has passed
since the event (or its replay), then the delivery is marked failed. 410 Gone fails it at once (the receiver
said it does not want it).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import RowMapping

from api.background import PassLoop
from api.core.config import Settings
from api.core.db import Database
from api.downloads import DownloadLinks, result_links
from api.webhooks import store
from api.webhooks.signing import headers as signed_headers
from api.webhooks.urls import UrlRefused, pinned_url, resolve_target
from nexus_core.clock import utcnow

log = logging.getLogger(__name__)
USER_AGENT = "NexusVideo-Webhooks/1.0"
Clock = Callable[[], datetime]



@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 5.0
    max_s: float = 3600.0
    retry_for_s: float = 25 * 3600.0

    def delay_s(self, attempt: int, rng: random.Random) -> float:
        """Exponential (base x 2^(attempt-1), capped) with equal jitter: half fixed, half random."""
        ceiling = min(self.max_s, self.base_s * 2 ** min(attempt - 1, 30))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookWorker:
    """`run_once()` is one pass; `start()` runs passes in a thread every `interval_s` (or on `wake()`)."""

    def __init__(
        self,
        database: Database,
        *,
        links: DownloadLinks,
        public_url: str,
        allow_private: bool,
        policy: RetryPolicy,
        timeout_s: float = 10.0,
        interval_s: float = 1.0,
        concurrency: int = 8,
        batch: int = 50,
        observe_window_s: float = 7 * 24 * 3600.0,
        clock: Clock | None = None,
    ) -> None:
        self._db = database
        self._links = links
        self._public_url = public_url.rstrip("/") + "/"
        self.allow_private = allow_private
        self.policy = policy
        self._timeout_s = timeout_s
        self._batch = batch
        self._window = timedelta(seconds=observe_window_s)
        self._lease = timedelta(seconds=timeout_s * 3 + 30)
        self._now = clock or utcnow
        self._rng = random.Random()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="nexus-webhook-send")
        self._http = httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False,
                                  limits=httpx.Limits(max_connections=concurrency * 2))
        self._background = PassLoop(self.run_once, name="nexus-webhooks", interval_s=interval_s)
        self._pass_lock = threading.Lock()

    # -- one attempt ----------------------------------------------------------------------------------

    def _payload(self, delivery: RowMapping) -> dict[str, Any]:
        """The stored message; a completed video's gets fresh signed links to its files (they expire)."""
        payload: dict[str, Any] = dict(delivery["payload"])
        if delivery["event_type"] == "video.completed" and delivery["video_id"]:
            with self._db.read() as session:
                row = store.video_artifacts(session, video_id=delivery["video_id"])
            if row is not None and "video" in (row["artifacts"] or {}):
                data = dict(payload["data"])
                data["result"] = {
                    **result_links(self._links, video_id=delivery["video_id"], artifacts=row["artifacts"],
                                   base_url=self._public_url),
                    "size_bytes": row["size_bytes"], "duration_s": row["duration_s"],
                }
                data["result"]["urls_expire_at"] = data["result"]["urls_expire_at"].isoformat()
                payload["data"] = data
        return payload

    def send(self, delivery: RowMapping, endpoint: RowMapping) -> Outcome:
        """One signed POST to the endpoint; never raises."""
        started = time.monotonic()

        def done(status_code: int | None, error: str | None) -> Outcome:
            return Outcome(status_code, error, int((time.monotonic() - started) * 1000))

        try:
            target = resolve_target(endpoint["url"], allow_private=self.allow_private)
        except UrlRefused as exc:
            return done(None, f"refused: {exc}")
        except OSError as exc:
            return done(None, f"could not resolve the host: {exc}")
        try:
            body = encode(self._payload(delivery))
            secrets = store.signing_secrets(endpoint, now=self._now())
            headers = signed_headers(secrets, msg_id=delivery["id"], timestamp=int(time.time()), body=body)
            default_port = 443 if target.scheme == "https" else 80
            host = f"[{target.host}]" if ":" in target.host else target.host
            headers["host"] = host if target.port == default_port else f"{host}:{target.port}"
            headers["user-agent"] = USER_AGENT
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            with self._http.stream("POST", pinned_url(target), content=body, headers=headers,
                                   extensions=extensions) as response:
                return done(response.status_code, None if 200 <= response.status_code < 300
                            else f"HTTP {response.status_code}")
        except httpx.TimeoutException as exc:
            return done(None, f"timeout after {self._timeout_s:g} s ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            return done(None, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug must not stop the worker: log it as the attempt's error
            log.exception("webhook delivery %s", delivery["id"])
            return done(None, f"{type(exc).__name__}: {exc}")

    def _settle(self, delivery: RowMapping, outcome: Outcome) -> None:
        now = self._now()
        next_at: datetime | None = None
        if outcome.ok:
            state = "delivered"
        elif outcome.status_code == 410 or now >= delivery["retry_from"] + timedelta(seconds=self.policy.retry_for_s):
            state = "failed"
        else:
            state = "pending"
            next_at = now + timedelta(seconds=self.policy.delay_s(delivery["attempts"], self._rng))
        with self._db.write() as session:
            store.record_attempt(session, delivery=delivery, status_code=outcome.status_code, error=outcome.error,
                                 duration_ms=outcome.duration_ms, now=now, outcome=state, next_attempt_at=next_at)
        if state == "failed":
            log.warning("webhook %s to endpoint %s failed for good after %d attempts: %s", delivery["id"],
                        delivery["endpoint_id"], delivery["attempts"], outcome.error)

    def _send_and_settle(self, delivery: RowMapping, endpoint: RowMapping) -> None:
        self._settle(delivery, self.send(delivery, endpoint))

    # -- one pass -------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Observe the pipeline's changes, send every due delivery; returns how many were attempted."""
        with self._pass_lock:
            with self._db.read() as session:  # a read first: no write lock while nothing changed
                observed = store.observe(session, now=self._now(), window=self._window)
            if observed:
                with self._db.write() as session:
                    store.record_observed(session, observed)
            with self._db.write() as session:
                due = store.claim(session, now=self._now(), lease=self._lease, batch=self._batch)
            if not due:
                return 0
            with self._db.read() as session:
                endpoints = store.endpoints_by_id(session, sorted({d["endpoint_id"] for d in due}))
            futures = [self._pool.submit(self._send_and_settle, d, endpoints[d["endpoint_id"]])
                       for d in due if d["endpoint_id"] in endpoints]
            for future in futures:
                future.result()
            return len(futures)

    # -- the background thread ------------------------------------------------------------------------

    def wake(self) -> None:
        self._background.wake()

    def start(self) -> None:
        self._background.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._background.stop(timeout_s)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


def build_worker(settings: Settings, database: Database, links: DownloadLinks) -> WebhookWorker:
    """The worker for these settings (private addresses allowed only locally, unless set either way)."""
    allow_private = settings.webhook_allow_private
    if allow_private is None:
        allow_private = settings.core.environment == "local"
    return WebhookWorker(
        database, links=links, public_url=settings.public_url or f"http://{settings.host}:{settings.port}",
        allow_private=allow_private, timeout_s=settings.webhook_timeout_s, interval_s=settings.webhook_interval_s,
        concurrency=settings.webhook_concurrency, observe_window_s=settings.webhook_observe_window_s,
        policy=RetryPolicy(base_s=settings.webhook_retry_base_s, max_s=settings.webhook_retry_max_s,
                           retry_for_s=settings.webhook_retry_for_s),
    )
