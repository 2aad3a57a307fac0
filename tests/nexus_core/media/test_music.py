"""Synthesized music beds: exact length, click-free, seeded, distinct per style, streamed in chunks."""

from __future__ import annotations

import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest

from nexus_core.media.music import CHUNK_S, PEAK_DBFS, write_music_bed
from nexus_core.models import MusicStyle

STYLES = [MusicStyle.AMBIENT, MusicStyle.UPBEAT, MusicStyle.CINEMATIC]
SR = 48000


def _read(path: Path) -> tuple[np.ndarray, wave._wave_params]:
    with wave.open(str(path)) as wav:
        params = wav.getparams()
        data = np.frombuffer(wav.readframes(params.nframes), dtype="<i2").reshape(-1, params.nchannels)
    return data.astype(np.float32) / 32768, params


@pytest.fixture(scope="module")
def beds(tmp_path_factory: pytest.TempPathFactory) -> dict[MusicStyle, np.ndarray]:
    folder = tmp_path_factory.mktemp("beds")
    out = {}
    for style in STYLES:
        write_music_bed(style, duration_s=16.5, seed=11, out_path=folder / f"{style.value}.wav")
        out[style] = _read(folder / f"{style.value}.wav")[0]
    return out


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("duration", [0.5, 3.3337, 7.0])
def test_bed_is_stereo_16_bit_48k_and_exactly_as_long_as_asked(
    style: MusicStyle, duration: float, tmp_path: Path
) -> None:
    write_music_bed(style, duration_s=duration, seed=1, out_path=tmp_path / "bed.wav")
    _, params = _read(tmp_path / "bed.wav")
    assert (params.nchannels, params.sampwidth, params.framerate) == (2, 2, SR)
    assert params.nframes == round(duration * SR)


@pytest.mark.parametrize("style", STYLES)
def test_bed_peaks_near_minus_6_dbfs_and_fades_in_and_out(style: MusicStyle, beds: dict) -> None:
    audio = beds[style]
    assert 20 * np.log10(np.abs(audio).max()) == pytest.approx(PEAK_DBFS, abs=0.1)
    assert np.abs(audio[:10]).max() < 1e-3 and np.abs(audio[-10:]).max() < 1e-3
    assert np.abs(audio[: SR // 10]).max() < 0.05  # the fade-in is gradual


@pytest.mark.parametrize(
    ("style", "limit"), [(MusicStyle.AMBIENT, 0.08), (MusicStyle.UPBEAT, 0.2), (MusicStyle.CINEMATIC, 0.06)]
)
def test_bed_has_no_clicks(style: MusicStyle, limit: float, beds: dict) -> None:
    step = np.abs(np.diff(beds[style], axis=0)).max(axis=1)
    assert step.max() < limit  # a click is a jump far bigger than any the music makes
    boundaries = np.arange(int(CHUNK_S * SR), len(step), int(CHUNK_S * SR)) - 1
    assert step[boundaries].max() <= np.percentile(step, 99.9)  # chunk edges are seamless


def test_styles_sound_different(beds: dict) -> None:
    def pulse(audio: np.ndarray) -> float:  # how much the level moves from one 50 ms window to the next
        rms = np.sqrt((audio[: len(audio) // 2400 * 2400, 0].reshape(-1, 2400) ** 2).mean(axis=1))[20:-60]
        return float(np.abs(np.diff(rms)).mean() / rms.mean())

    def brightness(audio: np.ndarray) -> float:  # spectral centroid in Hz
        spectrum = np.abs(np.fft.rfft(audio[SR * 4 : SR * 12, 0]))
        return float((np.fft.rfftfreq(SR * 8, 1 / SR) * spectrum).sum() / spectrum.sum())

    assert pulse(beds[MusicStyle.UPBEAT]) > 2 * max(pulse(beds[MusicStyle.AMBIENT]), pulse(beds[MusicStyle.CINEMATIC]))
    assert brightness(beds[MusicStyle.CINEMATIC]) < brightness(beds[MusicStyle.AMBIENT])
    for a, b in [
        (MusicStyle.AMBIENT, MusicStyle.UPBEAT),
        (MusicStyle.UPBEAT, MusicStyle.CINEMATIC),
        (MusicStyle.AMBIENT, MusicStyle.CINEMATIC),
    ]:
        assert abs(np.corrcoef(beds[a][:, 0], beds[b][:, 0])[0, 1]) < 0.2


def test_same_seed_same_bed_other_seed_other_bed(tmp_path: Path) -> None:
    paths = [tmp_path / f"{n}.wav" for n in range(3)]
    for path, seed in zip(paths, (5, 5, 6), strict=True):
        write_music_bed(MusicStyle.AMBIENT, duration_s=4, seed=seed, out_path=path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_none_style_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="none"):
        write_music_bed(MusicStyle.NONE, duration_s=5, seed=1, out_path=tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


def test_bed_is_streamed_not_held_in_memory(tmp_path: Path) -> None:
    duration = 60.0
    whole_signal = duration * SR * 2 * 4  # the bed as float32 stereo, had it been built in one piece
    tracemalloc.start()
    try:
        write_music_bed(MusicStyle.UPBEAT, duration_s=duration, seed=2, out_path=tmp_path / "long.wav")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < whole_signal / 3
    assert not list(tmp_path.glob(".*"))  # the scratch file is gone
