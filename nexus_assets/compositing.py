"""Phase 3, compositing: camera motion over each still, crossfades and burned-in subtitles."""

from pathlib import Path

import dagster as dg

from nexus_assets.manifests import load_scenario, parallel_map, previous_work, read_manifest, save_manifest
from nexus_assets.partitions import videos_partitions
from nexus_assets.phases import phase_step
from nexus_core import storage_keys as keys
from nexus_core.algorithm_versions import algorithm_version
from nexus_core.manifests import ClipEntry, ClipsManifest, ImagesManifest, VoiceManifest
from nexus_core.media.compositor import PreviousShot, render_scene_clip
from nexus_core.media.image_io import read_rgb
from nexus_core.media.presets import master_preset
from nexus_core.media.timeline import plan_timeline
from nexus_core.scene_specs import ClipSpec, clip_specs
from resources.catalog import CatalogResource
from resources.phase_events import PhaseEvents
from resources.pipeline import PipelineConfig
from resources.storage import ObjectStore


def render_clip(store: ObjectStore, video_id: str, spec: ClipSpec, work: Path) -> ClipEntry:
    """Render one scene's clip from its spec (stills fetched from the store) and store it."""
    with store.local_copy(spec.image_key, work) as still_path:
        still = read_rgb(still_path)
    previous = None
    if spec.previous is not None:
        with store.local_copy(spec.previous.image_key, work) as prev_path:
            previous = PreviousShot(
                still=read_rgb(prev_path), camera_angle=spec.previous.camera_angle,
                frame_count=spec.previous.frame_count, seed=spec.previous.seed,
            )
    out = work / f"scene_{spec.scene_number:03d}.mp4"
    info = render_scene_clip(
        still=still, camera_angle=spec.camera_angle, frame_count=spec.frame_count, fps=spec.fps, size=spec.size,
        preset=spec.preset, out_path=out, cues=spec.burned_cues, seed=spec.seed, previous=previous,
        transition_frames=spec.transition_frames, karaoke=spec.karaoke,
    )
    key = keys.scene_clip(video_id, spec.scene_number)
    return ClipEntry(scene_number=spec.scene_number, key=key, input_hash=spec.input_hash, frames=info.frame_count,
                     bytes=store.put_file(key, out, content_type="video/mp4"))


@dg.asset(
    partitions_def=videos_partitions, group_name="compositing", kinds={"opencv"},
    deps=["scene_images", "voiceover"],
)
def composited_scenes(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    pipeline: PipelineConfig,
    phase_events: PhaseEvents,
) -> dg.MaterializeResult:
    """Per scene, an encoded clip: camera motion, the crossfade from the previous scene, subtitles."""
    with phase_step(context, catalog, pipeline, phase_events, "composited_scenes") as (_, video_id, request, run, work):
        scenario = load_scenario(store, video_id)
        slots = plan_timeline([s.duration_seconds for s in scenario.scenes], request.frame_rate)
        specs = clip_specs(
            video_id=video_id, request=request, scenario=scenario, slots=slots,
            images=read_manifest(store, video_id, keys.IMAGES, ImagesManifest).by_scene(),
            voices=read_manifest(store, video_id, keys.VOICE, VoiceManifest).by_scene(),
            version=algorithm_version("composited_scenes", pipeline.algorithm_versions),
        )
        reuse = previous_work(store, video_id, keys.COMPOSITING, ClipsManifest)
        weights, done = [spec.frame_count for spec in specs], [0.0]

        def composite(spec: ClipSpec) -> ClipEntry:
            entry = reuse.or_make(spec.input_hash, lambda: render_clip(store, video_id, spec, work))
            done[0] += spec.frame_count
            run.progress(done[0] / sum(weights))
            return entry.model_copy(update={
                "cues": spec.timeline_cues(), "start_s": spec.start_s, "voice_start_s": spec.voice_start_s,
            })

        items: list[ClipEntry] = parallel_map(composite, specs, pipeline.workers)
        save_manifest(store, video_id, keys.COMPOSITING, ClipsManifest(items=items))
    preset = master_preset(request.quality)
    return dg.MaterializeResult(
        metadata={
            "clips": len(items),
            "frames": sum(i.frames for i in items),
            "fps": request.frame_rate,
            "size": f"{request.size[0]}x{request.size[1]}",
            "codec": f"{preset.codec} crf {preset.crf} {preset.preset}",
            "reused": sum(1 for i in items if i.reused),
            "total_bytes": sum(i.bytes for i in items),
            "subtitle_cues": sum(len(i.cues) for i in items),
        }
    )
