"""The object-store key scheme: videos/{video_id}/{store folder}/..., and what a video id may be."""

from __future__ import annotations

import re

import pytest

from nexus_core import storage_keys as keys

VID = "3f9c2a71b04e4d58"


def test_new_video_ids_are_16_hex_digits_and_valid() -> None:
    made = {keys.new_video_id() for _ in range(200)}
    assert len(made) == 200
    assert all(re.fullmatch(r"[0-9a-f]{16}", v) and keys.is_video_id(v) for v in made)


@pytest.mark.parametrize("value", ["a", "A-1_b", "x" * 64, VID])
def test_valid_video_ids(value: str) -> None:
    assert keys.is_video_id(value) and keys.check_video_id(value) == value


@pytest.mark.parametrize("value", ["", "-a", "_a", "x" * 65, "a/b", "../etc", "a b", "é", "a\n", "a.b"])
def test_ids_unsafe_as_a_partition_key_or_path_segment_are_refused(value: str) -> None:
    assert not keys.is_video_id(value)
    with pytest.raises(ValueError, match="invalid video id"):
        keys.check_video_id(value)


@pytest.mark.parametrize("value", [None, 42, b"abc"])
def test_non_strings_are_not_video_ids(value: object) -> None:
    assert not keys.is_video_id(value)


def test_every_key_lives_under_the_videos_prefix() -> None:
    assert keys.video_prefix(VID) == f"videos/{VID}/"
    assert keys.scenario(VID) == f"videos/{VID}/script/scenario.json"
    assert keys.scene_image(VID, 1) == f"videos/{VID}/assets/images/scene_001.png"
    assert keys.voice_clip(VID, 12) == f"videos/{VID}/assets/voice/scene_012.wav"
    assert keys.music_bed(VID) == f"videos/{VID}/assets/music/bed.wav"
    assert keys.scene_clip(VID, 3) == f"videos/{VID}/compositing/scene_003.mp4"
    assert keys.master(VID) == f"videos/{VID}/rendering/master.mp4"
    assert keys.master_audio(VID) == f"videos/{VID}/rendering/mix.m4a"
    assert keys.rendition(VID, "h264") == f"videos/{VID}/encoding/h264.mp4"
    assert keys.captions(VID, "vtt") == f"videos/{VID}/encoding/captions.vtt"
    assert keys.published(VID, "video.mp4") == f"videos/{VID}/video.mp4"
    assert keys.thumbnail(VID, 2) == f"videos/{VID}/thumbnails/thumb_2.jpg"
    assert keys.poster(VID) == f"videos/{VID}/thumbnails/poster.jpg"


def test_each_store_folder_has_its_manifest() -> None:
    for folder in (keys.SCRIPT, keys.IMAGES, keys.VOICE, keys.MUSIC, keys.COMPOSITING):
        assert keys.manifest(VID, folder) == f"videos/{VID}/{folder}/manifest.json"


def test_scene_numbers_sort_as_text_up_to_999() -> None:
    names = [keys.scene_image(VID, n) for n in (1, 2, 10, 100, 999)]
    assert names == sorted(names)


def test_a_key_for_a_bad_id_is_refused_not_built() -> None:
    with pytest.raises(ValueError, match="invalid video id"):
        keys.master("../../etc")
