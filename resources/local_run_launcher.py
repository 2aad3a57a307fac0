"""The local instance's run launcher: Dagster's DefaultRunLauncher, plus a run-worker health check.

Dagster's run monitoring fails a run whose worker died only when the launcher can tell (K8s, Docker and
ECS launchers can; DefaultRunLauncher cannot), so a `kill -9`'d local run stayed STARTED for good and held
a run slot. This launcher reads the worker's pid from the run's own "Started process for run (pid: N)"
engine event (or the in-process executor's "Executing steps in process (pid: N)") and reports the run
FAILED once that process is gone; the daemon's monitor then fails it. The dead run's scratch folders
(`<tmp>/nexus-<video id>-*`, see resources.pipeline) are removed at the same moment: nothing else would.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus

from resources.pipeline import remove_dead_run_scratch

log = logging.getLogger(__name__)

def process_alive(pid: int, *, started_by: float | None = None) -> bool:
    """The process exists and is not a zombie (and, when `started_by` is given, began no later than that
    wall-clock time: a reused pid is not the run's worker)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return False
    if started_by is not None:
        try:
            boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                        if line.startswith("btime "))
            began = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        except (OSError, StopIteration, ValueError, IndexError):
            return True
        return began <= started_by + 2.0
    return True


def run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """(pid, timestamp) of the run's first engine event that names its process, or None."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.event_specific_data if event is not None else None
        metadata = getattr(data, "metadata", None) or {}
        pid = metadata.get("pid")
        if pid is not None:
            try:
                return int(getattr(pid, "value", pid)), record.event_log_entry.timestamp
            except (TypeError, ValueError):
                continue
    return None


class LocalRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher whose runs the daemon's run monitoring can check (and so fail when dead)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        found = run_worker_pid(self._instance, run.run_id)
        if found is None:  # not started far enough to say (the start timeout covers a run that never does)
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no worker pid recorded yet")
        pid, at = found
        if process_alive(pid, started_by=at):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=str(pid))
        removed = remove_dead_run_scratch(self._instance, run)
        if removed:
            log.warning("run %s: worker %d is gone; removed %d scratch folder(s)", run.run_id, pid, len(removed))
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run worker process (pid {pid}) is gone",
                                    run_worker_id=str(pid))
