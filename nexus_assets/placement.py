"""Where each asset's step pod runs in Kubernetes: one table of pool and size, turned into op tags.

The tags are computed when `@dg.asset(op_tags=op_tags_for(...))` runs, that is when the asset modules are
imported; in the code server that is when the code location loads, with NEXUS_K8S_* from the
`nexus-k8s-settings` ConfigMap (see docs/deployment.md). The k8s executor reads them per step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nexus_assets.phases import ASSET_PHASE
from nexus_core.deploy_settings import DeploySettings

K8S_CONFIG_TAG = "dagster-k8s/config"
POOL_TAG = "dagster/concurrency_key"  # the op's Dagster concurrency pool (same as `pool=`)
PHASE_LABEL = "nexus.video/phase"
POOL_KIND_LABEL = "nexus.video/pool-kind"
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"


class PoolKind(StrEnum):
    """The kind of node pool a step needs."""

    GPU = "gpu"
    CPU = "cpu"


@dataclass(frozen=True)
class Placement:
    """A pool kind and a size name (DeploySettings.sizes)."""

    pool: PoolKind
    size: str


PLACEMENTS: dict[str, Placement] = {
    "scenario": Placement(PoolKind.CPU, "light"),
    "scene_images": Placement(PoolKind.GPU, "diffusion"),
    "voiceover": Placement(PoolKind.CPU, "audio"),
    "music_bed": Placement(PoolKind.CPU, "audio"),
    "composited_scenes": Placement(PoolKind.CPU, "media"),
    "master": Placement(PoolKind.CPU, "media"),
    "renditions": Placement(PoolKind.CPU, "media"),
    "published_video": Placement(PoolKind.CPU, "light"),
}
GPU_ENCODING_PLACEMENTS: dict[str, Placement] = {"renditions": Placement(PoolKind.GPU, "gpu_encode")}


def placement_for(asset: str, settings: DeploySettings) -> Placement:
    """The asset's placement; with GPU encoding on, encoding moves to the GPU pool."""
    if asset not in PLACEMENTS:
        raise KeyError(f"no placement for asset {asset!r}: add it to PLACEMENTS in nexus_assets/placement.py")
    if settings.gpu_encoding and asset in GPU_ENCODING_PLACEMENTS:
        return GPU_ENCODING_PLACEMENTS[asset]
    return PLACEMENTS[asset]


def k8s_config_for(asset: str, settings: DeploySettings) -> dict[str, Any]:
    """The `dagster-k8s/config` of the asset's step: node selector, resources, and for GPUs toleration and limit."""
    placement = placement_for(asset, settings)
    gpu = placement.pool is PoolKind.GPU
    size = settings.sizes[placement.size]
    pod_spec: dict[str, Any] = {
        "node_selector": {settings.pool_label_key: settings.gpu_pool if gpu else settings.cpu_pool}
    }
    if gpu:
        pod_spec["tolerations"] = [{"key": settings.gpu_resource, "operator": "Exists", "effect": "NoSchedule"}]
    return {
        "container_config": {"resources": size.requirements({settings.gpu_resource: "1"} if gpu else None)},
        "pod_spec_config": pod_spec,
        "pod_template_spec_metadata": {
            "labels": {PHASE_LABEL: ASSET_PHASE[asset], POOL_KIND_LABEL: placement.pool},
            "annotations": {SAFE_TO_EVICT: "false"},  # the cluster autoscaler does not kill a running step
        },
    }


def op_tags_for(asset: str, settings: DeploySettings | None = None) -> dict[str, str]:
    """Op tags of the asset: its k8s config, and the GPU concurrency pool for GPU steps."""
    settings = settings or DeploySettings()
    tags = {K8S_CONFIG_TAG: json.dumps(k8s_config_for(asset, settings), sort_keys=True)}
    if placement_for(asset, settings).pool is PoolKind.GPU:
        tags[POOL_TAG] = settings.gpu_concurrency_pool
    return tags
