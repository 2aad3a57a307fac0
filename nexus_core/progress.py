"""A video's overall progress: one percent for the whole run that only grows, the phase's own, time left.

The catalog keeps the running phase and that asset's percent, and `phase_seconds` names the assets that
finished. Each asset has a weight (its share of a run's time); the overall percent is the weight of the
finished assets plus the running asset's share of its own. Assets of one phase may run in any order (or
together), so the running asset's percent counts for one unfinished asset of that phase at most.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

from nexus_core.models import VideoStatus
from nexus_core.phases import PHASE_ASSETS

# Share of a run's time per asset, in percent (sum 100): measured from the catalog's phase_seconds of a
# 30 s 720p video on 2 cores (scenario 0.2 s, images 1.1, voice 1.2, music 0.7, compositing 9.9,
# master 3.1, renditions 0.3, publishing 0.9), rounded up for the small ones so every phase moves the bar.
ASSET_WEIGHTS: dict[str, int] = {
    "scenario": 3,
    "scene_images": 7,
    "voiceover": 7,
    "music_bed": 3,
    "composited_scenes": 50,
    "master": 20,
    "renditions": 5,
    "published_video": 5,
}
MIN_PERCENT_FOR_ESTIMATE = 5


@dataclass(frozen=True)
class OverallProgress:
    """What a client is told: overall percent (0-100, never smaller than before), phase, its percent, time left."""

    percent: int
    phase: str | None
    phase_percent: int
    eta_s: int | None


def _phase_fraction(phase: str | None, asset_percent: float, finished: Collection[str]) -> tuple[float, float]:
    """(weight done within the phase, the phase's own fraction 0-1) from its finished assets and the running one."""
    assets = PHASE_ASSETS.get(phase or "", ())
    if not assets:
        return 0.0, 0.0
    open_assets = [a for a in assets if a not in finished]
    if not open_assets:
        return 0.0, 1.0
    running = max(0.0, min(100.0, asset_percent)) / 100.0
    if running >= 1.0:  # finish_phase sets 100 for the asset that just finished: it is already counted
        running = 0.0
    weight = running * min(ASSET_WEIGHTS[a] for a in open_assets)
    done = len(assets) - len(open_assets)
    return weight, (done + running) / len(assets)


def overall_progress(
    *,
    status: VideoStatus,
    phase: str | None,
    asset_percent: float,
    finished_assets: Collection[str],
    elapsed_s: float | None,
    previous: OverallProgress | None = None,
) -> OverallProgress:
    """The overall progress of a video from the catalog's row.

    Args:
        status: the video's status; COMPLETED is 100 %, QUEUED is 0 %.
        phase: the running phase (the catalog's `phase`).
        asset_percent: the catalog's `percent`: how far the running asset of that phase is.
        finished_assets: the assets with an entry in `phase_seconds`.
        elapsed_s: seconds since the pipeline started (None before), for the time-left estimate.
        previous: the last value sent to this client: the percent never goes below it.
    Returns:
        Percents rounded to whole numbers; eta_s is None until 5 % is done, 0 once final.
    """
    finished = {a for a in finished_assets if a in ASSET_WEIGHTS}
    if status is VideoStatus.COMPLETED:
        return OverallProgress(percent=100, phase=phase, phase_percent=100, eta_s=0)
    running_weight, phase_fraction = _phase_fraction(phase, asset_percent, finished)
    exact = 0.0 if status is VideoStatus.QUEUED else sum(ASSET_WEIGHTS[a] for a in finished) + running_weight
    percent = min(99, math.floor(exact))  # 100 only when COMPLETED
    if previous is not None:
        percent = max(percent, previous.percent)
    eta: int | None = None
    if status.is_final:
        eta = 0
    elif elapsed_s is not None and exact >= MIN_PERCENT_FOR_ESTIMATE:
        eta = max(0, round(elapsed_s * (100.0 - exact) / exact))
    phase_percent = math.floor(100 * phase_fraction) if status is not VideoStatus.QUEUED else 0
    return OverallProgress(percent=percent, phase=phase, phase_percent=phase_percent, eta_s=eta)
