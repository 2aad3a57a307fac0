"""The Catalog: every read and write of the videos table, safe across threads and processes.

Status rules:
- start_phase: any status but CANCELLED → PROCESSING (COMPLETED again for a re-materialization or a
  backfill, FAILED again for a retry). report_progress and finish_phase promote QUEUED to PROCESSING and
  leave other statuses alone. All three raise VideoCancelled on a CANCELLED video, so its pipeline stops.
- mark_failed: from QUEUED or PROCESSING. mark_completed: from anything but CANCELLED (a COMPLETED video
  takes the new figures). mark_cancelled: from QUEUED or PROCESSING. CANCELLED is final.
Writes that read JSON columns first hold the row's lock (SELECT ... FOR UPDATE on PostgreSQL, BEGIN
IMMEDIATE on SQLite) for the whole read-modify-write, so concurrent writers never lose each other's keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Engine, case, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nexus_core.catalog import migrate
from nexus_core.catalog.engine import WRITE_OPTION, make_engine, normalize_url
from nexus_core.catalog.errors import RunAlreadyFailed, VideoCancelled, VideoExists, VideoNotFound
from nexus_core.catalog.record import VideoRecord
from nexus_core.catalog.tables import VideoRow, videos
from nexus_core.models import VideoRequest, VideoStatus
from nexus_core.storage_keys import check_video_id

Clock = Callable[[], datetime]

_QUEUED = VideoStatus.QUEUED.value
_PROCESSING = VideoStatus.PROCESSING.value
_CANCELLED = VideoStatus.CANCELLED.value


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _clamp_percent(percent: float) -> float:
    if math.isnan(percent):
        raise ValueError("percent must be a number, got NaN")
    return min(100.0, max(0.0, float(percent)))


class Catalog:
    """The video catalog at one URL (sqlite:///PATH or postgresql://...); migrates it to head on open."""

    def __init__(self, url: str, *, clock: Clock | None = None, migrate_on_open: bool = True) -> None:
        self._url = normalize_url(url)
        self._clock = clock or _utcnow
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

    def create_video(self, *, video_id: str, request: VideoRequest, user_id: str | None = None) -> VideoRecord:
        """Add a QUEUED video; raises VideoExists when the id is taken."""
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
        )
        try:
            with self._writing() as session:
                if session.get(VideoRow, video_id) is not None:
                    raise VideoExists(video_id)
                session.add(row)
        except IntegrityError as exc:  # a concurrent insert won the race
            raise VideoExists(video_id) from exc
        return VideoRecord.from_row(row)

    def start_phase(self, video_id: str, *, phase: str, run_id: str | None = None) -> None:
        """The pipeline entered a phase: PROCESSING at 0%.

        Raises VideoCancelled on a cancelled video, and RunAlreadyFailed when run_id is the run that
        already marked the video FAILED (a sibling step must not revive it); a new run retries.
        """
        with self._writing() as session:
            row = self._locked(session, video_id)
            if row.status == _CANCELLED:
                raise VideoCancelled(video_id)
            if run_id is not None and row.status == VideoStatus.FAILED.value and row.dagster_run_id == run_id:
                raise RunAlreadyFailed(video_id, row.error)
            now = self._now()
            if run_id is not None:
                row.dagster_run_id = run_id
            row.status = _PROCESSING
            row.phase = phase
            row.percent = 0.0
            row.error = None
            row.completed_at = None
            row.started_at = row.started_at or now
            row.updated_at = now

    def report_progress(self, video_id: str, *, phase: str, percent: float) -> None:
        """Progress within a phase (clamped to 0-100), in one UPDATE; raises VideoCancelled if cancelled."""
        now = self._now()
        statement = (
            update(videos)
            .where(videos.c.id == video_id, videos.c.status != _CANCELLED)
            .values(
                phase=phase,
                percent=_clamp_percent(percent),
                status=case((videos.c.status == _QUEUED, _PROCESSING), else_=videos.c.status),
                started_at=func.coalesce(videos.c.started_at, literal(now, videos.c.started_at.type)),
                updated_at=now,
            )
        )
        with self._write_engine.begin() as conn:
            if conn.execute(statement).rowcount:
                return
            exists = conn.scalar(select(videos.c.status).where(videos.c.id == video_id)) is not None
        raise VideoCancelled(video_id) if exists else VideoNotFound(video_id)

    def finish_phase(
        self, video_id: str, *, phase: str, seconds: float, artifacts: dict[str, str] | None = None
    ) -> None:
        """A phase (or one asset of it) is done: 100%, its seconds recorded, its artifacts merged in.

        The `phase` column keeps what start_phase set; `phase` here names the phase_seconds entry.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        with self._writing() as session:
            row = self._locked(session, video_id)
            if row.status == _CANCELLED:
                raise VideoCancelled(video_id)
            now = self._now()
            if row.status == _QUEUED:
                row.status = _PROCESSING
                row.started_at = row.started_at or now
            row.phase = row.phase or phase
            row.percent = 100.0
            row.phase_seconds = {**row.phase_seconds, phase: float(seconds)}
            if artifacts:
                row.artifacts = {**row.artifacts, **artifacts}
            row.updated_at = now

    def mark_failed(self, video_id: str, *, error: str, phase: str | None = None) -> bool:
        """QUEUED or PROCESSING → FAILED with the reason; returns whether the status changed."""
        with self._writing() as session:
            row = self._locked(session, video_id)
            if row.status not in (_QUEUED, _PROCESSING):
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
            if row.status == _CANCELLED:
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
        with self._writing() as session:
            row = self._locked(session, video_id)
            if row.status not in (_QUEUED, _PROCESSING):
                return False
            row.status = _CANCELLED
            row.updated_at = self._now()
            return True

    def set_run_id(self, video_id: str, *, run_id: str) -> None:
        """Remember the Dagster run that is materializing this video."""
        statement = update(videos).where(videos.c.id == video_id).values(dagster_run_id=run_id, updated_at=self._now())
        with self._write_engine.begin() as conn:
            if not conn.execute(statement).rowcount:
                raise VideoNotFound(video_id)
