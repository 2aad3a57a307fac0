"""The soundtrack mix: real espeak voices over a real music bed, ducked, at -16 LUFS, exactly timed."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from nexus_core.media.audio import (
    LUFS_TOLERANCE,
    MAX_TRUE_PEAK_DBTP,
    TARGET_LUFS,
    LoudnessReport,
    build_mix_args,
    build_normalize_args,
    measure_loudness,
    mix_soundtrack,
    parse_loudness_metadata,
    wav_duration,
    write_silence,
)
from nexus_core.media.music import write_music_bed
from nexus_core.media.runner import run_command, run_ffmpeg
from nexus_core.models import MusicStyle

SR = 48000
DURATION = 14.0


def _write_wav(path: Path, samples: np.ndarray, sample_rate: int = SR) -> Path:
    stereo = samples if samples.ndim == 2 else np.stack([samples, samples], axis=1)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(stereo.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(np.round(stereo * 32767).astype("<i2").tobytes())
    return path


def _speak(path: Path, voice: str, text: str) -> Path:
    run_command(["espeak-ng", "-v", voice, "-w", str(path), text])
    return path


def _probe(path: Path) -> dict:
    out = run_command(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,sample_rate,channels:format=duration",
            "-of",
            "json",
            str(path),
        ]
    )
    info = json.loads(out)
    return {**info["streams"][0], "duration": float(info["format"]["duration"])}


def _decode_mono(path: Path, tmp: Path) -> np.ndarray:
    raw = tmp / f"{path.stem}.f32"
    run_ffmpeg(["-i", str(path), "-ac", "1", "-ar", str(SR), "-f", "f32le", str(raw)])
    return np.fromfile(raw, dtype=np.float32)


def _assert_on_target(report: LoudnessReport, path: Path, duration: float) -> None:
    assert abs(report.integrated_lufs - TARGET_LUFS) <= LUFS_TOLERANCE, report
    assert report.true_peak_dbtp <= MAX_TRUE_PEAK_DBTP, report
    assert measure_loudness(path) == report  # what is returned is what the file measures
    info = _probe(path)
    assert (info["codec_name"], int(info["sample_rate"]), info["channels"]) == ("aac", SR, 2)
    assert info["duration"] == pytest.approx(duration, abs=0.001)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mix-media")
    write_music_bed(MusicStyle.AMBIENT, duration_s=DURATION, seed=4, out_path=folder / "bed.wav")
    write_silence(folder / "silent.wav", 2.0, sample_rate=24000)
    t = np.arange(int(DURATION * SR)) / SR
    return {
        "en": _speak(folder / "en.wav", "en-us", "Welcome to a cinematic journey through the rings of Saturn."),
        "fr": _speak(folder / "fr.wav", "fr-fr", "Regardez les rues de Paris sous la pluie."),
        "long": _speak(
            folder / "long.wav",
            "en-us",
            "This sentence keeps the narrator talking for a few seconds, so the music steps back.",
        ),
        "bed": folder / "bed.wav",
        "silent": folder / "silent.wav",
        "tone": _write_wav(folder / "tone.wav", (0.3 * np.sin(2 * np.pi * 55 * t)).astype(np.float32)),
    }


# ---------------------------------------------------------------- pure builders


def test_mix_args_delay_each_voice_and_duck_the_music() -> None:
    args = build_mix_args(
        voices=[(Path("a.wav"), 0.35), (Path("b.wav"), 5.5)],
        music=Path("bed.wav"),
        duration_s=10.0,
        out_path=Path("mix.wav"),
    )
    graph = args[args.index("-filter_complex") + 1]
    assert args[:6] == ["-i", "a.wav", "-i", "b.wav", "-i", "bed.wav"]
    assert "adelay=delays=16800S:all=1" in graph and "adelay=delays=264000S:all=1" in graph
    assert "[2:a]" in graph and "volume=-6.0dB" in graph
    assert "sidechaincompress" in graph and graph.count("amix=inputs=") == 2 and "normalize=0" in graph
    assert "atrim=end_sample=480000" in graph
    assert args[-1] == "mix.wav" and "pcm_f32le" in args


def test_mix_args_without_music_or_without_voices() -> None:
    voices_only = build_mix_args(voices=[(Path("a.wav"), 1.0)], music=None, duration_s=4, out_path=Path("m.wav"))
    music_only = build_mix_args(voices=[], music=Path("bed.wav"), duration_s=4, out_path=Path("m.wav"))
    nothing = build_mix_args(voices=[], music=None, duration_s=4, out_path=Path("m.wav"))
    assert "sidechaincompress" not in " ".join(voices_only) and "adelay" in " ".join(voices_only)
    assert "adelay" not in " ".join(music_only) and "[0:a]" in " ".join(music_only)
    assert "-i" not in nothing and "anullsrc" in " ".join(nothing)


def test_normalize_args_are_a_linear_second_pass_with_the_measured_values() -> None:
    measured = LoudnessReport(integrated_lufs=-21.5, true_peak_dbtp=-9.2, lra=0.0)
    args = build_normalize_args(Path("mix.wav"), Path("out.m4a"), measured=measured, duration_s=3, audio_bitrate_k=160)
    chain = args[args.index("-af") + 1]
    assert chain.startswith("volume=5.500dB,")  # one constant gain: -21.5 LUFS up to -16
    assert "alimiter" in chain and "loudnorm" not in chain
    assert "atrim=end_sample=144000" in chain
    assert args[args.index("-c:a") + 1] == "aac" and args[args.index("-b:a") + 1] == "160k"
    assert args[-1] == "out.m4a"


def test_loudness_metadata_keeps_the_last_integrated_value_and_the_highest_peak() -> None:
    text = "\n".join(
        [
            "frame:0",
            "lavfi.r128.I=-70.000",
            "lavfi.r128.LRA=0.000",
            "lavfi.r128.true_peak=0.100",
            "frame:1",
            "lavfi.r128.I=-18.250",
            "lavfi.r128.LRA=3.500",
            "lavfi.r128.true_peak=0.500",
            "frame:2",
            "lavfi.r128.I=-18.500",
            "lavfi.r128.LRA=3.000",
            "lavfi.r128.true_peak=0.250",
        ]
    )
    report = parse_loudness_metadata(text)
    assert report.integrated_lufs == -18.5 and report.lra == 3.0
    assert report.true_peak_dbtp == pytest.approx(-6.02, abs=0.01)
    assert parse_loudness_metadata("").is_silent


# ---------------------------------------------------------------- measuring


def test_measure_loudness_matches_the_ebu_reference_sine(tmp_path: Path) -> None:
    t = np.arange(5 * SR) / SR
    level = 10 ** (-20 / 20)
    report = measure_loudness(_write_wav(tmp_path / "sine.wav", (level * np.sin(2 * np.pi * 1000 * t))))
    assert report.integrated_lufs == pytest.approx(-20.0, abs=0.2)  # EBU Tech 3341: stereo 1 kHz at X dBFS -> X LUFS
    assert report.true_peak_dbtp == pytest.approx(-20.0, abs=0.2)


def test_wav_duration_reads_the_header(tmp_path: Path) -> None:
    write_silence(tmp_path / "s.wav", 1.25, sample_rate=24000)
    assert wav_duration(tmp_path / "s.wav") == 1.25


# ---------------------------------------------------------------- real mixes


def test_voices_over_music_reach_minus_16_lufs_exactly_timed(media: dict[str, Path], tmp_path: Path) -> None:
    steps: list[float] = []
    out = tmp_path / "mix.m4a"
    report = mix_soundtrack(
        voices=[(media["en"], 0.35), (media["fr"], 7.35)],
        music=media["bed"],
        duration_s=DURATION,
        out_path=out,
        audio_bitrate_k=160,
        progress=steps.append,
    )
    _assert_on_target(report, out, DURATION)
    assert steps == sorted(steps) and steps[-1] == 1.0
    assert not [p for p in tmp_path.iterdir() if p != out]  # scratch files are gone


def test_music_is_ducked_while_the_voice_speaks(media: dict[str, Path], tmp_path: Path) -> None:
    """The bed is a 55 Hz tone (below the voice's pitch), so its level can be read through the mix."""
    out = tmp_path / "duck.m4a"
    speech_s = wav_duration(media["long"])
    mix_soundtrack(
        voices=[(media["long"], 5.0)], music=media["tone"], duration_s=DURATION, out_path=out, audio_bitrate_k=160
    )
    audio = _decode_mono(out, tmp_path)

    def tone_db(start: float, end: float) -> float:
        part = audio[int(start * SR) : int(end * SR)]
        window = np.hanning(len(part))
        spectrum = np.abs(np.fft.rfft(part * window)) / window.sum()  # amplitude, whatever the window length
        return 20 * np.log10(spectrum[np.argmin(np.abs(np.fft.rfftfreq(len(part), 1 / SR) - 55))])

    before = tone_db(1.0, 4.5)
    during = tone_db(5.5, 5.0 + speech_s - 0.5)
    after = tone_db(5.0 + speech_s + 1.5, DURATION - 0.5)
    assert before - during > 6, (before, during)  # ducked by more than 6 dB under the voice
    assert abs(before - after) < 1.5  # and back once the voice is done


def test_voices_alone_music_alone_and_a_silent_voice(media: dict[str, Path], tmp_path: Path) -> None:
    cases = {
        "voices": ([(media["en"], 0.35)], None),
        "music": ([], media["bed"]),
        "silent": ([(media["silent"], 0.35), (media["fr"], 4.0)], media["bed"]),
    }
    for name, (voices, music) in cases.items():
        out = tmp_path / f"{name}.m4a"
        duration = 9.5
        report = mix_soundtrack(voices=voices, music=music, duration_s=duration, out_path=out, audio_bitrate_k=128)
        _assert_on_target(report, out, duration)


def test_nothing_to_mix_gives_exact_silence(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "quiet.m4a"
    report = mix_soundtrack(
        voices=[(media["silent"], 0.5)], music=None, duration_s=3.0, out_path=out, audio_bitrate_k=128
    )
    assert report.is_silent
    assert _probe(out)["duration"] == pytest.approx(3.0, abs=0.001)
