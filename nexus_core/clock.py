"""The one clock: the current time, timezone-aware in UTC (classes that need a fake time take `clock=`)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
