"""Phase 6, finalization: publish under videos/{id}/, thumbnails, and mark the video COMPLETED."""

import dagster as dg

from nexus_assets.manifests import load_manifest
from nexus_assets.partitions import videos_partitions
from nexus_assets.phases import phase_step
from nexus_assets.placement import op_tags_for
from nexus_core import storage_keys as keys
from nexus_core.media.ffmpeg_args import build_thumbnail_args, thumbnail_times
from nexus_core.media.probe import probe
from nexus_core.media.runner import run_ffmpeg
from resources.catalog import CatalogResource
from resources.pipeline import PipelineConfig
from resources.storage import ObjectStore

THUMBNAIL_AT_S = (0.0, 10.0, 20.0)
THUMBNAIL_WIDTH = 640


def published_name(rendition: str) -> str:
    """video.mp4 for the H.264 rendition, video.<name>.mp4 for the others."""
    return "video.mp4" if rendition == "h264" else f"video.{rendition}.mp4"


@dg.asset(partitions_def=videos_partitions, group_name="finalization", kinds={"python"}, deps=["renditions"],
          op_tags=op_tags_for("published_video"))
def published_video(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    pipeline: PipelineConfig,
) -> dg.MaterializeResult:
    """The finished video, captions and thumbnails at their final keys; the catalog says COMPLETED."""
    with phase_step(context, catalog, pipeline, "published_video") as (cat, video_id, request, run, work):
        encoded = load_manifest(store, video_id, "encoding")
        main = encoded["items"][0]
        with store.local_copy(main["key"], work) as main_path:
            info = probe(main_path)
            thumbs = []
            for index, at in enumerate(thumbnail_times(info.duration_s, THUMBNAIL_AT_S, request.frame_rate)):
                out = work / f"thumb_{index}.jpg"
                run_ffmpeg(build_thumbnail_args(main_path, at, out, THUMBNAIL_WIDTH))
                thumbs.append((keys.thumbnail(video_id, index), out, at))
        run.progress(0.3)
        artifacts: dict[str, str] = {}
        for key, path, _ in thumbs:
            store.put_file(key, path, content_type="image/jpeg")
            artifacts[f"thumbnail_{len(artifacts)}"] = key
        for ext, key in encoded["captions"].items():
            target = keys.published(video_id, f"captions.{ext}")
            with store.local_copy(key, work) as path:
                store.put_file(target, path, content_type="text/vtt" if ext == "vtt" else "text/plain")
            artifacts[f"captions_{ext}"] = target
        # The videos go last, the H.264 one at the very end: a reader that sees video.mp4 sees it all.
        size_bytes = 0
        for item in reversed(encoded["items"]):
            target = keys.published(video_id, published_name(item["name"]))
            with store.local_copy(item["key"], work) as path:
                size = store.put_file(target, path, content_type="video/mp4")
            artifacts[f"video_{item['name']}"] = target
            size_bytes = size
        artifacts["video"] = keys.published(video_id, published_name(main["name"]))
        cat.mark_completed(video_id, size_bytes=size_bytes, duration_s=info.duration_s, artifacts=artifacts)
        run.progress(1.0)
    return dg.MaterializeResult(
        metadata={
            "video": dg.MetadataValue.url(store.url(artifacts["video"])),
            "duration_s": round(info.duration_s, 3),
            "bytes": size_bytes,
            "resolution": f"{info.width}x{info.height}",
            "thumbnails": dg.MetadataValue.json([k for k, _, _ in thumbs]),
            "thumbnail_times_s": dg.MetadataValue.json([round(t, 2) for _, _, t in thumbs]),
            "captions": dg.MetadataValue.json({e: artifacts[f"captions_{e}"] for e in encoded["captions"]}),
        }
    )
