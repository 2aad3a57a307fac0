"""Where a video's work runs on Kubernetes, computed from DeploySettings when a run or a GPU pod is launched.

A video costs at most two pods: the run pod (K8sRunLauncher, CPU pool) runs every CPU phase in its own
process, and only the GPU phase (scene images from a diffusion model) gets a pod of its own on the GPU pool,
launched by the run pod through Dagster Pipes. Nothing here is read at import: the launcher config and the
GPU pod spec are built from the settings handed in, when they are needed.
"""

from __future__ import annotations

from typing import Any

from nexus_core.deploy_settings import WORKER_LABELS, DeploySettings

PHASE_LABEL = "nexus.video/phase"
POOL_KIND_LABEL = "nexus.video/pool-kind"
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
GPU_POOL_NAME = "gpu"  # the Dagster concurrency pool of the GPU phase: GPU pods at once across all runs
# The GPU phases: asset -> (phase, size name in DeploySettings.sizes, worker module run in the pod).
GPU_STEPS: dict[str, tuple[str, str, str]] = {"scene_images": ("assets", "diffusion", "nexus_assets.image_worker")}


def run_pod_k8s_config(deploy: DeploySettings) -> dict[str, Any]:
    """The run pod's `run_k8s_config` (K8sRunLauncher): CPU pool, sized for the CPU phases it now runs itself."""
    return {
        "pod_spec_config": {"node_selector": {deploy.pool_label_key: deploy.cpu_pool}},
        "container_config": {"resources": deploy.sizes["run"].requirements()},
        "pod_template_spec_metadata": {
            "labels": {POOL_KIND_LABEL: "cpu"},
            "annotations": {SAFE_TO_EVICT: "false"},  # the cluster autoscaler does not kill a running video
        },
    }


def worker_command(asset: str) -> list[str]:
    """The GPU pod's command: the asset's worker module under the image's Python."""
    _, _, module = _gpu_step(asset)
    return ["python", "-m", module]


def gpu_pod_spec(asset: str, deploy: DeploySettings) -> dict[str, Any]:
    """The Pipes pod's spec (PipesK8sClient `base_pod_spec`): GPU pool selector, toleration, GPU limit, the
    settings and secrets the worker reads, non-root, no API token (it only talks to S3 and reports on stdout)."""
    _, size, _ = _gpu_step(asset)
    gpu = {deploy.gpu_resource: "1"}
    return {
        "nodeSelector": {deploy.pool_label_key: deploy.gpu_pool},
        "tolerations": [{"key": deploy.gpu_resource, "operator": "Exists", "effect": "NoSchedule"}],
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,  # the image's user
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "worker",
            "image": deploy.image,
            "imagePullPolicy": deploy.image_pull_policy,
            "command": worker_command(asset),
            "resources": deploy.sizes[size].requirements(gpu),
            "env": [{"name": "NEXUS_ENVIRONMENT", "value": "prod"}],
            "envFrom": [
                {"configMapRef": {"name": f"{deploy.fullname}-pipeline-env"}},
                {"configMapRef": {"name": deploy.settings_config_map}},
                {"secretRef": {"name": deploy.env_secret}},
            ],
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }],
    }


def gpu_pod_meta(asset: str, deploy: DeploySettings) -> dict[str, Any]:
    """The Pipes pod's metadata: the worker labels the network policies select, phase and pool kind."""
    phase, _, _ = _gpu_step(asset)
    return {
        "labels": {**WORKER_LABELS, PHASE_LABEL: phase, POOL_KIND_LABEL: "gpu", "nexus.video/asset": asset},
        "annotations": {SAFE_TO_EVICT: "false"},
    }


def _gpu_step(asset: str) -> tuple[str, str, str]:
    if asset not in GPU_STEPS:
        raise KeyError(f"{asset!r} is not a GPU phase (GPU_STEPS in nexus_core/placement.py: {', '.join(GPU_STEPS)})")
    return GPU_STEPS[asset]
