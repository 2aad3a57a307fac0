"""Placement by phase: the GPU asset gets the GPU pool, toleration and limit; CPU assets get CPU pools and sizes."""

from __future__ import annotations

import json
import os

import dagster as dg
import pytest

from nexus_assets.definitions import build_definitions
from nexus_assets.jobs import MAKE_VIDEO_JOB
from nexus_assets.phases import ASSET_PHASE
from nexus_assets.placement import K8S_CONFIG_TAG, PLACEMENTS, POOL_TAG, PoolKind, k8s_config_for, op_tags_for
from nexus_assets.production import STEP_EXECUTOR_NAME, build_production_definitions, step_executor_config
from nexus_core.deploy_settings import DEFAULT_SIZES, DeploySettings
from nexus_core.settings import NexusSettings

GPU_ASSETS = {"scene_images"}
CPU_ASSETS = set(ASSET_PHASE) - GPU_ASSETS


@pytest.fixture
def deploy(monkeypatch: pytest.MonkeyPatch) -> DeploySettings:
    """Default settings, whatever NEXUS_K8S_* the shell running the tests has."""
    for key in [k for k in os.environ if k.startswith("NEXUS_K8S_")]:
        monkeypatch.delenv(key)
    return DeploySettings()


def test_every_asset_has_one_placement() -> None:
    assert set(PLACEMENTS) == set(ASSET_PHASE)
    assert {a for a, p in PLACEMENTS.items() if p.pool is PoolKind.GPU} == GPU_ASSETS


def test_gpu_asset_gets_gpu_pool_toleration_limit_and_concurrency_pool(deploy: DeploySettings) -> None:
    config = k8s_config_for("scene_images", deploy)
    assert config["pod_spec_config"]["node_selector"] == {"nexus.video/pool": "gpu"}
    assert config["pod_spec_config"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert config["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert op_tags_for("scene_images", deploy)[POOL_TAG] == "gpu"


@pytest.mark.parametrize("asset", sorted(CPU_ASSETS))
def test_cpu_assets_get_cpu_pool_and_sized_requests_without_gpu(asset: str, deploy: DeploySettings) -> None:
    config = k8s_config_for(asset, deploy)
    resources = config["container_config"]["resources"]
    assert config["pod_spec_config"] == {"node_selector": {"nexus.video/pool": "cpu"}}
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert POOL_TAG not in op_tags_for(asset, deploy)


def test_compositing_and_rendering_are_sized_for_1080p(deploy: DeploySettings) -> None:
    for asset in ("composited_scenes", "master"):
        requests = k8s_config_for(asset, deploy)["container_config"]["resources"]["requests"]
        assert requests == {"cpu": "2", "memory": "2Gi"}


def test_gpu_encoding_moves_renditions_to_the_gpu_pool(deploy: DeploySettings) -> None:
    gpu = deploy.model_copy(update={"gpu_encoding": True})
    config = k8s_config_for("renditions", gpu)
    assert config["pod_spec_config"]["node_selector"] == {"nexus.video/pool": "gpu"}
    assert config["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert op_tags_for("renditions", gpu)[POOL_TAG] == "gpu"


def test_pool_names_and_sizes_come_from_environment(monkeypatch: pytest.MonkeyPatch, deploy: DeploySettings) -> None:
    monkeypatch.setenv("NEXUS_K8S_POOL_LABEL_KEY", "cloud.google.com/gke-nodepool")
    monkeypatch.setenv("NEXUS_K8S_GPU_POOL", "l4-pool")
    monkeypatch.setenv("NEXUS_K8S_SIZES__MEDIA__MEMORY", "3Gi")
    settings = DeploySettings()
    gpu = json.loads(op_tags_for("scene_images", settings)[K8S_CONFIG_TAG])
    assert gpu["pod_spec_config"]["node_selector"] == {"cloud.google.com/gke-nodepool": "l4-pool"}
    media = settings.sizes["media"]
    assert (media.memory, media.cpu) == ("3Gi", DEFAULT_SIZES["media"].cpu)  # a partial override keeps the rest
    assert settings.sizes["light"] == DEFAULT_SIZES["light"]


def test_settings_survive_the_config_map_round_trip(monkeypatch: pytest.MonkeyPatch, deploy: DeploySettings) -> None:
    changed = deploy.model_copy(update={"gpu_pool": "a100", "gpu_encoding": True, "kafka_auth_secret": "kafka"})
    for key, value in changed.env_vars().items():
        monkeypatch.setenv(key, value)
    assert DeploySettings() == changed


def test_definitions_carry_each_assets_placement_tags(nexus_settings: NexusSettings) -> None:
    job = build_definitions(nexus_settings).resolve_job_def(MAKE_VIDEO_JOB)
    for node in job.nodes_in_topological_order:
        placement = {k: v for k, v in node.tags.items() if k in (K8S_CONFIG_TAG, POOL_TAG)}
        assert placement == op_tags_for(node.name), node.name  # the settings of this process, as at import


def test_production_definitions_load_with_bounded_step_pod_executor(
    nexus_settings: NexusSettings, deploy: DeploySettings
) -> None:
    bounded = deploy.model_copy(update={"max_concurrent_steps": 3})
    production = build_production_definitions(nexus_settings, bounded)
    dg.Definitions.validate_loadable(production)
    assert production.resolve_job_def(MAKE_VIDEO_JOB).executor_def.name == STEP_EXECUTOR_NAME
    assert step_executor_config(bounded) == {"max_concurrent": 3}
    local = build_definitions(nexus_settings).resolve_job_def(MAKE_VIDEO_JOB)
    assert local.executor_def.name == "multi_or_in_process_executor"
