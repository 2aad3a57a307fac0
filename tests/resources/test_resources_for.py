"""resources_for picks the embedded defaults locally and the configured real providers in production."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_core.settings import NexusSettings
from resources import resources_for
from resources.diffusion import DiffusionImageGenerator
from resources.elevenlabs_voice import ElevenLabsVoice
from resources.image_generator import ProceduralImageGenerator
from resources.openai_writer import OpenAIScriptWriter
from resources.s3_storage import S3ObjectStore
from resources.script_writer import TemplateScriptWriter
from resources.settings import ProviderSettings
from resources.storage import LocalObjectStore
from resources.voice import NeuralVoice

NAMES = {"catalog", "store", "script_writer", "image_generator", "voice", "music", "pipeline", "gpu_worker"}


def test_local_uses_embedded_defaults(tmp_path: Path) -> None:
    chosen = resources_for("local", NexusSettings(home=tmp_path))
    assert set(chosen) == NAMES
    assert isinstance(chosen["store"], LocalObjectStore)
    assert isinstance(chosen["script_writer"], TemplateScriptWriter)
    assert isinstance(chosen["voice"], NeuralVoice)


def test_prod_without_settings_falls_back_to_embedded_defaults(tmp_path: Path) -> None:
    chosen = resources_for("prod", NexusSettings(home=tmp_path), ProviderSettings.model_validate({}))
    assert isinstance(chosen["image_generator"], ProceduralImageGenerator)
    assert isinstance(chosen["store"], LocalObjectStore)


def test_prod_with_settings_uses_the_real_providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ELEVENLABS_API_KEY", "el-test")
    monkeypatch.setenv("NEXUS_DIFFUSION_MODEL", str(tmp_path / "model"))
    monkeypatch.setenv("NEXUS_S3_BUCKET", "videos")
    monkeypatch.setenv("NEXUS_S3_ENDPOINT_URL", "http://127.0.0.1:1")
    chosen = resources_for("prod", NexusSettings(home=tmp_path), ProviderSettings())
    assert set(chosen) == NAMES
    assert isinstance(chosen["script_writer"], OpenAIScriptWriter)
    assert isinstance(chosen["voice"], ElevenLabsVoice)
    assert isinstance(chosen["image_generator"], DiffusionImageGenerator)
    assert isinstance(chosen["store"], S3ObjectStore)
    assert type(chosen["gpu_worker"]).__name__ == "K8sGpuPods"  # launches only with NEXUS_K8S_GPU_PODS on


def test_unknown_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="local, prod"):
        resources_for("staging", NexusSettings(home=tmp_path))
