"""The Catalog: every read and write of the videos table, safe across threads and processes.

Status changes: the allowed ones are the table in nexus_core/status.py (TRANSITIONS); this module runs
them, in SQL, and is the only writer of the status column besides the API's submit (a new QUEUED row), which
runs cancel_statement and fail_unfinished_statement from here in its own transaction.
- start_phase (START): a COMPLETED video stays COMPLETED while a run re-makes part of it (a backfill,
  `dagster asset materialize`, a UI launch): its files are still there and still served; the run is
  recorded in `remakes` (the phases it entered, the assets it finished, when, and why it failed if it
  did), its new timings and artifacts are merged in.
- report_progress and finish_phase (PROGRESS): progress of a re-make does not touch a COMPLETED video's
  phase and percent. All three raise VideoCancelled on a CANCELLED video, so its pipeline stops.
- mark_failed (FAIL): on a COMPLETED video it only records the re-make's error. mark_completed (COMPLETE):
  a COMPLETED video takes the new figures and keeps its completed_at. mark_cancelled (CANCEL).
Writes that read JSON columns first hold the row's lock (SELECT ... FOR UPDATE on PostgreSQL, BEGIN
IMMEDIATE on SQLite) for the whole read-modify-write, so concurrent writers never lose each other's keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, Update, case, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nexus_core.catalog import migrate
from nexus_core.catalog.engine import WRITE_OPTION, make_engine, normalize_url
from nexus_core.catalog.errors import RunAlreadyFailed, VideoCancelled, VideoExists, VideoNotFound
from nexus_core.catalog.queries import favorite_statement, search_text
from nexus_core.catalog.record import VideoRecord
from nexus_core.catalog.tables import VideoRow, videos
from nexus_core.clock import utcnow
from nexus_core.models import Scenario, VideoRequest, VideoStatus
from nexus_core.service_level import Adjustment
from nexus_core.status import StatusEvent, next_status, sources
from nexus_core.storage_keys import check_video_id

Clock = Callable[[], datetime]

_QUEUED = VideoStatus.QUEUED.value
_CANCELLED = VideoStatus.CANCELLED.value
_COMPLETED = VideoStatus.COMPLETED.value
MAX_REMAKES = 20  # the latest re-makes of a video are kept; older ones drop off so the row stays small
TITLE_LENGTH = 200



def _clamp_percent(percent: float) -> float:
    if math.isnan(percent):
        raise ValueError("percent must be a number, got NaN")
    return min(100.0, max(0.0, float(percent)))


CANCELLABLE = sources(StatusEvent.CANCEL)  # QUEUED, PROCESSING
# Where progress is written: PROGRESS is allowed, and not a re-make (a COMPLETED video keeps phase and percent).
_PROGRESS_SHOWN = tuple(s for s in sources(StatusEvent.PROGRESS) if s != _COMPLETED)
_FAILABLE = sources(StatusEvent.FAIL, to=VideoStatus.FAILED)  # QUEUED, PROCESSING (not a COMPLETED re-make)
# report_progress's status change in SQL: CASE status WHEN 'QUEUED' THEN 'PROCESSING' ... (from the table).
_PROGRESSED = {
    before: after.value for before in sources(StatusEvent.PROGRESS)
    if (after := next_status(before, StatusEvent.PROGRESS)) is not None and after.value != before
}


def cancel_statement(video_id: str, *, now: datetime) -> Update:
    """The one UPDATE that cancels a video (QUEUED or PROCESSING → CANCELLED); the API's cancel route runs
    it in its own transaction (with the token release), Catalog.mark_cancelled in one of its own."""
    return (
        update(videos).where(videos.c.id == video_id, videos.c.status.in_(CANCELLABLE))
        .values(status=_CANCELLED, updated_at=now)
    )


def fail_unfinished_statement(video_id: str, *, error: str, now: datetime) -> Update:
    """The one UPDATE that fails a video whose run ended without a final status (QUEUED or PROCESSING); the
    API's run-end path runs it in its own transaction (with the token release)."""
    return (
        update(videos).where(videos.c.id == video_id, videos.c.status.in_(_FAILABLE))
        .values(status=VideoStatus.FAILED.value, error=error, updated_at=now)
    )


def _remake_index(row: VideoRow, run_id: str | None) -> int | None:
    """The position in row.remakes of the re-make by this run (the row's current run when None)."""
    wanted = run_id if run_id is not None else row.dagster_run_id
    entries = row.remakes or []
    for index in range(len(entries) - 1, -1, -1):
        if entries[index].get("run_id") == wanted:
            return index
    return None


def _update_remake(row: VideoRow, index: int, **changes: Any) -> None:
    entries = [dict(e) for e in row.remakes or []]
    entries[index].update(changes)
    row.remakes = entries  # a new list: the JSON column sees the change


def _note_remake(row: VideoRow, *, run_id: str | None, phase: str, now: datetime) -> None:
    """A phase of a COMPLETED video starts again: add it to this run's re-make entry (opened if new)."""
    index = _remake_index(row, run_id) if run_id is not None else None
    if index is None:
        entry = {"run_id": run_id, "phases": [phase], "assets": [], "started_at": now.isoformat(),
                 "finished_at": None, "error": None}
        row.remakes = [*(row.remakes or []), entry][-MAX_REMAKES:]
        return
    phases = list(row.remakes[index]["phases"]) if row.remakes else []
    _update_remake(row, index, phases=phases if phase in phases else [*phases, phase])


class Catalog:
    """The video catalog at one URL (sqlite:///PATH or postgresql://...); migrates it to head on open."""

    def __init__(self, url: str, *, clock: Clock | None = None, migrate_on_open: bool = True) -> None:
        self._url = normalize_url(url)
        self._clock = clock or utcnow
        self._engine = make_engine(self._url)
        self._write_engine = self._engine.execution_options(**{WRITE_OPTION: True})
        if migrate_on_open:
            try:
                migrate.upgrade(self._engine)
            except BaseException:
                self._engine.dispose()
                raise

    # -- plumbing -----------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def backend(self) -> str:
        """The backend's name: sqlite or postgresql."""
        return self._url.get_backend_name()

    @property
    def url(self) -> str:
        """The URL with any password hidden."""
        return self._url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Catalog({self.url!r})"

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError(f"the catalog's clock returned a naive datetime: {now!r}")
        return now.astimezone(UTC)

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with Session(self._write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    @staticmethod
    def _locked(session: Session, video_id: str) -> VideoRow:
        row = session.scalars(select(VideoRow).where(VideoRow.id == video_id).with_for_update()).one_or_none()
        if row is None:
            raise VideoNotFound(video_id)
        return row

    # -- reads --------------------------------------------------------------------------------------

    def get(self, video_id: str) -> VideoRecord | None:
        """The video, or None when the catalog has no such id."""
        with self._reading() as session:
            row = session.get(VideoRow, video_id)
            return VideoRecord.from_row(row) if row is not None else None

    def require(self, video_id: str) -> VideoRecord:
        """The video; raises VideoNotFound naming the id when it is absent."""
        record = self.get(video_id)
        if record is None:
            raise VideoNotFound(video_id)
        return record

    def get_request(self, video_id: str) -> VideoRequest:
        """What was asked for this video."""
        with self._reading() as session:
            request = session.scalar(select(VideoRow.request).where(VideoRow.id == video_id))
        if request is None:
            raise VideoNotFound(video_id)
        return VideoRequest.model_validate(request)

    def existing_ids(self, video_ids: Sequence[str]) -> set[str]:
        """Those of video_ids that are in the catalog (one query per 500 ids, ids only)."""
        ids = list(dict.fromkeys(video_ids))
        found: set[str] = set()
        with self._reading() as session:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                found.update(session.scalars(select(VideoRow.id).where(VideoRow.id.in_(chunk))))
        return found

    def list_videos(
        self,
        *,
        status: VideoStatus | None = None,
        since: datetime | None = None,
        video_ids: Sequence[str] | None = None,
        user_id: str | None = None,
        limit: int | None = None,
    ) -> list[VideoRecord]:
        """Videos matching every given filter, newest first (`since`: created at or after)."""
        query = select(VideoRow).order_by(VideoRow.created_at.desc(), VideoRow.id.desc())
        if status is not None:
            query = query.where(VideoRow.status == VideoStatus(status).value)
        if since is not None:
            if since.tzinfo is None:
                raise ValueError(f"since must be timezone-aware, got {since!r}")
            query = query.where(VideoRow.created_at >= since)
        if video_ids is not None:
            if not video_ids:
                return []
            query = query.where(VideoRow.id.in_(list(video_ids)))
        if user_id is not None:
            query = query.where(VideoRow.user_id == user_id)
        if limit is not None:
            if limit < 0:
                raise ValueError(f"limit must be >= 0, got {limit}")
            query = query.limit(limit)
        with self._reading() as session:
            return [VideoRecord.from_row(row) for row in session.scalars(query)]

    # -- writes -------------------------------------------------------------------------------------

    def create_video(
        self, *, video_id: str, request: VideoRequest, user_id: str | None = None,
        adjustments: Sequence[Adjustment] = (),
    ) -> VideoRecord:
        """Add a QUEUED video (`request` as served, `adjustments` what differs from the ask); raises VideoExists
        when the id is taken."""
        check_video_id(video_id)
        now = self._now()
        row = VideoRow(
            id=video_id,
            user_id=user_id,
            request=request.model_dump(mode="json"),
            status=_QUEUED,
            phase=None,
            percent=0.0,
            artifacts={},
            error=None,
            phase_seconds={},
            created_at=now,
            updated_at=now,
            remakes=[],
            adjustments=[a.model_dump(mode="json") for a in adjustments] or None,
        )
        try:
            with self._writing() as session:
                if session.get(VideoRow, video_id) is not None:
                    raise VideoExists(video_id)
                session.add(row)
        except IntegrityError as exc:  # a concurrent insert won the race
            raise VideoExists(video_id) from exc
        return VideoRecord.from_row(row)

    def start_phase(
        self, video_id: str, *, phase: str, run_id: str | None = None
    ) -> VideoRecord:
        """The pipeline entered a phase: PROCESSING at 0%, or a re-make noted on a COMPLETED video.

        Returns the video as it is now. Raises VideoCancelled on a cancelled video, and RunAlreadyFailed
        when run_id is the run that already marked the video FAILED (a sibling step must not revive it);
        a new run retries.
        """
        with self._writing() as session:
            row = self._locked(session, video_id)
            after = next_status(row.status, StatusEvent.START)
            if after is None:
                raise VideoCancelled(video_id)
            if run_id is not None and row.status == VideoStatus.FAILED.value and row.dagster_run_id == run_id:
                raise RunAlreadyFailed(video_id, row.error)
            now = self._now()
            if row.status == _COMPLETED:
                _note_remake(row, run_id=run_id, phase=phase, now=now)
            else:
                row.status = after.value
                row.phase = phase
                row.percent = 0.0
                row.error = None
                row.completed_at = None
            if run_id is not None:
                row.dagster_run_id = run_id
            row.started_at = row.started_at or now
            row.updated_at = now
            session.flush()
            return VideoRecord.from_row(row)

    def report_progress(self, video_id: str, *, phase: str, percent: float) -> None:
        """Progress within a phase (clamped to 0-100), in one UPDATE; raises VideoCancelled if cancelled."""
        now = self._now()
        statement = (
            update(videos)
            .where(videos.c.id == video_id, videos.c.status.in_(_PROGRESS_SHOWN))
            .values(
                phase=phase,
                percent=_clamp_percent(percent),
                status=case(_PROGRESSED, value=videos.c.status, else_=videos.c.status),
                started_at=func.coalesce(videos.c.started_at, literal(now, videos.c.started_at.type)),
                updated_at=now,
            )
        )
        with self._write_engine.begin() as conn:
            if conn.execute(statement).rowcount:
                return
            status = conn.scalar(select(videos.c.status).where(videos.c.id == video_id))
        if status == _COMPLETED:
            return  # a re-make's progress: the video stays COMPLETED at 100%
        raise VideoCancelled(video_id) if status is not None else VideoNotFound(video_id)

    def finish_phase(
        self,
        video_id: str,
        *,
        phase: str,
        seconds: float,
        artifacts: dict[str, str] | None = None,
        run_id: str | None = None,
    ) -> None:
        """A phase (or one asset of it) is done: 100%, its seconds recorded, its artifacts merged in.

        The `phase` column keeps what start_phase set; `phase` here names the phase_seconds entry. On a
        COMPLETED video (a re-make) the asset joins the run's re-make entry and phase and percent stay.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        with self._writing() as session:
            row = self._locked(session, video_id)
            after = next_status(row.status, StatusEvent.PROGRESS)
            if after is None:
                raise VideoCancelled(video_id)
            now = self._now()
            if after.value != row.status:
                row.status = after.value
                row.started_at = row.started_at or now
            if row.status == _COMPLETED:
                index = _remake_index(row, run_id)
                if index is not None and row.remakes is not None:
                    assets = list(row.remakes[index].get("assets", []))
                    _update_remake(row, index, assets=[*assets, phase] if phase not in assets else assets,
                                   finished_at=now.isoformat())
            else:
                row.phase = row.phase or phase
                row.percent = 100.0
            row.phase_seconds = {**row.phase_seconds, phase: float(seconds)}
            if artifacts:
                row.artifacts = {**row.artifacts, **artifacts}
            row.updated_at = now

    def set_title(self, video_id: str, title: str) -> None:
        """Remember the scenario's title (cut to 200 characters)."""
        clean = " ".join(title.split())[:TITLE_LENGTH] or None
        statement = update(videos).where(videos.c.id == video_id).values(title=clean, updated_at=self._now())
        with self._write_engine.begin() as conn:
            if not conn.execute(statement).rowcount:
                raise VideoNotFound(video_id)

    def set_scenario(self, video_id: str, scenario: Scenario) -> None:
        """Keep the scenario (JSONB on PostgreSQL), its title, and its title and narration for ?q= search."""
        clean = " ".join(scenario.title.split())[:TITLE_LENGTH] or None
        statement = update(videos).where(videos.c.id == video_id).values(
            title=clean, scenario=scenario.model_dump(mode="json"), search_text=search_text(scenario),
            updated_at=self._now(),
        )
        with self._write_engine.begin() as conn:
            if not conn.execute(statement).rowcount:
                raise VideoNotFound(video_id)

    def set_favorite(self, video_id: str, *, user_id: str, favorite: bool = True) -> None:
        """Mark (or unmark) a person's video as a favorite; raises VideoNotFound when it is not theirs."""
        with self._write_engine.begin() as conn:
            conn.execute(favorite_statement(video_id, user_id=user_id, favorite=favorite, now=self._now()))
            owner = conn.scalar(select(videos.c.user_id).where(videos.c.id == video_id))
        if owner != user_id:
            raise VideoNotFound(video_id)

    def mark_failed(
        self, video_id: str, *, error: str, phase: str | None = None, run_id: str | None = None
    ) -> bool:
        """QUEUED or PROCESSING → FAILED with the reason; returns whether the status changed.

        On a COMPLETED video the error goes to the failing run's re-make entry: the video keeps its files.
        """
        with self._writing() as session:
            row = self._locked(session, video_id)
            if row.status == _COMPLETED:
                index = _remake_index(row, run_id)
                if index is not None and row.remakes is not None and not row.remakes[index].get("error"):
                    _update_remake(row, index, error=error, finished_at=self._now().isoformat())
                    row.updated_at = self._now()
                return False
            if next_status(row.status, StatusEvent.FAIL) is not VideoStatus.FAILED:
                return False
            row.status = VideoStatus.FAILED.value
            row.error = error
            row.phase = phase if phase is not None else row.phase
            row.updated_at = self._now()
            return True

    def mark_completed(self, video_id: str, *, size_bytes: int, duration_s: float, artifacts: dict[str, str]) -> bool:
        """Anything but CANCELLED → COMPLETED with its figures; returns whether the status changed."""
        with self._writing() as session:
            row = self._locked(session, video_id)
            if next_status(row.status, StatusEvent.COMPLETE) is None:
                return False
            changed = row.status != VideoStatus.COMPLETED.value
            now = self._now()
            row.status = VideoStatus.COMPLETED.value
            row.percent = 100.0
            row.error = None
            row.size_bytes = int(size_bytes)
            row.duration_s = float(duration_s)
            row.artifacts = {**row.artifacts, **artifacts}
            row.started_at = row.started_at or now
            row.completed_at = now if changed or row.completed_at is None else row.completed_at
            row.updated_at = now
            return changed

    def mark_cancelled(self, video_id: str) -> bool:
        """QUEUED or PROCESSING → CANCELLED, for good; returns whether the status changed."""
        with self._write_engine.begin() as conn:
            if conn.execute(cancel_statement(video_id, now=self._now())).rowcount:
                return True
            if conn.scalar(select(videos.c.status).where(videos.c.id == video_id)) is None:
                raise VideoNotFound(video_id)
        return False

    def set_run_id(self, video_id: str, *, run_id: str) -> None:
        """Remember the Dagster run that is materializing this video."""
        statement = update(videos).where(videos.c.id == video_id).values(dagster_run_id=run_id, updated_at=self._now())
        with self._write_engine.begin() as conn:
            if not conn.execute(statement).rowcount:
                raise VideoNotFound(video_id)
