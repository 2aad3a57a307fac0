"""Phase 2, assets: a background image and a voice line per scene, and one music bed."""

from pathlib import Path
from typing import Any

import dagster as dg

from nexus_assets.image_batches import draw_scene_images, image_metadata
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
from nexus_core.media.timeline import VOICE_LEAD_S
from nexus_core.models import MusicStyle, Scene
from nexus_core.placement import GPU_POOL_NAME
from resources.catalog import CatalogResource
from resources.gpu_worker import GpuWorker
from resources.image_generator import ImageGenerator
from resources.music import MusicProvider
from resources.pipeline import PipelineConfig
from resources.storage import ObjectStore
from resources.voice import VoiceSynth

VOICE_TAIL_S = 0.25


@dg.asset(partitions_def=videos_partitions, group_name="assets", kinds={"python"}, deps=["scenario"],
          pool=GPU_POOL_NAME)
def scene_images(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    image_generator: ImageGenerator,
    gpu_worker: GpuWorker,
    pipeline: PipelineConfig,
) -> dg.MaterializeResult:
    """One background image per scene at the output size; on a GPU worker when the generator wants one."""
    with phase_step(context, catalog, pipeline, "scene_images") as (_, video_id, request, run, work):
        if image_generator.wants_gpu() and gpu_worker.launches():
            extras = {"video_id": video_id, "request": request.model_dump(mode="json")}
            result = gpu_worker.launch(context, asset="scene_images", extras=extras).get_materialize_result()
            run.progress(1.0)
            return dg.MaterializeResult(metadata={**result.metadata, "worker": type(gpu_worker).__name__})
        scenario = load_scenario(store, video_id)
        items = draw_scene_images(
            store=store, generator=image_generator, video_id=video_id, request=request, scenario=scenario,
            work=work, workers=pipeline.workers, tick=run.progress_of(len(scenario.scenes)),
            version=algorithm_version("scene_images", pipeline.algorithm_versions),
        )
    metadata = image_metadata(items, request, image_generator.provider_name())
    return dg.MaterializeResult(metadata={
        **metadata,
        "illustrations": dg.MetadataValue.json(metadata["illustrations"]),
        "keys": dg.MetadataValue.json(metadata["keys"]),
    })


@dg.asset(partitions_def=videos_partitions, group_name="assets", kinds={"python"}, deps=["scenario"])
def voiceover(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    voice: VoiceSynth,
    pipeline: PipelineConfig,
) -> dg.MaterializeResult:
    """The narration per scene, with its measured duration (and word timings when the voice gives them)."""
    with phase_step(context, catalog, pipeline, "voiceover") as (_, video_id, request, run, work):
        scenario = load_scenario(store, video_id)
        reuse = reusable_entries(store, load_manifest(store, video_id, "assets/voice", required=False))
        tick = run.progress_of(len(scenario.scenes))
        provider = voice.provider_name()
        version = algorithm_version("voiceover", pipeline.algorithm_versions)
        # each spoken phrase is one caption: two lines of the frame's caption width
        phrase_chars = 2 * caption_layout(*request.size, request.language).max_chars

        def speak(scene: Scene) -> dict[str, Any]:
            max_s = max(0.5, scene.duration_seconds - VOICE_LEAD_S - VOICE_TAIL_S)
            input_hash = stable_hash(
                scene.dialogue, request.language, request.voice, provider, max_s, phrase_chars, version
            )
            if input_hash in reuse:
                tick()
                return {**reuse[input_hash], "reused": True}
            path = work / f"scene_{scene.scene_number:03d}.wav"
            clip = voice.synthesize(
                scene.dialogue, language=request.language, voice=request.voice, out_path=path, max_seconds=max_s,
                phrase_chars=phrase_chars,
            )
            key = keys.voice_clip(video_id, scene.scene_number)
            size = store.put_file(key, path, content_type="audio/wav")
            tick()
            return {"scene_number": scene.scene_number, "key": key, "bytes": size, "input_hash": input_hash,
                    "duration_s": clip.duration_s, "words": [w.model_dump() for w in clip.words],
                    "phrases": [p.model_dump() for p in clip.phrases], "speed": clip.speed,
                    "spoken_text": clip.spoken_text, "provider": clip.provider or provider}

        items = parallel_map(speak, list(scenario.scenes), pipeline.workers)
        voice.release()  # compositing runs next, possibly in this process: give back the model's memory
        save_items_manifest(store, video_id, "assets/voice", items)
    return dg.MaterializeResult(
        metadata={
            "clips": len(items),
            "speech_s": round(sum(float(i["duration_s"]) for i in items), 2),
            "shortened_lines": sum(1 for i in items if i.get("spoken_text")),
            "max_speed": round(max(float(i.get("speed", 1.0)) for i in items), 3),
            "reused": sum(1 for i in items if i.get("reused")),
            "provider": provider,
            "durations_s": dg.MetadataValue.json({i["scene_number"]: round(i["duration_s"], 2) for i in items}),
        }
    )


@dg.asset(partitions_def=videos_partitions, group_name="assets", kinds={"python"}, deps=["scenario"])
def music_bed(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    music: MusicProvider,
    pipeline: PipelineConfig,
) -> dg.MaterializeResult:
    """One music bed for the whole video, in the requested style (none for 'none')."""
    with phase_step(context, catalog, pipeline, "music_bed") as (_, video_id, request, run, work):
        scenario = load_scenario(store, video_id)
        duration = scenario.duration_seconds
        entry: dict[str, Any] = {"style": request.music_style.value, "key": None, "duration_s": duration}
        if request.music_style is not MusicStyle.NONE:
            path = work / "bed.wav"
            seed = request.seed(video_id, "music")
            made = music.compose(request.music_style, duration_s=duration, seed=seed, out_path=Path(path))
            if made is not None:
                key = keys.music_bed(video_id)
                entry |= {"key": key, "bytes": store.put_file(key, made, content_type="audio/wav"), "seed": seed}
        store.put_json(keys.manifest(video_id, "assets/music"), entry)
        run.progress(1.0)
    return dg.MaterializeResult(
        metadata={"style": entry["style"], "duration_s": round(duration, 2), "key": entry["key"] or "none",
                  "provider": music.provider_name()}
    )
