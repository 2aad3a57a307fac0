"""Typed phase manifests: they read the JSON already in stores, write it back unchanged, and reuse earlier
entries by input hash only when their file is still stored and no stand-by provider made them."""

from __future__ import annotations

import json
from typing import Any

from nexus_core.manifests import (
    ClipEntry,
    ClipsManifest,
    ImageEntry,
    ImagesManifest,
    MasterManifest,
    MusicManifest,
    RenditionsManifest,
    Reuse,
    VoiceEntry,
    VoiceManifest,
)

# manifests exactly as the phases wrote them before they had types (copied from a store)
OLD_IMAGES = {
    "items": [{"scene_number": 1, "key": "videos/v1/assets/images/scene_001.png", "bytes": 81234,
               "sha256": "ab" * 32, "input_hash": "0123456789abcdef", "seed": 42, "illustrations": ["bee"]}],
    "credits": ["Bee illustration: CC0"],
}
OLD_VOICE = {
    "items": [
        {"scene_number": 1, "key": "videos/v1/assets/voice/scene_001.wav", "bytes": 96044,
         "input_hash": "1111111111111111", "duration_s": 2.5,
         "words": [{"word": "Bees", "start_s": 0.0, "end_s": 0.4}],
         "phrases": [{"text": "Bees dance.", "start_s": 0.0, "end_s": 0.9,
                      "words": [{"word": "Bees", "start_s": 0.0, "end_s": 0.4}]}],
         "speed": 1.0, "spoken_text": None, "provider": "espeak-ng:en"},
        {"scene_number": 2, "key": "videos/v1/assets/voice/scene_002.wav", "bytes": 50000,
         "input_hash": "2222222222222222", "duration_s": 1.5, "words": [], "phrases": [], "speed": 1.05,
         "spoken_text": "Short.", "provider": "espeak-ng (fallback from elevenlabs:v2/abc: HTTP 503)"},
    ]
}
OLD_CLIPS = {
    "items": [{"scene_number": 1, "key": "videos/v1/compositing/scene_001.mp4", "input_hash": "3333333333333333",
               "frames": 120, "bytes": 400000, "start_s": 0.0, "voice_start_s": 0.35,
               "cues": [{"start_s": 0.35, "end_s": 1.2, "lines": ["Bees dance."]}]}]
}
OLD_MUSIC = {"style": "calm", "key": "videos/v1/assets/music/bed.wav", "duration_s": 10.0, "bytes": 1764044,
             "seed": 7}
OLD_MASTER = {"key": "videos/v1/rendering/master.mp4", "duration_s": 10.0, "bytes": 900000,
              "loudness_lufs": -16.1, "true_peak_dbtp": -1.5}
OLD_ENCODING = {
    "items": [{"name": "h264", "key": "videos/v1/encoding/h264.mp4", "codec": "h264", "encoder": "libx264",
               "bytes": 800000, "duration_s": 10.0, "crf": 23, "preset": "medium", "copied": True}],
    "captions": {"srt": "videos/v1/encoding/captions.srt", "vtt": "videos/v1/encoding/captions.vtt"},
    "credits": ["Voice: espeak-ng:en"],
}


def _json(data: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(data)))


def test_old_manifests_are_read_and_written_back_with_the_same_fields() -> None:
    for model, old in ((ImagesManifest, OLD_IMAGES), (ClipsManifest, OLD_CLIPS), (MusicManifest, OLD_MUSIC),
                       (MasterManifest, OLD_MASTER), (RenditionsManifest, OLD_ENCODING)):
        assert _json(model.model_validate(old).to_json()) == old, model
    # voice entries gain the `fallback` flag, read from the provider label of manifests written before it
    voice = VoiceManifest.model_validate(OLD_VOICE)
    assert [e.fallback for e in voice.items] == [False, True]
    flags = (False, True)
    assert voice.to_json() == {"items": [{**e, "fallback": f} for e, f in zip(OLD_VOICE["items"], flags, strict=True)]}


def test_typed_fields_of_an_old_manifest() -> None:
    images = ImagesManifest.model_validate(OLD_IMAGES).by_scene()
    assert images[1].sha256 == "ab" * 32 and images[1].illustrations == ["bee"]
    voice = VoiceManifest.model_validate(OLD_VOICE).items[0]
    assert voice.phrases[0].words[0].word == "Bees" and voice.spoken_text is None
    clip = ClipsManifest.model_validate(OLD_CLIPS).items[0]
    assert (clip.frames, clip.cues[0].lines, clip.voice_start_s) == (120, ["Bees dance."], 0.35)


def test_a_music_manifest_without_a_bed_keeps_its_null_key() -> None:
    none = MusicManifest(style="none", duration_s=12.0)
    assert none.to_json() == {"style": "none", "key": None, "duration_s": 12.0}
    assert MusicManifest.from_json(none.to_json()) == none


def test_round_trip_keeps_unknown_fields_and_drops_the_run_only_reused_flag() -> None:
    entry = ImageEntry(scene_number=3, key="k", bytes=1, sha256="s", input_hash="h").model_copy(
        update={"reused": True})
    manifest = ImagesManifest(items=[entry], credits=[])
    data = manifest.to_json()
    assert "reused" not in data["items"][0] and data["credits"] == []
    assert ImagesManifest.from_json(data).items[0].reused is False
    newer = {**OLD_CLIPS["items"][0], "added_later": {"x": 1}}
    assert ClipEntry.from_json(newer).to_json()["added_later"] == {"x": 1}
    assert "credits" not in VoiceManifest(items=[]).to_json()  # a phase without credits writes none


def _voice(n: int, input_hash: str, *, provider: str = "espeak-ng:en", fallback: bool = False) -> VoiceEntry:
    return VoiceEntry(scene_number=n, key=f"voice/{n}.wav", bytes=10, input_hash=input_hash, duration_s=1.0,
                      provider=provider, fallback=fallback)


def test_reuse_takes_the_entry_whose_input_hash_matches_and_marks_it_reused() -> None:
    reuse = Reuse([_voice(1, "a"), _voice(2, "b")], exists=lambda key: True)
    taken = reuse.take("b")
    assert taken is not None and taken.scene_number == 2 and taken.reused
    assert reuse.take("c") is None
    made = _voice(3, "c")
    assert reuse.or_make("c", lambda: made) is made
    assert reuse.or_make("a", lambda: made).scene_number == 1


def test_reuse_skips_missing_files_fallbacks_and_entries_without_a_hash() -> None:
    stored = {"voice/1.wav", "voice/2.wav", "voice/3.wav"}
    previous = [
        _voice(1, "a", fallback=True),  # a stand-by voice made it: try the real one again
        _voice(2, "b"),
        _voice(3, ""),  # no input hash: never reused
        _voice(4, "d"),  # its file is gone from the store
    ]
    reuse = Reuse(previous, exists=stored.__contains__)
    assert len(reuse) == 1 and reuse.take("b") is not None
    assert all(reuse.take(h) is None for h in ("a", "", "d"))
    old = VoiceManifest.model_validate(OLD_VOICE).items  # the fallback of an old manifest is seen too
    assert Reuse(old, exists=lambda key: True).take("2222222222222222") is None


def test_a_music_manifest_says_who_made_its_bed() -> None:
    bed = MusicManifest(style="calm", key="k", duration_s=10.0, bytes=1, seed=7,
                        provider="synth (fallback from elevenlabs-music:music_v1: HTTP 503)", fallback=True)
    assert bed.to_json()["provider"].startswith("synth (fallback") and bed.to_json()["fallback"] is True
    assert MusicManifest.from_json(bed.to_json()) == bed
