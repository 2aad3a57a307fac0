"""Issue 12.2: a run whose worker is killed (`kill -9`) is failed by run monitoring, and its scratch goes.

A real local instance (the repo's run launcher, short monitoring intervals) with a real `dagster-daemon`:
the run is launched through the queue like any other, its worker process is killed, and the daemon must
mark the run FAILED within a few monitoring intervals and remove `<tmp>/nexus-<video id>-*`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from resources.local_run_launcher import run_worker_pid

REPO = Path(__file__).resolve().parents[2]
POLL_S = 1
DEADLINE_S = 15.0  # a few monitoring polls


def _instance_yaml() -> dict[str, object]:
    """The repo's local dagster.yaml with the monitoring poll at 1 s (the test's only change)."""
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config["run_monitoring"]["poll_interval_seconds"] = POLL_S
    return config


@pytest.fixture
def daemon_home(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(_instance_yaml()))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": {
        "module_name": "tests.sensors.dead_run_location", "attribute": "defs", "location_name": "dead_runs",
        "working_directory": str(REPO)}}]}))
    env = {**os.environ, "DAGSTER_HOME": str(home), "TMPDIR": str(scratch), "PYTHONPATH": str(REPO)}
    daemon_bin = str(Path(sys.executable).parent / "dagster-daemon")
    daemon = subprocess.Popen([daemon_bin, "run", "-w", str(workspace)], env=env, cwd=REPO,
                              stdout=(tmp_path / "daemon.log").open("wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        yield tmp_path, {**env, "NEXUS_TEST_WORKSPACE": str(workspace)}
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        print((tmp_path / "daemon.log").read_text()[-3000:])


def _wait(predicate, timeout_s: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def test_a_killed_run_is_failed_by_run_monitoring_and_its_scratch_removed(
    daemon_home: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, env = daemon_home
    video_id = f"dead{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    instance = dg.DagsterInstance.get()
    # the daemon's monitoring thread is up (its first heartbeat) before the run starts: SQLite storage
    # opened by three processes at the same moment can answer "database is locked" to one of them
    _wait(lambda: "MONITORING" in instance.get_daemon_heartbeats(), 60, "the daemon's monitoring heartbeat")
    # the run's own process, started the way the API's dispatcher starts `nexus run-video ID`
    worker = subprocess.Popen([sys.executable, "-m", "tests.sensors.dead_run_location", video_id], env=env,
                              cwd=REPO, stdout=(root / "run.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        (run,) = _wait(instance.get_runs, 60, "the run")
        scratch_root = Path(env["TMPDIR"])
        folders = _wait(lambda: list(scratch_root.glob(f"nexus-{video_id}-*")), 60, "the step's scratch folder")
        assert instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.STARTED  # type: ignore[union-attr]
        pid, _ = _wait(lambda: run_worker_pid(instance, run.run_id), 30, "the worker's pid")

        assert pid == worker.pid
        os.kill(pid, signal.SIGKILL)  # the run's process dies without a word, as under the OOM killer
        worker.wait()
        killed = time.monotonic()
        _wait(lambda: instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.FAILURE,  # type: ignore[union-attr]
              DEADLINE_S, "run monitoring to fail the run")
        took = time.monotonic() - killed
        print(f"\nkilled run FAILED {took:.1f} s after kill -9 (monitoring poll {POLL_S} s)")
        records = instance.get_records_for_run(run.run_id).records
        messages = [r.event_log_entry.dagster_event.message or "" for r in records
                    if r.event_log_entry.dagster_event is not None]
        assert not any(f.exists() for f in folders), folders
        assert any("is gone" in m for m in messages), messages[-5:]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        for leftover in Path(env["TMPDIR"]).glob("nexus-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        instance.dispose()
