"""Reading and writing phase manifests in the object store (the types and the reuse rule: nexus_core.manifests)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import BaseModel

from nexus_core import storage_keys as keys
from nexus_core.manifests import Reuse, SceneEntry, SceneManifest
from nexus_core.models import Scenario
from resources.storage import ObjectStore

T = TypeVar("T")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=SceneEntry)


class MissingUpstream(RuntimeError):
    """An upstream phase has not been materialized for this video."""


def load_manifest(store: ObjectStore, video_id: str, phase: str, *, required: bool = True) -> dict[str, Any]:
    """A phase's manifest as stored (JSON); {} when it is missing and not required."""
    key = keys.manifest(video_id, phase)
    if not store.exists(key):
        if required:
            raise MissingUpstream(f"no {phase} output for video {video_id}: materialize that phase first")
        return {}
    return dict(store.get_json(key))


def read_manifest(store: ObjectStore, video_id: str, phase: str, model: type[M]) -> M:
    """A phase's manifest as its type (nexus_core.manifests); raises MissingUpstream when it is missing."""
    return model.model_validate(load_manifest(store, video_id, phase))


def save_manifest(store: ObjectStore, video_id: str, phase: str, manifest: Any) -> None:
    """Write a phase's manifest (its `to_json()`: run-only flags such as `reused` are not stored)."""
    store.put_json(keys.manifest(video_id, phase), manifest.to_json())


def previous_work(store: ObjectStore, video_id: str, phase: str, model: type[SceneManifest[E]]) -> Reuse[E]:
    """What the phase made last time for this video, reusable by input hash (empty on a first run)."""
    data = load_manifest(store, video_id, phase, required=False)
    return Reuse(model.model_validate(data).items if data else [], store.exists)


def load_scenario(store: ObjectStore, video_id: str) -> Scenario:
    key = keys.scenario(video_id)
    if not store.exists(key):
        raise MissingUpstream(f"no scenario for video {video_id}: materialize `scenario` first")
    return Scenario.model_validate(store.get_json(key))


def video_credits(store: ObjectStore, video_id: str) -> list[str]:
    """The attribution lines of everything a video was made with: the script's sources, the illustrations,
    the voice engines. They go into the MP4's metadata and the published credits.txt."""
    lines: list[str] = []
    for phase in (keys.SCRIPT, keys.IMAGES, keys.VOICE, keys.MUSIC):
        lines += load_manifest(store, video_id, phase, required=False).get("credits") or []
    engines = sorted({str(i.get("provider")) for i in load_manifest(store, video_id, keys.VOICE)["items"]})
    lines.append("Voice: " + ", ".join(e for e in engines if e))
    return list(dict.fromkeys(lines))


def parallel_map(fn: Callable[[T], R], items: list[T], workers: int) -> list[R]:
    """Map in a thread pool (numpy, OpenCV and subprocesses release the GIL); keeps order."""
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))
