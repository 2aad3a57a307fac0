"""A pass that runs on a thread of the API process every `interval_s`, or at once when woken."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PassLoop:
    """Calls `run_pass` on a daemon thread every `interval_s` seconds or when `wake()` is called; an exception
    is logged and the loop goes on. Used by the outbox relay and the webhook worker."""

    def __init__(self, run_pass: Callable[[], object], *, name: str, interval_s: float) -> None:
        self._run_pass = run_pass
        self._name = name
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Run a pass now."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._run_pass()
            except Exception:
                log.exception("%s pass failed; retrying in %.1f s", self._name, self.interval_s)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
