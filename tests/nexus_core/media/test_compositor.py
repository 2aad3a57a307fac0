"""Real scene clips at 360p: exact frames, captions burned in, crossfades baked in, joined by stream copy."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from nexus_core.media.caption_render import SubtitleRenderer
from nexus_core.media.compositor import PreviousShot, cue_per_frame, render_scene_clip
from nexus_core.media.ffmpeg_args import (
    build_concat_list,
    build_master_args,
    build_rendition_args,
    build_static_floor_args,
)
from nexus_core.media.motion import camera_transform, frame_progress
from nexus_core.media.presets import master_preset, presets_for
from nexus_core.media.probe import count_frames, is_faststart, probe
from nexus_core.media.runner import MediaCommandError, run_ffmpeg
from nexus_core.media.subtitles import Cue
from nexus_core.media.yuv import (
    PAD,
    I420Planes,
    StillPlanes,
    chroma_matrix,
    i420_scratch,
    rgb_to_i420,
    scratch_for,
    warp_i420,
    zoom_plane,
)
from nexus_core.models import CameraAngle, Quality

SIZE = (640, 360)
FPS = 24
FRAMES = 48
PRESET = master_preset(Quality.STANDARD)
CUE = Cue(0.35, 1.8, ("Captions are burned in,", "Ζωή и жизнь, élan."))


def make_still(seed: int) -> np.ndarray:
    """A textured test image with hard edges, RGB uint8 at SIZE."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.dstack([120 + 80 * np.sin(x / (23 + seed) + y / 41), 120 + 80 * np.cos(y / 19 - x / 57),
                     np.full((h, w), 60.0 + 40 * seed)])
    img += rng.normal(0, 6, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(8):
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        cv2.circle(img, (int(rng.integers(0, w)), int(rng.integers(0, h))), int(rng.integers(10, 60)), c, -1)
    return img


def decode(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    first, second = make_still(1), make_still(2)
    previous = PreviousShot(still=first, camera_angle=CameraAngle.WIDE, frame_count=FRAMES, seed=11)
    common = {"frame_count": FRAMES, "fps": FPS, "size": SIZE, "preset": PRESET}
    variants = {
        "a": {"still": first, "camera_angle": CameraAngle.WIDE, "cues": [CUE], "seed": 11},
        "a_plain": {"still": first, "camera_angle": CameraAngle.WIDE, "cues": [], "seed": 11},
        "b": {"still": second, "camera_angle": CameraAngle.MEDIUM, "cues": [], "seed": 12,
              "previous": previous, "transition_frames": 12},
        "b_cut": {"still": second, "camera_angle": CameraAngle.MEDIUM, "cues": [], "seed": 12},
    }
    out = {}
    for name, kwargs in variants.items():
        out[name] = root / f"{name}.mp4"
        render_scene_clip(out_path=out[name], **common, **kwargs)  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="module")
def master(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("master")
    audio = root / "mix.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=4.2", "-ac", "2",
                "-c:a", "aac", "-b:a", "128k", str(audio)])
    concat = root / "clips.txt"
    concat.write_text(build_concat_list([clips["a"], clips["b"]]))
    out = root / "master.mp4"
    run_ffmpeg(build_master_args(concat, audio, 2 * FRAMES / FPS, out))
    return out


def test_clip_has_exact_frames_duration_codec_and_size(clips: dict[str, Path]) -> None:
    info = probe(clips["a"])
    assert info.video_codec == "h264" and info.audio_codec is None
    assert (info.width, info.height) == SIZE
    assert info.fps == pytest.approx(FPS)
    assert info.frame_count == count_frames(clips["a"]) == FRAMES
    assert info.duration_s == pytest.approx(FRAMES / FPS, abs=1e-3)
    assert info.pix_fmt == "yuv420p" and info.color_space == "bt709"


def test_render_returns_what_was_written(tmp_path: Path) -> None:
    seen: list[float] = []
    out = tmp_path / "c.mp4"
    info = render_scene_clip(still=make_still(3), camera_angle=CameraAngle.AERIAL, frame_count=30, fps=25,
                             size=SIZE, preset=PRESET, out_path=out, seed=1, progress=seen.append)
    assert (info.frame_count, info.duration_s, info.size_bytes) == (30, 1.2, out.stat().st_size)
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_camera_moves_over_the_still(clips: dict[str, Path]) -> None:
    frames = decode(clips["a_plain"])
    assert len(frames) == FRAMES
    diff = np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean()
    assert diff > 5
    steps = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in itertools.pairwise(frames)]
    assert max(steps) < 4 * np.median(steps) + 2  # no jumps between consecutive frames


def test_captions_are_visible_inside_their_box_only(clips: dict[str, Path]) -> None:
    patch = SubtitleRenderer(*SIZE).patch(CUE)
    index = round(1.0 * FPS)
    with_cues, plain = decode(clips["a"])[index].astype(int), decode(clips["a_plain"])[index].astype(int)
    box = (slice(patch.y, patch.y + patch.height), slice(patch.x, patch.x + patch.width))
    assert np.abs(with_cues[box] - plain[box]).mean() > 25
    outside = np.abs(with_cues - plain)
    outside[box] = 0
    assert outside.mean() < 1.5
    region = with_cues[box]
    assert (region.min(axis=2) > 225).mean() > 0.02  # white text survives encoding
    assert (region.max(axis=2) < 40).mean() > 0.02  # and so does its dark outline
    before = decode(clips["a"])[0].astype(int)  # the cue starts at 0.35 s
    assert np.abs(before[box] - decode(clips["a_plain"])[0].astype(int)[box]).mean() < 2


def test_crossfade_is_baked_into_the_head_of_the_clip(clips: dict[str, Path]) -> None:
    faded, cut = decode(clips["b"]), decode(clips["b_cut"])
    previous_end = decode(clips["a_plain"])[-1].astype(int)

    def diff(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a.astype(int) - b.astype(int)).mean())

    assert diff(faded[0], cut[0]) > 10
    assert diff(faded[0], previous_end) < diff(cut[0], previous_end)
    mixes = [diff(faded[i], cut[i]) for i in range(12)]
    assert all(b < a for a, b in itertools.pairwise(mixes))  # fades steadily into the new shot
    assert diff(faded[20], cut[20]) < 4  # the same shot after the fade (encoder noise aside)


def test_master_joins_clips_by_stream_copy_with_aac_and_faststart(
    master: Path, clips: dict[str, Path]
) -> None:
    info = probe(master)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.duration_s - 2 * FRAMES / FPS) <= 1 / FPS
    assert count_frames(master) == 2 * FRAMES
    assert is_faststart(master)
    clip_bytes = sum(probe(clips[name]).size_bytes for name in ("a", "b"))
    assert info.size_bytes < clip_bytes + 200_000  # copied, not re-encoded at another size


def test_h265_rendition_is_hevc_with_the_hvc1_tag(master: Path, tmp_path: Path) -> None:
    h264, h265 = presets_for(Quality.ULTRA)
    out = tmp_path / "h265.mp4"
    run_ffmpeg(build_rendition_args(master, replace(h265, preset="ultrafast"), out, master=h264, fps=FPS))
    info = probe(out)
    assert info.video_codec == "hevc" and info.video_tag == "hvc1" and info.audio_codec == "aac"
    assert count_frames(out) == 2 * FRAMES
    assert is_faststart(out)


def test_matching_rendition_is_a_stream_copy(master: Path, tmp_path: Path) -> None:
    out = tmp_path / "h264.mp4"
    run_ffmpeg(build_rendition_args(master, PRESET, out, master=PRESET))
    info = probe(out)
    assert info.video_codec == "h264" and count_frames(out) == 2 * FRAMES and is_faststart(out)


def test_static_floor_encodes_the_still_for_the_whole_length(tmp_path: Path) -> None:
    still = tmp_path / "still.png"
    cv2.imwrite(str(still), make_still(4))
    out = tmp_path / "floor.mp4"
    run_ffmpeg(build_static_floor_args(still, 1.5, FPS, PRESET, out))
    info = probe(out)
    assert info.video_codec == "h264" and (info.width, info.height) == SIZE
    assert count_frames(out) == round(1.5 * FPS)


def test_encoder_failure_raises_and_leaves_no_partial_clip(tmp_path: Path) -> None:
    out = tmp_path / "broken.mp4"
    with pytest.raises(MediaCommandError):
        render_scene_clip(still=make_still(5), camera_angle=CameraAngle.WIDE, frame_count=200, fps=FPS,
                          size=SIZE, preset=replace(PRESET, codec="libnosuchcodec"), out_path=out)
    assert not out.exists()


def test_rejects_a_still_of_the_wrong_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="still"):
        render_scene_clip(still=np.zeros((100, 100, 3), np.uint8), camera_angle=CameraAngle.WIDE,
                          frame_count=10, fps=FPS, size=SIZE, preset=PRESET, out_path=tmp_path / "x.mp4")


def test_rgb_to_i420_uses_bt709_limited_range() -> None:
    rgb = np.zeros((2, 4, 3), np.uint8)
    rgb[:, 0:2] = (255, 255, 255)
    rgb[:, 2:4] = (255, 0, 0)
    yuv = rgb_to_i420(rgb)
    assert yuv.shape == (3, 4)
    assert list(yuv[0]) == [235, 235, 63, 63]  # Y: white 235, red 16 + 219 * 0.2126
    cb, cr = yuv[2, :2], yuv[2, 2:]
    assert list(cb) == [128, 102]  # Cb: white neutral, red 128 - 112 * 0.2126 / 0.9278
    assert list(cr) == [128, 240]  # Cr: red at the top of the range


def test_chroma_matrix_maps_the_half_size_planes_consistently() -> None:
    matrix = np.array([[1.2, 0.0, -30.0], [0.0, 1.2, -12.0]])
    half = chroma_matrix(matrix)
    luma_point = np.array([101.0, 55.0])
    chroma_point = (luma_point - 0.5) / 2
    mapped_luma = matrix[:, :2] @ luma_point + matrix[:, 2]
    mapped_chroma = half[:, :2] @ chroma_point + half[:, 2]
    assert np.allclose(mapped_chroma, (mapped_luma - 0.5) / 2)


@pytest.mark.parametrize("fast", [False, True])
def test_warping_the_planes_matches_warping_the_rgb_frame(fast: bool) -> None:
    still = cv2.GaussianBlur(make_still(6), (0, 0), 2.0)
    matrix = camera_transform(CameraAngle.AERIAL, 0.7, SIZE, 4)
    planar = np.empty((SIZE[1] * 3 // 2, SIZE[0]), np.uint8)
    scratch = i420_scratch(*SIZE) if fast else None
    warp_i420(StillPlanes.from_rgb(still), matrix, I420Planes.of(planar), scratch)
    warped_rgb = cv2.warpAffine(still, matrix, SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    reference = rgb_to_i420(warped_rgb)
    error = np.abs(planar.astype(int) - reference.astype(int))
    assert error.mean() < 0.6 and np.percentile(error, 99.9) <= 3


@pytest.mark.parametrize("size", [(1920, 1080), (640, 360), (360, 640)])
@pytest.mark.parametrize("angle", list(CameraAngle))
def test_fast_zoom_path_matches_warp_affine(angle: CameraAngle, size: tuple[int, int]) -> None:
    width, height = size
    rng = np.random.default_rng(1)
    plane = cv2.GaussianBlur(rng.integers(0, 256, (height, width), dtype=np.uint8), (0, 0), 1.0)
    padded = cv2.copyMakeBorder(plane, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
    out, reference, scratch = np.empty_like(plane), np.empty_like(plane), scratch_for(plane.shape)
    taken = 0
    for index in (0, 17, 60, 99, 110):  # past the end too, as under a crossfade
        matrix = camera_transform(angle, frame_progress(index, 100), size, 5)
        cv2.warpAffine(plane, matrix, size, dst=reference, flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
        if zoom_plane(padded, matrix, out, scratch):
            taken += 1
            error = np.abs(out.astype(int) - reference.astype(int))
            assert error.mean() < 0.5 and error.max() <= 4
    assert taken >= 2  # the rest fall back to cv2.warpAffine (scales near a simple fraction, like 8/7)


def test_fast_zoom_path_declines_other_maps() -> None:
    padded = np.zeros((90 + 2 * PAD, 160 + 2 * PAD), np.uint8)
    out, scratch = np.zeros((90, 160), np.uint8), scratch_for((90, 160))
    rotation = cv2.getRotationMatrix2D((80, 45), 5.0, 1.1)
    assert not zoom_plane(padded, rotation, out, scratch)
    assert not zoom_plane(padded, np.array([[0.9, 0, 8.0], [0, 0.9, 4.0]]), out, scratch)  # a zoom out
    assert not out.any()


def test_cue_per_frame_uses_frame_start_times() -> None:
    shown = cue_per_frame([Cue(0.5, 1.0, ("x",))], 30, 10)
    assert [i for i, c in enumerate(shown) if c is not None] == [5, 6, 7, 8, 9]


def test_burned_in_captions_do_not_blink_off_between_close_cues() -> None:
    first, second, later = Cue(0.35, 4.975, ("a",)), Cue(5.015, 8.0, ("b",)), Cue(9.0, 9.5, ("c",))
    shown = cue_per_frame([first, second, later], 300, 30)
    assert shown[149] is first and shown[150] is first and shown[151] is second
    assert shown[239] is second and shown[240] is None and shown[270] is later
