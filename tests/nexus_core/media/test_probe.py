"""probe(): ffprobe facts about generated media, frame counts and the faststart check."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_core.media.probe import count_frames, is_faststart, probe, top_level_atoms
from nexus_core.media.runner import MediaCommandError, run_ffmpeg


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("probe")
    av = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-f", "lavfi",
          "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-ac", "2",
          "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]
    paths = {name: root / name for name in ("fast.mp4", "slow.mp4", "audio.m4a", "video.mkv")}
    paths = {name.split(".")[0]: path for name, path in paths.items()}
    run_ffmpeg([*av, "-movflags", "+faststart", str(paths["fast"])])
    run_ffmpeg([*av, str(paths["slow"])])
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=1:sample_rate=44100", "-c:a", "aac", str(paths["audio"])])
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=24:duration=1", "-c:v", "libx264",
                "-preset", "ultrafast", str(paths["video"])])
    return paths


def test_probe_reads_video_and_audio_facts(media: dict[str, Path]) -> None:
    info = probe(media["fast"])
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert (info.width, info.height) == (320, 240)
    assert info.fps == pytest.approx(25.0)
    assert info.frame_count == 50
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert info.sample_rate == 48000 and info.channels == 2
    assert info.size_bytes == media["fast"].stat().st_size
    assert info.pix_fmt == "yuv420p" and info.video_tag == "avc1"
    assert info.has_video and info.has_audio
    assert info.faststart


def test_faststart_is_read_from_the_atom_order(media: dict[str, Path]) -> None:
    assert is_faststart(media["fast"])
    assert not is_faststart(media["slow"])
    assert not probe(media["slow"]).faststart
    kinds = [kind for kind, _ in top_level_atoms(media["slow"])]
    assert kinds[0] == "ftyp" and kinds.index("mdat") < kinds.index("moov")
    assert sum(size for _, size in top_level_atoms(media["slow"])) == media["slow"].stat().st_size


def test_count_frames_counts_when_the_container_does_not_say(media: dict[str, Path]) -> None:
    assert count_frames(media["video"]) == 24
    assert probe(media["video"]).frame_count == 24
    assert count_frames(media["fast"]) == 50


def test_audio_only_file_has_no_video(media: dict[str, Path]) -> None:
    info = probe(media["audio"])
    assert info.video_codec is None and not info.has_video
    assert info.audio_codec == "aac" and info.sample_rate == 44100
    assert info.frame_count == 0


def test_probe_of_a_broken_file_raises_with_ffprobe_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(MediaCommandError, match="ffprobe"):
        probe(bad)
