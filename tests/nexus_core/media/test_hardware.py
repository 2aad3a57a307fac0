"""NVENC: the CPU presets' GPU twins, detection (listed and a one-frame encode works), the auto/on/off choice, and
the fallback to x264/x265 when an NVENC encode fails (no GPU here; Hopper H100/H200 have no NVENC either)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_core.media import hardware
from nexus_core.media.ffmpeg_args import build_rendition_args, quality_args, video_encoder_args
from nexus_core.media.hardware import (
    GpuEncodingUnavailable,
    build_nvenc_probe_args,
    detect_nvenc,
    encode_with_fallback,
    encoder_preset,
    gpu_variant,
)
from nexus_core.media.presets import PRESETS, EncoderPreset
from nexus_core.media.probe import probe
from nexus_core.media.runner import MediaCommandError, run_ffmpeg
from nexus_core.models import Quality

HAS_NVIDIA_GPU = Path("/dev/nvidiactl").exists()
X264 = PRESETS[Quality.HD][0]
X265 = PRESETS[Quality.ULTRA][1]
ENCODERS_WITH_NVENC = """Encoders:
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)
 V....D hevc_nvenc           NVIDIA NVENC hevc encoder (codec hevc)
"""


@pytest.fixture(autouse=True)
def fresh_detection() -> Iterator[None]:
    hardware.clear_detection_cache()
    yield
    hardware.clear_detection_cache()


def fake_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, encoders: str, encode_rc: int) -> Path:
    """Point the runner at a stub ffmpeg that prints `encoders`, exits `encode_rc` on an encode, and logs calls."""
    log = tmp_path / "calls.log"
    (tmp_path / "encoders.txt").write_text(encoders)
    stub = tmp_path / "ffmpeg"
    stub.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        f'case "$*" in *-encoders*) cat "{tmp_path / "encoders.txt"}"; exit 0;; esac\n'
        f'[ {encode_rc} -eq 0 ] || echo "Cannot load libcuda.so.1" >&2\n'
        f"exit {encode_rc}\n"
    )
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("NEXUS_FFMPEG_BIN", str(stub))
    return log


@pytest.mark.parametrize("preset", [p for table in PRESETS.values() for p in table], ids=lambda p: f"{p.codec}-{p.crf}")
def test_every_cpu_preset_has_an_nvenc_twin_with_the_same_quality(preset: EncoderPreset) -> None:
    twin = gpu_variant(preset)
    assert twin.codec == {"libx264": "h264_nvenc", "libx265": "hevc_nvenc"}[preset.codec]
    assert (twin.name, twin.crf, twin.audio_bitrate_k, twin.pix_fmt) == (
        preset.name, preset.crf, preset.audio_bitrate_k, preset.pix_fmt)
    assert twin.preset in {f"p{n}" for n in range(1, 8)}
    assert twin.is_hevc == preset.is_hevc
    assert gpu_variant(twin) == twin


def test_speed_ladder_and_constant_quality_arguments() -> None:
    assert gpu_variant(X264).preset == "p2"  # veryfast
    assert gpu_variant(X265).preset == "p4"  # fast
    assert gpu_variant(EncoderPreset("h264", "libx264", crf=20, preset="veryslow", audio_bitrate_k=128)).preset == "p7"
    args = quality_args(gpu_variant(X264))
    assert args == ["-c:v", "h264_nvenc", "-preset", "p2", "-tune", "hq", "-rc", "vbr", "-cq", str(X264.crf),
                    "-b:v", "0"]
    assert "-crf" not in args
    probe_args = build_nvenc_probe_args(gpu_variant(X265))
    assert probe_args[probe_args.index("-frames:v") + 1] == "1" and probe_args[-3:] == ["-f", "null", "-"]


def test_only_x264_and_x265_have_twins() -> None:
    with pytest.raises(ValueError, match="no NVENC encoder for 'libvpx-vp9'"):
        gpu_variant(EncoderPreset("vp9", "libvpx-vp9", crf=30, preset="good", audio_bitrate_k=128))
    with pytest.raises(ValueError, match="unknown NVENC encoder"):
        detect_nvenc("av1_nvenc")
    with pytest.raises(ValueError, match="auto, on or off"):
        encoder_preset(X264, "yes")  # type: ignore[arg-type]


@pytest.mark.skipif(HAS_NVIDIA_GPU, reason="this machine has an NVIDIA GPU")
@pytest.mark.parametrize("codec", ["h264_nvenc", "hevc_nvenc"])
def test_detection_says_no_without_a_gpu(codec: str) -> None:
    status = detect_nvenc(codec)
    assert not status.available
    assert codec in status.reason
    assert detect_nvenc(codec) is status  # cached per process


@pytest.mark.skipif(HAS_NVIDIA_GPU, reason="this machine has an NVIDIA GPU")
def test_without_a_gpu_auto_and_off_encode_on_the_cpu_and_on_fails_clearly() -> None:
    assert encoder_preset(X264, "auto") == X264
    assert encoder_preset(X265, "off") == X265
    with pytest.raises(GpuEncodingUnavailable, match=r"NEXUS_GPU_ENCODING=on but h264_nvenc is not usable here"):
        encoder_preset(X264, "on")


@pytest.mark.skipif(not HAS_NVIDIA_GPU, reason="needs an NVIDIA GPU and a driver")
def test_with_a_gpu_auto_and_on_encode_with_nvenc() -> None:
    assert encoder_preset(X264, "auto").codec == "h264_nvenc"
    assert encoder_preset(X265, "on").codec == "hevc_nvenc"


def test_a_working_nvenc_is_chosen_once_probed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake_ffmpeg(tmp_path, monkeypatch, encoders=ENCODERS_WITH_NVENC, encode_rc=0)
    assert encoder_preset(X264, "auto") == gpu_variant(X264)
    assert encoder_preset(X264, "on") == gpu_variant(X264)
    calls = log.read_text().splitlines()
    assert len(calls) == 2, calls  # listed once, test-encoded once, then cached
    assert "-encoders" in calls[0]
    assert "-c:v h264_nvenc" in calls[1] and "-rc vbr -cq " in calls[1] and "-frames:v 1" in calls[1]


def test_a_listed_nvenc_that_cannot_encode_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ffmpeg(tmp_path, monkeypatch, encoders=ENCODERS_WITH_NVENC, encode_rc=1)
    assert encoder_preset(X265, "auto") == X265
    with pytest.raises(GpuEncodingUnavailable, match=r"hevc_nvenc test encode failed.*libcuda"):
        encoder_preset(X265, "on")


def test_an_unlisted_nvenc_is_not_even_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake_ffmpeg(tmp_path, monkeypatch, encoders="Encoders:\n V....D libx264  libx264 H.264\n", encode_rc=0)
    status = detect_nvenc("h264_nvenc")
    assert not status.available and "has no h264_nvenc encoder" in status.reason
    assert len(log.read_text().splitlines()) == 1


def test_off_never_probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = fake_ffmpeg(tmp_path, monkeypatch, encoders=ENCODERS_WITH_NVENC, encode_rc=0)
    assert encoder_preset(X264, "off") == X264
    assert not log.exists()
    assert os.environ["NEXUS_FFMPEG_BIN"].endswith("ffmpeg")


def test_nvenc_encoder_arguments_use_constant_quality_not_crf() -> None:
    h264, hevc = video_encoder_args(gpu_variant(X264), 24), video_encoder_args(gpu_variant(X265), 24)
    assert "-crf" not in h264 and "-x264-params" not in h264 and "-x265-params" not in hevc
    assert h264[h264.index("-cq") + 1] == str(X264.crf) and h264[h264.index("-b:v") + 1] == "0"
    assert h264[h264.index("-g") + 1] == "48" and "-tag:v" not in h264
    assert hevc[hevc.index("-tag:v") + 1] == "hvc1"
    cpu = video_encoder_args(X264, 24)
    assert cpu[:6] == ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(X264.crf)]


@pytest.fixture(scope="module")
def tiny_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 0.5 s 160x90 H.264 + AAC file, made here with lavfi."""
    out = tmp_path_factory.mktemp("master") / "master.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc=size=160x90:rate=24:duration=0.5", "-f", "lavfi",
                "-i", "sine=frequency=440:duration=0.5", "-c:v", "libx264", "-preset", "ultrafast",
                "-c:a", "aac", "-shortest", str(out)])
    return out


def test_a_forced_nvenc_encode_that_fails_falls_back_to_x264_with_a_warning(tiny_master: Path, tmp_path: Path) -> None:
    """No NVENC here (as on an H100/H200): the real h264_nvenc encode fails and the rendition is made with x264."""
    if detect_nvenc("h264_nvenc").available:
        pytest.skip("NVENC works on this machine")
    out, warnings = tmp_path / "h264.mp4", []
    used = encode_with_fallback(
        gpu_variant(X264), fallback=X264, build=lambda p: build_rendition_args(tiny_master, p, out, fps=24),
        run=run_ffmpeg, warn=warnings.append,
    )
    assert used == X264
    assert probe(out).video_codec == "h264"
    (warning,) = warnings
    assert warning.startswith("h264_nvenc failed for rendition 'h264'; encoding it with libx264 instead")


def test_without_nvenc_auto_encodes_with_x264_and_never_warns(tiny_master: Path, tmp_path: Path) -> None:
    if detect_nvenc("hevc_nvenc").available:
        pytest.skip("NVENC works on this machine")
    out, warnings = tmp_path / "h265.mp4", []
    chosen = encoder_preset(X265, "auto")
    used = encode_with_fallback(chosen, fallback=X265, build=lambda p: build_rendition_args(tiny_master, p, out),
                                run=run_ffmpeg, warn=warnings.append)
    assert used == X265 and warnings == []
    assert probe(out).video_codec == "hevc"


def test_a_failing_cpu_encode_is_not_retried(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def failing(args: list[str]) -> None:
        calls.append(args)
        raise MediaCommandError(["ffmpeg"], 1, "No such file")

    with pytest.raises(MediaCommandError):
        encode_with_fallback(X264, fallback=X264, build=lambda p: ["-c:v", p.codec], run=failing, warn=print)
    assert len(calls) == 1
