"""Phase 5, encoding: MP4 renditions from the one preset table (NVENC where it works), plus SRT and WebVTT captions."""

from typing import Any

import dagster as dg

from nexus_assets.manifests import load_scenario, read_manifest, save_manifest, video_credits
from nexus_assets.partitions import videos_partitions
from nexus_assets.phases import phase_step
from nexus_core import storage_keys as keys
from nexus_core.manifests import ClipsManifest, MasterManifest, RenditionEntry, RenditionsManifest
from nexus_core.media.ffmpeg_args import build_rendition_args, same_video_settings
from nexus_core.media.hardware import encode_with_fallback, encoder_preset
from nexus_core.media.presets import EncoderPreset, master_preset, presets_for
from nexus_core.media.probe import probe
from nexus_core.media.runner import run_ffmpeg
from nexus_core.media.subtitles import to_srt, to_vtt
from nexus_core.publishing import CAPTION_FORMATS, caption_content_type
from nexus_core.scene_specs import timeline_cues
from resources.catalog import CatalogResource
from resources.phase_events import PhaseEvents
from resources.pipeline import PipelineConfig
from resources.storage import ObjectStore


@dg.asset(
    partitions_def=videos_partitions, group_name="encoding", kinds={"ffmpeg"},
    deps=["master", "composited_scenes"],
)
def renditions(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    pipeline: PipelineConfig,
    phase_events: PhaseEvents,
) -> dg.MaterializeResult:
    """H.264 for every quality, H.265 too for ULTRA; faststart MP4s and caption files."""
    with phase_step(context, catalog, pipeline, phase_events, "renditions") as (_, video_id, request, run, work):
        master_entry = read_manifest(store, video_id, keys.RENDERING, MasterManifest)
        cues = timeline_cues(read_manifest(store, video_id, keys.COMPOSITING, ClipsManifest).items)
        presets = presets_for(request.quality)
        credits = video_credits(store, video_id)
        tags = {"title": load_scenario(store, video_id).title, "comment": "\n".join(credits)}
        made: list[RenditionEntry] = []
        master = master_preset(request.quality)
        with store.local_copy(master_entry.key, work) as master_path:
            for index, preset in enumerate(presets):
                out = work / f"{preset.name}.mp4"
                base, share = index / len(presets), 1 / len(presets)

                def build(chosen: EncoderPreset, out: Any = out) -> list[str]:
                    return build_rendition_args(master_path, chosen, out, master=master, metadata=tags)

                def encode(args: list[str], base: float = base, share: float = share) -> None:
                    run_ffmpeg(args, duration_s=master_entry.duration_s,
                               progress=lambda f: run.progress(base + share * f))

                # a rendition with the master's settings is a stream copy; only real encodes may go to NVENC
                copied = same_video_settings(preset, master)
                chosen = preset if copied else encoder_preset(preset, pipeline.gpu_encoding)
                used = encode_with_fallback(chosen, fallback=preset, build=build, run=encode, warn=context.log.warning)
                info = probe(out)
                if info.video_codec is None:
                    raise RuntimeError(f"rendition {preset.name}: ffmpeg wrote no video stream to {out.name}")
                key = keys.rendition(video_id, preset.name)
                made.append(RenditionEntry(
                    name=preset.name, key=key, codec=info.video_codec, encoder=used.codec,
                    bytes=store.put_file(key, out, content_type="video/mp4"), duration_s=info.duration_s,
                    crf=used.crf, preset=used.preset, copied=copied,
                ))
        texts = {"srt": to_srt(cues), "vtt": to_vtt(cues)}
        captions = {ext: keys.captions(video_id, ext) for ext in CAPTION_FORMATS}
        for ext, key in captions.items():
            store.put_bytes(key, texts[ext].encode(), content_type=caption_content_type(ext))
        encoded = RenditionsManifest(items=made, captions=captions, credits=credits)
        save_manifest(store, video_id, keys.ENCODING, encoded)
        run.artifacts.update({f"rendition_{m.name}": m.key for m in made})  # the catalog's record of them
    return dg.MaterializeResult(
        metadata={
            "renditions": dg.MetadataValue.json([m.to_json() for m in made]),
            "codecs": ", ".join(m.codec for m in made),
            "encoders": ", ".join("copy" if m.copied else m.encoder for m in made),
            "total_bytes": sum(m.bytes for m in made),
            "caption_cues": len(cues),
        }
    )
