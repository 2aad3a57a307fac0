"""Each step's Kubernetes Job, built the way dagster_k8s's K8sStepHandler.launch_step builds it, without a cluster.

The container context is merged in the executor's order (run launcher, then the code location's context
from the chart, then the executor config, then the step's `dagster-k8s/config` op tags) by dagster_k8s's
own K8sContainerContext, and the Job comes from dagster_k8s.job.construct_dagster_k8s_job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import dagster as dg
import kubernetes.client
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._grpc.types import ExecuteStepArgs
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import (
    UserDefinedDagsterK8sConfig,
    construct_dagster_k8s_job,
    get_k8s_job_name,
    get_user_defined_k8s_config,
)

from nexus_assets.jobs import MAKE_VIDEO_JOB
from nexus_assets.placement import K8S_CONFIG_TAG, POOL_TAG, op_tags_for
from nexus_assets.production import build_production_definitions, step_executor_config
from nexus_core.deploy_settings import WORKER_LABELS, DeploySettings

PLACEHOLDER_RUN_ID = "00000000-0000-4000-8000-000000000000"


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
        "run_k8s_config": {
            "pod_spec_config": {"node_selector": {deploy.pool_label_key: deploy.cpu_pool}},
            "container_config": {"resources": deploy.sizes["run"].requirements()},
        },
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


def executor_container_context(config: Mapping[str, Any]) -> K8sContainerContext:
    """The container context k8s_job_executor builds from its own config."""
    return K8sContainerContext(
        image_pull_policy=config.get("image_pull_policy"),
        image_pull_secrets=config.get("image_pull_secrets"),
        service_account_name=config.get("service_account_name"),
        env_config_maps=config.get("env_config_maps"),
        env_secrets=config.get("env_secrets"),
        env_vars=config.get("env_vars"),
        volume_mounts=config.get("volume_mounts"),
        volumes=config.get("volumes"),
        labels=config.get("labels"),
        namespace=config.get("job_namespace"),
        resources=config.get("resources"),
        scheduler_name=config.get("scheduler_name"),
        security_context=config.get("security_context"),
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(config.get("step_k8s_config", {})),
    )


def step_job(step_key: str, step_tags: Mapping[str, str], deploy: DeploySettings) -> kubernetes.client.V1Job:
    """The Job the executor would create for one step of a make_video run."""
    origin = job_origin(deploy)
    launcher = LauncherView.from_config(run_launcher_config(deploy))
    run = dg.DagsterRun(job_name=MAKE_VIDEO_JOB, run_id=PLACEHOLDER_RUN_ID, job_code_origin=origin)
    context = (
        K8sContainerContext.create_for_run(run, launcher, include_run_tags=False)  # type: ignore[arg-type]
        .merge(executor_container_context(step_executor_config(deploy)))
        .merge(K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(step_tags)))
    )
    job_config = context.get_k8s_job_config(None, launcher)
    if not job_config.job_image:
        job_config = job_config.with_image(origin.repository_origin.container_image)
    args = ExecuteStepArgs(job_origin=origin, run_id=PLACEHOLDER_RUN_ID, step_keys_to_execute=[step_key])
    name = f"dagster-step-{get_k8s_job_name(PLACEHOLDER_RUN_ID, step_key)}"
    job = construct_dagster_k8s_job(
        job_config=job_config,
        args=args.get_command_args(skip_serialized_namedtuple=True),
        job_name=name,
        pod_name=name,
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
        labels={
            "dagster/job": MAKE_VIDEO_JOB,
            "dagster/op": step_key,
            "dagster/run-id": PLACEHOLDER_RUN_ID,
            "dagster/code-location": deploy.code_location,  # set from the run's remote origin in a cluster
        },
        env_vars=[
            *args.get_command_env(),
            {"name": "DAGSTER_RUN_JOB_NAME", "value": MAKE_VIDEO_JOB},
            {"name": "DAGSTER_RUN_STEP_KEY", "value": step_key},
        ],
    )
    job.metadata.namespace = context.namespace  # launch_step creates it there
    return job


def step_tags_of(definitions: dg.Definitions) -> dict[str, Mapping[str, str]]:
    """Each step of make_video (one per asset op) and its tags, in topological order."""
    job = definitions.resolve_job_def(MAKE_VIDEO_JOB)
    return {node.name: node.tags for node in job.nodes_in_topological_order}


class StaleOpTags(RuntimeError):
    """The asset modules were imported with other NEXUS_K8S_* settings than the ones being rendered."""


def check_op_tags(step_tags: Mapping[str, Mapping[str, str]], deploy: DeploySettings) -> None:
    """Raise StaleOpTags unless every step carries the placement tags these settings give."""
    for step, tags in step_tags.items():
        placement_tags = {key: tags[key] for key in (K8S_CONFIG_TAG, POOL_TAG) if key in tags}
        if placement_tags != op_tags_for(step, deploy):
            raise StaleOpTags(
                f"step {step!r} was defined with other NEXUS_K8S_* settings than these (op tags are set when the "
                "asset modules are imported): set the variables before the import, e.g. in a fresh process"
            )


def render_step_jobs(deploy: DeploySettings, definitions: dg.Definitions | None = None) -> dict[str, dict[str, Any]]:
    """Every step's Job as a plain manifest, keyed by step, from the real op tags of the production Definitions."""
    step_tags = step_tags_of(definitions or build_production_definitions(deploy=deploy))
    check_op_tags(step_tags, deploy)
    serialize = kubernetes.client.ApiClient().sanitize_for_serialization
    return {step: serialize(step_job(step, tags, deploy)) for step, tags in step_tags.items()}
