"""Knobs of the pipeline itself (not an outside system): parallelism and scratch space."""

from __future__ import annotations

import glob
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field


class PipelineConfig(dg.ConfigurableResource):
    """How many scenes run at once, where a step keeps its scratch files, and whether encoding may use NVENC."""

    workers: int = 2
    scratch_dir: str | None = None
    # 'auto': NVENC where a one-frame test encode works (nexus_core.media.hardware), else x264/x265; 'on' requires it.
    gpu_encoding: Literal["auto", "on", "off"] = "auto"
    # Overrides of nexus_core.algorithm_versions for this run, e.g. {"composited_scenes": 3} to make every clip
    # again instead of reusing the stored ones (a step's version is part of its reuse hash).
    algorithm_versions: dict[str, int] = Field(default_factory=dict)

    @contextmanager
    def workdir(self, video_id: str, phase: str) -> Iterator[Path]:
        """A private scratch folder for one step, removed afterwards (outputs go to the store)."""
        base = Path(self.scratch_dir) if self.scratch_dir else None
        if base:
            base.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=scratch_prefix(video_id, phase), dir=base) as tmp:
            yield Path(tmp)


def scratch_prefix(video_id: str, step: str) -> str:
    """The name every scratch folder of a video's step starts with: nexus-<video id>-<step>-."""
    return f"nexus-{video_id}-{step}-"


def remove_scratch(video_id: str, base: Path | None = None) -> list[Path]:
    """Remove the scratch folders a dead run of the video left (a finished step removes its own); returns
    them. Only `nexus-<id>-<step>-<random>` matches: another video whose id starts with `<id>-` is spared."""
    root = base or Path(tempfile.gettempdir())
    own = re.compile(rf"^{re.escape(f'nexus-{video_id}-')}[A-Za-z0-9_]+-[A-Za-z0-9_]+$")
    removed = []
    for path in root.glob(f"nexus-{glob.escape(video_id)}-*"):
        if own.match(path.name) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed



def remove_dead_run_scratch(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[Path]:
    """remove_scratch for a run that died, unless another run of the same video is in flight (its steps
    use folders of the same name). Only this host's folders: a run pod's scratch goes with the pod."""
    video_id = run.tags.get("dagster/partition")
    if not video_id:
        return []
    others = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": video_id}))
    if any(r.run_id != run.run_id and not r.is_finished for r in others):
        return []
    return remove_scratch(video_id)
