"""Placement: every CPU phase in the run pod, the GPU phase in its own pod, computed when launched (not at import)."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from nexus_assets.definitions import build_definitions
from nexus_assets.jobs import MAKE_VIDEO_JOB
from nexus_assets.phases import ASSET_PHASE
from nexus_assets.production import RUN_POD_EXECUTOR_NAME, RUN_POD_PROCESSES, build_production_definitions
from nexus_core.deploy_settings import DEFAULT_SIZES, WORKER_LABELS, DeploySettings
from nexus_core.placement import GPU_POOL_NAME, GPU_STEPS, gpu_pod_meta, gpu_pod_spec, run_pod_k8s_config
from nexus_core.settings import NexusSettings

REPO_PACKAGES = ("nexus_assets", "nexus_core", "resources", "sensors", "nexus_cli", "api")


@pytest.fixture
def deploy(monkeypatch: pytest.MonkeyPatch) -> DeploySettings:
    """Default settings, whatever NEXUS_K8S_* the shell running the tests has."""
    for key in [k for k in os.environ if k.startswith("NEXUS_K8S_")]:
        monkeypatch.delenv(key)
    return DeploySettings()


def test_only_scene_images_is_a_gpu_phase() -> None:
    assert set(GPU_STEPS) == {"scene_images"}
    assert set(GPU_STEPS) <= set(ASSET_PHASE)


def test_gpu_pod_gets_gpu_pool_toleration_limit_and_the_workers_command(deploy: DeploySettings) -> None:
    spec = gpu_pod_spec("scene_images", deploy)
    (container,) = spec["containers"]
    assert spec["nodeSelector"] == {"nexus.video/pool": "gpu"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == container["resources"]["requests"]["nvidia.com/gpu"]
    assert container["command"] == ["python", "-m", "nexus_assets.image_worker"]
    assert container["image"] == deploy.image
    assert {"secretRef": {"name": "nexus-env"}} in container["envFrom"]
    assert spec["restartPolicy"] == "Never" and spec["automountServiceAccountToken"] is False
    meta = gpu_pod_meta("scene_images", deploy)
    assert WORKER_LABELS.items() <= meta["labels"].items()  # the network policies let it reach S3
    assert meta["labels"]["nexus.video/pool-kind"] == "gpu"


def test_the_run_pod_is_on_the_cpu_pool_sized_for_the_cpu_phases(deploy: DeploySettings) -> None:
    config = run_pod_k8s_config(deploy)
    assert config["pod_spec_config"] == {"node_selector": {"nexus.video/pool": "cpu"}}
    assert config["container_config"]["resources"]["requests"] == {"cpu": "2", "memory": "3Gi"}
    assert "nvidia.com/gpu" not in str(config)


def test_a_cpu_phase_has_no_gpu_pod(deploy: DeploySettings) -> None:
    with pytest.raises(KeyError, match="'voiceover' is not a GPU phase"):
        gpu_pod_spec("voiceover", deploy)


def test_pool_names_and_sizes_come_from_the_settings_handed_in(monkeypatch: pytest.MonkeyPatch,
                                                               deploy: DeploySettings) -> None:
    monkeypatch.setenv("NEXUS_K8S_POOL_LABEL_KEY", "cloud.google.com/gke-nodepool")
    monkeypatch.setenv("NEXUS_K8S_GPU_POOL", "l4-pool")
    monkeypatch.setenv("NEXUS_K8S_SIZES__DIFFUSION__MEMORY", "24Gi")
    settings = DeploySettings()
    spec = gpu_pod_spec("scene_images", settings)
    assert spec["nodeSelector"] == {"cloud.google.com/gke-nodepool": "l4-pool"}
    assert spec["containers"][0]["resources"]["requests"]["memory"] == "24Gi"
    assert settings.sizes["diffusion"].cpu == DEFAULT_SIZES["diffusion"].cpu  # a partial override keeps the rest
    assert gpu_pod_spec("scene_images", deploy)["nodeSelector"] == {"nexus.video/pool": "gpu"}  # no global state


def test_settings_survive_the_config_map_round_trip(monkeypatch: pytest.MonkeyPatch, deploy: DeploySettings) -> None:
    changed = deploy.model_copy(update={"gpu_pool": "a100", "gpu_pods": True, "kafka_auth_secret": "kafka"})
    for key, value in changed.env_vars().items():
        monkeypatch.setenv(key, value)
    assert DeploySettings() == changed


def test_no_asset_carries_placement_op_tags_and_the_gpu_phase_is_in_the_gpu_pool(
    nexus_settings: NexusSettings,
) -> None:
    job = build_definitions(nexus_settings).resolve_job_def(MAKE_VIDEO_JOB)
    for node in job.nodes_in_topological_order:
        assert not [tag for tag in node.tags if tag.startswith("dagster-k8s/")], node.name
    pools = {node.name: node.definition.pool for node in job.nodes_in_topological_order}
    assert pools.pop("scene_images") == GPU_POOL_NAME
    assert set(pools.values()) == {None}


def test_nothing_computes_placement_at_import() -> None:
    """No op tags from settings, no module-level DeploySettings(): settings are read where a pod is launched."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    offenders = [
        f"{path.relative_to(repo)}: {line}"
        for package in REPO_PACKAGES for path in (repo / package).rglob("*.py")
        for line in path.read_text().splitlines()
        if "op_tags_for" in line
        or (line[:1].isalpha() and "DeploySettings(" in line and not line.startswith(("def ", "class ")))
    ]
    assert offenders == []


def test_production_definitions_run_every_step_in_the_run_pod(nexus_settings: NexusSettings) -> None:
    production = build_production_definitions(nexus_settings)
    dg.Definitions.validate_loadable(production)
    executor = production.resolve_job_def(MAKE_VIDEO_JOB).executor_def
    assert executor.name == RUN_POD_EXECUTOR_NAME and RUN_POD_PROCESSES == 3
    assert "k8s" not in executor.name
    local = build_definitions(nexus_settings).resolve_job_def(MAKE_VIDEO_JOB)
    assert local.executor_def.name == "multi_or_in_process_executor"
