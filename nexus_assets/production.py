"""The production code location: the one Definitions, every CPU phase in the run pod, the GPU phase in its own pod.

The chart's user code deployment serves it with `dagster api grpc -m nexus_assets.production`. K8sRunLauncher
starts one run pod per video (CPU pool); the multiprocess executor runs each step there in a process of its
own, so a step costs a process start, not a pod. `scene_images` with a diffusion model hands its work to a
pod on the GPU pool through Dagster Pipes (resources.gpu_worker.K8sGpuPods, NEXUS_K8S_GPU_PODS): at most two
pods per video. Locally, `nexus_assets.definitions` keeps Dagster's default executor.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from nexus_assets.definitions import build_definitions
from nexus_assets.jobs import MAKE_VIDEO_JOB
from nexus_core.settings import NexusSettings

RUN_POD_EXECUTOR_NAME = "nexus_run_pod"
# The widest level of make_video is the assets phase (scene_images, voiceover, music_bed): three step
# processes at once; every other phase is one step that waits for the previous one.
RUN_POD_PROCESSES = 3


def run_pod_executor_config() -> dict[str, Any]:
    """Executor config: step processes at once in the run pod."""
    return {"max_concurrent": RUN_POD_PROCESSES}


def run_pod_executor() -> dg.ExecutorDefinition:
    """multiprocess_executor in the run pod (no step pods)."""
    return dg.multiprocess_executor.configured(run_pod_executor_config(), name=RUN_POD_EXECUTOR_NAME)


def build_production_definitions(settings: NexusSettings | None = None) -> dg.Definitions:
    """The pipeline's Definitions (resources for settings.environment) with the run-pod executor."""
    return dg.Definitions.merge(build_definitions(settings), dg.Definitions(executor=run_pod_executor()))


@dg.definitions
def defs() -> dg.Definitions:
    return build_production_definitions()


def make_video_job() -> dg.JobDefinition:
    """The make_video job of the production code location, reconstructable by module and name."""
    return build_production_definitions().resolve_job_def(MAKE_VIDEO_JOB)
