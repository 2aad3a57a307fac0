"""ElevenLabs music, driven through the official SDK against a local server speaking ElevenLabs' wire format."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nexus_core import prompts
from nexus_core.media.audio import wav_duration
from nexus_core.models import MusicStyle
from resources.hosted_music import ElevenLabsMusic
from resources.music import SynthMusic
from tests.standins.elevenlabs_server import ElevenLabsStandIn


def make_music(api: ElevenLabsStandIn, **overrides: Any) -> ElevenLabsMusic:
    fields: dict[str, Any] = {
        "api_key": api.api_key, "base_url": api.url, "timeout_s": 5, "max_attempts": 2, "backoff_base_s": 0.01,
    }
    return ElevenLabsMusic(**(fields | overrides))


def stereo_samples(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 48000)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def test_the_bed_is_composed_by_the_api_at_the_exact_length(elevenlabs_api: ElevenLabsStandIn, tmp_path: Path) -> None:
    music = make_music(elevenlabs_api)
    made = music.compose(MusicStyle.CINEMATIC, duration_s=4.25, seed=7, out_path=tmp_path / "bed.wav")
    assert made is not None and made.value == tmp_path / "bed.wav"
    assert wav_duration(made.value) == pytest.approx(4.25, abs=1 / 48000)
    assert np.abs(stereo_samples(made.value)).max() > 3000
    assert (made.provider, made.fallback) == ("elevenlabs-music:music_v1", False)
    (sent,) = elevenlabs_api.music_requests()
    assert sent.query["output_format"] == "mp3_44100_128"
    assert sent.json() == {
        "prompt": prompts.MUSIC_PROMPTS["cinematic"], "music_length_ms": 4250, "model_id": "music_v1",
        "force_instrumental": True,
    }


def test_a_bed_shorter_than_the_api_minimum_is_cut_to_length(elevenlabs_api: ElevenLabsStandIn, tmp_path: Path) -> None:
    made = make_music(elevenlabs_api).compose(MusicStyle.UPBEAT, duration_s=2.0, seed=1, out_path=tmp_path / "b.wav")
    assert made is not None and wav_duration(made.value) == pytest.approx(2.0, abs=1 / 48000)
    assert elevenlabs_api.music_requests()[0].json()["music_length_ms"] == 3000


def test_an_outage_falls_back_to_the_synthesizer_and_says_so(elevenlabs_api: ElevenLabsStandIn, tmp_path: Path) -> None:
    elevenlabs_api.outage = True
    music = make_music(elevenlabs_api)
    made = music.compose(MusicStyle.AMBIENT, duration_s=3.0, seed=5, out_path=tmp_path / "bed.wav")
    expected = SynthMusic().compose(MusicStyle.AMBIENT, duration_s=3.0, seed=5, out_path=tmp_path / "synth.wav")
    assert made is not None and expected is not None and made.value.read_bytes() == expected.value.read_bytes()
    assert made.fallback and made.provider.startswith("synth (fallback from elevenlabs-music:music_v1: HTTP 503")
    assert len(elevenlabs_api.music_requests()) == 2


def test_a_cached_bed_is_not_paid_twice(elevenlabs_api: ElevenLabsStandIn, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    first = make_music(elevenlabs_api, cache_dir=cache)
    first.compose(MusicStyle.AMBIENT, duration_s=3.0, seed=5, out_path=tmp_path / "a.wav")
    again = make_music(elevenlabs_api, cache_dir=cache)
    made = again.compose(MusicStyle.AMBIENT, duration_s=3.0, seed=5, out_path=tmp_path / "b.wav")
    assert made is not None and (made.provider, made.fallback) == ("elevenlabs-music:music_v1 (cached)", False)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    again.compose(MusicStyle.AMBIENT, duration_s=3.0, seed=6, out_path=tmp_path / "c.wav")  # another video
    assert len(elevenlabs_api.music_requests()) == 2


# ---------------------------------------------------------------- beyond the shared contract (test_provider_contracts)


def test_nothing_is_asked_for_style_none(elevenlabs_api: ElevenLabsStandIn, tmp_path: Path) -> None:
    music = make_music(elevenlabs_api)
    assert music.compose(MusicStyle.NONE, duration_s=3, seed=3, out_path=tmp_path / "bed.wav") is None
    assert not (tmp_path / "bed.wav").exists() and elevenlabs_api.requests == []
