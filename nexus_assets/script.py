"""Phase 1, script: the scenario, and the blocking check that guards everything downstream."""

from collections.abc import Iterator

import dagster as dg

from nexus_assets.partitions import videos_partitions
from nexus_assets.phases import PhaseFailed, phase_step
from nexus_core import storage_keys as keys
from nexus_core.run_tags import title_tag
from nexus_core.scenario_check import check_scenario
from resources.catalog import CatalogResource
from resources.phase_events import PhaseEvents
from resources.pipeline import PipelineConfig
from resources.script_writer import ScriptWriter
from resources.storage import ObjectStore

SCENARIO_CHECK = "scenario_is_valid"


@dg.asset(
    partitions_def=videos_partitions,
    group_name="script",
    kinds={"python"},
    check_specs=[
        dg.AssetCheckSpec(
            SCENARIO_CHECK,
            asset="scenario",
            blocking=True,
            description="Schema, scene durations summing to the request, dialogue speakable in time.",
        )
    ],
)
def scenario(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    store: ObjectStore,
    script_writer: ScriptWriter,
    pipeline: PipelineConfig,
    phase_events: PhaseEvents,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The scenario: title and scenes (description, visuals, dialogue, camera, lighting, duration)."""
    with phase_step(context, catalog, pipeline, phase_events, "scenario") as (cat, video_id, request, run, _work):
        written = script_writer.write(request, video_id=video_id)
        result = written.value
        cat.set_scenario(video_id, result)  # title, scenario JSON and the text ?q= searches
        context.instance.add_run_tags(context.run_id, title_tag(result.title))
        problems = check_scenario(result, request)
        key = keys.scenario(video_id)
        store.put_json(key, result.model_dump(mode="json"))
        store.put_json(keys.manifest(video_id, "script"), {"writer": written.provider, "fallback": written.fallback,
                                                           "credits": list(written.credits)})
        run.progress(1.0)
        yield dg.MaterializeResult(
            metadata={
                "title": result.title,
                "scenes": len(result.scenes),
                "duration_s": round(result.duration_seconds, 3),
                "dialogue_words": sum(len(s.dialogue.split()) for s in result.scenes),
                "writer": written.provider,
                "key": key,
                "scenario": dg.MetadataValue.json(result.model_dump(mode="json")),
            }
        )
        yield dg.AssetCheckResult(
            check_name=SCENARIO_CHECK,
            passed=not problems,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"problems": dg.MetadataValue.json(problems)},
        )
        if problems:
            raise PhaseFailed("scenario check failed: " + "; ".join(problems))
