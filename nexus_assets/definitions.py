"""The one Definitions of the pipeline: assets of the six phases, the check, jobs and resources."""

from __future__ import annotations

import dagster as dg

from nexus_assets import compositing, encoding, finalization, rendering, scene_assets, script
from nexus_assets.jobs import make_video
from nexus_core.kafka_settings import KafkaSettings
from nexus_core.logs import configure_logging
from nexus_core.settings import NexusSettings
from resources import resources_for
from sensors.definitions import sensor_definitions  # sensors import nexus_assets.jobs/partitions, never this

PHASE_MODULES = (script, scene_assets, compositing, rendering, encoding, finalization)


def asset_definitions(settings: NexusSettings, kafka: KafkaSettings) -> dg.Definitions:
    """The six phases' assets, their check, the make_video job, and the resources for settings.environment."""
    return dg.Definitions(
        assets=dg.load_assets_from_modules(list(PHASE_MODULES)),
        jobs=[make_video],
        resources=resources_for(settings.environment, settings, kafka=kafka),
    )


def build_definitions(settings: NexusSettings | None = None, kafka: KafkaSettings | None = None) -> dg.Definitions:
    """Assets and sensors merged, for NEXUS_ENVIRONMENT (settings.environment); settings are read here, once,
    when the code loads.

    With KAFKA_BOOTSTRAP_SERVERS set, the Kafka sensors (requests, cancels, run status, re-submission,
    retention), the `kafka` resource and Kafka phase events are added; without it no broker is needed, phase
    events go nowhere, and the only sensor removes partitions that name no video.
    """
    settings = settings or NexusSettings()
    kafka = kafka or KafkaSettings()
    configure_logging(service="pipeline")  # the code location's and run workers' process start (idempotent)
    return dg.Definitions.merge(asset_definitions(settings, kafka), sensor_definitions(kafka))


@dg.definitions
def defs() -> dg.Definitions:
    """The local code location (`nexus up`, `nexus ui`): every step of a run in the run's own process.

    The default multiprocess executor starts a process per step that loads the code again: ~2-3 s per step
    for phases that take under 1 s (bench/local_latency.py). Production uses nexus_assets.production.
    """
    return dg.Definitions.merge(build_definitions(), dg.Definitions(executor=dg.in_process_executor))


def make_video_job() -> dg.JobDefinition:
    """The make_video job, reconstructable by module and name (the CLI runs it in the instance)."""
    return build_definitions().resolve_job_def(make_video.name)
