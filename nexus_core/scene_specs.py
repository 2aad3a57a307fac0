"""What each scene's image, voice line and clip are made from, and the input hash of each: the rules the
`scene_images`, `voiceover` and `composited_scenes` assets apply (the assets only load, call and store).

Change a rule here and the input hashes change with it, so the work is made again; the hashes keep the
order of their parts, so stored work made by the same rules is reused.
"""

from __future__ import annotations

from dataclasses import dataclass

from nexus_core.hashing import stable_hash
from nexus_core.manifests import ClipEntry, CueEntry, ImageEntry, VoiceEntry
from nexus_core.media.caption_render import caption_layout
from nexus_core.media.presets import EncoderPreset, master_preset
from nexus_core.media.subtitles import Cue, cues_for_dialogue, cues_from_phrases, cues_from_words
from nexus_core.media.timeline import VOICE_LEAD_S, SceneSlot
from nexus_core.models import CameraAngle, CaptionStyle, Language, Scenario, Scene, VideoRequest

VOICE_TAIL_S = 0.25  # silence after a scene's voice, before the next scene's crossfade
MIN_VOICE_S = 0.5  # the shortest budget a line gets, however short its scene


# --- images -----------------------------------------------------------------------------------------------

def image_input_hash(scene: Scene, request: VideoRequest, provider: str, video_id: str, version: int) -> str:
    """What a scene's image is drawn from: the scene, the frame size, the generator, the video (its seed)."""
    return stable_hash(scene, request.size, provider, video_id, version)


# --- voice ------------------------------------------------------------------------------------------------

def voice_budget_s(scene: Scene) -> float:
    """The longest a scene's line may be spoken: its scene less the lead-in and the tail, at least 0.5 s."""
    return max(MIN_VOICE_S, scene.duration_seconds - VOICE_LEAD_S - VOICE_TAIL_S)


def phrase_chars(request: VideoRequest) -> int:
    """The most characters of one spoken phrase: each phrase is one caption, two lines of the frame's width."""
    return 2 * caption_layout(*request.size, request.language).max_chars


def voice_input_hash(scene: Scene, request: VideoRequest, provider: str, version: int) -> str:
    """What a scene's voice line is made from: its text, language, voice, budget and phrase size."""
    return stable_hash(
        scene.dialogue, request.language, request.voice, provider, voice_budget_s(scene), phrase_chars(request),
        version,
    )


# --- captions ---------------------------------------------------------------------------------------------

def scene_cues(
    dialogue: str, voice: VoiceEntry, *, size: tuple[int, int] = (1280, 720), language: Language | None = None
) -> list[Cue]:
    """Subtitle cues for one scene, relative to the clip start, following the voice, sized for the frame."""
    layout = caption_layout(*size, language)
    if voice.phrases:
        return cues_from_phrases(
            voice.phrases, offset_s=VOICE_LEAD_S, max_chars=layout.max_chars, max_lines=layout.max_lines,
            language=language,
        )
    if voice.words:
        return cues_from_words(
            voice.words, offset_s=VOICE_LEAD_S, max_chars=layout.max_chars, max_lines=layout.max_lines,
            language=language,
        )
    return cues_for_dialogue(
        dialogue, start_s=VOICE_LEAD_S, duration_s=voice.duration_s, max_chars=layout.max_chars,
        max_lines=layout.max_lines, language=language,
    )


def cue_entry(cue: Cue, offset_s: float = 0.0) -> CueEntry:
    """A cue as stored in the compositing manifest, moved by offset_s, times rounded to the millisecond."""
    return CueEntry(start_s=round(cue.start_s + offset_s, 3), end_s=round(cue.end_s + offset_s, 3),
                    lines=list(cue.lines))


def timeline_cues(clips: list[ClipEntry]) -> list[Cue]:
    """Every scene's cues on the video's timeline, in scene order."""
    ordered = sorted(clips, key=lambda clip: clip.scene_number)
    return [Cue(c.start_s, c.end_s, tuple(c.lines)) for clip in ordered for c in clip.cues]


# --- clips ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PreviousScene:
    """The scene a clip crossfades from: its still, motion and length."""

    scene_number: int
    image_key: str
    image_sha256: str
    camera_angle: CameraAngle
    frame_count: int
    seed: int


@dataclass(frozen=True)
class ClipSpec:
    """Everything one scene's clip is rendered from; `input_hash` covers all of it and the code version."""

    scene_number: int
    image_key: str
    image_sha256: str
    camera_angle: CameraAngle
    frame_count: int
    start_s: float
    voice_start_s: float
    transition_frames: int
    cues: tuple[Cue, ...]
    caption_style: CaptionStyle
    language: Language
    fps: int
    size: tuple[int, int]
    preset: EncoderPreset
    seed: int
    previous: PreviousScene | None
    version: int

    @property
    def burned_cues(self) -> list[Cue]:
        """The cues drawn into the frames (none when captions are off)."""
        return [] if self.caption_style is CaptionStyle.NONE else list(self.cues)

    @property
    def karaoke(self) -> bool:
        return self.caption_style is CaptionStyle.KARAOKE

    @property
    def input_hash(self) -> str:
        prev = self.previous
        return stable_hash(
            self.image_sha256, prev and prev.image_sha256, self.camera_angle, prev and prev.camera_angle,
            [cue_entry(c).to_json() for c in self.cues], self.frame_count, prev.frame_count if prev else 0,
            self.transition_frames, self.fps, self.size, self.preset, self.caption_style, self.language,
            self.version,
        )

    def timeline_cues(self) -> list[CueEntry]:
        """The clip's cues on the video's timeline, as stored in its manifest entry."""
        return [cue_entry(c, self.start_s) for c in self.cues]


def clip_specs(
    *,
    video_id: str,
    request: VideoRequest,
    scenario: Scenario,
    slots: list[SceneSlot],
    images: dict[int, ImageEntry],
    voices: dict[int, VoiceEntry],
    version: int,
) -> list[ClipSpec]:
    """Each scene's clip spec: its still and voice-timed cues, and the previous scene it crossfades from."""
    specs: list[ClipSpec] = []
    preset = master_preset(request.quality)
    scenes = list(scenario.scenes)
    for index, (scene, slot) in enumerate(zip(scenes, slots, strict=True)):
        previous = None
        if index:
            prev = scenes[index - 1]
            previous = PreviousScene(
                scene_number=prev.scene_number, image_key=images[prev.scene_number].key,
                image_sha256=images[prev.scene_number].sha256, camera_angle=prev.camera_angle,
                frame_count=slots[index - 1].frame_count, seed=request.seed(video_id, f"motion-{prev.scene_number}"),
            )
        image = images[scene.scene_number]
        cues = scene_cues(scene.dialogue, voices[scene.scene_number], size=request.size, language=request.language)
        specs.append(ClipSpec(
            scene_number=scene.scene_number, image_key=image.key, image_sha256=image.sha256,
            camera_angle=scene.camera_angle, frame_count=slot.frame_count, start_s=slot.start_s,
            voice_start_s=slot.voice_start_s, transition_frames=slot.transition_frames if index else 0,
            cues=tuple(cues), caption_style=request.caption_style, language=request.language,
            fps=request.frame_rate, size=request.size, preset=preset,
            seed=request.seed(video_id, f"motion-{scene.scene_number}"), previous=previous, version=version,
        ))
    return specs
