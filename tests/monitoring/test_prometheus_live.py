"""A real Prometheus (Debian's package) on loopback scrapes the pipeline exporter and the API while a short
video is made through the API and another one's run dies; the test reads Prometheus's HTTP API.

The same processes log JSON lines (NEXUS_LOG_FORMAT=json), which the log tests at the end read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
import yaml
from confluent_kafka import Producer

from api.core.security import generate_private_key, mint_token, private_key_pem, public_key_pem
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.metrics import GENERATION_BUCKETS
from resources.kafka import ensure_topics
from sensors.cursor import dump_offsets
from tests.sensors.support import TANSU, Broker, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus")
API = "/api/v1"
SHORT = {"prompt": "A quiet park in autumn with falling leaves", "duration_seconds": 5, "resolution": "360p",
         "quality": "STANDARD", "music_style": "none"}
LONGER = {**SHORT, "duration_seconds": 40}  # long enough to be caught running and killed
REQUEST_MESSAGES, SENSOR_CURSOR = 5, 2  # on partition 0: the request sensor's lag there is 3


def _wait(predicate: Any, *, timeout_s: float, what: str, every_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = predicate()
        except (httpx.HTTPError, OSError, ValueError, KeyError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=ROOT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@dataclass
class Live:
    home: Path
    api_url: str
    exporter_url: str
    prometheus_url: str
    token: str
    user: str
    topic: str
    completed_id: str = ""
    failed_id: str = ""
    logs: dict[str, Path] = field(default_factory=dict)

    def query(self, expr: str) -> list[dict[str, Any]]:
        body = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, f"{expr}: expected one series, got {result}"
        return float(result[0]["value"][1])


def _set_request_sensor_cursor(dagster_home: Path, cursor: str) -> None:
    """What the daemon stores after a tick of the request sensor: its cursor in the instance."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteInstigatorOrigin, RemoteRepositoryOrigin
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        SensorInstigatorData,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    location = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="nexus_assets.definitions",
                                                                attribute="defs"), location_name="nexus")
    origin = RemoteInstigatorOrigin(RemoteRepositoryOrigin(location, "__repository__"), "kafka_video_requests")
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.add_instigator_state(InstigatorState(origin, InstigatorType.SENSOR, InstigatorStatus.RUNNING,
                                                      SensorInstigatorData(cursor=cursor, min_interval=1)))


def _prometheus_config(path: Path, *, exporter: str, api: str) -> None:
    path.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ROOT / "monitoring" / "alerts.yml")],
        "scrape_configs": [
            {"job_name": "nexus-pipeline", "static_configs": [{"targets": [exporter]}]},
            {"job_name": "nexus-api", "static_configs": [{"targets": [api]}]},
        ],
    }))


def _status(client: httpx.Client, video_id: str) -> str:
    return str(client.get(f"{API}/videos/{video_id}").json()["status"])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    if PROMETHEUS is None:
        pytest.skip("Prometheus is not installed (apt-get install prometheus; scripts/test-extras.sh does it)")
    if not TANSU.exists():
        pytest.skip(f"the Tansu broker is not installed ({TANSU})")
    tmp = tmp_path_factory.mktemp("prom-live")
    home = tmp / "home"
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True)
    shutil.copyfile(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    procs: list[subprocess.Popen[bytes]] = []
    broker = Broker(free_port(), tmp / "tansu.log")
    broker.start()
    try:
        suffix = uuid.uuid4().hex[:8]
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap, topic_requests=f"requests.{suffix}",
                              topic_events=f"events.{suffix}", topic_cancel=f"cancel.{suffix}",
                              topic_notifications=f"notifications.{suffix}", topic_dead_letter=f"dlq.{suffix}")
        ensure_topics(kafka)
        producer = Producer(kafka.client_config())
        for n in range(REQUEST_MESSAGES):  # one batch each: Tansu's ListOffsets counts a batch's end as +1
            producer.produce(kafka.topic_requests, value=f"request {n}".encode(), partition=0)
            assert producer.flush(10) == 0
        _set_request_sensor_cursor(dagster_home, dump_offsets({0: SENSOR_CURSOR}))

        key = generate_private_key()
        public = tmp / "public.pem"
        public.write_bytes(public_key_pem(key))
        user = f"prom-{suffix}"
        token = mint_token(private_key_pem(key), user_id=user, plan="PREMIUM", roles=(), ttl_s=3600)

        base = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "KAFKA_", "DAGSTER_"))}
        base.update({"NEXUS_HOME": str(home), "DAGSTER_HOME": str(dagster_home), "NEXUS_LOG_FORMAT": "json",
                     "PYTHONUNBUFFERED": "1"})
        api_port, exporter_port, prom_port = free_port(), free_port(), free_port()
        logs = {name: tmp / f"{name}.log" for name in ("api", "exporter", "prometheus")}
        api_env = {**base, "NEXUS_API_JWT_PUBLIC_KEY_FILE": str(public), "NEXUS_API_DEV_KEYS": "false",
                   "NEXUS_API_DISPATCHER": "subprocess", "NEXUS_API_RELAY_INTERVAL_S": "0.2",
                   # the production resources with a hosted script writer that is down: the runs fall back to
                   # the embedded writer, and the exporter counts it
                   "NEXUS_ENVIRONMENT": "prod", "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
                   "OPENAI_API_KEY": "sk-test-down"}
        procs.append(_spawn([sys.executable, "-m", "nexus_cli.main", "api", "--port", str(api_port)], api_env,
                            logs["api"]))
        exporter_env = {**base, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
                        "KAFKA_TOPIC_REQUESTS": kafka.topic_requests}
        procs.append(_spawn([sys.executable, "-m", "nexus_cli.main", "metrics-exporter", "--port",
                             str(exporter_port)], exporter_env, logs["exporter"]))
        config = tmp / "prometheus.yml"
        _prometheus_config(config, exporter=f"127.0.0.1:{exporter_port}", api=f"127.0.0.1:{api_port}")
        procs.append(_spawn([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"], base, logs["prometheus"]))
        live = Live(home, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{exporter_port}",
                    f"http://127.0.0.1:{prom_port}", token, user, kafka.topic_requests, logs=logs)
        _wait(lambda: httpx.get(f"{live.api_url}/healthz", timeout=2).status_code == 200, timeout_s=60,
              what="the API")
        _wait(lambda: httpx.get(f"{live.exporter_url}/metrics", timeout=5).status_code == 200, timeout_s=60,
              what="the exporter")
        _wait(lambda: httpx.get(f"{live.prometheus_url}/-/ready", timeout=2).status_code == 200, timeout_s=60,
              what="Prometheus")

        with httpx.Client(base_url=live.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            done = client.post(f"{API}/videos/generate", json=SHORT)
            assert done.status_code == 202, done.text
            live.completed_id = done.json()["id"]
            dies = client.post(f"{API}/videos/generate", json=LONGER)
            assert dies.status_code == 202, dies.text
            live.failed_id = dies.json()["id"]
            pidfile = home / "api" / "runs" / f"{live.failed_id}.pid"
            _wait(lambda: _status(client, live.failed_id) == "PROCESSING" and pidfile.exists(), timeout_s=120,
                  what="the second video to run")
            os.killpg(json.loads(pidfile.read_text())["pid"], signal.SIGKILL)  # a lost node, an OOM kill
            _wait(lambda: _status(client, live.failed_id) == "FAILED", timeout_s=60, what="the killed run to fail")
            _wait(lambda: _status(client, live.completed_id) == "COMPLETED", timeout_s=300,
                  what="the short video", every_s=1.0)
        settled_at = time.time()  # both final: the API settled their tokens when it answered the status
        # scrapes taken after that, of both the exporter and the API (an earlier API scrape still holds tokens)
        _wait(lambda: live.query("video_generation_completed_total > 0")
              and live.query("video_generation_errors_total > 0")
              and live.query(f"timestamp(nexus_tokens_reserved) > {settled_at:.3f}"), timeout_s=30,
              what="Prometheus to scrape")
        yield live
    finally:
        for proc in reversed(procs):
            _stop(proc)
        broker.stop()


def test_prometheus_finds_the_counters_buckets_and_lag(live: Live) -> None:
    assert live.value("sum(video_generation_completed_total)") == 1
    assert live.value("sum(video_generation_started_total)") == 2
    errors = live.query("video_generation_errors_total")
    assert [(e["metric"]["reason"], float(e["value"][1])) for e in errors] == [("run_died", 1.0)]
    assert errors[0]["metric"]["phase"] in {"script", "assets", "compositing", "rendering", "encoding"}
    buckets = live.query("video_generation_duration_seconds_bucket")
    assert len(buckets) == len(GENERATION_BUCKETS) + 1
    assert {b["metric"]["le"] for b in buckets} >= {"3600.0", "+Inf"}
    assert max(float(b["value"][1]) for b in buckets) == 1
    phases = {s["metric"]["phase"] for s in live.query("video_phase_duration_seconds_count")}
    assert phases >= {"script", "assets", "compositing", "rendering", "encoding", "finalization"}
    assert live.value("video_queue_wait_seconds_count") == 2
    lag_series = live.query(f'kafka_consumer_lag{{topic="{live.topic}"}}')
    lag = {s["metric"]["partition"]: float(s["value"][1]) for s in lag_series}
    assert lag == {"0": REQUEST_MESSAGES - SENSOR_CURSOR, "1": 0.0, "2": 0.0}
    assert live.value('nexus_pool_slots_in_use{pool="gpu"}') == 0
    assert live.value("max(nexus_outbox_pending)") == 0  # both requests were handed off
    assert live.value("max(nexus_tokens_reserved)") == 0  # and settled (charged, refunded)
    assert live.value('sum(nexus_exporter_source_up{source=~"catalog|kafka|manifests|dagster"})') == 4
    # the hosted script writer was down: the finished video's script came from the embedded writer
    assert live.value('provider_fallbacks_total{provider="openai"}') >= 1
    assert live.value('provider_circuit_open{provider="openai"}') == 1


def test_prometheus_loads_the_alert_rules(live: Live) -> None:
    body = httpx.get(f"{live.prometheus_url}/api/v1/rules", timeout=10).json()
    rules = [r for g in body["data"]["groups"] for r in g["rules"]]
    assert len(rules) == 6 and all(r["health"] == "ok" for r in rules), rules


def test_every_dashboard_panel_query_runs(live: Live) -> None:
    dashboard = json.loads((ROOT / "monitoring" / "grafana" / "nexus-video.json").read_text())
    with_data, empty = [], []
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "1m").replace("$gpu_pool", "gpu")
            (with_data if live.query(expr) else empty).append(f"{panel['title']}: {expr}")
    assert len(with_data) >= 0.75 * (len(with_data) + len(empty)), f"no data for {empty}"
    titles = {line.split(":")[0] for line in with_data}
    for needed in ("Throughput", "Generation time P50 / P95", "Errors by phase", "Kafka consumer lag", "Queue",
                   "GPU pool use"):
        assert any(t.startswith(needed) for t in titles), f"{needed}: no data ({empty})"


def test_every_metric_is_seen_with_a_sample(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    names = ["video_generation_started_total", "video_generation_completed_total", "video_generation_errors_total",
             "video_generation_duration_seconds_bucket", "video_phase_duration_seconds_bucket",
             "video_queue_wait_seconds_bucket", "video_queue_oldest_seconds", "kafka_consumer_lag",
             "provider_fallbacks_total", "provider_circuit_open", "nexus_pool_slots", "nexus_pool_slots_in_use",
             "nexus_videos", "nexus_outbox_pending", "nexus_tokens_reserved", "nexus_api_requests_total"]
    seen = {}
    for name in names:
        result = live.query(name)
        if result:
            seen[name] = {**result[-1]["metric"], "value": result[-1]["value"][1]}
    missing = set(names) - set(seen)
    assert not missing, missing
    with capsys.disabled():
        print("\nmetrics seen by Prometheus:\n" + "\n".join(f"  {k}: {v}" for k, v in seen.items()))


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))  # every line that looks like JSON parses
    return lines


def test_the_api_logs_json_lines_with_ids_and_no_token(live: Live) -> None:
    text = live.logs["api"].read_text()
    assert live.token not in text and live.token.split(".")[2] not in text
    lines = _json_lines(live.logs["api"])
    accepted = [line for line in lines if line.get("route") == f"{API}/videos/generate" and line.get("status") == 202]
    assert {line["video_id"] for line in accepted} == {live.completed_id, live.failed_id}
    assert all(line["user_id"] == live.user and line["service"] == "nexus api" for line in accepted)
    reads = [line for line in lines if line.get("route") == f"{API}/videos/{{video_id}}"]
    assert reads and all(line["video_id"] in {live.completed_id, live.failed_id} for line in reads)
    assert not any(SHORT["prompt"] in json.dumps(line) for line in lines if line["level"] == "info")


def test_a_pipeline_run_logs_json_lines_with_video_run_and_phase(live: Live) -> None:
    path = live.home / "api" / "runs" / f"{live.completed_id}.log"
    lines = _json_lines(path)
    phase_lines = [line for line in lines if line.get("logger") == "nexus.pipeline"]
    assert {line["phase"] for line in phase_lines} == {"script", "assets", "compositing", "rendering", "encoding",
                                                       "finalization"}
    assert all(line["video_id"] == live.completed_id for line in phase_lines)
    run_ids = {line["run_id"] for line in phase_lines}
    assert len(run_ids) == 1 and re.fullmatch(r"[0-9a-f-]{36}", run_ids.pop())
    finished = [line for line in phase_lines if line["message"] == "renditions finished"]
    assert finished and finished[0]["seconds"] > 0
    text = path.read_text()
    assert live.token not in text and SHORT["prompt"] not in text
