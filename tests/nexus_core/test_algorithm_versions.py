"""The code version of a step is part of its input hash; an override replaces it for one run."""

from __future__ import annotations

import pytest

from nexus_core.algorithm_versions import ALGORITHM_VERSIONS, algorithm_version
from nexus_core.hashing import stable_hash
from nexus_core.phases import ASSET_PHASE
from nexus_core.storage_keys import VIDEO_ID_PATTERN, check_video_id, is_video_id, new_video_id


def test_every_versioned_step_is_an_asset_and_an_override_changes_the_hash() -> None:
    assert set(ALGORITHM_VERSIONS) <= set(ASSET_PHASE)
    version = algorithm_version("composited_scenes")
    assert algorithm_version("composited_scenes", {"voiceover": 9}) == version
    bumped = algorithm_version("composited_scenes", {"composited_scenes": version + 1})
    assert stable_hash("clip inputs", bumped) != stable_hash("clip inputs", version)


def test_a_step_without_a_version_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="master"):
        algorithm_version("master")


def test_new_video_ids_match_the_one_pattern() -> None:
    video_id = new_video_id()
    assert is_video_id(video_id) and check_video_id(video_id) == video_id and VIDEO_ID_PATTERN.startswith("^")
    assert not is_video_id("../etc") and not is_video_id(None) and not is_video_id("x" * 65)
