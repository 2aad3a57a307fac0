"""Scene images, drawn a batch per generator call: the one routine behind `scene_images`, whether it runs in
the step's own process or in the GPU worker (nexus_assets.image_worker)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexus_assets.manifests import parallel_map, previous_work, save_manifest
from nexus_core import storage_keys as keys
from nexus_core.algorithm_versions import algorithm_version
from nexus_core.manifests import ImageEntry, ImagesManifest
from nexus_core.media.image_io import write_rgb
from nexus_core.models import Scenario, Scene, VideoRequest
from nexus_core.scene_specs import image_input_hash
from resources.image_generator import ImageGenerator
from resources.storage import ObjectStore, file_sha256

Job = tuple[Scene, str, int]  # a scene to draw, its input hash and its seed


def draw_scene_images(
    *,
    store: ObjectStore,
    generator: ImageGenerator,
    video_id: str,
    request: VideoRequest,
    scenario: Scenario,
    work: Path,
    workers: int,
    tick: Callable[[], None],
    version: int | None = None,
) -> list[ImageEntry]:
    """Draw (or reuse) one image per scene, upload each, and save the images manifest; returns its items.

    Generators with `max_batch() > 1` (diffusion) get that many scenes per `generate_batch` call; others draw
    one scene at a time in a pool of `workers` threads. `tick` is called once per scene done. `version` (default:
    nexus_core.algorithm_versions) is the drawing code's version, part of each image's input hash.
    """
    generator = generator.for_request(request)  # a preview draws with fewer diffusion steps
    reuse = previous_work(store, video_id, keys.IMAGES, ImagesManifest)
    provider = generator.provider_name()
    version = algorithm_version("scene_images") if version is None else version
    done: dict[int, ImageEntry] = {}
    todo: list[Job] = []
    for scene in scenario.scenes:
        input_hash = image_input_hash(scene, request, provider, video_id, version)
        earlier = reuse.take(input_hash)
        if earlier is not None:
            done[scene.scene_number] = earlier
            tick()
        else:
            todo.append((scene, input_hash, request.seed(video_id, f"image-{scene.scene_number}")))

    def save(job: Job, rgb: Any) -> ImageEntry:
        scene, input_hash, seed = job
        path = work / f"scene_{scene.scene_number:03d}.png"
        write_rgb(path, rgb)
        key = keys.scene_image(video_id, scene.scene_number)
        size = store.put_file(key, path, content_type="image/png")
        tick()
        return ImageEntry(scene_number=scene.scene_number, key=key, bytes=size, sha256=file_sha256(path),
                          input_hash=input_hash, seed=seed, illustrations=generator.illustrations(scene, seed=seed))

    batch = generator.max_batch()
    if batch > 1:
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            images = generator.generate_batch([j[0] for j in chunk], [j[2] for j in chunk], request.size)
            done |= {job[0].scene_number: save(job, rgb) for job, rgb in zip(chunk, images, strict=True)}
    else:
        def one(job: Job) -> ImageEntry:
            return save(job, generator.generate(job[0], seed=job[2], size=request.size))

        done |= {item.scene_number: item for item in parallel_map(one, todo, workers)}
    items = [done[scene.scene_number] for scene in scenario.scenes]
    shown = [name for item in items for name in item.illustrations]
    save_manifest(store, video_id, keys.IMAGES,
                  ImagesManifest(items=items, credits=generator.credits() if shown else []))
    return items


def image_metadata(items: list[ImageEntry], request: VideoRequest, provider: str) -> dict[str, Any]:
    """What the UI shows for the phase, as plain values (the Pipes worker reports the same dict)."""
    width, height = request.size
    return {
        "images": len(items),
        "width": width,
        "height": height,
        "reused": sum(1 for i in items if i.reused),
        "total_bytes": sum(i.bytes for i in items),
        "generator": provider,
        "illustrations": {str(i.scene_number): list(i.illustrations) for i in items},
        "keys": [i.key for i in items],
    }
