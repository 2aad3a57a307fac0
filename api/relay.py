"""The outbox relay: hands undelivered outbox rows to the pipeline, settles finished videos.

A row stays undelivered until the dispatcher takes it; a failed hand-off is retried with backoff, so a
request is never lost while the queue is down. Rows are claimed with a lease (a conditional UPDATE), so
several API workers can relay at once without handing a row over twice at the same moment. Each pass
also settles the reservations of videos that reached a final status, and fails runs that died silently.

A failed hand-off marks the queue down: the pass stops there (the other rows would only wait out the same
timeout), and later passes ask the dispatcher whether the queue is back (`ready()`, one short probe per
interval) before claiming rows again. When it is, every row still waiting is made due at once, so the
backlog drains within a pass or two of the queue's return instead of after each row's backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update

from api import ledger
from api.background import PassLoop
from api.core.db import Database
from api.dispatch import Dispatcher
from api.tables import idempotency_keys, outbox
from api.videos import fail_if_unfinished
from nexus_core.catalog.tables import videos
from nexus_core.clock import utcnow
from nexus_core.models import VideoStatus

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
Clock = Callable[[], datetime]



@dataclass
class RelayReport:
    delivered: int = 0
    skipped: int = 0
    failed: int = 0
    settled: int = 0
    reaped: int = 0


class Relay:
    """Moves outbox rows to the dispatcher; `run_once()` is one pass (tests call it), `start()` a thread."""

    def __init__(
        self,
        database: Database,
        dispatcher: Dispatcher,
        *,
        batch: int = 50,
        lease_s: float = 60.0,
        interval_s: float = 1.0,
        retry_base_s: float = 0.5,
        idempotency_ttl_s: float = 24 * 3600,
        clock: Clock | None = None,
    ) -> None:
        self._db = database
        self._dispatcher = dispatcher
        self._batch = batch
        self._lease = timedelta(seconds=lease_s)
        self._interval_s = interval_s
        self._retry_base_s = retry_base_s
        self._idempotency_ttl = timedelta(seconds=idempotency_ttl_s)
        self._now = clock or utcnow
        self._background = PassLoop(lambda: self.run_once(settle_only_on_schedule=True), name="nexus-outbox-relay",
                                    interval_s=interval_s)
        self._pass_lock = threading.Lock()
        self._passes = 0
        self._settled_at = 0.0
        self._queue_down: str | None = None

    @property
    def queue_down(self) -> str | None:
        """Why the last hand-off failed, while the queue has not answered since (None: it works)."""
        return self._queue_down

    # -- one pass -----------------------------------------------------------------------------------

    def _claim(self) -> list[Any]:
        """Lease due rows to this relay in one UPDATE; a row another relay leased (until its lease ends) is
        skipped: PostgreSQL re-checks the outer WHERE on rows it waited for, SQLite serializes writers."""
        now = self._now()
        due = (
            outbox.c.delivered_at.is_(None), outbox.c.available_at <= now,
            or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
        )
        batch = select(outbox.c.id).where(*due).order_by(outbox.c.id).limit(self._batch).scalar_subquery()
        with self._db.write() as session:
            rows = session.execute(
                update(outbox).where(outbox.c.id.in_(batch), *due)
                .values(lease_until=now + self._lease, attempts=outbox.c.attempts + 1)
                .returning(outbox.c.id, outbox.c.video_id, outbox.c.kind, outbox.c.payload, outbox.c.attempts)
            ).all()
        return sorted(rows, key=lambda r: r.id)

    def _statuses(self, rows: list[Any]) -> dict[str, str]:
        ids = [r.video_id for r in rows if r.kind == "generate"]
        if not ids:
            return {}
        with self._db.read() as session:
            return dict(session.execute(select(videos.c.id, videos.c.status).where(videos.c.id.in_(ids))).all())

    def _deliver(self, row: Any, status: str | None) -> str:
        if row.kind == "cancel":
            self._dispatcher.cancel(row.video_id)
            return "delivered"
        if status is None or VideoStatus(status).is_final:
            return "skipped"  # cancelled (or gone) before it was handed over: it never starts
        self._dispatcher.dispatch(row.video_id, row.payload)
        return "delivered"

    def _mark_delivered(self, ids: list[int]) -> None:
        if ids:
            with self._db.write() as session:
                session.execute(update(outbox).where(outbox.c.id.in_(ids))
                                .values(delivered_at=self._now(), lease_until=None, last_error=None))

    def _release(self, rows: list[Any]) -> None:
        """Give back claimed rows this pass did not try (their attempt is not counted)."""
        if rows:
            with self._db.write() as session:
                session.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                                .values(lease_until=None, attempts=outbox.c.attempts - 1))

    def _probe(self) -> bool:
        try:
            ok, reason = self._dispatcher.ready()
        except Exception as exc:
            ok, reason = False, f"{type(exc).__name__}: {exc}"
        if not ok:
            log.debug("queue down: %s", reason)
        return ok

    def _queue_is_back(self) -> bool:
        """While the queue is down: probe it; once it answers, make every waiting row due now."""
        if self._queue_down is None:
            return True
        if not self._probe():
            return False
        log.warning("the queue answers again (down since: %s); handing the backlog over", self._queue_down)
        self._queue_down = None
        now = self._now()
        with self._db.write() as session:
            session.execute(update(outbox).where(outbox.c.delivered_at.is_(None), outbox.c.available_at > now)
                            .values(available_at=now))
        return True

    def _retry_later(self, row: Any, error: str) -> None:
        backoff = min(MAX_BACKOFF_S, self._retry_base_s * 2 ** min(row.attempts - 1, 10))
        with self._db.write() as session:
            session.execute(update(outbox).where(outbox.c.id == row.id).values(
                lease_until=None, last_error=error[:2000], available_at=self._now() + timedelta(seconds=backoff),
            ))

    def _reap(self, report: RelayReport) -> None:
        for video_id, code in self._dispatcher.finished():
            report.reaped += 1
            if code == 0:
                continue
            error = (f"the pipeline process exited with code {code}" if code is not None
                     else "the pipeline process ended without a final status")
            with self._db.write() as session:
                if fail_if_unfinished(session, video_id=video_id, now=self._now(), error=error):
                    log.warning("video %s: %s; FAILED", video_id, error)

    def _settle(self, report: RelayReport) -> None:
        report.settled += ledger.settle_finished(self._db)

    def _expire_idempotency_keys(self) -> None:
        with self._db.write() as session:
            session.execute(delete(idempotency_keys).where(
                idempotency_keys.c.created_at < self._now() - self._idempotency_ttl
            ))

    def run_once(self, *, settle_only_on_schedule: bool = False) -> RelayReport:
        """Hand over every due row, reap finished local runs, settle final statuses."""
        report = RelayReport()
        with self._pass_lock:
            rows = self._claim() if self._queue_is_back() else []
            statuses = self._statuses(rows)
            delivered: list[int] = []
            for index, row in enumerate(rows):
                try:
                    outcome = self._deliver(row, statuses.get(row.video_id))
                except Exception as exc:
                    log.warning("outbox row %d (%s %s), attempt %d: %s", row.id, row.kind, row.video_id,
                                row.attempts, exc)
                    self._retry_later(row, f"{type(exc).__name__}: {exc}")
                    report.failed += 1
                    if not self._probe():  # the queue is down, not just this row: stop the pass here
                        self._queue_down = f"{type(exc).__name__}: {exc}"
                        self._release(rows[index + 1:])
                        break
                    continue
                delivered.append(row.id)
                if outcome == "skipped":
                    report.skipped += 1
                else:
                    report.delivered += 1
            self._mark_delivered(delivered)
            self._reap(report)
            # Settling scans the reservations in flight: once per interval, not on every wake-up.
            if time.monotonic() - self._settled_at >= self._interval_s or not settle_only_on_schedule:
                self._settled_at = time.monotonic()
                self._settle(report)
            self._passes += 1
            if self._passes % 600 == 1:
                self._expire_idempotency_keys()
        return report

    # -- the background thread ----------------------------------------------------------------------

    def wake(self) -> None:
        """Run a pass now (a request was just committed)."""
        self._background.wake()

    def start(self) -> None:
        self._background.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._background.stop(timeout_s)
