"""The request sensor through Dagster's own sensor daemon, against a real broker (Tansu, free loopback port).

    .venv/bin/python bench/sensor.py [--n 2000] [--rate 400] [--batch 500] [--postgres URL]

Publishes N requests (at --rate per second; 0: all at once) while this process plays the sensor daemon:
it runs Dagster's sensor iteration (the code location served by a gRPC code server, as `dagster dev` or
the daemon would) every 0.2 s, so each request becomes a partition and a QUEUED make_video run in the
instance. Prints runs queued per second and the latency from publish (the message's timestamp) to the
run's creation: median, p95, max. Aims: >= 50 runs/s, p95 < 5 s.

Dagster's storage decides most of the cost of a queued run (it writes the run and one "planned" event per
asset): with the default SQLite instance every run gets a database file of its own. `--postgres URL`
(e.g. postgresql+psycopg2://postgres@127.0.0.1:55432/postgres, see scripts/services.sh) puts the
instance's storage in a fresh database on that server, as in production; the database is dropped after.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nexus_cli.up import tansu_command, wait_for_port  # noqa: E402
from nexus_core.kafka_settings import KafkaSettings  # noqa: E402
from nexus_core.messages import GenerationRequest  # noqa: E402
from nexus_core.models import VideoRequest  # noqa: E402

PG_STORAGE = """
storage:
  postgres:
    postgres_url: {url}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def publish(settings: KafkaSettings, n: int, rate: float, done: threading.Event) -> None:
    from resources.kafka import KafkaResource

    kafka = KafkaResource.from_settings(settings)
    request = VideoRequest(prompt="A benchmark video about the sea", duration_seconds=5, resolution="360p")
    started = time.monotonic()
    for i in range(n):
        message = GenerationRequest(video_id=uuid.uuid4().hex[:16], user_id=f"user-{i % 50}", request=request)
        kafka.publish(kafka.topic_requests, key=message.key(), value=message.to_bytes())
        if rate > 0:
            delay = started + (i + 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    kafka.flush()
    done.set()


def postgres_database(server_url: str) -> tuple[str, str]:
    """(url of a new database on the server, its name)."""
    import sqlalchemy as sa

    name = f"nexus_bench_sensor_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}", name


def drop_database(server_url: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def sensor_only(instance: object, settings: KafkaSettings, args: argparse.Namespace) -> int:
    """Tick the request sensor back to back (0.2 s apart) and count its run requests and their latency."""
    import dagster as dg

    from nexus_core.settings import NexusSettings
    from resources.catalog import CatalogResource
    from resources.kafka import KafkaResource
    from sensors.requests import PUBLISHED_TAG, evaluate_requests

    assert isinstance(instance, dg.DagsterInstance)
    kafka = KafkaResource.from_settings(settings)
    catalog = CatalogResource(url=NexusSettings().catalog_url)
    done = threading.Event()
    threading.Thread(target=publish, args=(settings, args.n, args.rate, done), daemon=True).start()
    latencies: list[float] = []
    busy, cursor, started = 0.0, None, time.time()
    deadline = time.monotonic() + args.timeout
    while len(latencies) < args.n and time.monotonic() < deadline:
        tick = time.monotonic()
        result = evaluate_requests(dg.build_sensor_context(instance=instance, cursor=cursor), kafka, catalog)
        cursor = result.cursor
        for request in result.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        now = time.time()
        latencies += [now - int(r.tags[PUBLISHED_TAG]) / 1000 for r in result.run_requests]
        busy += time.monotonic() - tick
        time.sleep(0.2)
    latencies.sort()
    print(f"sensor only: {len(latencies)} run requests of {args.n} in {time.time() - started:.1f} s "
          f"(published at {args.rate or 'burst'}/s, batch {args.batch})")
    print(f"run requests/s while ticking: {len(latencies) / max(busy, 1e-9):.0f}")
    print(f"publish -> run request: median {statistics.median(latencies):.2f} s, "
          f"p95 {latencies[int(0.95 * (len(latencies) - 1))]:.2f} s, max {latencies[-1]:.2f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=400.0, help="requests published per second (0: a burst)")
    parser.add_argument("--batch", type=int, default=500, help="KAFKA_CONSUMER_BATCH: most messages per tick")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL for Dagster's storage")
    parser.add_argument("--submit-workers", type=int, default=8,
                        help="dagster.yaml sensors.num_submit_workers (0: submit serially, Dagster's default)")
    parser.add_argument("--sensor-only", action="store_true",
                        help="evaluate the sensor function in a loop (no daemon, no runs): the sensor's own ceiling")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="nexus-bench-sensor-"))
    port = free_port()
    os.environ.update(NEXUS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"),
                      KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}", KAFKA_CONSUMER_BATCH=str(args.batch))
    import dagster as dg
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.sensor import execute_sensor_iteration

    from nexus_cli.instance import prepare_instance
    from nexus_core.settings import NexusSettings
    from resources.kafka import ensure_topics
    from sensors.requests import PUBLISHED_TAG

    pg_name = None
    broker = subprocess.Popen(tansu_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        prepare_instance(NexusSettings())
        if args.postgres:
            url, pg_name = postgres_database(args.postgres)
            with (home / "dagster" / "dagster.yaml").open("a") as out:
                out.write(PG_STORAGE.format(url=url))
        instance = dg.DagsterInstance.get()
        wait_for_port(port, proc=broker)
        kafka_settings = KafkaSettings()
        ensure_topics(kafka_settings)
        if args.sensor_only:
            return sensor_only(instance, kafka_settings, args)
        target = ModuleTarget(module_name="nexus_assets.definitions", attribute="defs", working_directory=str(ROOT),
                              location_name="nexus")
        logger = logging.getLogger("bench.sensor")
        from concurrent.futures import ThreadPoolExecutor

        submit_pool = ThreadPoolExecutor(args.submit_workers) if args.submit_workers else None
        tick_pool = ThreadPoolExecutor(4) if args.submit_workers else None
        futures: dict = {}

        def iteration() -> None:
            list(execute_sensor_iteration(workspace, logger, tick_pool, submit_pool, futures))
            for future in list(futures.values()):
                future.result()

        with create_test_daemon_workspace_context(target, instance) as workspace:
            iteration()  # the code server is up, the sensors are known
            done = threading.Event()
            publisher = threading.Thread(target=publish, args=(kafka_settings, args.n, args.rate, done), daemon=True)
            started = time.time()
            publisher.start()
            queued = 0
            deadline = time.monotonic() + args.timeout
            profiler = None
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            while time.monotonic() < deadline:
                iteration()
                queued = instance.get_runs_count(dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]))
                if done.is_set() and queued >= args.n:
                    break
                time.sleep(0.2)
            elapsed = time.time() - started
            if profiler is not None:
                import pstats

                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        records = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]))
        latencies = sorted(r.create_timestamp.timestamp() - int(r.dagster_run.tags[PUBLISHED_TAG]) / 1000
                           for r in records if PUBLISHED_TAG in r.dagster_run.tags)
        first = min(r.create_timestamp.timestamp() for r in records)
        last = max(r.create_timestamp.timestamp() for r in records)
        storage = "PostgreSQL" if args.postgres else "SQLite"
        storage += f", {args.submit_workers or 'no'} submit workers"
        print(f"{len(records)} of {args.n} requests queued as runs ({storage} instance, published at "
              f"{args.rate or 'burst'}/s, batch {args.batch}) in {elapsed:.1f} s")
        print(f"runs queued/s: {len(records) / max(1e-9, last - first):.1f} (first to last run), "
              f"{len(records) / elapsed:.1f} end to end")
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(f"publish -> queued run: median {statistics.median(latencies):.2f} s, p95 {p95:.2f} s, "
              f"max {latencies[-1]:.2f} s")
    finally:
        broker.terminate()
        broker.wait(10)
        if pg_name and args.postgres:
            drop_database(args.postgres, pg_name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
