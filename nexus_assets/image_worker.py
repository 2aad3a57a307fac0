"""The GPU worker: `python -m nexus_assets.image_worker`, launched over Dagster Pipes by `scene_images`
(resources.gpu_worker: a pod on the GPU pool, or a local process).

It needs no catalog and no Dagster instance: the video id and its request come as Pipes extras, the scenario
from the object store; the images and their manifest go back there, and the materialization's metadata is
reported over Pipes (stdout, which PipesK8sClient reads from the pod's log).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from dagster_pipes import PipesContext, open_dagster_pipes

from nexus_assets.image_batches import draw_scene_images, image_metadata
from nexus_assets.manifests import load_scenario
from nexus_core.models import VideoRequest
from nexus_core.settings import NexusSettings
from resources import resources_for


def run(pipes: PipesContext) -> None:
    """Draw the scene images of the video named in the Pipes extras and report them."""
    video_id = str(pipes.get_extra("video_id"))
    request = VideoRequest.model_validate(pipes.get_extra("request"))
    settings = NexusSettings()  # NEXUS_* of this process (the pod's ConfigMaps and Secret), read once here
    chosen = resources_for(settings.environment, settings)
    store, generator, pipeline = chosen["store"], chosen["image_generator"], chosen["pipeline"]
    scenario = load_scenario(store, video_id)
    total, done = len(scenario.scenes), [0]

    def tick() -> None:
        done[0] += 1
        pipes.log.info(f"scene image {done[0]}/{total} of video {video_id}")

    pipes.log.info(f"drawing {total} scene images of video {video_id} with {generator.provider_name()} "
                   f"({generator.max_batch()} per call)")
    with tempfile.TemporaryDirectory(prefix=f"nexus-{video_id}-images-") as tmp:
        items = draw_scene_images(store=store, generator=generator, video_id=video_id, request=request,
                                  scenario=scenario, work=Path(tmp), workers=pipeline.workers, tick=tick)
    metadata = image_metadata(items, request, generator.provider_name())
    pipes.report_asset_materialization(metadata={
        key: {"raw_value": value, "type": "json"} if isinstance(value, dict | list) else value
        for key, value in metadata.items()
    })


def main() -> None:
    with open_dagster_pipes() as pipes:
        run(pipes)


if __name__ == "__main__":
    main()
