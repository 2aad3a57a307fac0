"""Knobs of the pipeline itself (not an outside system): parallelism and scratch space."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg


class PipelineConfig(dg.ConfigurableResource):
    """How many scenes run at once, and where a step keeps its scratch files while it works."""

    workers: int = 2
    scratch_dir: str | None = None

    @contextmanager
    def workdir(self, video_id: str, phase: str) -> Iterator[Path]:
        """A private scratch folder for one step, removed afterwards (outputs go to the store)."""
        base = Path(self.scratch_dir) if self.scratch_dir else None
        if base:
            base.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"nexus-{video_id}-{phase}-", dir=base) as tmp:
            yield Path(tmp)
