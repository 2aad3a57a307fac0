"""Phase 3, compositing: camera motion over each still, crossfades and burned-in subtitles."""

from typing import Any

import dagster as dg

from nexus_assets.manifests import (
    load_manifest,
    load_scenario,
    parallel_map,
    reusable_entries,
    save_items_manifest,
)
from nexus_assets.partitions import videos_partitions
from nexus_assets.phases import phase_step
from nexus_core import storage_keys as keys
from nexus_core.algorithm_versions import algorithm_version
from nexus_core.hashing import stable_hash
from nexus_core.media.caption_render import caption_layout
from nexus_core.media.compositor import PreviousShot, render_scene_clip
from nexus_core.media.image_io import read_rgb
from nexus_core.media.presets import master_preset
from nexus_core.media.subtitles import Cue, cues_for_dialogue, cues_from_phrases, cues_from_words
from nexus_core.media.timeline import VOICE_LEAD_S, plan_timeline
from nexus_core.models import CaptionStyle, Language, SpokenPhrase, WordTiming
from resources.catalog import CatalogResource
from resources.pipeline import PipelineConfig
from resources.storage import ObjectStore


def scene_cues(
    dialogue: str, voice: dict[str, Any], *, size: tuple[int, int] = (1280, 720), language: Language | None = None
) -> list[Cue]:
    """Subtitle cues for one scene, relative to the clip start, following the voice, sized for the frame."""
    layout = caption_layout(*size, language)
    phrases = [SpokenPhrase.model_validate(p) for p in voice.get("phrases") or []]
    if phrases:
        return cues_from_phrases(
            phrases, offset_s=VOICE_LEAD_S, max_chars=layout.max_chars, max_lines=layout.max_lines, language=language
        )
    words = [WordTiming.model_validate(w) for w in voice.get("words") or []]
    if words:
        return cues_from_words(
            words, offset_s=VOICE_LEAD_S, max_chars=layout.max_chars, max_lines=layout.max_lines, language=language
        )
    return cues_for_dialogue(
        dialogue, start_s=VOICE_LEAD_S, duration_s=float(voice["duration_s"]), max_chars=layout.max_chars,
        max_lines=layout.max_lines, language=language,
    )


def cue_to_json(cue: Cue, offset_s: float = 0.0) -> dict[str, Any]:
    return {"start_s": round(cue.start_s + offset_s, 3), "end_s": round(cue.end_s + offset_s, 3),
            "lines": list(cue.lines)}


@dg.asset(
    partitions_def=videos_partitions, group_name="compositing", kinds={"opencv"},
    deps=["scene_images", "voiceover"],
)
def composited_scenes(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    pipeline: PipelineConfig,
) -> dg.MaterializeResult:
    """Per scene, an encoded clip: camera motion, the crossfade from the previous scene, subtitles."""
    with phase_step(context, catalog, pipeline, "composited_scenes") as (_, video_id, request, run, work):
        scenario = load_scenario(store, video_id)
        images = {i["scene_number"]: i for i in load_manifest(store, video_id, "assets/images")["items"]}
        voices = {i["scene_number"]: i for i in load_manifest(store, video_id, "assets/voice")["items"]}
        fps, size, preset = request.frame_rate, request.size, master_preset(request.quality)
        slots = plan_timeline([s.duration_seconds for s in scenario.scenes], fps)
        reuse = reusable_entries(store, load_manifest(store, video_id, "compositing", required=False))
        scenes = list(scenario.scenes)
        weights = [slot.frame_count for slot in slots]
        done = [0.0]
        version = algorithm_version("composited_scenes", pipeline.algorithm_versions)

        def composite(index: int) -> dict[str, Any]:
            scene, slot = scenes[index], slots[index]
            prev = scenes[index - 1] if index else None
            voice = voices[scene.scene_number]
            cues = scene_cues(scene.dialogue, voice, size=size, language=request.language)
            burned = [] if request.caption_style is CaptionStyle.NONE else cues
            karaoke = request.caption_style is CaptionStyle.KARAOKE
            transition = slot.transition_frames if index else 0
            seed = request.seed(video_id, f"motion-{scene.scene_number}")
            input_hash = stable_hash(
                images[scene.scene_number]["sha256"], prev and images[prev.scene_number]["sha256"],
                scene.camera_angle, prev and prev.camera_angle, [cue_to_json(c) for c in cues],
                slot.frame_count, slots[index - 1].frame_count if index else 0, transition, fps, size, preset,
                request.caption_style, request.language, version,
            )
            entry = reuse.get(input_hash)
            if entry is None:
                with store.local_copy(images[scene.scene_number]["key"], work) as still_path:
                    still = read_rgb(still_path)
                previous = None
                if prev is not None:
                    with store.local_copy(images[prev.scene_number]["key"], work) as prev_path:
                        previous = PreviousShot(
                            still=read_rgb(prev_path), camera_angle=prev.camera_angle,
                            frame_count=slots[index - 1].frame_count,
                            seed=request.seed(video_id, f"motion-{prev.scene_number}"),
                        )
                out = work / f"scene_{scene.scene_number:03d}.mp4"
                info = render_scene_clip(
                    still=still, camera_angle=scene.camera_angle, frame_count=slot.frame_count, fps=fps,
                    size=size, preset=preset, out_path=out, cues=burned, seed=seed, previous=previous,
                    transition_frames=transition, karaoke=karaoke,
                )
                key = keys.scene_clip(video_id, scene.scene_number)
                entry = {"scene_number": scene.scene_number, "key": key, "input_hash": input_hash,
                         "frames": info.frame_count, "bytes": store.put_file(key, out, content_type="video/mp4")}
            else:
                entry = {**entry, "reused": True}
            entry["cues"] = [cue_to_json(c, slot.start_s) for c in cues]
            entry["start_s"] = slot.start_s
            entry["voice_start_s"] = slot.voice_start_s
            done[0] += weights[index]
            run.progress(done[0] / sum(weights))
            return entry

        items = parallel_map(composite, list(range(len(scenes))), pipeline.workers)
        save_items_manifest(store, video_id, "compositing", items)
    return dg.MaterializeResult(
        metadata={
            "clips": len(items),
            "frames": sum(int(i["frames"]) for i in items),
            "fps": fps,
            "size": f"{size[0]}x{size[1]}",
            "codec": f"{preset.codec} crf {preset.crf} {preset.preset}",
            "reused": sum(1 for i in items if i.get("reused")),
            "total_bytes": sum(int(i["bytes"]) for i in items),
            "subtitle_cues": sum(len(i["cues"]) for i in items),
        }
    )
