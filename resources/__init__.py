"""One ConfigurableResource per outside system; resources_for(environment) picks the implementations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from nexus_core.kafka_settings import KafkaSettings
from nexus_core.settings import NexusSettings
from resources.settings import ProviderSettings

ENVIRONMENTS = ("local", "prod")


def resources_for(
    environment: str, settings: NexusSettings | None = None, providers: ProviderSettings | None = None,
    kafka: KafkaSettings | None = None,
) -> dict[str, Any]:
    """The resource dict for an environment; every setting is read here, once, never inside a run.

    'local': embedded defaults, no keys, no servers. 'prod': each outside system's real implementation
    where its settings are present (OPENAI_API_KEY, ELEVENLABS_API_KEY, NEXUS_DIFFUSION_MODEL,
    NEXUS_S3_BUCKET, ...), the embedded default where they are not. In both, with KAFKA_BOOTSTRAP_SERVERS
    set, `kafka` (the sensors' broker) and phase events to the events topic; without it, no-op phase events.
    """
    if environment not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {environment!r}: choose one of {', '.join(ENVIRONMENTS)}")
    settings = settings or NexusSettings()
    local = {**_local_resources(settings), **_kafka_resources(kafka or KafkaSettings())}
    if environment == "local":
        return local
    return {**local, **_production_resources(settings, providers or ProviderSettings())}


def _kafka_resources(kafka: KafkaSettings) -> dict[str, Any]:
    """`phase_events` always (no-op without a broker); `kafka` when KAFKA_BOOTSTRAP_SERVERS is set."""
    from resources.kafka import KafkaResource
    from resources.phase_events import KafkaPhaseEvents, NoPhaseEvents

    if not kafka.enabled:
        return {"phase_events": NoPhaseEvents()}
    broker = KafkaResource.from_settings(kafka)
    return {"kafka": broker, "phase_events": KafkaPhaseEvents(kafka=broker)}


def _local_resources(settings: NexusSettings) -> dict[str, Any]:
    from resources.catalog import CatalogResource
    from resources.gpu_worker import GpuWorker
    from resources.image_generator import ProceduralImageGenerator
    from resources.music import SynthMusic
    from resources.pipeline import PipelineConfig
    from resources.script_writer import TemplateScriptWriter
    from resources.storage import LocalObjectStore
    from resources.voice import NeuralVoice

    voice = NeuralVoice(model_paths={lang.value: str(path) for lang, path in settings.voice_model_paths().items()})
    return {
        "catalog": CatalogResource(url=settings.catalog_url),
        "store": LocalObjectStore(root=str(settings.object_store_root)),
        "script_writer": TemplateScriptWriter(),
        "image_generator": ProceduralImageGenerator(),
        "voice": voice,
        "music": SynthMusic(),
        "pipeline": PipelineConfig(workers=settings.workers),
        "gpu_worker": GpuWorker(),  # GPU phases run in the step's own process
    }


def _production_resources(settings: NexusSettings, p: ProviderSettings) -> dict[str, Any]:
    """Only the resources whose real implementation is configured; secrets stay EnvVars (read at launch)."""
    from resources.gpu_worker import K8sGpuPods
    from resources.pipeline import PipelineConfig

    cache = Path(p.provider_cache_dir or settings.resolved_home / "cache")
    chosen: dict[str, Any] = {
        # scene images go to a pod on the GPU pool when NEXUS_K8S_GPU_PODS is on (read when the step starts)
        "gpu_worker": K8sGpuPods(),
        "pipeline": PipelineConfig(workers=settings.workers, gpu_encoding=p.gpu_encoding),  # type: ignore[arg-type]
    }
    if p.openai_api_key or p.openai_base_url:
        from resources.openai_writer import OpenAIScriptWriter

        chosen["script_writer"] = OpenAIScriptWriter(
            api_key=dg.EnvVar("OPENAI_API_KEY") if p.openai_api_key else "",
            base_url=p.openai_base_url, model=p.openai_model, timeout_s=p.openai_timeout_s,
            cache_dir=str(cache / "openai"),
        )
    if p.elevenlabs_api_key:
        from resources.elevenlabs_voice import ElevenLabsVoice

        chosen["voice"] = ElevenLabsVoice(
            api_key=dg.EnvVar("ELEVENLABS_API_KEY"), base_url=p.elevenlabs_base_url,
            voice_id=p.elevenlabs_voice_id, model_id=p.elevenlabs_model,
            concurrency=p.elevenlabs_concurrency, cache_dir=str(cache / "elevenlabs"),
        )
        if p.elevenlabs_music:
            from resources.hosted_music import ElevenLabsMusic

            chosen["music"] = ElevenLabsMusic(
                api_key=dg.EnvVar("ELEVENLABS_API_KEY"), base_url=p.elevenlabs_base_url,
                cache_dir=str(cache / "music"),
            )
    if p.diffusion_model:
        from resources.diffusion import DiffusionImageGenerator

        chosen["image_generator"] = DiffusionImageGenerator(
            model=p.diffusion_model, allow_download=p.diffusion_allow_download, steps=p.diffusion_steps,
            guidance_scale=p.diffusion_guidance_scale, device=p.diffusion_device,
            batch_size=p.diffusion_batch_size, native_size=p.diffusion_native_size, memory=p.diffusion_memory,
        )
    if p.s3_bucket:
        from resources.s3_storage import S3ObjectStore

        chosen["store"] = S3ObjectStore(
            bucket=p.s3_bucket, prefix=p.s3_prefix, endpoint_url=p.s3_endpoint_url, region=p.s3_region,
            sse=p.s3_sse, sse_kms_key_id=p.s3_sse_kms_key_id, url_expiry_s=p.s3_url_expiry_s,
            multipart_threshold_mb=p.s3_multipart_threshold_mb,
        )
    return chosen
