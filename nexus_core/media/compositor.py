"""A scene clip: camera motion over a still, the crossfade from the previous shot, burned-in captions.

Frames are made directly in yuv420p (the still is converted once, then each plane is warped) and piped
as raw video to one ffmpeg that encodes them at the final settings, while the next frame is being made.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from nexus_core.media.ffmpeg_args import build_clip_encode_args
from nexus_core.media.motion import camera_transform, frame_progress
from nexus_core.media.presets import EncoderPreset
from nexus_core.media.runner import FfmpegStdin
from nexus_core.media.subtitles import Cue, SubtitlePatch, SubtitleRenderer
from nexus_core.models import CameraAngle

POOL_FRAMES = 4  # frame buffers in flight between the producer and the writer thread

# Full-range RGB -> limited-range BT.709 Y'CbCr, as a 3x4 matrix for cv2.transform (rows Y, Cb, Cr).
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
_BT709 = np.array(
    [
        [219 / 255 * _KR, 219 / 255 * _KG, 219 / 255 * _KB, 16.0],
        [-224 / 255 * _KR / (2 - 2 * _KB), -224 / 255 * _KG / (2 - 2 * _KB), 224 / 255 * 0.5, 128.0],
        [224 / 255 * 0.5, -224 / 255 * _KG / (2 - 2 * _KR), -224 / 255 * _KB / (2 - 2 * _KR), 128.0],
    ],
    dtype=np.float32,
)


@dataclass(frozen=True)
class ClipInfo:
    """What was encoded: frames, seconds and bytes."""

    frame_count: int
    duration_s: float
    size_bytes: int


@dataclass(frozen=True)
class PreviousShot:
    """The shot before this one, which keeps moving under the crossfade at the head of this clip."""

    still: np.ndarray
    camera_angle: CameraAngle
    frame_count: int
    seed: int


@dataclass(frozen=True)
class I420Planes:
    """Views of the Y, U and V planes of one contiguous yuv420p image of shape (h * 3 / 2, w)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @classmethod
    def of(cls, buffer: np.ndarray) -> I420Planes:
        """Plane views into a (h * 3 / 2, w) uint8 buffer."""
        h, w = buffer.shape[0] * 2 // 3, buffer.shape[1]
        chroma = buffer[h:].reshape(2, h // 2, w // 2)
        return cls(buffer[:h], chroma[0], chroma[1])


def rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    """An RGB uint8 image as one contiguous BT.709 limited-range yuv420p buffer (chroma averaged 2x2)."""
    h, w = rgb.shape[:2]
    ycc = cv2.transform(np.ascontiguousarray(rgb), _BT709)
    out = np.empty((h * 3 // 2, w), dtype=np.uint8)
    planes = I420Planes.of(out)
    planes.y[...] = ycc[..., 0]
    cv2.resize(ycc[..., 1], (w // 2, h // 2), dst=planes.u, interpolation=cv2.INTER_AREA)
    cv2.resize(ycc[..., 2], (w // 2, h // 2), dst=planes.v, interpolation=cv2.INTER_AREA)
    return out


def chroma_matrix(matrix: np.ndarray) -> np.ndarray:
    """The luma-plane affine map expressed on the half-size chroma planes (centre-sited samples)."""
    linear, shift = matrix[:, :2], matrix[:, 2]
    out = np.empty_like(matrix)
    out[:, :2] = linear
    out[:, 2] = (linear @ np.array([0.5, 0.5]) + shift - 0.5) / 2.0
    return out


def warp_i420(source: I420Planes, matrix: np.ndarray, out: I420Planes) -> None:
    """Warp each plane of `source` into `out` (same size) with one forward affine map, bilinear."""
    h, w = out.y.shape
    flags, border = cv2.INTER_LINEAR, cv2.BORDER_REPLICATE
    cv2.warpAffine(source.y, matrix, (w, h), dst=out.y, flags=flags, borderMode=border)
    half = chroma_matrix(matrix)
    cv2.warpAffine(source.u, half, (w // 2, h // 2), dst=out.u, flags=flags, borderMode=border)
    cv2.warpAffine(source.v, half, (w // 2, h // 2), dst=out.v, flags=flags, borderMode=border)


class I420Overlay:
    """A caption patch as premultiplied Y/U/V planes plus inverse alpha: two cv2 calls a plane to blend."""

    def __init__(self, patch: SubtitlePatch) -> None:
        self.x, self.y = patch.x, patch.y
        alpha = patch.rgba[..., 3]
        ycc = rgb_to_i420(np.ascontiguousarray(patch.rgba[..., :3]))
        colour = I420Planes.of(ycc)
        h, w = alpha.shape
        alpha_c = cv2.resize(alpha, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        self.layers = []
        for plane, a in ((colour.y, alpha), (colour.u, alpha_c), (colour.v, alpha_c)):
            premultiplied = cv2.multiply(plane, a, scale=1 / 255)
            self.layers.append((premultiplied, cv2.bitwise_not(a)))

    def blend(self, frame: I420Planes) -> None:
        """Blend onto a frame in place, inside the patch's box only."""
        for index, (target, (premultiplied, inverse)) in enumerate(
            zip((frame.y, frame.u, frame.v), self.layers, strict=True)
        ):
            scale = 1 if index == 0 else 2
            x, y = self.x // scale, self.y // scale
            h, w = premultiplied.shape
            roi = target[y : y + h, x : x + w]
            cv2.multiply(roi, inverse, dst=roi, scale=1 / 255)
            cv2.add(roi, premultiplied, dst=roi)


def cue_per_frame(cues: Sequence[Cue], frame_count: int, fps: int) -> list[Cue | None]:
    """The cue shown on each frame (frame i is at i / fps; a cue covers [start_s, end_s))."""
    shown: list[Cue | None] = [None] * frame_count
    for cue in cues:
        first = max(0, int(np.ceil(cue.start_s * fps - 1e-9)))
        last = min(frame_count, int(np.ceil(cue.end_s * fps - 1e-9)))
        for i in range(first, last):
            shown[i] = cue
    return shown


class _Writer:
    """Writes filled frame buffers to ffmpeg from a thread, handing each buffer back once written."""

    def __init__(self, pipe: FfmpegStdin, buffers: list[np.ndarray]) -> None:
        self.pipe, self.buffers = pipe, buffers
        self.free: queue.Queue[int] = queue.Queue()
        self.ready: queue.Queue[int | None] = queue.Queue()
        for index in range(len(buffers)):
            self.free.put(index)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="clip-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (index := self.ready.get()) is not None:
            if self.error is None:
                try:
                    self.pipe.write(self.buffers[index].data)
                except BaseException as exc:
                    self.error = exc
            self.free.put(index)

    def take(self) -> int:
        """A free buffer's index (waits while all are queued for writing)."""
        if self.error is not None:
            raise self.error
        return self.free.get()

    def submit(self, index: int) -> None:
        self.ready.put(index)

    def finish(self) -> None:
        """Wait for every queued frame to be written; raise the write error, if any."""
        self.ready.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


def _check_still(still: np.ndarray, size: tuple[int, int], what: str) -> None:
    width, height = size
    if still.dtype != np.uint8 or still.shape != (height, width, 3):
        raise ValueError(f"{what} must be {height}x{width}x3 uint8 RGB, got {still.shape} {still.dtype}")


def render_scene_clip(
    *,
    still: np.ndarray,
    camera_angle: CameraAngle,
    frame_count: int,
    fps: int,
    size: tuple[int, int],
    preset: EncoderPreset,
    out_path: Path,
    cues: Sequence[Cue] = (),
    seed: int = 0,
    previous: PreviousShot | None = None,
    transition_frames: int = 0,
    progress: Callable[[float], None] | None = None,
) -> ClipInfo:
    """Encode one scene clip of exactly `frame_count` frames (video only, H.264 at the preset's settings).

    Args:
        still: the scene image, RGB uint8, already at `size` (width, height), both even.
        cues: captions with times relative to the clip's first frame.
        previous: the shot that crossfades into this one over the first `transition_frames` frames.

    Returns:
        The frames, duration and bytes written to `out_path`.
    """
    width, height = size
    if width % 2 or height % 2:
        raise ValueError(f"yuv420p needs an even frame size, got {width}x{height}")
    if frame_count < 1:
        raise ValueError(f"frame_count must be at least 1, got {frame_count}")
    _check_still(still, size, "still")
    fade = min(transition_frames, frame_count) if previous is not None else 0
    if previous is not None and fade:
        _check_still(previous.still, size, "previous.still")

    source = I420Planes.of(rgb_to_i420(still))
    prior = I420Planes.of(rgb_to_i420(previous.still)) if previous is not None and fade else None
    renderer = SubtitleRenderer(width, height)
    overlays: dict[tuple[str, ...], I420Overlay] = {}
    shown = cue_per_frame(cues, frame_count, fps)
    buffers = [np.empty((height * 3 // 2, width), dtype=np.uint8) for _ in range(POOL_FRAMES)]
    planes = [I420Planes.of(b) for b in buffers]
    scratch = np.empty_like(buffers[0])
    scratch_planes = I420Planes.of(scratch)
    report_every = max(1, fps // 2)

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    args = build_clip_encode_args(width=width, height=height, fps=fps, preset=preset, out_path=out_path)
    pipe = FfmpegStdin(args)
    writer = _Writer(pipe, buffers)
    try:
        for i in range(frame_count):
            k = writer.take()
            matrix = camera_transform(camera_angle, frame_progress(i, frame_count), size, seed)
            warp_i420(source, matrix, planes[k])
            if prior is not None and previous is not None and i < fade:
                before = camera_transform(
                    previous.camera_angle,
                    frame_progress(previous.frame_count + i, previous.frame_count),
                    size,
                    previous.seed,
                )
                warp_i420(prior, before, scratch_planes)
                weight = (i + 1) / (fade + 1)
                cv2.addWeighted(buffers[k], weight, scratch, 1.0 - weight, 0.0, dst=buffers[k])
            cue = shown[i]
            if cue is not None:
                overlay = overlays.get(cue.lines)
                if overlay is None:
                    overlay = overlays[cue.lines] = I420Overlay(renderer.patch(cue))
                overlay.blend(planes[k])
            writer.submit(k)
            if progress is not None and (i + 1) % report_every == 0:
                progress((i + 1) / frame_count)
        writer.finish()
        pipe.close()
    except BaseException:
        with contextlib.suppress(Exception):
            writer.finish()
        pipe.abort()
        out_path.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(1.0)
    return ClipInfo(frame_count=frame_count, duration_s=frame_count / fps, size_bytes=out_path.stat().st_size)
