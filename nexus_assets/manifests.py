"""Reading and reusing phase manifests: what a phase made last time, keyed by input hash."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from nexus_core import storage_keys as keys
from nexus_core.models import Scenario
from resources.storage import ObjectStore

T = TypeVar("T")
R = TypeVar("R")


class MissingUpstream(RuntimeError):
    """An upstream phase has not been materialized for this video."""


def load_manifest(store: ObjectStore, video_id: str, phase: str, *, required: bool = True) -> dict[str, Any]:
    key = keys.manifest(video_id, phase)
    if not store.exists(key):
        if required:
            raise MissingUpstream(f"no {phase} output for video {video_id}: materialize that phase first")
        return {}
    return dict(store.get_json(key))


def load_scenario(store: ObjectStore, video_id: str) -> Scenario:
    key = keys.scenario(video_id)
    if not store.exists(key):
        raise MissingUpstream(f"no scenario for video {video_id}: materialize `scenario` first")
    return Scenario.model_validate(store.get_json(key))


def reusable_entries(
    store: ObjectStore, previous: dict[str, Any], items_key: str = "items"
) -> dict[str, dict[str, Any]]:
    """Earlier entries by input hash, kept when their object is still stored and no fallback made them."""
    out: dict[str, dict[str, Any]] = {}
    for entry in previous.get(items_key, []):
        if "fallback" in str(entry.get("provider", "")):
            continue  # made by a stand-by provider during an outage: try the real one again
        if entry.get("input_hash") and entry.get("key") and store.exists(entry["key"]):
            out[entry["input_hash"]] = entry
    return out


def save_items_manifest(
    store: ObjectStore, video_id: str, phase: str, items: list[dict[str, Any]], **extra: Any
) -> None:
    """Write a per-scene manifest, dropping run-only flags such as 'reused'; `extra` adds top-level fields
    (e.g. `credits`: the attribution lines of what made the items)."""
    clean = [{k: v for k, v in item.items() if k != "reused"} for item in items]
    store.put_json(keys.manifest(video_id, phase), {"items": clean, **extra})


def video_credits(store: ObjectStore, video_id: str) -> list[str]:
    """The attribution lines of everything a video was made with: the script's sources, the illustrations,
    the voice engines. They go into the MP4's metadata and the published credits.txt."""
    lines: list[str] = []
    for phase in ("script", "assets/images", "assets/voice", "assets/music"):
        lines += load_manifest(store, video_id, phase, required=False).get("credits", [])
    engines = sorted({str(i.get("provider")) for i in load_manifest(store, video_id, "assets/voice")["items"]})
    lines.append("Voice: " + ", ".join(e for e in engines if e))
    return list(dict.fromkeys(lines))


def parallel_map(fn: Any, items: list[T], workers: int) -> list[R]:
    """Map in a thread pool (numpy, OpenCV and subprocesses release the GIL); keeps order."""
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))
