"""The scene rules the assets apply: the voice time budget, the clip spec and its input hash, the cues, and
the published names and order."""

from __future__ import annotations

from pathlib import Path

from nexus_core import storage_keys as keys
from nexus_core.hashing import stable_hash
from nexus_core.manifests import ImageEntry, VoiceEntry
from nexus_core.media.presets import master_preset
from nexus_core.media.timeline import VOICE_LEAD_S, plan_timeline
from nexus_core.models import CameraAngle, CaptionStyle, Scenario, Scene, VideoRequest, WordTiming
from nexus_core.publishing import caption_content_type, publish_order, publish_plan, published_name
from nexus_core.scene_specs import (
    MIN_VOICE_S,
    VOICE_TAIL_S,
    clip_specs,
    cue_entry,
    phrase_chars,
    voice_budget_s,
    voice_input_hash,
)

REQUEST = VideoRequest(prompt="bees", duration_seconds=10)
SCENES = [
    Scene(scene_number=1, duration_seconds=4.0, dialogue="Bees dance to talk.", description="a hive",
          visual_elements=["hive"], camera_angle=CameraAngle.CLOSE_UP),
    Scene(scene_number=2, duration_seconds=6.0, dialogue="They point to flowers.", description="flowers",
          visual_elements=["flowers"], camera_angle=CameraAngle.WIDE),
]
SCENARIO = Scenario(title="Bees", scenes=SCENES)


def test_voice_budget_leaves_the_lead_in_and_tail_and_never_drops_below_the_minimum() -> None:
    assert voice_budget_s(SCENES[0]) == 4.0 - VOICE_LEAD_S - VOICE_TAIL_S
    short = SCENES[0].model_copy(update={"duration_seconds": 0.6})
    assert voice_budget_s(short) == MIN_VOICE_S


def test_voice_hash_follows_the_line_and_the_code_version() -> None:
    base = voice_input_hash(SCENES[0], REQUEST, "espeak-ng", 1)
    assert base == voice_input_hash(SCENES[0], REQUEST, "espeak-ng", 1)
    assert base == stable_hash(SCENES[0].dialogue, REQUEST.language, REQUEST.voice, "espeak-ng",
                               voice_budget_s(SCENES[0]), phrase_chars(REQUEST), 1)  # the hash stored work has
    assert base != voice_input_hash(SCENES[0], REQUEST, "espeak-ng", 2)
    assert base != voice_input_hash(SCENES[1], REQUEST, "espeak-ng", 1)


def _inputs() -> tuple[dict[int, ImageEntry], dict[int, VoiceEntry]]:
    images = {n: ImageEntry(scene_number=n, key=keys.scene_image("v1", n), bytes=1, sha256=f"sha{n}")
              for n in (1, 2)}
    voices = {
        1: VoiceEntry(scene_number=1, key="k1", bytes=1, duration_s=1.5,
                      words=[WordTiming(word=w, start_s=i * 0.3, end_s=i * 0.3 + 0.25)
                             for i, w in enumerate(["Bees", "dance", "to", "talk."])]),
        2: VoiceEntry(scene_number=2, key="k2", bytes=1, duration_s=2.0),
    }
    return images, voices


def test_clip_specs_chain_each_scene_to_the_previous_one_and_hash_their_inputs() -> None:
    images, voices = _inputs()
    slots = plan_timeline([s.duration_seconds for s in SCENES], REQUEST.frame_rate)
    specs = clip_specs(video_id="v1", request=REQUEST, scenario=SCENARIO, slots=slots, images=images,
                       voices=voices, version=1)
    first, second = specs
    assert first.previous is None and first.transition_frames == 0
    assert second.previous is not None and second.previous.image_sha256 == "sha1"
    assert second.transition_frames == slots[1].transition_frames and second.start_s == slots[1].start_s
    assert first.cues and first.cues[0].start_s >= VOICE_LEAD_S  # captions follow the voice's words
    assert first.timeline_cues() == [cue_entry(c) for c in first.cues]  # scene 1 starts at 0
    # the hash is the one stored clips were made with: same parts, same order
    assert second.input_hash == stable_hash(
        "sha2", "sha1", SCENES[1].camera_angle, SCENES[0].camera_angle, [cue_entry(c).to_json() for c in second.cues],
        slots[1].frame_count, slots[0].frame_count, slots[1].transition_frames, REQUEST.frame_rate, REQUEST.size,
        master_preset(REQUEST.quality), REQUEST.caption_style, REQUEST.language, 1,
    )
    again = clip_specs(video_id="v1", request=REQUEST, scenario=SCENARIO, slots=slots, images=images,
                       voices=voices, version=2)
    assert again[0].input_hash != first.input_hash  # a new code version renders again
    images[1] = images[1].model_copy(update={"sha256": "redrawn"})
    redrawn = clip_specs(video_id="v1", request=REQUEST, scenario=SCENARIO, slots=slots, images=images,
                         voices=voices, version=1)
    assert [s.input_hash != o.input_hash for s, o in zip(redrawn, specs, strict=True)] == [True, True]


def test_captions_off_burn_nothing_but_keep_the_cues() -> None:
    images, voices = _inputs()
    request = REQUEST.model_copy(update={"caption_style": CaptionStyle.NONE})
    slots = plan_timeline([s.duration_seconds for s in SCENES], request.frame_rate)
    spec = clip_specs(video_id="v1", request=request, scenario=SCENARIO, slots=slots, images=images,
                      voices=voices, version=1)[0]
    assert spec.cues and spec.burned_cues == [] and not spec.karaoke


def test_published_names_content_types_and_order() -> None:
    assert (published_name("h264"), published_name("h265")) == ("video.mp4", "video.h265.mp4")
    assert (caption_content_type("vtt"), caption_content_type("srt")) == ("text/vtt", "text/plain")
    plan = publish_plan(
        "v1", thumbnails=[(keys.thumbnail("v1", 0), Path("t0.jpg"))], poster=(keys.poster("v1"), Path("p.jpg")),
        credits=Path("credits.txt"), captions={"srt": keys.captions("v1", "srt"), "vtt": keys.captions("v1", "vtt")},
        renditions=[("h264", keys.rendition("v1", "h264")), ("h265", keys.rendition("v1", "h265"))],
    )
    ordered = [item.artifact for item in publish_order([item for item, _ in plan])]
    assert ordered[-2:] == ["video_h265", "video_h264"]  # video.mp4 last: a reader that sees it sees all
    assert set(ordered) == {"thumbnail_0", "poster", "credits", "captions_srt", "captions_vtt", "video_h264",
                            "video_h265"}
    sources = {item.key: source for item, source in plan}
    assert sources[keys.published("v1", "video.mp4")] == keys.rendition("v1", "h264")
    assert sources[keys.published("v1", "captions.vtt")] == keys.captions("v1", "vtt")
