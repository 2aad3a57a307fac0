"""Phase 5, encoding: MP4 renditions from the one preset table (NVENC where it works), plus SRT and WebVTT captions."""

from typing import Any

import dagster as dg

from nexus_assets.manifests import load_manifest, load_scenario, video_credits
from nexus_assets.partitions import videos_partitions
from nexus_assets.phases import phase_step
from nexus_core import storage_keys as keys
from nexus_core.media.ffmpeg_args import build_rendition_args, same_video_settings
from nexus_core.media.hardware import encode_with_fallback, encoder_preset
from nexus_core.media.presets import EncoderPreset, master_preset, presets_for
from nexus_core.media.probe import probe
from nexus_core.media.runner import run_ffmpeg
from nexus_core.media.subtitles import Cue, to_srt, to_vtt
from resources.catalog import CatalogResource
from resources.pipeline import PipelineConfig
from resources.storage import ObjectStore


def timeline_cues(clips: list[dict[str, Any]]) -> list[Cue]:
    """Every scene's cues on the video's timeline, in order."""
    ordered = sorted(clips, key=lambda c: c["scene_number"])
    return [Cue(c["start_s"], c["end_s"], tuple(c["lines"])) for clip in ordered for c in clip["cues"]]


@dg.asset(
    partitions_def=videos_partitions, group_name="encoding", kinds={"ffmpeg"},
    deps=["master", "composited_scenes"],
)
def renditions(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    pipeline: PipelineConfig,
) -> dg.MaterializeResult:
    """H.264 for every quality, H.265 too for ULTRA; faststart MP4s and caption files."""
    with phase_step(context, catalog, pipeline, "renditions") as (_, video_id, request, run, work):
        master_entry = load_manifest(store, video_id, "rendering")
        cues = timeline_cues(load_manifest(store, video_id, "compositing")["items"])
        presets = presets_for(request.quality)
        credits = video_credits(store, video_id)
        tags = {"title": load_scenario(store, video_id).title, "comment": "\n".join(credits)}
        made: list[dict[str, Any]] = []
        master = master_preset(request.quality)
        with store.local_copy(master_entry["key"], work) as master_path:
            for index, preset in enumerate(presets):
                out = work / f"{preset.name}.mp4"
                base, share = index / len(presets), 1 / len(presets)

                def build(chosen: EncoderPreset, out: Any = out) -> list[str]:
                    return build_rendition_args(master_path, chosen, out, master=master, metadata=tags)

                def encode(args: list[str], base: float = base, share: float = share) -> None:
                    run_ffmpeg(args, duration_s=float(master_entry["duration_s"]),
                               progress=lambda f: run.progress(base + share * f))

                # a rendition with the master's settings is a stream copy; only real encodes may go to NVENC
                copied = same_video_settings(preset, master)
                chosen = preset if copied else encoder_preset(preset, pipeline.gpu_encoding)
                used = encode_with_fallback(chosen, fallback=preset, build=build, run=encode, warn=context.log.warning)
                info = probe(out)
                key = keys.rendition(video_id, preset.name)
                made.append({"name": preset.name, "key": key, "codec": info.video_codec, "encoder": used.codec,
                             "bytes": store.put_file(key, out, content_type="video/mp4"),
                             "duration_s": info.duration_s, "crf": used.crf, "preset": used.preset,
                             "copied": copied})
        captions = {}
        for ext, text in (("srt", to_srt(cues)), ("vtt", to_vtt(cues))):
            captions[ext] = keys.captions(video_id, ext)
            store.put_bytes(captions[ext], text.encode(), content_type="text/vtt" if ext == "vtt" else "text/plain")
        store.put_json(keys.manifest(video_id, "encoding"), {"items": made, "captions": captions, "credits": credits})
        run.artifacts.update({f"rendition_{m['name']}": m["key"] for m in made})  # the catalog's record of them
    return dg.MaterializeResult(
        metadata={
            "renditions": dg.MetadataValue.json(made),
            "codecs": ", ".join(m["codec"] for m in made),
            "encoders": ", ".join("copy" if m["copied"] else m["encoder"] for m in made),
            "total_bytes": sum(int(m["bytes"]) for m in made),
            "caption_cues": len(cues),
        }
    )
