"""ffmpeg argument builders: pure lists, checked without running ffmpeg."""

from __future__ import annotations

from pathlib import Path

from nexus_core.media.ffmpeg_args import (
    build_clip_encode_args,
    build_concat_list,
    build_master_args,
    build_rendition_args,
    build_static_floor_args,
)
from nexus_core.media.presets import master_preset, presets_for
from nexus_core.models import Quality

HD = master_preset(Quality.HD)
H264_ULTRA, H265_ULTRA = presets_for(Quality.ULTRA)


def _value(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_clip_encode_reads_raw_yuv420p_from_stdin_and_writes_video_only_h264() -> None:
    args = build_clip_encode_args(width=1920, height=1080, fps=30, preset=HD, out_path=Path("/w/clip.mp4"))
    assert args[: args.index("-i") + 2] == [
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", "1920x1080", "-framerate", "30",
        "-i", "pipe:0",
    ]
    assert _value(args, "-c:v") == "libx264"
    assert _value(args, "-crf") == str(HD.crf) and _value(args, "-preset") == HD.preset
    assert _value(args[args.index("pipe:0") :], "-pix_fmt") == "yuv420p"
    assert _value(args, "-g") == "60"
    assert "-an" in args
    for flag in ("-colorspace", "-color_primaries", "-color_trc"):
        assert _value(args, flag) == "bt709"
    assert args[-3:] == ["-f", "mp4", "/w/clip.mp4"]
    assert all(isinstance(a, str) for a in args)


def test_gop_is_two_seconds_at_every_rate() -> None:
    for fps in (24, 25, 30, 60):
        args = build_clip_encode_args(width=640, height=360, fps=fps, preset=HD, out_path="c.mp4")
        assert _value(args, "-g") == str(2 * fps)


def test_concat_list_quotes_paths_safely(tmp_path: Path) -> None:
    odd = tmp_path / "it's a clip.mp4"
    text = build_concat_list([tmp_path / "a.mp4", odd])
    lines = text.splitlines()
    assert lines[0] == "ffconcat version 1.0"
    assert lines[1] == f"file '{tmp_path}/a.mp4'"
    assert lines[2] == f"file '{tmp_path}/it'\\''s a clip.mp4'"
    assert text.endswith("\n")


def test_master_joins_by_stream_copy_with_the_encoded_audio_and_faststart() -> None:
    args = build_master_args(Path("/w/clips.txt"), Path("/w/mix.m4a"), 12.5, Path("/w/master.mp4"))
    assert args[:6] == ["-f", "concat", "-safe", "0", "-i", "/w/clips.txt"]
    assert _value(args, "-c:v") == "copy" and _value(args, "-c:a") == "copy"
    assert float(_value(args, "-t")) == 12.5
    assert _value(args, "-movflags") == "+faststart"
    assert "/w/mix.m4a" in args and args[-1] == "/w/master.mp4"
    assert "-crf" not in args and "libx264" not in args


def test_rendition_is_a_stream_copy_when_it_matches_the_master() -> None:
    args = build_rendition_args("/w/master.mp4", HD, "/w/h264.mp4", master=HD)
    assert _value(args, "-c:v") == "copy" and _value(args, "-c:a") == "copy"
    assert _value(args, "-movflags") == "+faststart"


def test_h265_rendition_reencodes_video_with_the_hvc1_tag_and_copies_audio() -> None:
    args = build_rendition_args("/w/master.mp4", H265_ULTRA, "/w/h265.mp4", master=H264_ULTRA, fps=30)
    assert _value(args, "-c:v") == "libx265"
    assert _value(args, "-crf") == str(H265_ULTRA.crf) and _value(args, "-preset") == H265_ULTRA.preset
    assert _value(args, "-tag:v") == "hvc1"
    assert _value(args, "-c:a") == "copy"
    assert _value(args, "-g") == "60"
    assert _value(args, "-movflags") == "+faststart"


def test_rendition_without_a_known_master_reencodes() -> None:
    args = build_rendition_args("/w/master.mp4", HD, "/w/h264.mp4")
    assert _value(args, "-c:v") == "libx264"


def test_static_floor_decodes_the_image_once_and_encodes_like_a_clip() -> None:
    args = build_static_floor_args(Path("/w/still.png"), 20.0, 30, HD, Path("/w/floor.mp4"))
    assert "-loop" not in args
    assert "loop=loop=-1:size=1:start=0" in _value(args, "-vf")
    assert float(_value(args, "-t")) == 20.0
    clip = build_clip_encode_args(width=1920, height=1080, fps=30, preset=HD, out_path="x.mp4")
    encoder = clip[clip.index("-c:v") : clip.index("-f", clip.index("-c:v"))]
    assert args[args.index("-c:v") : args.index("-c:v") + len(encoder)] == encoder
