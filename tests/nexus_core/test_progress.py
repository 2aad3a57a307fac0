"""The overall percent: weighted by asset, whole numbers, never going down, with the phase's own and time left."""

from __future__ import annotations

from nexus_core.models import VideoStatus
from nexus_core.phases import ASSET_PHASE, PHASE_ASSETS
from nexus_core.progress import ASSET_WEIGHTS, OverallProgress, overall_progress

P = VideoStatus.PROCESSING


def test_every_asset_has_a_weight_and_they_sum_to_100() -> None:
    assert set(ASSET_WEIGHTS) == set(ASSET_PHASE)
    assert sum(ASSET_WEIGHTS.values()) == 100


def _walk() -> list[tuple[VideoStatus, str | None, float, list[str]]]:
    """The catalog rows a run goes through: each asset starts at 0, reports, finishes at 100 (as phase_run does)."""
    rows: list[tuple[VideoStatus, str | None, float, list[str]]] = [(VideoStatus.QUEUED, None, 0.0, [])]
    done: list[str] = []
    for phase, assets in PHASE_ASSETS.items():
        for asset in assets:
            for percent in (0.0, 33.333333333, 50.42666500000001, 99.9):
                rows.append((P, phase, percent, list(done)))
            done.append(asset)
            rows.append((P, phase, 100.0, list(done)))
    rows.append((VideoStatus.COMPLETED, "finalization", 100.0, list(done)))
    return rows


def test_a_run_only_grows_in_whole_numbers_to_100() -> None:
    previous: OverallProgress | None = None
    seen = []
    for status, phase, percent, done in _walk():
        previous = overall_progress(status=status, phase=phase, asset_percent=percent, finished_assets=done,
                                    elapsed_s=10.0, previous=previous)
        assert isinstance(previous.percent, int) and isinstance(previous.phase_percent, int)
        assert 0 <= previous.phase_percent <= 100
        seen.append(previous.percent)
    assert seen == sorted(seen)
    assert seen[0] == 0 and seen[-1] == 100 and 100 not in seen[:-1]


def test_the_assets_phase_does_not_go_back_when_its_next_asset_starts() -> None:
    """The bug: scene_images at 100, then voiceover at 0, read 100 -> 0 as a per-phase percent."""
    done = ["scenario", "scene_images"]
    first = overall_progress(status=P, phase="assets", asset_percent=100.0, finished_assets=done, elapsed_s=5.0)
    second = overall_progress(status=P, phase="assets", asset_percent=0.0, finished_assets=done, elapsed_s=5.5,
                              previous=first)
    assert first.percent == second.percent == 10  # scenario 3 + scene_images 7
    assert first.phase_percent == second.phase_percent == 33  # one of the phase's three assets


def test_never_below_the_previous_value_even_when_the_row_resets() -> None:
    before = OverallProgress(percent=60, phase="compositing", phase_percent=80, eta_s=3)
    after = overall_progress(status=P, phase="script", asset_percent=0.0, finished_assets=[], elapsed_s=1.0,
                             previous=before)
    assert after.percent == 60


def test_time_left_from_the_elapsed_time_once_5_percent_is_done() -> None:
    early = overall_progress(status=P, phase="script", asset_percent=50.0, finished_assets=[], elapsed_s=2.0)
    assert early.eta_s is None  # 1.5 %: too little to tell
    half = overall_progress(status=P, phase="compositing", asset_percent=0.0,
                            finished_assets=["scenario", "scene_images", "voiceover", "music_bed", "master"],
                            elapsed_s=12.0)
    assert half.percent == 40 and half.eta_s == 18  # 12 s for 40 %: 18 s for the other 60
    done = overall_progress(status=VideoStatus.COMPLETED, phase="finalization", asset_percent=100.0,
                            finished_assets=list(ASSET_WEIGHTS), elapsed_s=30.0)
    assert (done.percent, done.phase_percent, done.eta_s) == (100, 100, 0)


def test_a_failed_video_keeps_its_percent() -> None:
    before = OverallProgress(percent=42, phase="compositing", phase_percent=10, eta_s=20)
    failed = overall_progress(status=VideoStatus.FAILED, phase="compositing", asset_percent=10.0,
                              finished_assets=["scenario"], elapsed_s=9.0, previous=before)
    assert (failed.percent, failed.eta_s) == (42, 0)
