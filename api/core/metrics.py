"""Prometheus metrics: request counts and latency (a pure ASGI middleware), and gauges read from the
database at scrape time (videos by status, tokens reserved, outbox backlog)."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
access_log = logging.getLogger("nexus.api.access")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StateCollector(Collector):
    """Gauges computed from the database when Prometheus scrapes."""

    def __init__(self, read_state: Callable[[], dict[str, Any]]) -> None:
        self._read_state = read_state

    def collect(self) -> Iterator[Metric]:
        try:
            state = self._read_state()
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("metrics: cannot read the database: %s", exc)
            return
        videos = GaugeMetricFamily("nexus_videos", "Videos in the catalog by status.", labels=["status"])
        for status, count in sorted(state["videos_by_status"].items()):
            videos.add_metric([status], count)
        yield videos
        yield GaugeMetricFamily("nexus_tokens_reserved", "Tokens held for videos in flight.",
                                value=state["tokens_reserved"])
        yield GaugeMetricFamily("nexus_outbox_pending", "Outbox rows not yet handed to the pipeline.",
                                value=state["outbox_pending"])


class Metrics:
    """The app's own registry (several apps can live in one process, as in the tests)."""

    def __init__(self, read_state: Callable[[], dict[str, Any]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.state_registry = CollectorRegistry(auto_describe=True)
        self.state_registry.register(StateCollector(read_state))
        self.requests = Counter("nexus_api_requests", "HTTP requests by method, route and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("nexus_api_request_duration_seconds", "HTTP request latency by method and route.",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The exposition text; with PROMETHEUS_MULTIPROC_DIR set, the request metrics of every worker."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            workers = CollectorRegistry()
            multiprocess.MultiProcessCollector(workers)
            return generate_latest(workers) + generate_latest(self.state_registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry) + generate_latest(self.state_registry), CONTENT_TYPE_LATEST


_VIDEO_IN_LOCATION = re.compile(r"/videos/([A-Za-z0-9][A-Za-z0-9_-]{0,63})(?:$|[/?])")


def _log_request(scope: Scope, route: str, status: int, seconds: float, location: str | None) -> None:
    """One access line: the route template (never the query string), status and time; the caller's user id
    (set on request.state by the auth dependency) and the video id (from the path, or the Location of a 202)."""
    state = scope.get("state") or {}
    video_id = (scope.get("path_params") or {}).get("video_id")
    if video_id is None and location and (found := _VIDEO_IN_LOCATION.search(location)):
        video_id = found.group(1)
    access_log.info("%s %s %d", scope["method"], route, status, extra={
        "method": scope["method"], "route": route, "status": status, "duration_ms": round(seconds * 1000, 2),
        "user_id": state.get("user_id"), "video_id": video_id})


class ObservabilityMiddleware:
    """Counts, times and logs every request by its route template; adds nosniff to every response."""

    def __init__(self, app: ASGIApp, metrics: Metrics, prefix: str = "") -> None:
        self.app = app
        self.metrics = metrics
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        location: str | None = None

        async def send_with_headers(message: Message) -> None:
            nonlocal status, location
            if message["type"] == "http.response.start":
                status = message["status"]
                location = MutableHeaders(scope=message).get("location")
                MutableHeaders(scope=message).append("X-Content-Type-Options", "nosniff")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            # Routes of an included router report their own path; put the prefix they were served under back.
            if self.prefix and route.startswith("/") and scope["path"].startswith(self.prefix + "/") \
                    and not route.startswith(self.prefix + "/"):
                route = self.prefix + route
            seconds = time.perf_counter() - started
            self.metrics.observe(scope["method"], route, status, seconds)
            _log_request(scope, route, status, seconds, location)
