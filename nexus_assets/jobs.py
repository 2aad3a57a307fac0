"""Jobs: the whole video, and the selection used by backfills (a phase and everything downstream)."""

from __future__ import annotations

import dagster as dg

from nexus_assets.phases import PHASE_ASSETS

MAKE_VIDEO_JOB = "make_video"

make_video = dg.define_asset_job(
    MAKE_VIDEO_JOB,
    selection=dg.AssetSelection.groups(*PHASE_ASSETS),
    description="All six phases for one video (one partition).",
)


def phase_and_downstream(phase: str) -> dg.AssetSelection:
    """The assets of a phase plus everything downstream of them."""
    if phase not in PHASE_ASSETS:
        raise ValueError(f"unknown phase {phase!r}: choose one of {', '.join(PHASE_ASSETS)}")
    return dg.AssetSelection.assets(*PHASE_ASSETS[phase]).downstream()
