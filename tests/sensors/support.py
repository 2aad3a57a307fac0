"""Helpers of the Kafka sensor tests: a Tansu broker process and a topic reader."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from nexus_cli.up import tansu_binary, tansu_command
from nexus_core.kafka_settings import KafkaSettings
from resources.kafka import close_clients


def _tansu() -> Path:
    try:
        return tansu_binary()
    except FileNotFoundError:
        return Path("/nonexistent/tansu")


TANSU = _tansu()


def new_id() -> str:
    """A fresh video id."""
    return uuid.uuid4().hex[:16]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """One Tansu process; restart() loses everything it held (memory storage), as a crashed broker would."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.bootstrap = f"127.0.0.1:{port}"
        self._log = log
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as out:
            self._proc = subprocess.Popen(tansu_command(self.port), stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"tansu did not listen on {self.port}: {self._log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def read_all(settings: KafkaSettings, topic: str, *, expect: int, timeout_s: float = 10.0) -> list[tuple[bytes, bytes]]:
    """Every (key, value) on topic, waiting until at least `expect` arrived."""
    consumer = Consumer(settings.consumer_config(f"test-{uuid.uuid4().hex[:6]}"))
    try:
        partitions = consumer.list_topics(topic, timeout=5).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        out: list[tuple[bytes, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < expect and time.monotonic() < deadline:
            for msg in consumer.consume(100, timeout=0.3):
                if msg.error() is None:
                    out.append((msg.key(), msg.value()))
        return out
    finally:
        consumer.close()


@contextlib.contextmanager
def running_broker(log_dir: Path) -> Iterator[Broker]:
    """A Tansu broker on a free port for the block; the process's cached Kafka clients are closed before it
    stops (they would retry it forever)."""
    broker = Broker(free_port(), log_dir / "tansu.log")
    broker.start()
    try:
        yield broker
    finally:
        close_clients()
        broker.stop()


def broker_topics(port: int) -> set[str]:
    """The topics a broker on loopback lists now; empty while it does not answer."""
    try:
        admin = AdminClient(KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}").client_config())
        return set(admin.list_topics(timeout=1).topics)
    except Exception:
        return set()


def start_nexus_up_broker(port: int, *, text: bool = False) -> subprocess.Popen:  # type: ignore[type-arg]
    """`nexus up --no-ui --no-api` with its broker on `port` (no KAFKA_* from the test's environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    return subprocess.Popen([sys.executable, "-m", "nexus_cli.main", "up", "--no-ui", "--no-api", "--kafka-port",
                             str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=text)
