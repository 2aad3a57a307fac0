"""A scene clip: camera motion over a still, the crossfade from the previous shot, burned-in captions.

Frames are made directly in yuv420p (the still is converted once, then each plane is moved; see yuv.py)
and piped as raw video to one ffmpeg that encodes them at the final settings; a writer thread feeds the
pipe while the next frame is made, so numpy/OpenCV work overlaps x264 on the other core.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from nexus_core.media.caption_render import SubtitlePatch, SubtitleRenderer
from nexus_core.media.ffmpeg_args import build_clip_encode_args
from nexus_core.media.motion import camera_transform, frame_progress
from nexus_core.media.presets import EncoderPreset
from nexus_core.media.runner import FfmpegStdin
from nexus_core.media.subtitles import Cue, highlighted_word
from nexus_core.media.yuv import I420Planes, StillPlanes, i420_scratch, new_i420, rgb_to_i420, warp_i420
from nexus_core.models import CameraAngle

POOL_FRAMES = 4  # frame buffers in flight between the producer and the writer thread
BRIDGE_S = 0.2  # burned-in captions close gaps shorter than this instead of blinking off for a frame


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
    """The cue shown on each frame (frame i is at i / fps; a cue covers [start_s, end_s)).

    A gap shorter than BRIDGE_S between two cues is closed, so captions switch without a blank flicker.
    """
    shown: list[Cue | None] = [None] * frame_count
    ordered = sorted(cues, key=lambda c: c.start_s)
    for index, cue in enumerate(ordered):
        end_s = cue.end_s
        if index + 1 < len(ordered) and 0 <= ordered[index + 1].start_s - end_s < BRIDGE_S:
            end_s = ordered[index + 1].start_s
        first = max(0, math.ceil(cue.start_s * fps - 1e-9))
        last = min(frame_count, math.ceil(end_s * fps - 1e-9))
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


class SceneFrames:
    """Makes one scene clip's frames in yuv420p: camera motion, the crossfade in, burned-in captions."""

    def __init__(
        self,
        *,
        still: np.ndarray,
        camera_angle: CameraAngle,
        frame_count: int,
        fps: int,
        size: tuple[int, int],
        cues: Sequence[Cue] = (),
        seed: int = 0,
        previous: PreviousShot | None = None,
        transition_frames: int = 0,
        karaoke: bool = False,
    ) -> None:
        width, height = size
        if width % 2 or height % 2:
            raise ValueError(f"yuv420p needs an even frame size, got {width}x{height}")
        if frame_count < 1:
            raise ValueError(f"frame_count must be at least 1, got {frame_count}")
        _check_still(still, size, "still")
        self.size, self.frame_count, self.seed, self.camera_angle = size, frame_count, seed, camera_angle
        self.previous = previous if previous is not None and transition_frames > 0 else None
        self.fade = min(transition_frames, frame_count) if self.previous is not None else 0
        self.source = StillPlanes.from_rgb(still)
        self.prior: StillPlanes | None = None
        if self.previous is not None:
            _check_still(self.previous.still, size, "previous.still")
            self.prior = StillPlanes.from_rgb(self.previous.still)
        self.fading = new_i420(width, height)
        self.zoom_scratch: I420Planes | None = i420_scratch(width, height)
        self.shown = cue_per_frame(cues, frame_count, fps)
        self.fps, self.karaoke = fps, karaoke
        self.renderer = SubtitleRenderer.for_cues(width, height, cues)
        self.overlays: dict[tuple[tuple[str, ...], int | None], I420Overlay] = {}

    def render(self, index: int, out: np.ndarray) -> None:
        """Write frame `index` into `out`, a (h * 3 / 2, w) uint8 yuv420p buffer."""
        frame = I420Planes.of(out)
        progress = frame_progress(index, self.frame_count)
        matrix = camera_transform(self.camera_angle, progress, self.size, self.seed)
        warp_i420(self.source, matrix, frame, self.zoom_scratch)
        if self.previous is not None and self.prior is not None and index < self.fade:
            shot = self.previous
            progress = frame_progress(shot.frame_count + index, shot.frame_count)  # past 1: it keeps moving
            matrix = camera_transform(shot.camera_angle, progress, self.size, shot.seed)
            warp_i420(self.prior, matrix, I420Planes.of(self.fading), self.zoom_scratch)
            weight = (index + 1) / (self.fade + 1)
            cv2.addWeighted(out, weight, self.fading, 1.0 - weight, 0.0, dst=out)
        cue = self.shown[index]
        if cue is not None:
            word = highlighted_word(cue, index / self.fps) if self.karaoke else None
            overlay = self.overlays.get((cue.lines, word))
            if overlay is None:
                overlay = self.overlays[(cue.lines, word)] = I420Overlay(self.renderer.patch(cue, word))
            overlay.blend(frame)


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
    karaoke: bool = False,
) -> ClipInfo:
    """Encode one scene clip of exactly `frame_count` frames (video only, H.264 at the preset's settings).

    Args:
        still: the scene image, RGB uint8, already at `size` (width, height), both even.
        cues: captions with times relative to the clip's first frame.
        karaoke: colour the word being spoken (cues that carry word start times).
        previous: the shot that keeps moving and fades out over the first `transition_frames` frames.
        progress: called with the share of frames made, in [0, 1].

    Returns:
        The frames, duration and bytes written to `out_path`.
    """
    frames = SceneFrames(
        still=still, camera_angle=camera_angle, frame_count=frame_count, fps=fps, size=size, cues=cues,
        seed=seed, previous=previous, transition_frames=transition_frames, karaoke=karaoke,
    )
    width, height = size
    buffers = [new_i420(width, height) for _ in range(POOL_FRAMES)]
    report_every = max(1, fps // 2)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    args = build_clip_encode_args(width=width, height=height, fps=fps, preset=preset, out_path=out_path)
    pipe = FfmpegStdin(args)
    writer = _Writer(pipe, buffers)
    try:
        for index in range(frame_count):
            slot = writer.take()
            frames.render(index, buffers[slot])
            writer.submit(slot)
            if progress is not None and (index + 1) % report_every == 0:
                progress((index + 1) / frame_count)
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
