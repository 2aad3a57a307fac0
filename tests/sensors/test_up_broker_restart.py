"""`nexus up` restarts a broker that dies (with backoff, said in its output) instead of stopping the stack."""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest

from nexus_cli.up import Restarts
from nexus_core.settings import NexusSettings
from tests.sensors.support import TANSU, broker_topics, free_port, start_nexus_up_broker

TOPICS = {"video.generation.requests", "video.generation.events", "video.generation.cancel", "user.notifications"}


def test_restart_delays_double_up_to_a_cap_and_reset_after_a_healthy_run() -> None:
    restarts = Restarts(max_s=8.0, healthy_s=60.0, started_at=0.0)
    assert [restarts.next_delay(1.0) for _ in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    restarts.started_at = 100.0
    assert restarts.next_delay(200.0) == 1.0  # it stayed up for 100 s: start over


def _wait(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_killed_broker_is_restarted_with_its_topics(nexus_settings: NexusSettings) -> None:
    if not TANSU.exists():
        pytest.skip("the Tansu broker is not installed")
    port = free_port()
    proc = start_nexus_up_broker(port, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        _wait(lambda: any("pid" in line for line in lines), 30, "the broker's pid")
        first_pid = int(re.search(r"pid (\d+)", next(line for line in lines if "pid" in line)).group(1))  # type: ignore[union-attr]
        _wait(lambda: broker_topics(port) >= TOPICS, 30, "the topics")
        os.kill(first_pid, signal.SIGKILL)  # a crash
        _wait(lambda: any("broker restarted" in line for line in lines), 30, "the restart")
        assert proc.poll() is None, "nexus up stopped with the broker"
        said = "".join(lines)
        assert re.search(r"broker exited with code -9 .*restarting it in 1 s \(attempt 1\)", said), said
        new_pid = int(re.search(r"broker restarted \(pid (\d+)\)", said).group(1))  # type: ignore[union-attr]
        assert new_pid != first_pid
        _wait(lambda: broker_topics(port) >= TOPICS, 10, "the topics on the new broker")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
