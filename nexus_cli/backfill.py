"""`nexus backfill`: a Dagster backfill that re-materializes a phase and everything downstream."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.utils import make_new_backfill_id

from nexus_assets.definitions import build_definitions
from nexus_assets.jobs import phase_and_downstream
from nexus_assets.partitions import VIDEOS_PARTITION
from nexus_core.catalog import Catalog
from nexus_core.models import VideoStatus
from nexus_core.run_tags import RunSource, run_tags

FINAL_BACKFILL_STATES = {
    BulkActionStatus.COMPLETED,
    BulkActionStatus.FAILED,
    BulkActionStatus.CANCELED,
    BulkActionStatus.COMPLETED_SUCCESS,
    BulkActionStatus.COMPLETED_FAILED,
}


class NothingToBackfill(ValueError):
    """No video matches the filters."""


def select_videos(
    catalog: Catalog,
    *,
    status: VideoStatus | None,
    since: datetime | None,
    video_ids: Sequence[str] | None,
) -> list[str]:
    """Ids of the catalog's videos that match every given filter, oldest first."""
    records = catalog.list_videos(status=status, since=since, video_ids=list(video_ids) if video_ids else None)
    if video_ids:
        missing = sorted(set(video_ids) - {r.video_id for r in records})
        unknown = [v for v in missing if catalog.get(v) is None]
        if unknown:
            raise NothingToBackfill(f"unknown video id(s): {', '.join(unknown)}")
    ids = [r.video_id for r in reversed(records)]
    if not ids:
        raise NothingToBackfill("no video matches those filters")
    return ids


def owners(catalog: Catalog, video_ids: Sequence[str]) -> dict[str | None, list[str]]:
    """The videos grouped by owner, in the given order: one backfill per owner, so each of its runs carries
    that owner's nexus/user tag (the production instance's per-user run limit counts it)."""
    users = {r.video_id: r.user_id for r in catalog.list_videos(video_ids=list(video_ids))}
    groups: dict[str | None, list[str]] = {}
    for video_id in video_ids:
        groups.setdefault(users.get(video_id), []).append(video_id)
    return groups


def launch_backfill(
    instance: dg.DagsterInstance, *, phase: str, video_ids: Sequence[str], user_id: str | None = None
) -> str:
    """Submit the backfill to the instance (it shows on the UI's Backfills page); returns its id."""
    graph = build_definitions().resolve_asset_graph()
    selection = sorted(phase_and_downstream(phase).resolve(graph), key=lambda k: k.to_user_string())
    known = set(instance.get_dynamic_partitions(VIDEOS_PARTITION))
    missing = [v for v in video_ids if v not in known]
    if missing:
        instance.add_dynamic_partitions(VIDEOS_PARTITION, missing)
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=graph,
        partition_names=list(video_ids),
        asset_selection=selection,
        backfill_timestamp=time.time(),
        tags={"nexus/phase": phase, **run_tags(source=RunSource.BACKFILL, user_id=user_id)},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=f"reprocess {phase} for {len(video_ids)} video(s)",
        description=f"nexus backfill --phase {phase}: {', '.join(video_ids[:20])}",
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


DAEMON_STALE_S = 60.0  # the daemon writes a heartbeat every 20 s; none this recent means it is not running


def backfill_daemon_running(instance: dg.DagsterInstance, *, now: float | None = None) -> bool:
    """True when a Dagster daemon's backfill loop has sent a heartbeat recently."""
    beat = instance.get_daemon_heartbeats().get("BACKFILL")
    return beat is not None and (now or time.time()) - beat.timestamp < DAEMON_STALE_S


def wait_for_backfill(instance: dg.DagsterInstance, backfill_id: str, *, timeout_s: float) -> BulkActionStatus:
    """Poll until the backfill reaches a final state (the daemon does the work) or the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        backfill = instance.get_backfill(backfill_id)
        if backfill is None:
            raise LookupError(f"backfill {backfill_id} not found")
        if backfill.status in FINAL_BACKFILL_STATES or time.monotonic() > deadline:
            return backfill.status
        time.sleep(0.5)
