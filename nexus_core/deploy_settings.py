"""Kubernetes deployment settings (NEXUS_K8S_*), in one class: pools, sizes, names, scaling, network."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

HELM_VALUES_DIR = Path(__file__).resolve().parent.parent / "helm-values"
DEPLOY_ENVIRONMENTS = ("production", "staging")
ROLE_LABEL = "nexus.video/role"  # what the NetworkPolicies select on
WORKER_LABELS = {ROLE_LABEL: "worker"}  # code server, run pods and GPU pods
DAGSTER_SYSTEM_LABELS = {ROLE_LABEL: "dagster-system"}  # webserver and daemon (set in helm-values/)


LABEL_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class PodResources(BaseModel):
    """A container's CPU request and limit, and its memory (request = limit, so nothing is OOM-killed early)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu: str
    cpu_limit: str
    memory: str

    def requirements(self, extra_limits: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
        """Kubernetes `resources` (requests and limits); extended resources such as GPUs go in both."""
        extra = extra_limits or {}
        return {
            "requests": {"cpu": self.cpu, "memory": self.memory, **extra},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory, **extra},
        }


# Sized from bench/render.py: a 60 s 1080p30 video peaks under 1 GiB RSS for the whole pipeline in one
# process, and compositing/encoding keep ~2 cores busy. The run pod runs every CPU phase (up to three step
# processes at once in the assets phase), so it gets the media size with headroom for those processes.
DEFAULT_SIZES: dict[str, PodResources] = {
    "run": PodResources(cpu="2", cpu_limit="4", memory="3Gi"),  # the run pod: script, voice, music, compositing,
    # rendering, encoding and finalization, one process per step
    "diffusion": PodResources(cpu="4", cpu_limit="8", memory="16Gi"),  # the GPU pod: diffusers beside the GPU
    "code_server": PodResources(cpu="500m", cpu_limit="1", memory="1Gi"),  # the code location's gRPC server
}


class DeploySettings(BaseSettings):
    """Where each phase runs in Kubernetes and how the platform around it is named, sized and scaled."""

    model_config = SettingsConfigDict(env_prefix="NEXUS_K8S_", env_nested_delimiter="__", extra="ignore")

    kubernetes_version: str = Field(default="1.33", description="Schemas the rendered manifests are checked against.")
    namespace: str = "nexus"
    image: str = Field(default="ghcr.io/nexus-video/nexus-video:0.1.0", description="Code, run and step image.")
    image_pull_policy: str = "IfNotPresent"
    release: str = Field(default="nexus", description="Helm release of the dagster/dagster chart.")
    code_location: str = Field(default="nexus-pipeline", description="The chart's user code deployment name.")
    service_account: str = "nexus-dagster"
    dagster_home: str = "/opt/dagster/dagster_home"
    container_python: str = "/usr/local/bin/python"
    container_workdir: str = "/app"
    code_server_port: int = 3030

    pool_label_key: str = Field(default="nexus.video/pool", description="Node label that names a node pool.")
    gpu_pool: str = "gpu"
    cpu_pool: str = "cpu"
    system_pool: str = Field(default="system", description="Webserver, daemon, API.")
    gpu_resource: str = Field(default="nvidia.com/gpu", description="Extended resource and taint key of GPUs.")
    gpu_pods: bool = Field(default=False, description="Draw scene images in a pod on the GPU pool (Dagster Pipes) "
                           "when a diffusion model is configured; off: in the run pod.")
    gpu_pool_limit: int = Field(default=4, ge=1, description="GPU pods at once across all runs (Dagster pool 'gpu').")
    sizes: dict[str, PodResources] = Field(default_factory=lambda: dict(DEFAULT_SIZES))

    env_secret: str = Field(default="nexus-env", description="Existing Secret: provider keys, storage, catalog.")
    postgres_secret: str = Field(default="dagster-postgresql-secret", description="Existing Secret for Dagster.")
    kafka_auth_secret: str | None = Field(default=None, description="Existing Secret with sasl/username/password.")
    kafka_bootstrap_servers: str = "kafka-bootstrap.kafka.svc:9092"
    requests_topic: str = "video.generation.requests"
    consumer_group: str = "nexus-video-workers"
    lag_threshold: int = Field(default=10, ge=1)
    workers_min: int = Field(default=3, ge=0)
    workers_max: int = Field(default=20, ge=1)

    api_host: str = "api.nexus-video.example.com"
    api_tls_secret: str = Field(default="nexus-api-tls", description="Existing TLS Secret (or cert-manager's).")
    api_port: int = 8000
    api_liveness_path: str = "/healthz"
    api_readiness_path: str = "/readyz"
    api_min: int = Field(default=3, ge=1)
    api_max: int = Field(default=10, ge=1)
    api_cpu_utilization: int = Field(default=70, ge=1, le=100)
    api_resources: PodResources = PodResources(cpu="500m", cpu_limit="1", memory="512Mi")
    ingress_class: str = "nginx"
    ingress_namespace: str = "ingress-nginx"

    postgres_cidr: str = "10.0.0.0/8"
    postgres_port: int = 5432
    kafka_cidr: str = "10.0.0.0/8"
    kafka_port: int = 9092
    redis_cidr: str = "10.0.0.0/8"
    redis_port: int = 6379
    s3_cidr: str = Field(default="0.0.0.0/0", description="Object store (and provider APIs) over HTTPS.")
    kube_api_cidr: str = Field(default="10.0.0.0/8", description="The API server: run pods launch GPU pods.")

    @field_validator("gpu_pool", "cpu_pool", "system_pool")
    @classmethod
    def _label_value(cls, value: str) -> str:
        """Pool names are node label values: at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends."""
        if not LABEL_VALUE.fullmatch(value) or len(value) > 63:
            raise ValueError(f"{value!r} is not a Kubernetes label value (up to 63 of A-Z a-z 0-9 - _ ., "
                             "starting and ending with a letter or digit)")
        return value

    @field_validator("pool_label_key", "gpu_resource")
    @classmethod
    def _label_key(cls, value: str) -> str:
        prefix, _, name = value.rpartition("/")
        if (prefix and not DNS_SUBDOMAIN.fullmatch(prefix)) or not LABEL_VALUE.fullmatch(name) or len(name) > 63:
            raise ValueError(f"{value!r} is not a Kubernetes label key ([dns.prefix/]name)")
        return value

    @field_validator("release", "code_location", "service_account", "env_secret", "postgres_secret")
    @classmethod
    def _object_name(cls, value: str) -> str:
        if not DNS_LABEL.fullmatch(value) or len(value) > 63:
            raise ValueError(f"{value!r} is not a Kubernetes object name (lower-case letters, digits and '-')")
        return value

    @field_validator("sizes", mode="before")
    @classmethod
    def _merge_sizes(cls, value: Any) -> Any:
        """Overlay partial sizes (NEXUS_K8S_SIZES__RUN__MEMORY=4Gi) on the defaults instead of replacing them."""
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {name: size.model_dump() for name, size in DEFAULT_SIZES.items()}
        for name, size in value.items():
            update = size.model_dump() if isinstance(size, PodResources) else dict(size)
            merged[name] = {**merged.get(name, {}), **update}
        return merged

    @property
    def fullname(self) -> str:
        """The chart's name prefix for its own objects (`dagster.fullname`)."""
        return _chart_fullname(self.release, "dagster")

    @property
    def user_code_deployment(self) -> str:
        """The Deployment the chart makes for the code location (the workers KEDA scales)."""
        return f"{_chart_fullname(self.release, 'dagster-user-deployments')}-{self.code_location}"

    @property
    def settings_config_map(self) -> str:
        """ConfigMap carrying these settings into the code server, the run pods and the GPU pods."""
        return "nexus-k8s-settings"

    def env_vars(self) -> dict[str, str]:
        """These settings as NEXUS_K8S_* environment variables (what the rendered ConfigMap holds)."""
        values = self.model_dump(mode="json")
        return {
            f"NEXUS_K8S_{name.upper()}": value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            for name, value in values.items()
            if value is not None
        }


def _chart_fullname(release: str, chart: str) -> str:
    """The charts' `dagster.fullname` helper: the release alone when it already contains the chart's name."""
    return release if chart in release else f"{release}-{chart}"


def load_deploy_settings(environment: str = "production") -> DeploySettings:
    """Settings for an environment: helm-values/<environment>.env, then NEXUS_K8S_* variables over it."""
    if environment not in DEPLOY_ENVIRONMENTS:
        raise ValueError(f"unknown environment {environment!r}: choose one of {', '.join(DEPLOY_ENVIRONMENTS)}")
    return DeploySettings(_env_file=HELM_VALUES_DIR / f"{environment}.env")  # type: ignore[call-arg]
