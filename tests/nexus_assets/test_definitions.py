"""The Definitions load, and hold the six phases, the blocking check and the job."""

from __future__ import annotations

import dagster as dg

from nexus_assets.definitions import build_definitions, defs
from nexus_assets.jobs import MAKE_VIDEO_JOB, phase_and_downstream
from nexus_assets.phases import PHASE_ASSETS
from nexus_core.settings import NexusSettings


def test_definitions_load_with_every_phase_asset(nexus_settings: NexusSettings) -> None:
    definitions = build_definitions(nexus_settings)
    keys = {k.to_user_string() for k in definitions.resolve_all_asset_keys()}
    assert keys == {a for assets in PHASE_ASSETS.values() for a in assets}
    assert definitions.resolve_job_def(MAKE_VIDEO_JOB) is not None
    dg.Definitions.validate_loadable(definitions)


def test_lazy_definitions_entry_point_loads(nexus_settings: NexusSettings) -> None:
    assert isinstance(defs(), dg.Definitions)


def test_every_asset_is_partitioned_by_video_and_grouped_by_phase(nexus_settings: NexusSettings) -> None:
    graph = build_definitions(nexus_settings).resolve_asset_graph()
    for phase, assets in PHASE_ASSETS.items():
        for name in assets:
            node = graph.get(dg.AssetKey(name))
            assert node.partitions_def is not None and node.partitions_def.name == "videos"
            assert node.group_name == phase


def test_scenario_has_a_blocking_check(nexus_settings: NexusSettings) -> None:
    graph = build_definitions(nexus_settings).resolve_asset_graph()
    checks = list(graph.asset_check_keys)
    assert [c.name for c in checks] == ["scenario_is_valid"]
    assert graph.get_check_spec(checks[0]).blocking


def test_phase_selection_includes_everything_downstream(nexus_settings: NexusSettings) -> None:
    graph = build_definitions(nexus_settings).resolve_asset_graph()
    chosen = {k.to_user_string() for k in phase_and_downstream("rendering").resolve(graph)}
    assert chosen == {"master", "renditions", "published_video"}
    chosen = {k.to_user_string() for k in phase_and_downstream("assets").resolve(graph)}
    assert chosen == {"scene_images", "voiceover", "music_bed", "composited_scenes", "master", "renditions",
                      "published_video"}
