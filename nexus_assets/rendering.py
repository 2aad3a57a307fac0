"""Phase 4, rendering: scene clips joined without re-encoding, voice over the ducked music bed."""

from pathlib import Path

import dagster as dg

from nexus_assets.manifests import read_manifest, save_manifest
from nexus_assets.partitions import videos_partitions
from nexus_assets.phases import phase_step
from nexus_core import storage_keys as keys
from nexus_core.manifests import ClipsManifest, MasterManifest, MusicManifest, VoiceManifest
from nexus_core.media.audio import mix_soundtrack
from nexus_core.media.ffmpeg_args import build_concat_list, build_master_args
from nexus_core.media.presets import master_preset
from nexus_core.media.probe import probe
from nexus_core.media.runner import run_ffmpeg
from resources.catalog import CatalogResource
from resources.phase_events import PhaseEvents
from resources.pipeline import PipelineConfig
from resources.storage import ObjectStore


@dg.asset(
    partitions_def=videos_partitions, group_name="rendering", kinds={"ffmpeg"},
    deps=["composited_scenes", "voiceover", "music_bed"],
)
def master(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    pipeline: PipelineConfig,
    phase_events: PhaseEvents,
) -> dg.MaterializeResult:
    """The master MP4: joined scene clips and the mixed soundtrack normalized to -16 LUFS."""
    with phase_step(context, catalog, pipeline, phase_events, "master") as (_, video_id, request, run, work):
        clips = sorted(read_manifest(store, video_id, keys.COMPOSITING, ClipsManifest).items,
                       key=lambda clip: clip.scene_number)
        voices = read_manifest(store, video_id, keys.VOICE, VoiceManifest).by_scene()
        bed = read_manifest(store, video_id, keys.MUSIC, MusicManifest)
        duration = sum(clip.frames for clip in clips) / request.frame_rate

        voice_tracks: list[tuple[Path, float]] = []
        for clip in clips:
            voice = voices[clip.scene_number]
            if voice.duration_s > 0:
                with store.local_copy(voice.key, work) as path:
                    voice_tracks.append((path, clip.voice_start_s))
        music_path = None
        if bed.key:
            with store.local_copy(bed.key, work) as path:
                music_path = path
        mix_path = work / "mix.m4a"
        loudness = mix_soundtrack(
            voices=voice_tracks, music=music_path, duration_s=duration, out_path=mix_path,
            audio_bitrate_k=master_preset(request.quality).audio_bitrate_k,
        )
        run.progress(0.6)

        clip_paths = []
        for clip in clips:
            with store.local_copy(clip.key, work) as path:
                clip_paths.append(path)
        concat_list = work / "clips.txt"
        concat_list.write_text(build_concat_list(clip_paths))
        out = work / "master.mp4"
        run_ffmpeg(build_master_args(concat_list, mix_path, duration, out))
        info = probe(out)
        key = keys.master(video_id)
        size = store.put_file(key, out, content_type="video/mp4")
        store.put_file(keys.master_audio(video_id), mix_path, content_type="audio/mp4")
        save_manifest(store, video_id, keys.RENDERING, MasterManifest(
            key=key, duration_s=info.duration_s, bytes=size, loudness_lufs=loudness.integrated_lufs,
            true_peak_dbtp=loudness.true_peak_dbtp,
        ))
        run.progress(1.0)
    return dg.MaterializeResult(
        metadata={
            "duration_s": round(info.duration_s, 3),
            "bytes": size,
            "video": f"{info.video_codec} {info.width}x{info.height} @ {info.fps:g} fps",
            "audio": f"{info.audio_codec} {info.sample_rate} Hz",
            "loudness_lufs": round(loudness.integrated_lufs, 2),
            "true_peak_dbtp": round(loudness.true_peak_dbtp, 2),
            "key": key,
        }
    )
