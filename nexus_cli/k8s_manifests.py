"""The Kubernetes objects the dagster/dagster chart does not make: API, autoscaling, PDBs, network policies, KEDA.

Each builder returns a plain manifest (a dict) from DeploySettings; secrets are only referenced by name.
"""

from __future__ import annotations

from typing import Any

from nexus_core.deploy_settings import DAGSTER_SYSTEM_LABELS, WORKER_LABELS, DeploySettings

Manifest = dict[str, Any]

API_NAME = "nexus-api"
PART_OF = {"app.kubernetes.io/part-of": "nexus-video"}
API_LABELS = {"app.kubernetes.io/name": API_NAME, **PART_OF}
COMPONENT_LABEL = "nexus.video/component"
KEDA_API_VERSION = "keda.sh/v1alpha1"
HTTPS_PORT = 443
KUBE_API_PORTS = (443, 6443)


def _meta(name: str, deploy: DeploySettings, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "namespace": deploy.namespace, "labels": {**PART_OF, **(labels or {})}}


def settings_config_map(deploy: DeploySettings) -> Manifest:
    """NEXUS_K8S_* for the code server, run pods and GPU pods: a run pod computes the GPU pod's placement from them."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(deploy.settings_config_map, deploy),
        "data": deploy.env_vars(),
    }


def api_deployment(deploy: DeploySettings) -> Manifest:
    """The FastAPI service on the system pool, non-root, read-only root filesystem, spread across zones."""
    def probe(path: str) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 3}

    container = {
        "name": "api",
        "image": deploy.image,
        "imagePullPolicy": deploy.image_pull_policy,
        "command": ["nexus", "api", "--host", "0.0.0.0", "--port", str(deploy.api_port)],
        "ports": [{"name": "http", "containerPort": deploy.api_port, "protocol": "TCP"}],
        "env": [
            {"name": "NEXUS_ENVIRONMENT", "value": "prod"},
            {"name": "NEXUS_HOME", "value": "/tmp/nexus"},  # the root filesystem is read-only
            {"name": "NEXUS_API_DEV_KEYS", "value": "false"},  # keys come from nexus-env, never a dev pair
        ],
        "envFrom": [{"secretRef": {"name": deploy.env_secret}}, {"configMapRef": {"name": deploy.settings_config_map}}],
        "resources": deploy.api_resources.requirements(),
        "readinessProbe": probe(deploy.api_readiness_path),
        "livenessProbe": {**probe(deploy.api_liveness_path), "initialDelaySeconds": 10, "failureThreshold": 3},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(API_NAME, deploy, API_LABELS),
        "spec": {
            "replicas": deploy.api_min,
            "selector": {"matchLabels": dict(API_LABELS)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": dict(API_LABELS)},
                "spec": {
                    "automountServiceAccountToken": False,
                    "nodeSelector": {deploy.pool_label_key: deploy.system_pool},
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "topologySpreadConstraints": [{
                        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                        "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": dict(API_LABELS)},
                    }],
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def api_service(deploy: DeploySettings) -> Manifest:
    """ClusterIP in front of the API; only the Ingress reaches it from outside."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(API_NAME, deploy, API_LABELS),
        "spec": {"type": "ClusterIP", "selector": dict(API_LABELS),
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
    }


def api_ingress(deploy: DeploySettings) -> Manifest:
    """HTTPS only: the TLS certificate comes from an existing Secret (or cert-manager writing it)."""
    backend = {"service": {"name": API_NAME, "port": {"name": "http"}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(API_NAME, deploy, API_LABELS),
        "spec": {
            "ingressClassName": deploy.ingress_class,
            "tls": [{"hosts": [deploy.api_host], "secretName": deploy.api_tls_secret}],
            "rules": [{"host": deploy.api_host,
                       "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}],
        },
    }


def api_autoscaler(deploy: DeploySettings) -> Manifest:
    """HPA: api_min..api_max replicas at api_cpu_utilization % CPU, scaling down slowly."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(API_NAME, deploy, API_LABELS),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": API_NAME},
            "minReplicas": deploy.api_min,
            "maxReplicas": deploy.api_max,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": deploy.api_cpu_utilization}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def disruption_budgets(deploy: DeploySettings) -> list[Manifest]:
    """One pod at a time may be evicted from the API, the code server and the webserver."""
    selectors = {
        API_NAME: dict(API_LABELS),
        "nexus-code-server": {"app.kubernetes.io/instance": deploy.release, "component": "user-deployments",
                              "deployment": deploy.code_location},
        "nexus-dagster-webserver": {**DAGSTER_SYSTEM_LABELS, COMPONENT_LABEL: "webserver"},
    }
    return [
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(name, deploy),
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}}}
        for name, selector in selectors.items()
    ]


def _to_cidr(cidr: str, *ports: int) -> dict[str, Any]:
    return {"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"protocol": "TCP", "port": p} for p in ports]}


def _policy(name: str, deploy: DeploySettings, selector: dict[str, str], *,
            ingress: list[dict[str, Any]] | None = None, egress: list[dict[str, Any]] | None = None) -> Manifest:
    rules = {"ingress": ingress, "egress": egress}
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": selector} if selector else {},
        "policyTypes": [kind.capitalize() for kind, rule in rules.items() if rule is not None],
        **{kind: rule for kind, rule in rules.items() if rule is not None},
    }
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(name, deploy),
            "spec": spec}


def network_policies(deploy: DeploySettings) -> list[Manifest]:
    """Deny by default; only the API takes traffic (from the ingress controller); workers reach Kafka, PG, S3."""
    postgres = _to_cidr(deploy.postgres_cidr, deploy.postgres_port)
    kafka = _to_cidr(deploy.kafka_cidr, deploy.kafka_port)
    s3 = _to_cidr(deploy.s3_cidr, HTTPS_PORT)
    kube_api = _to_cidr(deploy.kube_api_cidr, *KUBE_API_PORTS)
    code_server_port = [{"protocol": "TCP", "port": deploy.code_server_port}]
    dns = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                   "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
           "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    from_ingress = {"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": deploy.ingress_namespace}}}],
        "ports": [{"protocol": "TCP", "port": deploy.api_port}]}
    return [
        _policy("nexus-default-deny", deploy, {}, ingress=[], egress=[]),
        _policy("nexus-allow-dns", deploy, {}, egress=[dns]),
        _policy("nexus-api", deploy, dict(API_LABELS), ingress=[from_ingress],
                egress=[postgres, kafka, _to_cidr(deploy.redis_cidr, deploy.redis_port), s3]),
        _policy("nexus-workers", deploy, dict(WORKER_LABELS),
                ingress=[{"from": [{"podSelector": {"matchLabels": dict(DAGSTER_SYSTEM_LABELS)}}],
                          "ports": code_server_port}],
                egress=[kafka, postgres, s3, kube_api]),
        _policy("nexus-dagster-system", deploy, dict(DAGSTER_SYSTEM_LABELS), ingress=[],
                egress=[postgres, s3, kube_api,
                        {"to": [{"podSelector": {"matchLabels": dict(WORKER_LABELS)}}], "ports": code_server_port}]),
    ]


def keda_objects(deploy: DeploySettings) -> list[Manifest]:
    """KEDA ScaledObject (and its TriggerAuthentication when Kafka needs credentials) for the code server."""
    trigger: dict[str, Any] = {
        "type": "kafka",
        "metadata": {
            "bootstrapServers": deploy.kafka_bootstrap_servers,
            "consumerGroup": deploy.consumer_group,
            "topic": deploy.requests_topic,
            "lagThreshold": str(deploy.lag_threshold),
            "offsetResetPolicy": "latest",
        },
    }
    objects: list[Manifest] = []
    if deploy.kafka_auth_secret:
        auth = "nexus-kafka-auth"
        trigger["authenticationRef"] = {"name": auth}
        objects.append({
            "apiVersion": KEDA_API_VERSION, "kind": "TriggerAuthentication", "metadata": _meta(auth, deploy),
            "spec": {"secretTargetRef": [{"parameter": key, "name": deploy.kafka_auth_secret, "key": key}
                                         for key in ("sasl", "username", "password", "tls")]},
        })
    objects.append({
        "apiVersion": KEDA_API_VERSION,
        "kind": "ScaledObject",
        "metadata": _meta("nexus-workers", deploy),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy.user_code_deployment},
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            "minReplicaCount": deploy.workers_min,
            "maxReplicaCount": deploy.workers_max,
            "triggers": [trigger],
        },
    })
    return objects


def render_manifests(deploy: DeploySettings) -> dict[str, Manifest]:
    """Every non-chart object, keyed by a file name (kind-name.yaml)."""
    objects = [
        settings_config_map(deploy), api_deployment(deploy), api_service(deploy), api_ingress(deploy),
        api_autoscaler(deploy), *disruption_budgets(deploy), *network_policies(deploy), *keda_objects(deploy),
    ]
    return {f"{o['kind'].lower()}-{o['metadata']['name']}.yaml": o for o in objects}


def is_crd(manifest: Manifest) -> bool:
    """Custom resources (KEDA) have no built-in schema to validate strictly against."""
    return str(manifest["apiVersion"]).startswith("keda.sh/")


def crd_problems(manifest: Manifest) -> list[str]:
    """What is missing or ill-typed in a KEDA object (no strict schema exists offline for CRDs)."""
    spec = manifest.get("spec") or {}
    name = f"{manifest.get('kind')}/{(manifest.get('metadata') or {}).get('name')}"
    problems = [f"{name}: metadata.{key} missing" for key in ("name", "namespace")
                if not (manifest.get("metadata") or {}).get(key)]
    if manifest.get("kind") == "ScaledObject":
        target = spec.get("scaleTargetRef") or {}
        problems += [f"{name}: spec.scaleTargetRef.{key} missing" for key in ("apiVersion", "kind", "name")
                     if not target.get(key)]
        low, high = spec.get("minReplicaCount"), spec.get("maxReplicaCount")
        if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
            problems.append(f"{name}: need integers 0 <= minReplicaCount <= maxReplicaCount")
        for trigger in spec.get("triggers") or [{}]:
            metadata = trigger.get("metadata") or {}
            if not trigger.get("type") or not metadata:
                problems.append(f"{name}: a trigger needs a type and metadata")
            problems += [f"{name}: trigger metadata {key!r} must be a string" for key, value in metadata.items()
                         if not isinstance(value, str)]
    elif manifest.get("kind") == "TriggerAuthentication":
        refs = spec.get("secretTargetRef") or []
        if not refs or any(set(ref) != {"parameter", "name", "key"} for ref in refs):
            problems.append(f"{name}: secretTargetRef entries need exactly parameter, name and key")
    else:
        problems.append(f"{name}: unknown custom resource kind")
    return problems
