"""Load the REST API on loopback: POST /videos/generate, then GET /videos/{id}; print requests/s and latency.

    .venv/bin/python bench/api.py [--workers 2] [--concurrency 16] [--seconds 10] [--users 50]
                                  [--sqlite] [--redis] [--completed 0.8]

The app runs under uvicorn (`api.main:create_app --factory`, uvloop + httptools) with the dispatcher that
runs nothing, on a fresh PostgreSQL database (scripts/services.sh starts the server) or SQLite (--sqlite).
Rate limits stay on (in memory, or in Redis with --redis) but high enough not to refuse the load. The
client is a minimal keep-alive HTTP/1.1 client on asyncio in this process, so it shares the machine's
cores with the server: the figures are for both on one box. After the POST phase, a share of the videos
(--completed) is marked COMPLETED with published files, so status reads also build signed URLs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# This file is bench/api.py: put the repository first, so `import api` finds the package, not this script.
sys.path[:0] = [str(REPO)]
OUT = REPO / "bench" / "out"
BODY = {"prompt": "A 20-second explainer on tides", "duration_seconds": 20, "resolution": "720p",
        "quality": "STANDARD", "music_style": "none"}


# -- a minimal keep-alive HTTP/1.1 client ----------------------------------------------------------


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", raw)
        payload = await self.reader.readexactly(int(match.group(1))) if match else b""
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def process_tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of a process and its children (the uvicorn master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [root]
    while pids:
        pid = pids.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{pid}/task").iterdir():
                children = (task / "children").read_text().split()
                pids += [int(c) for c in children]
        except (OSError, IndexError, ValueError):
            continue
    return total


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    database_cpu_s: float | None = None

    def record(self, status: int, seconds: float) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def report(self) -> str:
        lat = sorted(self.latencies)
        if not lat:
            return f"{self.name}: no requests"

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

        codes = ", ".join(f"{code}: {count}" for code, count in sorted(self.statuses.items()))
        rate = len(lat) / self.seconds
        return (f"{self.name:<22} {len(lat):>7} requests in {self.seconds:5.1f} s = {rate:7.0f} req/s"
                f"   p50 {pct(0.50):6.1f} ms  p90 {pct(0.90):6.1f} ms  p99 {pct(0.99):6.1f} ms  "
                f"max {lat[-1] * 1000:6.1f} ms   [{codes}]\n{'':<22} CPU per request: server "
                f"{self.server_cpu_s / len(lat) * 1000:.2f} ms, client {self.client_cpu_s / len(lat) * 1000:.2f} ms"
                + (f", PostgreSQL {self.database_cpu_s / len(lat) * 1000:.2f} ms"
                   if self.database_cpu_s is not None else ""))


DATABASE_PIDS: list[int] = []  # the PostgreSQL backends serving the benchmark's database


async def run_phase(  # type: ignore[no-untyped-def]
    name: str, host: str, port: int, concurrency: int, seconds: float, make_request, server_pid: int
) -> Phase:
    phase = Phase(name)
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        conn = Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                method, path, token, body, on_done = make_request(index)
                started = time.perf_counter()
                status, payload = await conn.request(method, path, token, body)
                phase.record(status, time.perf_counter() - started)
                if on_done is not None:
                    on_done(status, payload)
        finally:
            conn.close()

    database_cpu = sum(process_tree_cpu_s(pid) for pid in DATABASE_PIDS)
    started, server_cpu, client_cpu = time.perf_counter(), process_tree_cpu_s(server_pid), time.process_time()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    phase.seconds = time.perf_counter() - started
    phase.server_cpu_s = process_tree_cpu_s(server_pid) - server_cpu
    phase.client_cpu_s = time.process_time() - client_cpu
    if DATABASE_PIDS:
        phase.database_cpu_s = sum(process_tree_cpu_s(pid) for pid in DATABASE_PIDS) - database_cpu
    return phase


# -- set-up -----------------------------------------------------------------------------------------


def _services(*args: str) -> str:
    done = subprocess.run(["bash", str(REPO / "scripts" / "services.sh"), *args], capture_output=True, text=True,
                          check=True)
    return done.stdout


def _service_url(name: str) -> str:
    for line in _services("env").splitlines():
        if name in line:
            return line.split("=", 1)[1].strip()
    raise RuntimeError(f"scripts/services.sh env printed no {name}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=16, help="client connections (default 16)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--completed", type=float, default=0.8, help="share of videos marked COMPLETED")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--redis", action="store_true", help="rate limits in Redis instead of memory")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    from api import ledger
    from api.core.db import Database
    from api.core.security import generate_private_key, mint_token, private_key_pem, public_key_pem
    from nexus_core.catalog import Catalog

    home = OUT / "api-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    key = generate_private_key()
    (home / "public.pem").write_bytes(public_key_pem(key))
    admin_url = None
    db_name = f"nexus_bench_{uuid.uuid4().hex[:8]}"
    if args.sqlite:
        database_url = f"sqlite:///{home / 'catalog.db'}"
    else:
        _services("start", "postgres")
        admin_url = _service_url("NEXUS_TEST_POSTGRES_URL")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        database_url = admin_url.rsplit("/", 1)[0] + f"/{db_name}"
    Database(database_url).close()  # migrate once, before the workers start
    env = {**os.environ, "NEXUS_HOME": str(home), "NEXUS_DATABASE_URL": database_url,
           "NEXUS_API_JWT_PUBLIC_KEY_FILE": str(home / "public.pem"), "NEXUS_API_DISPATCHER": "none",
           "NEXUS_API_RATE_LIMIT_USER_PER_S": "100000", "NEXUS_API_RATE_LIMIT_USER_BURST": "100000",
           "NEXUS_API_RATE_LIMIT_GLOBAL_PER_S": "100000", "NEXUS_API_RATE_LIMIT_GLOBAL_BURST": "100000"}
    env.pop("NEXUS_API_REDIS_URL", None)
    if args.redis:
        _services("start", "redis")
        env["NEXUS_API_REDIS_URL"] = _service_url("NEXUS_TEST_REDIS_URL")
        env["NEXUS_API_RATE_LIMIT_PREFIX"] = f"nexus-bench:{uuid.uuid4().hex[:8]}:"
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(args.workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
         "--log-level", "warning"],
        cwd=REPO, env=env, start_new_session=True,
    )
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        pem = private_key_pem(key)
        tokens = [mint_token(pem, user_id=f"bench-{i}", plan="VIP", ttl_s=3600) for i in range(args.users)]
        body = json.dumps(BODY).encode()
        made: list[tuple[str, str]] = []
        refusals: list[str] = []

        sent = iter(range(10**9))

        def post(_index: int):  # type: ignore[no-untyped-def]
            token = tokens[next(sent) % len(tokens)]  # round robin: connections are not served evenly

            def done(status: int, payload: bytes) -> None:
                if status == 202:
                    made.append((json.loads(payload)["id"], token))
                elif status != 202 and len(refusals) < 3:
                    refusals.append(payload.decode(errors="replace")[:300])

            return "POST", "/api/v1/videos/generate", token, body, done

        print(f"uvicorn: {args.workers} worker(s); {'SQLite' if args.sqlite else 'PostgreSQL'}; rate limits in "
              f"{'Redis' if args.redis else 'memory'}; {args.concurrency} connections; {os.cpu_count()} cores")
        post_phase = asyncio.run(run_phase("POST /videos/generate", "127.0.0.1", port, args.concurrency,
                                           args.seconds, post, server.pid))
        random.seed(7)
        done_ids = random.sample(made, int(len(made) * args.completed))
        with Catalog(database_url) as catalog:
            for video_id, _ in done_ids:
                catalog.start_phase(video_id, phase="finalization")
                catalog.mark_completed(video_id, size_bytes=1_234_567, duration_s=20.0, artifacts={
                    "video": f"videos/{video_id}/video.mp4", "video_h264": f"videos/{video_id}/video.mp4",
                    "captions_srt": f"videos/{video_id}/captions.srt",
                    "captions_vtt": f"videos/{video_id}/captions.vtt",
                    **{f"thumbnail_{i}": f"videos/{video_id}/thumbnails/{i}.jpg" for i in range(3)},
                })

        def get(_index: int):  # type: ignore[no-untyped-def]
            video_id, token = random.choice(made)
            return "GET", f"/api/v1/videos/{video_id}", token, b"", None

        with Database(database_url, migrate=False) as db:  # settle now, so the reads measure reads
            while ledger.settle_finished(db, limit=1000):
                pass
        asyncio.run(run_phase("warm-up", "127.0.0.1", port, args.concurrency, 1.0, get, server.pid))
        if admin_url:  # the pools are open now: these backends serve the measured reads
            with create_engine(admin_url).connect() as conn:
                DATABASE_PIDS[:] = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :db"),
                                                {"db": db_name}).scalars().all()
        get_phase = asyncio.run(run_phase("GET /videos/{id}", "127.0.0.1", port, args.concurrency, args.seconds, get,
                                          server.pid))
        floor = asyncio.run(run_phase("GET /healthz (floor)", "127.0.0.1", port, args.concurrency, args.seconds / 2,
                                      lambda _i: ("GET", "/healthz", tokens[0], b"", None), server.pid))
        print(f"{len(made)} videos made, {len(done_ids)} marked COMPLETED; load average before: {load_before}")
        print(post_phase.report())
        for refusal in refusals:
            print(f"{'':<22} refused: {refusal}")
        print(get_phase.report())
        print(floor.report())
        ok = get_phase.statuses.get(200, 0) == len(get_phase.latencies)
        return 0 if ok and post_phase.statuses.get(202) else 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        if admin_url:
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main())
