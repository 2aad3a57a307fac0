"""`nexus api` on a bare NEXUS_HOME: SQLite, a dev key pair made on first start, `nexus dev-token` and
`nexus grant-tokens` working against it; the in-process app on SQLite end to end."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.support import API, SHORT, wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nexus(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEXUS_HOME": str(home)}
    env.pop("NEXUS_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "nexus_cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=True)


@pytest.fixture(scope="module")
def local_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("local-home")
    port = _free_port()
    env = {**os.environ, "NEXUS_HOME": str(home), "NEXUS_API_DISPATCHER": "none"}
    for name in ("NEXUS_DATABASE_URL", "DAGSTER_HOME", "NEXUS_API_REDIS_URL"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "nexus_cli.main", "api", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            return False

    try:
        wait_for(up, timeout_s=60, every_s=0.2, what="nexus api to answer")
        yield base, home
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_nexus_api_runs_on_sqlite_with_dev_keys(local_api: tuple[str, Path]) -> None:
    base, home = local_api
    assert (home / "catalog.db").is_file()
    assert (home / "api" / "dev-jwt-private.pem").is_file() and (home / "api" / "dev-jwt-public.pem").is_file()
    token = _nexus(home, "dev-token", "--user", "alice", "--plan", "FREE").stdout.strip()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        assert client.get(f"{API}/tokens").json()["balance"] == 100
        granted = _nexus(home, "grant-tokens", "--user", "alice", "--amount", "40", "--note", "a test grant")
        assert "balance 140" in granted.stdout
        body = client.get(f"{API}/tokens").json()
        assert body["balance"] == 140 and body["entries"][0]["note"] == "a test grant"
        accepted = client.post(f"{API}/videos/generate", json=SHORT)
        assert accepted.status_code == 202, accepted.text
        video_id = accepted.json()["id"]
        assert client.get(f"{API}/videos/{video_id}").json()["status"] == "QUEUED"
        assert client.post(f"{API}/videos/{video_id}/cancel").json()["status"] == "CANCELLED"
        assert client.get(f"{API}/tokens").json()["balance"] == 140
        assert client.get("/readyz").status_code == 200
        assert "swagger" in client.get("/docs").text.lower()


def test_a_token_from_another_key_is_refused_locally(local_api: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = local_api
    stranger = _nexus(tmp_path, "dev-token", "--user", "alice").stdout.strip()  # another home, another key
    response = httpx.get(f"{base}{API}/tokens", headers={"Authorization": f"Bearer {stranger}"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_signature"


def test_memory_rate_limit_applies_without_redis(local_api: tuple[str, Path]) -> None:
    base, home = local_api
    token = _nexus(home, "dev-token", "--user", f"burst-{time.time_ns()}").stdout.strip()

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            responses = await asyncio.gather(*(client.get(f"{API}/videos") for _ in range(60)))
        return [r.status_code for r in responses]

    codes = asyncio.run(burst())
    assert codes.count(200) >= 20  # the default burst of 20, plus what refilled meanwhile (20/s)
    assert codes.count(429) >= 10
