"""Scene-clip compositing + encoding against the static-image floor, same codec, preset and length.

    .venv/bin/python bench/compositor.py [--seconds 20] [--resolution 1080p] [--fps 30] [--quality HD]
                                         [--scenes 1] [--repeat 3] [--still PATH]

The clip is what the compositing phase makes: camera motion over a still, the crossfade from the
previous shot baked into its head, burned-in captions, piped as yuv420p into one ffmpeg. The floor is
ffmpeg encoding the same still, decoded once, for the same length with the same encoder arguments.
Runs alternate (floor, clip, floor, clip, ...) so both see the same machine; best and median are shown.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nexus_core.media.compositor import PreviousShot, render_scene_clip
from nexus_core.media.ffmpeg_args import build_static_floor_args
from nexus_core.media.presets import master_preset
from nexus_core.media.runner import run_ffmpeg
from nexus_core.media.subtitles import cues_for_dialogue
from nexus_core.media.timeline import VOICE_LEAD_S, plan_timeline
from nexus_core.models import Aspect, CameraAngle, Quality, Resolution, frame_size

DIALOGUE = (
    "Black holes form when massive stars collapse under their own gravity. Nothing escapes them, "
    "not even light, yet we have photographed the shadow of one. Their edge is called the event horizon; "
    "beyond it, space and time trade places. Ζωή, жизнь, élan: the captions speak every language."
)
ANGLES = (CameraAngle.WIDE, CameraAngle.MEDIUM, CameraAngle.CLOSE_UP, CameraAngle.AERIAL,
          CameraAngle.TRACKING, CameraAngle.LOW_ANGLE)


def _fractal(width: int, height: int, channels: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    acc = np.zeros((height, width, channels), np.float32)
    amp, cells = 1.0, 4
    while cells <= width:
        grid = rng.normal(0, 1, (max(2, cells * height // width), cells, channels)).astype(np.float32)
        smooth = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        acc += amp * smooth.reshape(height, width, -1)
        amp, cells = amp * decay, cells * 2
    return (acc - acc.mean()) / acc.std()


def make_still(width: int, height: int, seed: int) -> np.ndarray:
    """A photo-like test image: 1/f texture, a sky-to-ground gradient, hard-edged shapes, light grain."""
    rng = np.random.default_rng(seed)
    lum = _fractal(width, height, 1, 0.75, rng)
    colour = _fractal(width, height, 3, 0.5, rng)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    base = np.array([90, 130, 170], np.float32) * (1 - y) + np.array([150, 110, 60], np.float32) * y
    img = np.clip(base + 35 * lum + 25 * colour, 0, 255).astype(np.uint8)
    for _ in range(25):
        c = tuple(int(v) for v in rng.integers(0, 255, 3))
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            cv2.circle(img, (x0, y0), int(rng.integers(10, height // 6)), c, -1, cv2.LINE_AA)
        else:
            x1, y1 = x0 + int(rng.integers(10, width // 5)), y0 + int(rng.integers(10, height // 5))
            cv2.rectangle(img, (x0, y0), (x1, y1), c, -1, cv2.LINE_AA)
    detail = 8 * lum * _fractal(width, height, 1, 0.9, rng) + rng.normal(0, 1.5, img.shape).astype(np.float32)
    return np.clip(img.astype(np.float32) + detail, 0, 255).astype(np.uint8)


def _timed(fn: Callable[[], None]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of this process, CPU seconds of its children: ffmpeg) for one call."""

    def cpu(who: int) -> float:
        usage = resource.getrusage(who)
        return usage.ru_utime + usage.ru_stime

    own, children, started = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    fn()
    wall = time.perf_counter() - started
    return wall, cpu(resource.RUSAGE_SELF) - own, cpu(resource.RUSAGE_CHILDREN) - children


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--resolution", default="1080p", choices=[r.value for r in Resolution])
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--quality", default="HD", choices=[q.value for q in Quality])
    parser.add_argument("--scenes", type=int, default=1, help="split the length into this many scene clips")
    parser.add_argument("--workers", type=int, default=2, help="clips made at once, as the pipeline does")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--still", type=Path, action="append", default=[],
                        help="an image to use instead of the generated ones (repeat for several scenes)")
    args = parser.parse_args()

    size = frame_size(Resolution(args.resolution), Aspect.LANDSCAPE)
    width, height = size
    preset = master_preset(Quality(args.quality))
    stills = [make_still(width, height, seed) for seed in range(args.scenes + 1)]
    for index, path in enumerate(args.still):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            parser.error(f"cannot read {path}")
        stills[index % len(stills)] = cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_AREA),
                                                   cv2.COLOR_BGR2RGB)
    slots = plan_timeline([args.seconds / args.scenes] * args.scenes, args.fps)

    with tempfile.TemporaryDirectory(prefix="bench-compositor-") as tmp:
        work = Path(tmp)
        still_png = work / "still.png"
        cv2.imwrite(str(still_png), cv2.cvtColor(stills[0], cv2.COLOR_RGB2BGR))
        outputs: dict[str, int] = {}

        def floor() -> None:
            out = work / "floor.mp4"
            run_ffmpeg(build_static_floor_args(still_png, args.seconds, args.fps, preset, out))
            outputs["floor"] = out.stat().st_size

        def clip(index: int) -> int:
            slot = slots[index]
            voice_s = max(0.5, slot.duration_s - VOICE_LEAD_S - 0.4)
            angle, prev_angle = ANGLES[index % len(ANGLES)], ANGLES[(index - 1) % len(ANGLES)]
            previous = PreviousShot(stills[index - 1], prev_angle, slot.frame_count, seed=99)
            info = render_scene_clip(
                still=stills[index], camera_angle=angle, frame_count=slot.frame_count, fps=args.fps,
                size=size, preset=preset, out_path=work / f"clip_{index}.mp4",
                cues=cues_for_dialogue(DIALOGUE, start_s=VOICE_LEAD_S, duration_s=voice_s), seed=index,
                previous=previous, transition_frames=slot.transition_frames,
            )
            return info.size_bytes

        def clips() -> None:
            with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
                outputs["clip"] = sum(pool.map(clip, range(len(slots))))

        runs: dict[str, list[tuple[float, float, float]]] = {"floor": [], "clip": []}
        for _ in range(args.repeat):
            runs["floor"].append(_timed(floor))
            runs["clip"].append(_timed(clips))

    frames = sum(s.frame_count for s in slots)
    best = {k: min(r[0] for r in v) for k, v in runs.items()}
    median = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
    cpu = {k: min(r[1] + r[2] for r in v) for k, v in runs.items()}
    own = min(r[1] for r in runs["clip"])
    codec = f"{preset.codec} {preset.preset} crf {preset.crf}"
    print(f"{args.seconds:g} s {width}x{height} @ {args.fps} fps, {args.quality} ({codec}), "
          f"{args.scenes} clip(s) by {args.workers} worker(s), {frames} frames, {os.cpu_count()} cores, "
          f"best of {args.repeat}, load average {os.getloadavg()[0]:.1f}")
    for name in ("floor", "clip"):
        print(f"  {name:<5} {best[name]:6.2f} s  {frames / best[name]:6.1f} fps  "
              f"(median {median[name]:.2f} s, cpu {cpu[name]:.2f} s, {outputs[name] / 1e6:.1f} MB)")
    print(f"  clip cpu: {own:.2f} s making frames (this process), {cpu['clip'] - own:.2f} s in ffmpeg")
    ratios = (best["clip"] / best["floor"], median["clip"] / median["floor"], cpu["clip"] / cpu["floor"])
    print(f"  ratio clip/floor: {ratios[0]:.2f}x best, {ratios[1]:.2f}x median, {ratios[2]:.2f}x cpu  "
          "(aim: <= 2.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
