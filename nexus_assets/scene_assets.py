"""Phase 2, assets: a background image and a voice line per scene, and one music bed."""

from pathlib import Path

import dagster as dg

from nexus_assets.image_batches import draw_scene_images, image_metadata
from nexus_assets.manifests import load_scenario, parallel_map, previous_work, save_manifest
from nexus_assets.partitions import videos_partitions
from nexus_assets.phases import phase_step
from nexus_core import storage_keys as keys
from nexus_core.algorithm_versions import algorithm_version
from nexus_core.manifests import MusicManifest, VoiceEntry, VoiceManifest
from nexus_core.models import MusicStyle, Scene
from nexus_core.placement import GPU_POOL_NAME
from nexus_core.scene_specs import phrase_chars, voice_budget_s, voice_input_hash
from resources.catalog import CatalogResource
from resources.gpu_worker import GpuWorker
from resources.image_generator import ImageGenerator
from resources.music import MusicProvider
from resources.phase_events import PhaseEvents
from resources.pipeline import PipelineConfig
from resources.storage import ObjectStore
from resources.voice import VoiceSynth


@dg.asset(partitions_def=videos_partitions, group_name="assets", kinds={"python"}, deps=["scenario"],
          pool=GPU_POOL_NAME)
def scene_images(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    image_generator: ImageGenerator,
    gpu_worker: GpuWorker,
    pipeline: PipelineConfig,
    phase_events: PhaseEvents,
) -> dg.MaterializeResult:
    """One background image per scene at the output size; on a GPU worker when the generator wants one."""
    with phase_step(context, catalog, pipeline, phase_events, "scene_images") as (_, video_id, request, run, work):
        if image_generator.wants_gpu() and gpu_worker.launches():
            extras = {"video_id": video_id, "request": request.model_dump(mode="json")}
            result = gpu_worker.launch(context, asset="scene_images", extras=extras).get_materialize_result()
            run.progress(1.0)
            return dg.MaterializeResult(metadata={**(result.metadata or {}), "worker": type(gpu_worker).__name__})
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
    phase_events: PhaseEvents,
) -> dg.MaterializeResult:
    """The narration per scene, with its measured duration (and word timings when the voice gives them)."""
    with phase_step(context, catalog, pipeline, phase_events, "voiceover") as (_, video_id, request, run, work):
        scenario = load_scenario(store, video_id)
        reuse = previous_work(store, video_id, keys.VOICE, VoiceManifest)
        tick = run.progress_of(len(scenario.scenes))
        provider = voice.provider_name()
        version = algorithm_version("voiceover", pipeline.algorithm_versions)

        def speak(scene: Scene) -> VoiceEntry:
            input_hash = voice_input_hash(scene, request, provider, version)
            entry = reuse.take(input_hash)
            if entry is None:
                path = work / f"scene_{scene.scene_number:03d}.wav"
                clip = voice.synthesize(
                    scene.dialogue, language=request.language, voice=request.voice, out_path=path,
                    max_seconds=voice_budget_s(scene), phrase_chars=phrase_chars(request),
                )
                key = keys.voice_clip(video_id, scene.scene_number)
                entry = VoiceEntry(
                    scene_number=scene.scene_number, key=key, input_hash=input_hash, duration_s=clip.duration_s,
                    bytes=store.put_file(key, path, content_type="audio/wav"), words=clip.words,
                    phrases=clip.phrases, speed=clip.speed, spoken_text=clip.spoken_text,
                    provider=clip.provider or provider, fallback=clip.fallback,
                )
            tick()
            return entry

        items: list[VoiceEntry] = parallel_map(speak, list(scenario.scenes), pipeline.workers)
        voice.release()  # compositing runs next, possibly in this process: give back the model's memory
        save_manifest(store, video_id, keys.VOICE, VoiceManifest(items=items))
    return dg.MaterializeResult(
        metadata={
            "clips": len(items),
            "speech_s": round(sum(i.duration_s for i in items), 2),
            "shortened_lines": sum(1 for i in items if i.spoken_text),
            "max_speed": round(max(i.speed for i in items), 3),
            "reused": sum(1 for i in items if i.reused),
            "provider": provider,
            "durations_s": dg.MetadataValue.json({str(i.scene_number): round(i.duration_s, 2) for i in items}),
        }
    )


@dg.asset(partitions_def=videos_partitions, group_name="assets", kinds={"python"}, deps=["scenario"])
def music_bed(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    music: MusicProvider,
    pipeline: PipelineConfig,
    phase_events: PhaseEvents,
) -> dg.MaterializeResult:
    """One music bed for the whole video, in the requested style (none for 'none')."""
    with phase_step(context, catalog, pipeline, phase_events, "music_bed") as (_, video_id, request, run, work):
        scenario = load_scenario(store, video_id)
        duration = scenario.duration_seconds
        bed = MusicManifest(style=request.music_style.value, duration_s=duration)
        if request.music_style is not MusicStyle.NONE:
            seed = request.seed(video_id, "music")
            made = music.compose(request.music_style, duration_s=duration, seed=seed, out_path=Path(work / "bed.wav"))
            if made is not None:
                key = keys.music_bed(video_id)
                size = store.put_file(key, made.value, content_type="audio/wav")
                bed = bed.model_copy(update={"key": key, "bytes": size, "seed": seed, "provider": made.provider,
                                             "fallback": made.fallback})
        save_manifest(store, video_id, keys.MUSIC, bed)
        run.progress(1.0)
    return dg.MaterializeResult(
        metadata={"style": bed.style, "duration_s": round(duration, 2), "key": bed.key or "none",
                  "provider": bed.provider or music.provider_name()}
    )
