"""resources_for picks the embedded defaults locally and the configured real providers in production."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_core.kafka_settings import KafkaSettings
from nexus_core.settings import NexusSettings
from resources import resources_for
from resources.diffusion import DiffusionImageGenerator
from resources.elevenlabs_voice import ElevenLabsVoice
from resources.gpu_worker import GpuWorker
from resources.image_generator import ProceduralImageGenerator
from resources.kafka import KafkaResource
from resources.openai_writer import OpenAIScriptWriter
from resources.phase_events import KafkaPhaseEvents, NoPhaseEvents
from resources.s3_storage import S3ObjectStore
from resources.script_writer import TemplateScriptWriter
from resources.settings import ProviderSettings
from resources.storage import LocalObjectStore
from resources.voice import NeuralVoice

NAMES = {"catalog", "store", "script_writer", "image_generator", "voice", "music", "pipeline", "gpu_worker",
         "phase_events"}
NO_KAFKA = KafkaSettings(bootstrap_servers=None)


def test_local_uses_embedded_defaults(tmp_path: Path) -> None:
    chosen = resources_for("local", NexusSettings(home=tmp_path), kafka=NO_KAFKA)
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
    chosen = resources_for("prod", NexusSettings(home=tmp_path), ProviderSettings(), kafka=NO_KAFKA)
    assert set(chosen) == NAMES
    assert isinstance(chosen["script_writer"], OpenAIScriptWriter)
    assert isinstance(chosen["voice"], ElevenLabsVoice)
    assert isinstance(chosen["image_generator"], DiffusionImageGenerator)
    assert isinstance(chosen["store"], S3ObjectStore)
    assert type(chosen["gpu_worker"]).__name__ == "K8sGpuPods"  # launches only with NEXUS_K8S_GPU_PODS on


def test_unknown_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="local, prod"):
        resources_for("staging", NexusSettings(home=tmp_path))


def test_phase_events_go_nowhere_without_a_broker(tmp_path: Path) -> None:
    chosen = resources_for("local", NexusSettings(home=tmp_path), kafka=NO_KAFKA)
    assert isinstance(chosen["phase_events"], NoPhaseEvents)
    assert "kafka" not in chosen  # no broker: the Kafka sensors are absent too


@pytest.mark.parametrize("environment", ["local", "prod"])
def test_phase_events_go_to_the_events_topic_when_kafka_is_configured(tmp_path: Path, environment: str) -> None:
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:1", topic_events="test.events")
    chosen = resources_for(environment, NexusSettings(home=tmp_path), ProviderSettings.model_validate({}),
                           kafka=kafka)
    events = chosen["phase_events"]
    assert isinstance(events, KafkaPhaseEvents) and isinstance(chosen["kafka"], KafkaResource)
    assert events.kafka.settings().topic_events == "test.events"
    assert events.kafka.settings().bootstrap_servers == "127.0.0.1:1"


def test_kafka_settings_are_read_when_resources_are_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    chosen = resources_for("local", NexusSettings(home=tmp_path))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS")  # later changes do not reach resources already built
    assert isinstance(chosen["phase_events"], KafkaPhaseEvents)
    assert isinstance(resources_for("local", NexusSettings(home=tmp_path))["phase_events"], NoPhaseEvents)


def test_the_local_gpu_worker_draws_in_place_and_refuses_to_launch() -> None:
    """Local runs make GPU phases in the step's own process; calling `launch` there is a caller's mistake."""
    worker = resources_for("local", settings=NexusSettings())["gpu_worker"]
    assert type(worker) is GpuWorker and worker.launches() is False
    with pytest.raises(RuntimeError, match="runs scene_images in the step's own process"):
        worker.launch(None, asset="scene_images", extras={})  # type: ignore[arg-type]
