"""Phase 6, finalization: publish under videos/{id}/, thumbnails, and mark the video COMPLETED."""

import contextlib
from pathlib import Path

import dagster as dg
import numpy as np

from nexus_assets.manifests import load_scenario, read_manifest
from nexus_assets.partitions import videos_partitions
from nexus_assets.phases import phase_step
from nexus_core import storage_keys as keys
from nexus_core.manifests import ImagesManifest, RenditionsManifest
from nexus_core.media.fonts import find_font_for
from nexus_core.media.image_io import read_rgb, write_rgb
from nexus_core.media.probe import probe
from nexus_core.media.thumbnails import clean_frame, poster_frame, thumbnail_moments
from nexus_core.media.timeline import plan_timeline
from nexus_core.models import Scenario, VideoRequest
from nexus_core.publishing import (
    PublishError,
    PublishItem,
    describe_storage_error,
    publish_order,
    publish_plan,
    published_name,
)
from resources.catalog import CatalogResource
from resources.phase_events import PhaseEvents
from resources.pipeline import PipelineConfig
from resources.storage import ObjectStore


def make_thumbnails(
    store: ObjectStore, video_id: str, request: VideoRequest, scenario: Scenario, work: Path
) -> tuple[list[tuple[str, Path, float]], tuple[str, Path]]:
    """Three clean thumbnails in three scenes (when the video has them) and the poster, at full size."""
    images = read_manifest(store, video_id, keys.IMAGES, ImagesManifest).by_scene()
    slots = plan_timeline([s.duration_seconds for s in scenario.scenes], request.frame_rate)
    stills: dict[int, np.ndarray] = {}

    def still(number: int) -> np.ndarray:
        if number not in stills:
            with store.local_copy(images[number].key, work) as path:
                stills[number] = read_rgb(path)
        return stills[number]

    thumbs = []
    for index, moment in enumerate(thumbnail_moments(slots)):
        scene = scenario.scenes[moment.scene_index]
        seed = request.seed(video_id, f"motion-{scene.scene_number}")
        rgb = clean_frame(still(scene.scene_number), scene.camera_angle, moment.progress, seed)
        thumbs.append((keys.thumbnail(video_id, index), write_rgb(work / f"thumb_{index}.jpg", rgb), moment.at_s))
    first = scenario.scenes[0]
    cover = clean_frame(still(first.scene_number), first.camera_angle, 0.5, request.seed(video_id, "motion-1"))
    poster = poster_frame(cover, scenario.title, find_font_for(request.language))
    return thumbs, (keys.poster(video_id), write_rgb(work / "poster.jpg", poster))


def publish_files(
    store: ObjectStore, files: list[tuple[PublishItem, str | Path]], work: Path
) -> tuple[dict[str, str], dict[str, int]]:
    """Write every file to its final key, all or nothing (nexus_core.publishing): a source is a local path
    or a store key. Returns the artifacts (name -> key) and each key's size; raises PublishError."""
    sources = dict((item, source) for item, source in files)
    written: list[str] = []
    sizes: dict[str, int] = {}
    try:
        for item in publish_order(list(sources)):
            source = sources[item]
            if isinstance(source, Path):
                sizes[item.key] = store.put_file(item.key, source, content_type=item.content_type)
            else:
                with store.local_copy(source, work) as path:
                    sizes[item.key] = store.put_file(item.key, path, content_type=item.content_type)
            written.append(item.key)
    except Exception as exc:
        for key in reversed(written):  # nothing of a video that could not be published stays visible
            with contextlib.suppress(Exception):
                store.delete(key)
        raise PublishError(f"could not publish the video: {describe_storage_error(exc)}; nothing of it was "
                           "published") from exc
    return {item.artifact: item.key for item in sources}, sizes


@dg.asset(partitions_def=videos_partitions, group_name="finalization", kinds={"python"}, deps=["renditions"])
def published_video(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    pipeline: PipelineConfig,
    phase_events: PhaseEvents,
) -> dg.MaterializeResult:
    """The finished video, captions and thumbnails at their final keys; the catalog says COMPLETED."""
    with phase_step(context, catalog, pipeline, phase_events, "published_video") as (cat, video_id, request, run, work):
        encoded = read_manifest(store, video_id, keys.ENCODING, RenditionsManifest)
        main = encoded.items[0]
        with store.local_copy(main.key, work) as main_path:
            info = probe(main_path)
        scenario = load_scenario(store, video_id)
        thumbs, poster = make_thumbnails(store, video_id, request, scenario, work)
        poster_key = poster[0]
        run.progress(0.3)
        credits_path = work / "credits.txt"
        credits_path.write_text("\n".join(encoded.credits) + "\n")
        files = publish_plan(
            video_id, thumbnails=[(key, path) for key, path, _ in thumbs], poster=poster, credits=credits_path,
            captions=encoded.captions, renditions=[(item.name, item.key) for item in encoded.items],
        )
        artifacts, sizes = publish_files(store, files, work)
        artifacts["video"] = keys.published(video_id, published_name(main.name))
        size_bytes = sizes[artifacts["video"]]
        cat.mark_completed(video_id, size_bytes=size_bytes, duration_s=info.duration_s, artifacts=artifacts)
        run.progress(1.0)
    return dg.MaterializeResult(
        metadata={
            "video": dg.MetadataValue.url(store.url(artifacts["video"])),
            "duration_s": round(info.duration_s, 3),
            "bytes": size_bytes,
            "resolution": f"{info.width}x{info.height}",
            "thumbnails": dg.MetadataValue.json([k for k, _, _ in thumbs]),
            "poster": poster_key,
            "thumbnail_times_s": dg.MetadataValue.json([round(t, 2) for _, _, t in thumbs]),
            "captions": dg.MetadataValue.json({e: artifacts[f"captions_{e}"] for e in encoded.captions}),
            "preview": dg.MetadataValue.md(
                thumbnail_preview(store, scenario.title, poster_key, thumbs[0][0] if thumbs else poster_key)
            ),
        }
    )


def thumbnail_preview(store: ObjectStore, title: str, poster_key: str, thumbnail_key: str) -> str:
    """Markdown the UI renders in the materialization: the poster and the first thumbnail, linked."""
    alt = title.replace("[", "(").replace("]", ")")
    poster, thumb = store.url(poster_key), store.url(thumbnail_key)
    return f"**{alt}**\n\n![{alt}]({poster})\n\n[poster]({poster}) · [thumbnail]({thumb})"
