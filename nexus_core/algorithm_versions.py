"""The version of the code behind each step whose work is reused: part of that step's input hash.

A step reuses a stored clip, image or voice line when its input hash matches (nexus_assets.manifests), and
the hash covers the inputs, not the code. Bump the step's number here in the same change that makes the
same inputs come out differently (the modules named beside it); a backfill then makes that work again
instead of reusing what the old code made. `PipelineConfig.algorithm_versions` overrides a number for one
run, to force a re-make without a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ALGORITHM_VERSIONS: Mapping[str, int] = MappingProxyType({
    # resources/image_generator.py, resources/diffusion.py, nexus_core/image_prompts.py,
    # nexus_core/media/illustrations.py, procedural.py
    "scene_images": 3,
    # resources/voice.py, nexus_core/media/phonemes.py
    "voiceover": 2,
    # nexus_core/media/motion.py, compositor.py, caption_render.py, fonts.py, subtitles.py,
    # timeline.py, presets.py (the master codec)
    "composited_scenes": 2,
})


def algorithm_version(step: str, overrides: Mapping[str, int] | None = None) -> int:
    """The version of `step`'s code, or the override given for it; a step with no entry is an error."""
    if overrides and step in overrides:
        return overrides[step]
    if step not in ALGORITHM_VERSIONS:
        raise KeyError(f"no algorithm version for step {step!r}; known: {', '.join(ALGORITHM_VERSIONS)}")
    return ALGORITHM_VERSIONS[step]
