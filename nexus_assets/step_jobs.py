"""The pods of a video, built the way dagster_k8s builds them, without a cluster: the run pod's Job
(K8sRunLauncher.launch_run) and the GPU pod (PipesK8sClient.run's build_pod_body); plus one step's Job
(`dagster api execute_step`) for running a single phase in a container of its own (tests/distributed).

The container context is merged in dagster_k8s's order (run launcher, then the code location's context from
the chart) by its own K8sContainerContext; Jobs come from dagster_k8s.job.construct_dagster_k8s_job. Placement
is computed here from the DeploySettings handed in (nexus_core.placement), as the launcher and the Pipes
client compute it in the cluster from the settings of the pod they run in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import dagster as dg
import kubernetes.client
from dagster._cli.api import ExecuteRunArgs
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._grpc.types import ExecuteStepArgs
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import construct_dagster_k8s_job, get_job_name_from_run_id, get_k8s_job_name
from dagster_k8s.pipes import build_pod_body, get_pod_name
from dagster_pipes import DAGSTER_PIPES_CONTEXT_ENV_VAR, DAGSTER_PIPES_MESSAGES_ENV_VAR, encode_param

from nexus_assets.jobs import MAKE_VIDEO_JOB
from nexus_assets.phases import ASSET_PHASE
from nexus_core.deploy_settings import WORKER_LABELS, DeploySettings
from nexus_core.placement import GPU_STEPS, gpu_pod_meta, gpu_pod_spec, run_pod_k8s_config

PLACEHOLDER_RUN_ID = "00000000-0000-4000-8000-000000000000"
Manifest = dict[str, Any]


def run_launcher_config(deploy: DeploySettings) -> dict[str, Any]:
    """The K8sRunLauncher config (dagster.yaml form) that helm-values/ gives the chart."""
    return {
        "load_incluster_config": True,
        "job_namespace": deploy.namespace,
        "image_pull_policy": deploy.image_pull_policy,
        "service_account_name": deploy.service_account,
        "dagster_home": deploy.dagster_home,
        "instance_config_map": f"{deploy.fullname}-instance",
        "postgres_password_secret": deploy.postgres_secret,
        "env_config_maps": [f"{deploy.fullname}-pipeline-env", deploy.settings_config_map],
        "env_secrets": [deploy.env_secret],
        "labels": dict(WORKER_LABELS),
        "run_k8s_config": run_pod_k8s_config(deploy),
        "fail_pod_on_run_failure": True,
    }


def code_location_container_context(deploy: DeploySettings) -> dict[str, Any]:
    """The container context the chart gives the code server (DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT)."""
    user_env = f"{deploy.user_code_deployment}-user-env"
    return {
        "k8s": {
            "image_pull_policy": deploy.image_pull_policy,
            "env_config_maps": [user_env, deploy.settings_config_map],
            "env_secrets": [deploy.env_secret],
            "labels": dict(WORKER_LABELS),
            "resources": deploy.sizes["code_server"].requirements(),
            "env": [{"name": "NEXUS_ENVIRONMENT", "value": "prod"}],
            "namespace": deploy.namespace,
            "service_account_name": deploy.service_account,
        }
    }


@dataclass(frozen=True)
class LauncherView:
    """The K8sRunLauncher attributes the executor reads, taken from its config: no cluster config is loaded."""

    job_namespace: str
    image_pull_policy: str
    service_account_name: str
    dagster_home: str
    instance_config_map: str
    postgres_password_secret: str
    env_config_maps: list[str]
    env_secrets: list[str]
    labels: dict[str, str]
    run_k8s_config: dict[str, Any]
    job_image: str | None = None
    image_pull_secrets: list[dict[str, str]] = field(default_factory=list)
    env_vars: list[str] = field(default_factory=list)
    volume_mounts: list[dict[str, Any]] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    scheduler_name: str | None = None
    security_context: dict[str, Any] = field(default_factory=dict)
    only_allow_user_defined_k8s_config_fields: dict[str, Any] | None = None
    only_allow_user_defined_env_vars: list[str] | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LauncherView:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in config.items() if key in names})


def job_origin(deploy: DeploySettings) -> JobPythonOrigin:
    """The make_video job's origin as the code server in the image reports it."""
    repository = RepositoryPythonOrigin(
        executable_path=deploy.container_python,
        code_pointer=ModuleCodePointer("nexus_assets.production", "defs", deploy.container_workdir),
        container_image=deploy.image,
        entry_point=["dagster"],
        container_context=code_location_container_context(deploy),
    )
    return JobPythonOrigin(MAKE_VIDEO_JOB, repository)


def _run_context(deploy: DeploySettings) -> tuple[dg.DagsterRun, LauncherView, K8sContainerContext]:
    origin = job_origin(deploy)
    launcher = LauncherView.from_config(run_launcher_config(deploy))
    run = dg.DagsterRun(job_name=MAKE_VIDEO_JOB, run_id=PLACEHOLDER_RUN_ID, job_code_origin=origin)
    context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=False)  # type: ignore[arg-type]
    return run, launcher, context


def _job(deploy: DeploySettings, *, name: str, args: Sequence[str], component: str, labels: Mapping[str, str],
         env_vars: Sequence[Mapping[str, str]]) -> kubernetes.client.V1Job:
    origin = job_origin(deploy)
    _, launcher, context = _run_context(deploy)
    job_config = context.get_k8s_job_config(origin.repository_origin.container_image, launcher)
    job = construct_dagster_k8s_job(
        job_config=job_config, args=args, job_name=name, pod_name=name, component=component,
        user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/job": MAKE_VIDEO_JOB, "dagster/run-id": PLACEHOLDER_RUN_ID,
                "dagster/code-location": deploy.code_location, **labels},  # from the run's origin in a cluster
        env_vars=[{"name": "DAGSTER_RUN_JOB_NAME", "value": MAKE_VIDEO_JOB}, *env_vars],
    )
    job.metadata.namespace = context.namespace  # the launcher creates it there
    return job


def run_job(deploy: DeploySettings) -> kubernetes.client.V1Job:
    """The run pod's Job as K8sRunLauncher.launch_run creates it for a make_video run: every CPU phase runs in it."""
    args = ExecuteRunArgs(job_origin=job_origin(deploy), run_id=PLACEHOLDER_RUN_ID, instance_ref=None,
                          set_exit_code_on_failure=True).get_command_args()
    return _job(deploy, name=get_job_name_from_run_id(PLACEHOLDER_RUN_ID), args=list(args), component="run_worker",
                labels={}, env_vars=[])


def step_job(step_key: str, deploy: DeploySettings) -> kubernetes.client.V1Job:
    """One step of a make_video run as a Job of its own (`dagster api execute_step`, the run pod's image, env and
    placement): what runs a single phase in a fresh container, as tests/distributed does with each phase."""
    if step_key not in ASSET_PHASE:
        raise KeyError(f"no step {step_key!r} in {MAKE_VIDEO_JOB} (steps: {', '.join(ASSET_PHASE)})")
    args = ExecuteStepArgs(job_origin=job_origin(deploy), run_id=PLACEHOLDER_RUN_ID, step_keys_to_execute=[step_key])
    return _job(
        deploy, name=f"dagster-step-{get_k8s_job_name(PLACEHOLDER_RUN_ID, step_key)}",
        args=args.get_command_args(skip_serialized_namedtuple=True), component="step_worker",
        labels={"dagster/op": step_key},
        env_vars=[*args.get_command_env(), {"name": "DAGSTER_RUN_STEP_KEY", "value": step_key}],
    )


def gpu_pod(asset: str, deploy: DeploySettings) -> kubernetes.client.V1Pod:
    """The GPU phase's pod as PipesK8sClient.run submits it (dagster_k8s.pipes.build_pod_body), with placeholder
    Pipes bootstrap values (the real ones carry the run's context and the log message reader's params)."""
    body = build_pod_body(
        pod_name=get_pod_name(PLACEHOLDER_RUN_ID, asset),
        image=None,
        command=None,
        env_vars={DAGSTER_PIPES_CONTEXT_ENV_VAR: encode_param({"env": {"placeholder": True}}),
                  DAGSTER_PIPES_MESSAGES_ENV_VAR: encode_param({"stdio": "stderr"})},
        base_pod_meta=gpu_pod_meta(asset, deploy),
        base_pod_spec=gpu_pod_spec(asset, deploy),
    )
    body.metadata.namespace = deploy.namespace  # run() creates it in the namespace it is given
    body.api_version, body.kind = "v1", "Pod"  # implied by the create_namespaced_pod call; stated for the manifest
    return body


def render_video_pods(deploy: DeploySettings) -> dict[str, Manifest]:
    """Every pod a video costs, as plain manifests: `run-worker` (a Job) and one `gpu-<asset>` per GPU phase."""
    serialize = kubernetes.client.ApiClient().sanitize_for_serialization
    pods = {"run-worker": serialize(run_job(deploy))}
    return pods | {f"gpu-{asset}": serialize(gpu_pod(asset, deploy)) for asset in GPU_STEPS}
