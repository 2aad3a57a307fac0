"""The hand-off from the outbox relay to the pipeline, behind one small interface.

`Dispatcher.dispatch(video_id, payload)` hands a request over (raising DispatchError when the pipeline
cannot take it now: the relay keeps the outbox row and retries); `cancel(video_id)` stops its work. Until
the Kafka issue plugs in a producer, `SubprocessDispatcher` starts `nexus run-video ID` (it adds the
Dagster partition and runs the six phases in the local instance) in its own process group, remembers the
pid in a file so any worker can cancel it, and reports runs that exited.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nexus_core.storage_keys import check_video_id

log = logging.getLogger(__name__)


class DispatchError(Exception):
    """The pipeline could not take the request now; the relay will try again."""


class Dispatcher(ABC):
    """Where the relay sends requests and cancellations."""

    name = "dispatcher"

    @abstractmethod
    def dispatch(self, video_id: str, payload: Mapping[str, Any] | None = None) -> None:
        """Hand one request to the pipeline; must be safe to call again for the same video."""

    @abstractmethod
    def cancel(self, video_id: str) -> None:
        """Stop the video's work if it is running (the catalog already says CANCELLED)."""

    def finished(self) -> list[tuple[str, int | None]]:
        """(video id, exit code or None when unknown) of local runs that ended since the last call; empty where
        runs are remote."""
        return []

    def ready(self) -> tuple[bool, str]:
        """Whether the pipeline can take requests now, and why not."""
        return True, "ok"

    def close(self) -> None:
        return None


class NullDispatcher(Dispatcher):
    """Accepts every request and runs nothing (benchmarks, tests); remembers what it was given."""

    name = "none"

    def __init__(self) -> None:
        self.dispatched: list[str] = []
        self.cancelled: list[str] = []

    def dispatch(self, video_id: str, payload: Mapping[str, Any] | None = None) -> None:
        self.dispatched.append(video_id)

    def cancel(self, video_id: str) -> None:
        self.cancelled.append(video_id)


def _proc_state(pid: int) -> str | None:
    """The process's state letter from /proc (None when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[0]


def _runs_video(pid: int, video_id: str) -> bool:
    """The pid is alive (not a zombie) and is the run of this video (guards against a reused pid)."""
    if _proc_state(pid) in (None, "Z", "X"):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return video_id.encode() in cmdline


class SubprocessDispatcher(Dispatcher):
    """Runs each video in a `nexus run-video ID` process of its own (process group = its pid)."""

    name = "subprocess"

    def __init__(
        self,
        *,
        run_dir: Path,
        env: Mapping[str, str] | None = None,
        command: Sequence[str] | None = None,
        cancel_grace_s: float = 5.0,
    ) -> None:
        self._run_dir = run_dir
        self._env = dict(env) if env is not None else dict(os.environ)
        # `--source api`: the run's nexus/source tag says the request came through the API
        self._command = list(command or [sys.executable, "-m", "nexus_cli.main", "run-video", "--source", "api"])
        self._grace_s = cancel_grace_s
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def _pidfile(self, video_id: str) -> Path:
        return self._run_dir / f"{check_video_id(video_id)}.pid"

    def running_pid(self, video_id: str) -> int | None:
        """The pid of this video's run when one is alive on this machine."""
        try:
            pid = int(json.loads(self._pidfile(video_id).read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return pid if _runs_video(pid, video_id) else None

    def dispatch(self, video_id: str, payload: Mapping[str, Any] | None = None) -> None:
        check_video_id(video_id)
        with self._lock:
            if self.running_pid(video_id) is not None:
                return  # a retried hand-off of a run that already started
            try:
                self._run_dir.mkdir(parents=True, exist_ok=True)
                with (self._run_dir / f"{video_id}.log").open("ab") as out:
                    proc = subprocess.Popen(
                        [*self._command, video_id], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                        env=self._env, start_new_session=True, close_fds=True,
                    )
                tmp = self._pidfile(video_id).with_suffix(".pid.tmp")
                tmp.write_text(json.dumps({"pid": proc.pid, "video_id": video_id, "started_at": time.time()}))
                os.replace(tmp, self._pidfile(video_id))
            except OSError as exc:
                raise DispatchError(f"could not start the pipeline for {video_id}: {exc}") from exc
            self._children[video_id] = proc
        log.info("dispatched %s to pid %d", video_id, proc.pid)

    def cancel(self, video_id: str) -> None:
        pid = self.running_pid(video_id)
        if pid is None:
            return  # nothing running here: a queued request's run will see CANCELLED and not start
        log.info("cancelling %s: SIGTERM to process group %d", video_id, pid)
        self._signal_group(pid, signal.SIGTERM)
        if self._grace_s >= 0:
            timer = threading.Timer(self._grace_s, self._kill_if_alive, args=(pid, video_id))
            timer.daemon = True
            timer.start()

    def _kill_if_alive(self, pid: int, video_id: str) -> None:
        if _runs_video(pid, video_id):
            log.warning("run of %s (pid %d) ignored SIGTERM; SIGKILL", video_id, pid)
        self._signal_group(pid, signal.SIGKILL)  # the group's ffmpeg children too, if any are left

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def finished(self) -> list[tuple[str, int | None]]:
        """This process's runs that exited, with their codes; and runs that another (since restarted) API
        process started and that are gone, with None."""
        done: list[tuple[str, int | None]] = []
        with self._lock:
            for video_id, proc in list(self._children.items()):
                code = proc.poll()
                if code is None:
                    continue
                del self._children[video_id]
                self._pidfile(video_id).unlink(missing_ok=True)
                done.append((video_id, code))
            for pidfile in self._run_dir.glob("*.pid") if self._run_dir.is_dir() else ():
                video_id = pidfile.stem
                if video_id in self._children or self._owned_elsewhere(pidfile):
                    continue
                pidfile.unlink(missing_ok=True)
                done.append((video_id, None))
        return done

    @staticmethod
    def _owned_elsewhere(pidfile: Path) -> bool:
        """The run is alive, or a zombie its parent (another API worker) will reap and report."""
        try:
            pid = int(json.loads(pidfile.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return _proc_state(pid) == "Z" or _runs_video(pid, pidfile.stem)

    def ready(self) -> tuple[bool, str]:
        executable = Path(self._command[0])
        if not executable.exists():
            return False, f"{executable} not found"
        try:
            self._run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return False, f"cannot write {self._run_dir}: {exc}"
        return True, "ok"

    def close(self) -> None:
        """Reap what already exited; running videos keep running (they are not this process's work)."""
        self.finished()
