"""The ElevenLabs voice, driven through the official SDK against a local server speaking ElevenLabs' wire format."""

from __future__ import annotations

import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nexus_core.media.audio import wav_duration
from nexus_core.media.subtitles import cues_from_words
from nexus_core.media.timeline import VOICE_LEAD_S
from nexus_core.models import Language, WordTiming
from resources.elevenlabs_voice import ElevenLabsVoice, build_decode_args, fit_words, words_from_alignment
from tests.standins.elevenlabs_server import CHAR_S, LEAD_S, ElevenLabsStandIn

LINE = "Welcome to Saturn. Its rings glow, softly, at sunset."


def make_voice(api: ElevenLabsStandIn, **overrides: Any) -> ElevenLabsVoice:
    fields: dict[str, Any] = {
        "api_key": api.api_key, "base_url": api.url, "voice_id": "voice-abc", "timeout_s": 5,
        "max_attempts": 2, "backoff_base_s": 0.01,
    }
    return ElevenLabsVoice(**(fields | overrides))


def samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(float), wav.getframerate()


def rms(audio: np.ndarray, rate: int, at_s: float, width_s: float = 0.02) -> float:
    window = audio[round((at_s - width_s / 2) * rate) : round((at_s + width_s / 2) * rate)]
    return float(np.sqrt(np.mean(window**2)))


@pytest.mark.parametrize("output_format", ["mp3_44100_128", "pcm_24000"])
def test_timestamps_become_word_timings_that_follow_the_audio(
    elevenlabs_api: ElevenLabsStandIn, output_format: str, tmp_path: Path
) -> None:
    voice = make_voice(elevenlabs_api, output_format=output_format)
    out = tmp_path / "line.wav"
    clip = voice.synthesize(LINE, language=Language.EN, voice="default", out_path=out, max_seconds=8)

    (sent,) = elevenlabs_api.tts_requests()
    assert sent.path == "/v1/text-to-speech/voice-abc/with-timestamps"
    assert sent.query["output_format"] == output_format
    assert sent.json()["text"] == LINE and sent.json()["model_id"] == "eleven_multilingual_v2"

    assert [w.word for w in clip.words] == LINE.split()
    assert clip.words[0].start_s == pytest.approx(LEAD_S)
    assert clip.words[1].start_s == pytest.approx(LEAD_S + len("Welcome ") * CHAR_S)
    assert clip.duration_s == pytest.approx(wav_duration(out)) and clip.sample_rate == 44100
    assert clip.duration_s == pytest.approx(2 * LEAD_S + len(LINE) * CHAR_S, abs=0.06)
    assert clip.provider == "elevenlabs:eleven_multilingual_v2/voice-abc"

    audio, rate = samples(out)
    for word in clip.words:  # sound while a word is spoken, silence in the space after it
        assert rms(audio, rate, (word.start_s + word.end_s) / 2) > 5000
    for before, after in zip(clip.words, clip.words[1:], strict=False):
        assert rms(audio, rate, (before.end_s + after.start_s) / 2) < 1500

    cues = cues_from_words(clip.words, offset_s=VOICE_LEAD_S)
    assert " ".join(c.text for c in cues) == LINE
    assert cues[0].start_s == pytest.approx(VOICE_LEAD_S + LEAD_S)
    assert cues[-1].end_s <= VOICE_LEAD_S + clip.duration_s + 0.5


def test_a_line_too_long_is_time_compressed_with_its_timings(elevenlabs_api: ElevenLabsStandIn, tmp_path: Path) -> None:
    clip = make_voice(elevenlabs_api).synthesize(
        LINE, language=Language.EN, voice="default", out_path=tmp_path / "l.wav", max_seconds=1.5
    )
    factor = (2 * LEAD_S + len(LINE) * CHAR_S) / 1.5 * 1.01  # the natural length over the room, and a margin
    assert 1.2 < clip.duration_s <= 1.5 and wav_duration(tmp_path / "l.wav") <= 1.5
    assert clip.words[1].start_s == pytest.approx((LEAD_S + len("Welcome ") * CHAR_S) / factor, abs=0.02)
    assert [w.word for w in clip.words] == LINE.split()
    assert clip.words[-1].end_s <= clip.duration_s


def test_an_outage_falls_back_to_espeak_and_says_so(elevenlabs_api: ElevenLabsStandIn, tmp_path: Path) -> None:
    elevenlabs_api.outage = True
    voice = make_voice(elevenlabs_api, breaker_failures=2, breaker_reset_s=60)
    for index in range(3):
        clip = voice.synthesize(LINE, language=Language.EN, voice="default", out_path=tmp_path / f"{index}.wav",
                                max_seconds=6)
        assert clip.provider.startswith("espeak-ng (fallback from elevenlabs:eleven_multilingual_v2/voice-abc:")
        assert 1.0 < clip.duration_s <= 6
        assert [w.word for w in clip.words] == LINE.split()  # the fallback times its words phrase by phrase
    assert "circuit open" in clip.provider  # the third line did not even try
    assert len(elevenlabs_api.tts_requests()) == 4  # two lines x two attempts


def test_a_rejected_key_falls_back_without_retrying(elevenlabs_api: ElevenLabsStandIn, tmp_path: Path) -> None:
    clip = make_voice(elevenlabs_api, api_key="wrong", max_attempts=3).synthesize(
        LINE, language=Language.EN, voice="default", out_path=tmp_path / "l.wav", max_seconds=6
    )
    assert "HTTP 401" in clip.provider and len(elevenlabs_api.tts_requests()) == 1


def test_a_cached_line_is_not_paid_twice(elevenlabs_api: ElevenLabsStandIn, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = make_voice(elevenlabs_api, cache_dir=str(cache)).synthesize(
        LINE, language=Language.EN, voice="default", out_path=tmp_path / "a.wav", max_seconds=8
    )
    again = make_voice(elevenlabs_api, cache_dir=str(cache)).synthesize(  # another process, a tighter fit
        LINE, language=Language.EN, voice="default", out_path=tmp_path / "b.wav", max_seconds=2
    )
    assert len(elevenlabs_api.tts_requests()) == 1
    assert again.duration_s <= 2 < first.duration_s and [w.word for w in again.words] == LINE.split()
    make_voice(elevenlabs_api, cache_dir=str(cache), voice_ids={"narrator": "voice-xyz"}).synthesize(
        LINE, language=Language.EN, voice="narrator", out_path=tmp_path / "c.wav", max_seconds=8
    )
    assert [r.path for r in elevenlabs_api.tts_requests()][-1] == "/v1/text-to-speech/voice-xyz/with-timestamps"


def test_no_more_requests_in_flight_than_the_plan_allows(elevenlabs_api: ElevenLabsStandIn, tmp_path: Path) -> None:
    elevenlabs_api.latency_s = 0.15
    voice = make_voice(elevenlabs_api, concurrency=2, output_format="pcm_24000")

    def speak(index: int) -> float:
        out = tmp_path / f"{index}.wav"
        return voice.synthesize(f"Line number {index}.", language=Language.EN, voice="default", out_path=out,
                                max_seconds=5).duration_s

    with ThreadPoolExecutor(max_workers=5) as pool:
        assert all(d > 0.5 for d in pool.map(speak, range(5)))
    assert len(elevenlabs_api.tts_requests()) == 5 and elevenlabs_api.max_in_flight == 2


# ---------------------------------------------------------------- beyond the shared contract (test_provider_contracts)


def test_contract_an_empty_line_is_a_short_silence_and_costs_nothing(
    elevenlabs_api: ElevenLabsStandIn, tmp_path: Path
) -> None:
    clip = make_voice(elevenlabs_api).synthesize(
        "  ", language=Language.FR, voice="default", out_path=tmp_path / "e.wav", max_seconds=3
    )
    assert 0 < clip.duration_s <= 0.5 and not samples(tmp_path / "e.wav")[0].any()
    assert elevenlabs_api.requests == []


# ---------------------------------------------------------------- pure helpers


def test_words_from_alignment_keeps_punctuation_and_skips_runs_of_spaces() -> None:
    text = "Hi,  there! Ok"
    alignment = {
        "characters": list(text),
        "character_start_times_seconds": [i * 0.1 for i in range(len(text))],
        "character_end_times_seconds": [i * 0.1 + 0.08 for i in range(len(text))],
    }
    words = words_from_alignment(alignment)
    assert [w.word for w in words] == ["Hi,", "there!", "Ok"]
    assert [t for w in words for t in (w.start_s, w.end_s)] == pytest.approx([0.0, 0.28, 0.5, 1.08, 1.2, 1.38])


def test_fit_words_scales_and_drops_what_was_cut() -> None:
    words = [WordTiming(word="a", start_s=0.2, end_s=0.6), WordTiming(word="b", start_s=1.0, end_s=2.4),
             WordTiming(word="c", start_s=2.5, end_s=3.0)]
    assert fit_words(words, factor=2.0, limit_s=1.2) == [
        WordTiming(word="a", start_s=0.1, end_s=0.3), WordTiming(word="b", start_s=0.5, end_s=1.2)
    ]


def test_decode_args_name_the_raw_formats() -> None:
    pcm = build_decode_args(Path("in"), Path("out.wav"), output_format="pcm_22050", sample_rate=44100)
    assert pcm[:8] == ["-f", "s16le", "-ar", "22050", "-ac", "1", "-i", "in"]
    mp3 = build_decode_args(Path("in"), Path("out.wav"), output_format="mp3_44100_128", sample_rate=44100, channels=2)
    assert mp3 == ["-i", "in", "-ac", "2", "-ar", "44100", "-c:a", "pcm_s16le", "out.wav"]
