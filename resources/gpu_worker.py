"""Where the GPU phase runs: in the step's own process (the default), in a pod on the GPU pool (Kubernetes,
through Dagster Pipes' PipesK8sClient), or in a separate local process (PipesSubprocessClient).

The worker is the same in the last two: `python -m nexus_assets.image_worker` reads the scenario from the object
store, writes the images and their manifest back, and reports the materialization over Pipes. The Kubernetes
pod's placement is computed from DeploySettings read when the step starts (nexus_core.placement), not at import.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from nexus_core.deploy_settings import DeploySettings
from nexus_core.placement import gpu_pod_meta, gpu_pod_spec, worker_command


class GpuWorker(dg.ConfigurableResource):
    """Runs GPU phases in the step's own process: `launches()` is False and the asset draws in place."""

    def launches(self) -> bool:
        """Whether `launch` hands the phase to a worker elsewhere."""
        return False

    def launch(
        self, context: dg.AssetExecutionContext, *, asset: str, extras: Mapping[str, Any]
    ) -> dg.PipesClientCompletedInvocation:
        """Run the asset's worker with `extras` and wait for it; its report comes back over Pipes.

        Called only where `launches()` is True; here it is a caller's mistake, said as such."""
        raise RuntimeError(f"{type(self).__name__} runs {asset} in the step's own process: check launches() first")


class SubprocessGpuWorker(GpuWorker):
    """The worker in a separate local process (its own interpreter and memory), over Pipes: one GPU box, tests."""

    extra_env: dict[str, str] | None = None  # the worker's environment on top of this process's

    def launches(self) -> bool:
        return True

    def launch(
        self, context: dg.AssetExecutionContext, *, asset: str, extras: Mapping[str, Any]
    ) -> dg.PipesClientCompletedInvocation:
        command = [sys.executable, *worker_command(asset)[1:]]
        return dg.PipesSubprocessClient(env=self.extra_env).run(context=context, command=command, extras=extras)


class K8sGpuPods(GpuWorker):
    """The worker in a pod on the GPU pool (PipesK8sClient), when NEXUS_K8S_GPU_PODS is on; else in the step."""

    poll_interval_s: float = 5.0
    pod_wait_timeout_s: float = 6 * 3600.0
    _deploy: DeploySettings | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._deploy = DeploySettings()  # NEXUS_K8S_* of the run pod (the nexus-k8s-settings ConfigMap), read now

    def deploy(self) -> DeploySettings:
        if self._deploy is None:
            self._deploy = DeploySettings()
        return self._deploy

    def launches(self) -> bool:
        return self.deploy().gpu_pods

    def launch(
        self, context: dg.AssetExecutionContext, *, asset: str, extras: Mapping[str, Any]
    ) -> dg.PipesClientCompletedInvocation:
        from dagster_k8s import PipesK8sClient

        deploy = self.deploy()
        client = PipesK8sClient(load_incluster_config=True, poll_interval=self.poll_interval_s)
        return client.run(
            context=context, extras=extras, namespace=deploy.namespace,
            base_pod_spec=gpu_pod_spec(asset, deploy), base_pod_meta=gpu_pod_meta(asset, deploy),
            pod_wait_timeout=self.pod_wait_timeout_s,
        )
