"""`nexus ui`: the Dagster webserver and daemon on 127.0.0.1, stoppable with Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from nexus_cli.instance import PROJECT_ROOT, project_file


def dagster_dev_command(*, port: int, workspace: Path) -> list[str]:
    bin_dir = Path(sys.executable).parent
    dagster = bin_dir / "dagster"
    exe = [str(dagster)] if dagster.exists() else [sys.executable, "-m", "dagster"]
    return [*exe, "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)]


def _restore_signals() -> None:
    """dagster dev started from a script inherits SIGINT as ignored: give it the defaults back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setsid()


def run_ui(*, port: int) -> int:
    """Run `dagster dev` (webserver + daemon) in its own process group until Ctrl-C."""
    command = dagster_dev_command(port=port, workspace=project_file("workspace.yaml"))
    print(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']}); Ctrl-C stops it")
    proc = subprocess.Popen(command, cwd=PROJECT_ROOT, preexec_fn=_restore_signals)

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Started from a script, SIGINT may arrive ignored: take it back, and treat SIGTERM the same way.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        # dagster dev may have restarted its code server while stopping: take the whole group down
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return 0
