"""`nexus metrics-exporter`: the pipeline's Prometheus metrics, computed from the catalog at scrape time.

Run and step pods end before a scrape could find them; the catalog, the sensor's cursor, the broker and the
manifests outlive them. One small long-lived process reads them when Prometheus asks (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import logging
import signal
from datetime import timedelta
from types import FrameType
from typing import Any

from nexus_core.settings import NexusSettings

log = logging.getLogger(__name__)

DEFAULT_PORT = 9464


def register(subparsers: Any) -> None:
    cmd = subparsers.add_parser("metrics-exporter", help="serve the pipeline's Prometheus metrics (/metrics)")
    cmd.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    cmd.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1; 0.0.0.0 in a pod)")
    cmd.add_argument("--fallback-window-hours", type=float, default=24.0,
                     help="provider fallbacks are counted over the videos updated this recently (default 24)")
    cmd.set_defaults(handler=run_exporter)


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt("terminated")


def run_exporter(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        print(f"error: --port {args.port} is not a port number", flush=True)
        return 2
    if args.fallback_window_hours <= 0:
        print("error: --fallback-window-hours must be > 0", flush=True)
        return 2
    from prometheus_client import CollectorRegistry, start_http_server

    from nexus_cli.metrics_collector import build_collector

    collector = build_collector(NexusSettings(), fallback_window=timedelta(hours=args.fallback_window_hours))
    registry = CollectorRegistry()
    registry.register(collector)
    try:
        server, thread = start_http_server(args.port, addr=args.host, registry=registry)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", flush=True)
        return 2
    log.info("pipeline metrics on http://%s:%d/metrics", args.host, args.port)
    print(f"Nexus pipeline metrics on http://{args.host}:{args.port}/metrics", flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while thread.is_alive():
            thread.join(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        collector.close()
    return 0
