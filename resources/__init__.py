"""One ConfigurableResource per outside system; resources_for(environment) picks the implementations."""

from __future__ import annotations

from typing import Any

from nexus_core.settings import NexusSettings

ENVIRONMENTS = ("local",)


def resources_for(environment: str, settings: NexusSettings | None = None) -> dict[str, Any]:
    """The resource dict for an environment ('local': embedded defaults, no keys, no servers)."""
    from resources.catalog import CatalogResource
    from resources.image_generator import ProceduralImageGenerator
    from resources.music import SynthMusic
    from resources.pipeline import PipelineConfig
    from resources.script_writer import TemplateScriptWriter
    from resources.storage import LocalObjectStore
    from resources.voice import EspeakVoice, PiperVoice, VoiceSynth

    if environment not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {environment!r}: choose one of {', '.join(ENVIRONMENTS)}")
    settings = settings or NexusSettings()
    voice: VoiceSynth = (
        PiperVoice(model_path=str(settings.piper_model_path)) if settings.piper_model_path else EspeakVoice()
    )
    return {
        "catalog": CatalogResource(url=settings.catalog_url),
        "store": LocalObjectStore(root=str(settings.object_store_root)),
        "script_writer": TemplateScriptWriter(),
        "image_generator": ProceduralImageGenerator(),
        "voice": voice,
        "music": SynthMusic(),
        "pipeline": PipelineConfig(workers=settings.workers),
    }
