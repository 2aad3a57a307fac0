"""The production code location: the one Definitions, with each step in its own pod (k8s_job_executor).

The chart's user code deployment serves it with `dagster api grpc -m nexus_assets.production`; locally,
`nexus_assets.definitions` keeps Dagster's default in-process/multiprocess executor.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster_k8s import k8s_job_executor

from nexus_assets.definitions import build_definitions
from nexus_assets.jobs import MAKE_VIDEO_JOB
from nexus_core.deploy_settings import DeploySettings
from nexus_core.settings import NexusSettings

STEP_EXECUTOR_NAME = "nexus_step_pods"


def step_executor_config(deploy: DeploySettings) -> dict[str, Any]:
    """Executor config: a bounded number of step pods per run (the GPU pool bounds GPU steps across runs)."""
    return {"max_concurrent": deploy.max_concurrent_steps}


def step_pod_executor(deploy: DeploySettings) -> dg.ExecutorDefinition:
    """k8s_job_executor configured from the deploy settings."""
    return k8s_job_executor.configured(step_executor_config(deploy), name=STEP_EXECUTOR_NAME)


def build_production_definitions(
    settings: NexusSettings | None = None, deploy: DeploySettings | None = None
) -> dg.Definitions:
    """The pipeline's Definitions (resources for settings.environment) with the step-pod executor."""
    executor = dg.Definitions(executor=step_pod_executor(deploy or DeploySettings()))
    return dg.Definitions.merge(build_definitions(settings), executor)


@dg.definitions
def defs() -> dg.Definitions:
    return build_production_definitions()


def make_video_job() -> dg.JobDefinition:
    """The make_video job of the production code location, reconstructable by module and name."""
    return build_production_definitions().resolve_job_def(MAKE_VIDEO_JOB)
