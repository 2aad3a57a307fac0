"""`nexus k8s render`: a video's pods as Dagster builds them (run pod Job, GPU pod), strictly valid manifests, KEDA,
and values in step."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from nexus_assets.phases import ASSET_PHASE
from nexus_assets.step_jobs import code_location_container_context, run_launcher_config, step_job
from nexus_cli.k8s import render, validate, write
from nexus_cli.k8s_manifests import Manifest, crd_problems, disruption_budgets, is_crd
from nexus_core.deploy_settings import (
    DAGSTER_SYSTEM_LABELS,
    HELM_VALUES_DIR,
    WORKER_LABELS,
    DeploySettings,
    load_deploy_settings,
)

KUBERNETES_VERSION = "1.33"  # pinned: kubernetes-validate 1.37 ships schemas for 1.25 to 1.37
REPO = Path(__file__).resolve().parents[2]
GPU_STEP = "scene_images"


@pytest.fixture(scope="module", autouse=True)
def no_shell_overrides() -> Iterator[None]:
    """Render from the files and defaults only, whatever NEXUS_K8S_* the shell has."""
    saved = {k: os.environ.pop(k) for k in [k for k in os.environ if k.startswith("NEXUS_K8S_")]}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="module")
def production() -> DeploySettings:
    return load_deploy_settings("production")


@pytest.fixture(scope="module")
def rendered(production: DeploySettings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Manifest]:
    files = render(production)
    write(files, tmp_path_factory.mktemp("k8s-production"))
    return files


def _pods(files: dict[str, Manifest]) -> dict[str, Manifest]:
    return {Path(path).stem: m for path, m in files.items() if path.startswith("pods/")}


def _pod(manifest: Manifest) -> dict[str, Any]:
    """The pod spec of a Job or a Pod."""
    return manifest["spec"]["template"]["spec"] if manifest["kind"] == "Job" else manifest["spec"]


def _kind(files: dict[str, Manifest], kind: str) -> list[Manifest]:
    return [m for m in files.values() if m["kind"] == kind]


def test_a_video_costs_two_pods_the_run_pod_and_the_gpu_pod(rendered: dict[str, Manifest]) -> None:
    pods = _pods(rendered)
    assert set(pods) == {"run-worker", "gpu-scene_images"}  # before: one Job per step, 8 step pods + the run pod
    assert (pods["run-worker"]["kind"], pods["gpu-scene_images"]["kind"]) == ("Job", "Pod")
    (container,) = _pod(pods["run-worker"])["containers"]
    assert container["args"][:3] == ["dagster", "api", "execute_run"]  # every CPU phase runs in this pod


def test_gpu_pod_has_gpu_selector_toleration_limit_and_the_worker(rendered: dict[str, Manifest]) -> None:
    pod = _pod(_pods(rendered)[f"gpu-{GPU_STEP}"])
    (container,) = pod["containers"]
    assert pod["nodeSelector"] == {"nexus.video/pool": "gpu"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["command"] == ["python", "-m", "nexus_assets.image_worker"]
    assert container["image"] == "ghcr.io/nexus-video/nexus-video:0.1.0"
    assert {"name": "NEXUS_ENVIRONMENT", "value": "prod"} in container["env"]
    assert {e["name"] for e in container["env"]} >= {"DAGSTER_PIPES_CONTEXT", "DAGSTER_PIPES_MESSAGES"}
    assert pod["restartPolicy"] == "Never"


def test_run_pod_is_on_the_cpu_pool_without_gpu(rendered: dict[str, Manifest]) -> None:
    pod = _pod(_pods(rendered)["run-worker"])
    resources = pod["containers"][0]["resources"]
    assert pod["nodeSelector"] == {"nexus.video/pool": "cpu"}
    assert not pod.get("tolerations")
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


def test_video_pods_carry_the_labels_the_network_policies_select(rendered: dict[str, Manifest]) -> None:
    for name, manifest in _pods(rendered).items():
        labels = (manifest["spec"]["template"] if manifest["kind"] == "Job" else manifest)["metadata"]["labels"]
        assert WORKER_LABELS.items() <= labels.items(), name
        assert manifest["metadata"]["namespace"] == "nexus"


@pytest.mark.parametrize("step", sorted(ASSET_PHASE))
def test_any_single_step_renders_as_a_valid_job_of_its_own(step: str, production: DeploySettings) -> None:
    import kubernetes.client

    job = kubernetes.client.ApiClient().sanitize_for_serialization(step_job(step, production))
    assert kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION
    (container,) = _pod(job)["containers"]
    assert container["args"] == ["dagster", "api", "execute_step"]
    assert {"name": "DAGSTER_RUN_STEP_KEY", "value": step} in container["env"]


def test_kubernetes_validate_ships_the_pinned_schemas() -> None:
    assert f"{KUBERNETES_VERSION}.0" in all_versions()


def test_every_rendered_manifest_passes_strict_validation(rendered: dict[str, Manifest]) -> None:
    checked = {path: validate(manifest, KUBERNETES_VERSION) for path, manifest in rendered.items()}
    assert {path: problems for path, problems in checked.items() if problems} == {}
    strict = [m for m in rendered.values() if not is_crd(m)]
    assert {m["kind"] for m in strict} >= {"Job", "Deployment", "Service", "Ingress", "HorizontalPodAutoscaler",
                                           "PodDisruptionBudget", "NetworkPolicy", "ConfigMap"}
    for manifest in strict:  # and straight through the library, to show nothing is skipped
        assert kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION


def test_strict_validation_rejects_an_unknown_field(rendered: dict[str, Manifest]) -> None:
    pod = copy.deepcopy(_pods(rendered)[f"gpu-{GPU_STEP}"])
    _pod(pod)["nodeSelectors"] = {"typo": "x"}
    assert validate(pod, KUBERNETES_VERSION)


def test_kubernetes_validate_cli_accepts_the_written_files(production: DeploySettings, tmp_path: Path,
                                                           rendered: dict[str, Manifest]) -> None:
    paths = write({p: m for p, m in rendered.items() if not is_crd(m)}, tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", "-k", KUBERNETES_VERSION,
         *map(str, paths)], capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_keda_scales_the_code_server_on_request_lag(rendered: dict[str, Manifest], production: DeploySettings) -> None:
    (scaled,) = _kind(rendered, "ScaledObject")
    (auth,) = _kind(rendered, "TriggerAuthentication")
    assert crd_problems(scaled) == crd_problems(auth) == []
    assert scaled["apiVersion"] == auth["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                      "name": "nexus-dagster-user-deployments-nexus-pipeline"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (3, 20)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["topic"] == "video.generation.requests"
    assert trigger["metadata"]["consumerGroup"] == production.consumer_group == "nexus-video-workers"
    assert trigger["metadata"]["lagThreshold"] == "10"
    assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
    assert {ref["name"] for ref in auth["spec"]["secretTargetRef"]} == {"nexus-kafka"}


def test_crd_check_catches_a_broken_scaled_object(rendered: dict[str, Manifest]) -> None:
    (scaled,) = copy.deepcopy(_kind(rendered, "ScaledObject"))
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 10
    del scaled["spec"]["scaleTargetRef"]["name"]
    assert len(crd_problems(scaled)) == 2


def test_api_scales_3_to_10_at_70_percent_cpu_behind_tls(rendered: dict[str, Manifest]) -> None:
    (hpa,) = _kind(rendered, "HorizontalPodAutoscaler")
    (ingress,) = _kind(rendered, "Ingress")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert ingress["spec"]["tls"] == [{"hosts": ["api.nexus-video.example.com"], "secretName": "nexus-api-tls"}]


def test_only_the_api_takes_traffic_from_outside_the_namespace(rendered: dict[str, Manifest]) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in _kind(rendered, "NetworkPolicy")}
    assert policies["nexus-default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                                              "ingress": [], "egress": []}
    from_outside = {name for name, spec in policies.items()
                    for rule in spec.get("ingress", []) for peer in rule["from"] if "namespaceSelector" in peer}
    assert from_outside == {"nexus-api"}
    worker_ports = {port["port"] for rule in policies["nexus-workers"]["egress"] for port in rule["ports"]}
    assert {9092, 5432, 443} <= worker_ports


def test_renaming_pools_in_the_environment_changes_the_rendered_pods(tmp_path: Path) -> None:
    env = {**os.environ, "NEXUS_K8S_GPU_POOL": "a100-pool", "NEXUS_K8S_CPU_POOL": "batch-cpu"}
    result = subprocess.run(
        [sys.executable, "-m", "nexus_cli.main", "k8s", "render", "--env", "production", "--out", str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pods = {path.stem: yaml.safe_load(path.read_text()) for path in (tmp_path / "pods").glob("*.yaml")}
    assert _pod(pods[f"gpu-{GPU_STEP}"])["nodeSelector"] == {"nexus.video/pool": "a100-pool"}
    config_map = yaml.safe_load((tmp_path / "manifests" / "configmap-nexus-k8s-settings.yaml").read_text())
    assert config_map["data"]["NEXUS_K8S_GPU_POOL"] == "a100-pool"  # what the run pods compute the GPU pod from


def test_other_settings_render_in_the_same_process(production: DeploySettings) -> None:
    """No import-time op tags: settings different from the ones this process started with render as asked."""
    moved = render(production.model_copy(update={"gpu_pool": "elsewhere", "cpu_pool": "batch"}))
    assert _pod(_pods(moved)[f"gpu-{GPU_STEP}"])["nodeSelector"] == {"nexus.video/pool": "elsewhere"}
    assert _pod(_pods(render(production))[f"gpu-{GPU_STEP}"])["nodeSelector"] == {"nexus.video/pool": "gpu"}


def test_staging_renders_fewer_replicas_in_its_own_namespace() -> None:
    files = render(load_deploy_settings("staging"))
    (hpa,) = _kind(files, "HorizontalPodAutoscaler")
    (scaled,) = _kind(files, "ScaledObject")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    assert {m["metadata"]["namespace"] for m in files.values()} == {"nexus-staging"}
    assert scaled["spec"]["triggers"][0]["metadata"]["consumerGroup"] == "nexus-video-workers-staging"
    assert not _kind(files, "TriggerAuthentication")


# helm-values/ and deploy/dagster.production.yaml must say what the render assumes.


def _merge(base: Any, top: Any) -> Any:
    """Helm's merge of values files: maps merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(top, dict):
        return {**base, **{key: _merge(base.get(key), value) for key, value in top.items()}}
    return top


def _values(environment: str) -> dict[str, Any]:
    base = yaml.safe_load((HELM_VALUES_DIR / "values.yaml").read_text())
    return _merge(base, yaml.safe_load((HELM_VALUES_DIR / f"values-{environment}.yaml").read_text()))


def _names(refs: list[dict[str, str]]) -> list[str]:
    return [ref["name"] for ref in refs]


def _leaves(tree: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict):
        for child, value in tree.items():
            yield from _leaves(value, str(child))
    elif isinstance(tree, list):
        for item in tree:
            yield from _leaves(item, key)
    else:
        yield key, tree


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_chart_values_match_the_settings_the_render_uses(environment: str) -> None:
    deploy, values = load_deploy_settings(environment), _values(environment)
    launcher, expected = values["runLauncher"]["config"]["k8sRunLauncher"], run_launcher_config(deploy)
    assert [f"{deploy.fullname}-pipeline-env", *_names(launcher["envConfigMaps"])] == expected["env_config_maps"]
    assert _names(launcher["envSecrets"]) == expected["env_secrets"]
    assert launcher["labels"] == expected["labels"]
    assert launcher["runK8sConfig"]["podSpecConfig"]["nodeSelector"] == expected["run_k8s_config"]["pod_spec_config"][
        "node_selector"]
    assert launcher["runK8sConfig"]["containerConfig"] == expected["run_k8s_config"]["container_config"]
    (code,) = values["dagster-user-deployments"]["deployments"]
    context = code_location_container_context(deploy)["k8s"]
    assert code["name"] == deploy.code_location
    assert f"{code['image']['repository']}:{code['image']['tag']}" == deploy.image
    assert code["port"] == deploy.code_server_port
    assert [f"{deploy.user_code_deployment}-user-env", *_names(code["envConfigMaps"])] == context["env_config_maps"]
    assert (_names(code["envSecrets"]), code["labels"], code["resources"], code["env"]) == (
        context["env_secrets"], context["labels"], context["resources"], context["env"])
    for component in ("dagsterWebserver", "dagsterDaemon"):
        assert values[component]["nodeSelector"] == {deploy.pool_label_key: deploy.system_pool}
        assert DAGSTER_SYSTEM_LABELS.items() <= values[component]["labels"].items()
    budgets = {b["metadata"]["name"]: b["spec"]["selector"]["matchLabels"] for b in disruption_budgets(deploy)}
    assert budgets["nexus-dagster-webserver"].items() <= values["dagsterWebserver"]["labels"].items()
    assert values["global"]["postgresqlSecretName"] == deploy.postgres_secret
    assert values["serviceAccount"]["name"] == values["global"]["serviceAccountName"] == deploy.service_account
    assert values["concurrency"]["pools"]["defaultLimit"] == deploy.gpu_pool_limit
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    secret_like = ("password", "token", "apikey", "secretkey")
    assert not [k for k, v in _leaves(values) if isinstance(v, str) and any(w in k.lower() for w in secret_like)]


def _instance_yaml() -> dict[str, Any]:
    return yaml.safe_load((REPO / "deploy" / "dagster.production.yaml").read_text())


def test_production_instance_yaml_is_valid_dagster_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._core.storage.config import pg_config
    from dagster_aws.s3 import S3ComputeLogManager
    from dagster_k8s import K8sRunLauncher

    for name in ("DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_HOST", "DAGSTER_PG_DB",
                 "NEXUS_DAGSTER_LOGS_BUCKET"):
        monkeypatch.setenv(name, "x")
    config, _ = dagster_instance_config(str(REPO / "deploy"), "dagster.production.yaml")
    for schema, value in [
        (K8sRunLauncher.config_type(), config["run_launcher"]["config"]),
        (QueuedRunCoordinator.config_type(), config["run_coordinator"]["config"]),
        (S3ComputeLogManager.config_type(), config["compute_logs"]["config"]),
        (pg_config(), config["storage"]["postgres"]),
    ]:
        result = process_config(schema, value)
        assert result.success, result.errors
    assert config["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"


def test_production_instance_yaml_matches_the_chart_values(production: DeploySettings) -> None:
    instance, values = _instance_yaml(), _values("production")
    assert instance["run_launcher"]["config"] == run_launcher_config(production)
    daemon, concurrency = values["dagsterDaemon"], values["concurrency"]
    assert instance["run_monitoring"] == {
        "enabled": True, "start_timeout_seconds": daemon["runMonitoring"]["startTimeoutSeconds"],
        "cancel_timeout_seconds": daemon["runMonitoring"]["cancelTimeoutSeconds"],
        "max_resume_run_attempts": daemon["runMonitoring"]["maxResumeRunAttempts"],
        "poll_interval_seconds": daemon["runMonitoring"]["pollIntervalSeconds"],
        "free_slots_after_run_end_seconds": daemon["runMonitoring"]["freeSlotsAfterRunEndSeconds"],
    }
    assert instance["run_retries"]["max_retries"] == daemon["runRetries"]["maxRetries"]
    assert instance["concurrency"]["pools"]["default_limit"] == concurrency["pools"]["defaultLimit"]
    assert instance["concurrency"]["runs"]["max_concurrent_runs"] == concurrency["runs"]["maxConcurrentRuns"]
    (user_limit,) = instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert user_limit == concurrency["runs"]["tagConcurrencyLimits"][0]
    assert user_limit["key"] == "nexus/user" and user_limit["value"] == {"applyLimitPerUniqueValue": True}


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("NEXUS_K8S_GPU_POOL", "bad pool!", "NEXUS_K8S_GPU_POOL"),
        ("NEXUS_K8S_POOL_LABEL_KEY", "Nexus Video/pool", "NEXUS_K8S_POOL_LABEL_KEY"),
        ("NEXUS_K8S_RELEASE", "Nexus_Prod", "NEXUS_K8S_RELEASE"),
    ],
)
def test_a_bad_name_or_label_is_refused_before_rendering(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    variable: str, value: str, named: str,
) -> None:
    from nexus_cli.main import main

    monkeypatch.setenv(variable, value)
    assert main(["k8s", "render", "--out", str(tmp_path / "out")]) == 2
    out = capsys.readouterr().out
    assert named in out and "Kubernetes" in out
    assert not (tmp_path / "out").exists()
