"""`nexus up` starts the broker (and creates the topics) and stops everything on SIGTERM."""

from __future__ import annotations

import signal
import socket
import time

import pytest

from nexus_cli.main import build_parser
from nexus_core.settings import NexusSettings
from tests.sensors.support import TANSU, broker_topics, free_port, start_nexus_up_broker


def test_up_is_a_subcommand() -> None:
    args = build_parser().parse_args(["up", "--no-ui", "--no-api", "--kafka-port", "1"])
    assert (args.no_ui, args.no_api, args.kafka_port) == (True, True, 1)


def test_up_starts_the_broker_with_topics_and_stops_on_sigterm(nexus_settings: NexusSettings) -> None:
    if not TANSU.exists():
        pytest.skip("the Tansu broker is not installed")
    port = free_port()
    proc = start_nexus_up_broker(port)
    try:
        deadline = time.monotonic() + 30
        topics: set[str] = set()
        while time.monotonic() < deadline and "video.generation.requests" not in topics:
            time.sleep(0.3)
            topics = broker_topics(port)
        assert {"video.generation.requests", "video.generation.events", "video.generation.cancel",
                "user.notifications"} <= topics
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert "stopping" in output
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
