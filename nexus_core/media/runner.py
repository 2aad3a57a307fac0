"""The one subprocess runner: every ffmpeg, ffprobe and espeak-ng call goes through here."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

STDERR_TAIL_LINES = 15


class MediaCommandError(RuntimeError):
    """A media command failed; the message ends with the tool's own stderr tail."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        tail = "\n".join(stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
        super().__init__(f"{Path(args[0]).name} exited with {returncode}: {tail}")
        self.args_list = list(args)
        self.returncode = returncode
        self.stderr = stderr


class MissingToolError(RuntimeError):
    """A required binary is not installed."""


def tool_path(name: str) -> str:
    """Absolute path of a tool, honouring NEXUS_<NAME>_BIN (e.g. NEXUS_FFMPEG_BIN)."""
    override = os.environ.get(f"NEXUS_{name.upper().replace('-', '_')}_BIN")
    found = override or shutil.which(name)
    if not found:
        raise MissingToolError(
            f"{name} is not installed: run scripts/bootstrap.sh (it installs ffmpeg and espeak-ng)"
        )
    return found


def run_command(args: Sequence[str], *, input_bytes: bytes | None = None, timeout: float | None = None) -> str:
    """Run a command to completion and return its stdout; raise MediaCommandError on failure."""
    argv = [tool_path(args[0]), *args[1:]] if not os.path.isabs(args[0]) else list(args)
    proc = subprocess.run(argv, input=input_bytes, capture_output=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise MediaCommandError(argv, proc.returncode, proc.stderr.decode(errors="replace"))
    return proc.stdout.decode(errors="replace")


_OUT_TIME = re.compile(r"^out_time_us=(\d+)$")


def run_ffmpeg(
    args: Sequence[str],
    *,
    duration_s: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Run ffmpeg (args without the binary) and report progress in [0, 1] from `-progress`."""
    argv = [tool_path("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    if progress and duration_s:
        argv += ["-progress", "pipe:1", "-nostats"]
    argv += list(args)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    if progress and duration_s:
        for raw in proc.stdout:
            match = _OUT_TIME.match(raw.decode(errors="replace").strip())
            if match:
                progress(min(1.0, int(match.group(1)) / 1e6 / duration_s))
    else:
        proc.stdout.read()
    stderr = proc.stderr.read().decode(errors="replace")
    if proc.wait() != 0:
        raise MediaCommandError(argv, proc.returncode, stderr)


PIPE_BUFFER_BYTES = 1 << 20
_F_SETPIPE_SZ = 1031  # Linux fcntl: grow a pipe's kernel buffer


class FfmpegStdin:
    """One ffmpeg process fed raw bytes on stdin; `close()` waits for it and raises on failure."""

    def __init__(self, args: Sequence[str], *, pipe_bytes: int = PIPE_BUFFER_BYTES) -> None:
        self.argv = [tool_path("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args]
        self._proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, bufsize=0
        )
        assert self._proc.stdin is not None and self._proc.stderr is not None
        self._fd = self._proc.stdin.fileno()
        _grow_pipe(self._fd, pipe_bytes)
        self._stderr: list[bytes] = []
        self._drain = threading.Thread(target=self._read_stderr, args=(self._proc.stderr,), daemon=True)
        self._drain.start()

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: stream.read(4096), b""):
            self._stderr.append(chunk)

    def _error(self) -> MediaCommandError:
        self._proc.wait()
        self._drain.join()
        stderr = b"".join(self._stderr).decode(errors="replace")
        return MediaCommandError(self.argv, self._proc.returncode, stderr)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write all of `data` (no copy; releases the GIL while the pipe is full)."""
        view = memoryview(data).cast("B")
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except BrokenPipeError:
            raise self._error() from None

    def close(self) -> None:
        """Signal end of input and wait; raise MediaCommandError if ffmpeg failed."""
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()
        if self._proc.wait() != 0:
            raise self._error()
        self._drain.join()

    def abort(self) -> None:
        """Stop ffmpeg without waiting for it to finish its output."""
        self._proc.kill()
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        self._proc.wait()
        self._drain.join()


def _grow_pipe(fd: int, size: int) -> None:
    """Ask Linux for a larger pipe buffer (fewer wake-ups per frame); harmless where unsupported."""
    try:
        import fcntl

        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        fcntl.fcntl(fd, _F_SETPIPE_SZ, min(size, limit))
    except (ImportError, OSError, ValueError):
        pass
