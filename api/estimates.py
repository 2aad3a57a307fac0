"""How long a request is expected to take: fitted to the recent COMPLETED videos in the catalog.

Generation time grows with the video's length on top of a fixed start-up cost (the Dagster run, the
script), so the estimate is `fixed + per_second x duration`, fitted by least squares to the latest runs
(of the same resolution when there are enough of them), with measured defaults before there are any.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select

from nexus_core.catalog.tables import videos
from nexus_core.models import Resolution, VideoStatus

# Measured on a shared 2-core machine with the local pipeline (template script, espeak-ng, ffmpeg; `nexus
# generate`, 360p STANDARD, no music): 5 s of video took 20.6 s, 30 s took 46.0 s.
DEFAULT_FIXED_S = 15.0
DEFAULT_PER_VIDEO_SECOND_S = 1.0
SAMPLE = 50
MIN_SAMPLES = 3

_RECENT = (
    select(videos.c.request, videos.c.started_at, videos.c.completed_at)
    .where(videos.c.status == VideoStatus.COMPLETED.value, videos.c.started_at.is_not(None),
           videos.c.completed_at.is_not(None))
    .order_by(videos.c.created_at.desc())
    .limit(bindparam("limit"))
)
_QUEUED = select(func.count()).select_from(videos).where(videos.c.status == VideoStatus.QUEUED.value)


@dataclass(frozen=True)
class GenerationEstimate:
    seconds: float
    basis: str  # "recent" (fitted to `samples` runs) or "default" (no runs to learn from yet)
    samples: int
    queue_ahead: int


@dataclass(frozen=True)
class Run:
    """One finished run: the video's length, its resolution and how long it took, in seconds."""

    duration_s: float
    resolution: str
    took_s: float


def fit(runs: Sequence[Run]) -> tuple[float, float]:
    """(fixed seconds, seconds per second of video) by least squares, both kept non-negative.

    With a single distinct length there is no slope to fit: the median time per second of video, no fixed part.
    """
    xs = [r.duration_s for r in runs]
    ys = [r.took_s for r in runs]
    if len(set(xs)) < 2:
        return 0.0, statistics.median(y / x for x, y in zip(xs, ys, strict=True))
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
    slope = max(0.0, slope)
    fixed = max(0.0, mean_y - slope * mean_x)
    return fixed, slope


def predict(runs: Sequence[Run], *, duration_s: int, resolution: Resolution) -> tuple[float, str, int]:
    """(seconds, basis, samples) for a request of this length and resolution, from these runs."""
    same = [r for r in runs if r.resolution == resolution.value]
    usable = same if len(same) >= MIN_SAMPLES else list(runs)
    if len(usable) < MIN_SAMPLES:
        return DEFAULT_FIXED_S + DEFAULT_PER_VIDEO_SECOND_S * duration_s, "default", 0
    fixed, per_second = fit(usable)
    return fixed + per_second * duration_s, "recent", len(usable)


def recent_runs(session: Connection, *, limit: int = SAMPLE) -> list[Run]:
    """The latest COMPLETED runs (everyone's: they share the pipeline)."""
    out: list[Run] = []
    for row in session.execute(_RECENT, {"limit": limit}):
        request = row.request or {}
        duration = request.get("duration_seconds")
        took = (row.completed_at - row.started_at).total_seconds()
        if isinstance(duration, int | float) and duration > 0 and took > 0:
            out.append(Run(float(duration), str(request.get("resolution", "")), took))
    return out


def expected_generation(session: Connection, *, duration_s: int, resolution: Resolution) -> GenerationEstimate:
    """How long the pipeline is expected to take, and how many videos wait ahead in the queue."""
    seconds, basis, samples = predict(recent_runs(session), duration_s=duration_s, resolution=resolution)
    queued = int(session.scalar(_QUEUED) or 0)
    return GenerationEstimate(seconds=round(seconds, 1), basis=basis, samples=samples, queue_ahead=queued)
