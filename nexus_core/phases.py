"""The six phases of a video and the assets in each, in order: the one home of these names."""

from __future__ import annotations

PHASE_ASSETS: dict[str, tuple[str, ...]] = {
    "script": ("scenario",),
    "assets": ("scene_images", "voiceover", "music_bed"),
    "compositing": ("composited_scenes",),
    "rendering": ("master",),
    "encoding": ("renditions",),
    "finalization": ("published_video",),
}
PHASES: tuple[str, ...] = tuple(PHASE_ASSETS)
ASSET_PHASE: dict[str, str] = {asset: phase for phase, assets in PHASE_ASSETS.items() for asset in assets}
