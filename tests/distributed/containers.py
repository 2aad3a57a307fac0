"""Each step of a run in a fresh container from the image, as the Kubernetes executor gives each step a pod.

The run worker is Dagster's own StepDelegatingExecutor (the engine under `k8s_job_executor`) with a step
handler that, instead of creating a Kubernetes Job, creates a container with buildah and runs in it the
command and environment the step's pod would get:

- the command and the `DAGSTER_COMPRESSED_EXECUTE_STEP_ARGS` / `DAGSTER_RUN_JOB_NAME` /
  `DAGSTER_RUN_STEP_KEY` variables come from the live ExecuteStepArgs, as K8sStepHandler.launch_step
  builds them (with the run's own code origin, the image's `nexus_assets.production`);
- the rest of the pod's environment is the rendered Job's container spec (`env` and `envFrom`),
  resolved against stand-ins for the cluster's ConfigMaps and Secrets that point at loopback services.

Nothing is shared between steps but PostgreSQL (Dagster and the catalog), S3 and Kafka: each container
has its own filesystem and is removed when its step ends. The handler records, per step, when the
container was created, when its process started and ended, so the test can split each step's time into
container start, import and bookkeeping, and the step's own work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.base import Executor
from dagster._core.executor.init import InitExecutorContext
from dagster._core.executor.step_delegating import StepDelegatingExecutor
from dagster._core.executor.step_delegating.step_handler.base import (
    CheckStepHealthResult,
    StepHandler,
    StepHandlerContext,
)
from dagster._core.origin import JobPythonOrigin
from dagster._record import copy

SPEC_ENV = "NEXUS_DISTRIBUTED_SPEC"  # the run worker reads its ContainerSpec from this JSON file


class ClusterObjectMissing(KeyError):
    """The pod names a ConfigMap, Secret or key that the stand-in cluster does not hold."""


def resolve_pod_env(container: Mapping[str, Any], objects: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """A container spec's environment as the kubelet gives it: `envFrom` sources in order, then `env`.

    Args:
        container: one container of a rendered Job (`env`, `envFrom` as in the manifest).
        objects: the cluster's ConfigMaps and Secrets, keyed 'configmap/NAME' and 'secret/NAME'.
    """

    def source(kind: str, name: str) -> Mapping[str, str]:
        key = f"{kind}/{name}"
        if key not in objects:
            raise ClusterObjectMissing(f"the pod reads {key}, which the stand-in cluster does not define")
        return objects[key]

    env: dict[str, str] = {}
    for item in container.get("envFrom") or []:
        if "configMapRef" in item:
            env.update(source("configmap", item["configMapRef"]["name"]))
        elif "secretRef" in item:
            env.update(source("secret", item["secretRef"]["name"]))
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        ref = item.get("valueFrom", {})
        kind, sel = ("secret", ref["secretKeyRef"]) if "secretKeyRef" in ref else ("configmap", ref["configMapKeyRef"])
        values = source(kind, sel["name"])
        if sel["key"] not in values:
            raise ClusterObjectMissing(f"{kind}/{sel['name']} has no key {sel['key']!r}")
        env[item["name"]] = values[sel["key"]]
    return env


@dataclass(frozen=True)
class ContainerSpec:
    """What the run worker needs to start step containers: image, the pod's environment, where to log."""

    image: str
    pod_env: dict[str, str]
    log_dir: str
    max_concurrent: int = 1

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: str | Path) -> ContainerSpec:
        return cls(**json.loads(Path(path).read_text()))


@dataclass
class StepContainer:
    """One step's container and its times (epoch seconds) as the handler saw them."""

    step_key: str
    name: str = ""  # the container's name (unique per run and step)
    container_id: str = ""
    created_at: float = 0.0  # `buildah from` called
    started_at: float = 0.0  # `buildah run` called (container ready)
    ended_at: float = 0.0  # the step's process exited
    removed_at: float = 0.0  # `buildah rm` returned
    container: str = ""
    returncode: int | None = None
    command: list[str] = field(default_factory=list)
    env_names: list[str] = field(default_factory=list)


def _buildah(*args: str, timeout: float = 300) -> str:
    proc = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout.strip()


class BuildahStepHandler(StepHandler):
    """Launches each step in `buildah run --isolation chroot` on a fresh container of the image."""

    def __init__(self, spec: ContainerSpec) -> None:
        self._spec = spec
        self._threads: dict[str, threading.Thread] = {}
        self._records: dict[str, StepContainer] = {}

    @property
    def name(self) -> str:
        return "BuildahStepHandler"

    @staticmethod
    def _step_key(context: StepHandlerContext) -> str:
        keys = context.execute_step_args.step_keys_to_execute
        assert keys is not None and len(keys) == 1, "one step per container"
        return keys[0]

    def pod_command(self, context: StepHandlerContext) -> tuple[list[str], dict[str, str]]:
        """The step pod's args and the variables launch_step adds, with the run's own code origin."""
        run = context.dagster_run
        origin = run.job_code_origin
        assert isinstance(origin, JobPythonOrigin), f"run {run.run_id} has no Python code origin"
        args = copy(context.execute_step_args, job_origin=origin)
        command = list(args.get_command_args(skip_serialized_namedtuple=True))
        env = {item["name"]: item["value"] for item in args.get_command_env()}
        env.update({"DAGSTER_RUN_JOB_NAME": run.job_name, "DAGSTER_RUN_STEP_KEY": self._step_key(context)})
        return command, env

    def launch_step(self, step_handler_context: StepHandlerContext) -> Iterator[DagsterEvent]:
        step_key = self._step_key(step_handler_context)
        command, step_env = self.pod_command(step_handler_context)
        env = {**self._spec.pod_env, **step_env}
        run_id = step_handler_context.execute_step_args.run_id
        record = StepContainer(step_key=step_key, name=f"nexus-step-{run_id[:8]}-{step_key.replace('_', '-')}",
                               command=command, env_names=sorted(env))
        self._records[step_key] = record
        yield DagsterEvent.step_worker_starting(
            step_handler_context.get_step_context(step_key),
            message=f'Executing step "{step_key}" in a fresh container of {self._spec.image}.',
            metadata={},
        )
        # Not a daemon: the run worker ends only after each container is removed and its times are written.
        thread = threading.Thread(target=self._run_container, args=(record, env), name=f"step-{step_key}")
        self._threads[step_key] = thread
        thread.start()

    def _run_container(self, record: StepContainer, env: Mapping[str, str]) -> None:
        log_dir = Path(self._spec.log_dir)
        try:
            record.created_at = time.time()
            record.container = _buildah("from", "--quiet", "--pull-never", "--name", record.name, self._spec.image)
            record.container_id = _buildah("inspect", "--type", "container", "--format", "{{.ContainerID}}",
                                           record.container)
            env_args = [arg for name, value in env.items() for arg in ("--env", f"{name}={value}")]
            record.started_at = time.time()
            with (log_dir / f"{record.step_key}.log").open("w") as out:
                proc = subprocess.run(["buildah", "run", "--isolation", "chroot", *env_args, record.container, "--",
                                       *record.command], stdout=out, stderr=subprocess.STDOUT, check=False,
                                      timeout=900)
            record.ended_at = time.time()
            record.returncode = proc.returncode
        except Exception as exc:  # reported through check_step_health
            record.returncode = record.returncode if record.returncode is not None else -1
            (log_dir / f"{record.step_key}.error").write_text(repr(exc))
        finally:
            if record.container:
                subprocess.run(["buildah", "rm", record.container], capture_output=True, check=False, timeout=120)
            record.removed_at = time.time()
            (log_dir / f"{record.step_key}.json").write_text(json.dumps(asdict(record)))

    def check_step_health(self, step_handler_context: StepHandlerContext) -> CheckStepHealthResult:
        step_key = self._step_key(step_handler_context)
        record = self._records.get(step_key)
        if record is None:
            return CheckStepHealthResult.unhealthy(f"no container was started for step {step_key}")
        thread = self._threads[step_key]
        if not thread.is_alive() and record.returncode not in (0, None):
            return CheckStepHealthResult.unhealthy(
                f"the container of step {step_key} exited with {record.returncode} "
                f"(log: {Path(self._spec.log_dir) / (step_key + '.log')})"
            )
        return CheckStepHealthResult.healthy()

    def terminate_step(self, step_handler_context: StepHandlerContext) -> Iterator[DagsterEvent]:
        step_key = self._step_key(step_handler_context)
        record = self._records.get(step_key)
        yield DagsterEvent.engine_event(
            step_handler_context.get_step_context(step_key),
            message=f"Removing the container of step {step_key}",
            event_specific_data=EngineEventData(),
        )
        if record is not None and record.container:
            subprocess.run(["buildah", "rm", record.container], capture_output=True, check=False, timeout=120)


@dg.executor(name="buildah_step_containers", requirements=multiple_process_executor_requirements())
def buildah_step_executor(init_context: InitExecutorContext) -> Executor:
    """StepDelegatingExecutor with buildah containers for pods; the spec file is read when a run starts."""
    spec = ContainerSpec.load(os.environ[SPEC_ENV])
    return StepDelegatingExecutor(BuildahStepHandler(spec), retries=RetryMode.DISABLED,
                                  max_concurrent=spec.max_concurrent, sleep_seconds=0.25)


def harness_job() -> dg.JobDefinition:
    """make_video from the pipeline's Definitions (as production.py builds them) with the container executor."""
    from nexus_assets.definitions import build_definitions
    from nexus_assets.jobs import MAKE_VIDEO_JOB

    definitions = dg.Definitions.merge(build_definitions(), dg.Definitions(executor=buildah_step_executor))
    return definitions.resolve_job_def(MAKE_VIDEO_JOB)


def run_worker(run_id: str) -> int:
    """The run pod's part: orchestrate an existing run of the instance (DAGSTER_HOME); exit 0 on success."""
    from dagster._core.execution.api import execute_run

    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        if run is None:
            print(f"no run {run_id} in the instance", file=sys.stderr)
            return 2
        result = execute_run(dg.reconstructable(harness_job), run, instance)
        return 0 if result.success else 1


if __name__ == "__main__":  # python -m tests.distributed.containers RUN_ID (the job is reconstructed by module)
    from tests.distributed.containers import run_worker as worker

    sys.exit(worker(sys.argv[1]))
