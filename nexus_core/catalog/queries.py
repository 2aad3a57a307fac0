"""Filters and statements over the videos table that the API runs in its own transactions: favorites, search
(?q=), the videos in flight, and containment queries over the scenario JSON.

Search matches every word of the query as a case-insensitive substring of the title and the narration (the
scenes' dialogue). `search_text` holds them casefolded, so the same LIKE '%word%' means the same thing on
both backends and in every script (CJK has no spaces to split words on, which full-text search needs); on
PostgreSQL a pg_trgm GIN index serves it (migration 0003).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Update, update

from nexus_core.catalog.tables import IN_FLIGHT, videos
from nexus_core.models import Scenario

MAX_SEARCH_TERMS = 8
MAX_TERM_CHARS = 100
LIKE_ESCAPE = "\\"


def search_text(scenario: Scenario) -> str:
    """What ?q= searches: the title and every scene's narration, casefolded, one line each."""
    lines = [scenario.title, *(scene.dialogue for scene in scenario.scenes if scene.dialogue.strip())]
    return "\n".join(" ".join(line.split()) for line in lines).casefold()


def search_terms(query: str) -> list[str]:
    """The words of a search (casefolded, duplicates dropped); raises ValueError when there are none or too many."""
    terms = list(dict.fromkeys(word.casefold() for word in query.split()))
    if not terms:
        raise ValueError("the search has no words")
    if len(terms) > MAX_SEARCH_TERMS:
        raise ValueError(f"at most {MAX_SEARCH_TERMS} words, got {len(terms)}")
    long = [t for t in terms if len(t) > MAX_TERM_CHARS]
    if long:
        raise ValueError(f"a word may have at most {MAX_TERM_CHARS} characters")
    return terms


def _like_pattern(term: str) -> str:
    escaped = term.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def matches_all(terms: Sequence[str]) -> list[ColumnElement[bool]]:
    """One LIKE per word (AND): each must appear in the title or the narration."""
    return [videos.c.search_text.like(_like_pattern(t), escape=LIKE_ESCAPE) for t in terms]


def is_favorite() -> ColumnElement[bool]:
    """The favorites' partial index predicate (ix_videos_favorites): keep the expression as it is."""
    return videos.c.favorited_at.is_not(None)


def in_flight() -> ColumnElement[bool]:
    """QUEUED or PROCESSING: the predicate of the partial index ix_videos_in_flight."""
    return videos.c.status.in_(IN_FLIGHT)


def list_filters(
    *, favorite: bool | None = None, in_flight_only: bool = False, terms: Sequence[str] = ()
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filtered list of videos (beside the owner, the status and the cursor)."""
    clauses: list[ColumnElement[bool]] = []
    if favorite is True:
        clauses.append(is_favorite())
    elif favorite is False:
        clauses.append(videos.c.favorited_at.is_(None))
    if in_flight_only:
        clauses.append(in_flight())
    clauses += matches_all(terms)
    return clauses


def scenario_contains(fragment: dict[str, Any]) -> ColumnElement[bool]:
    """PostgreSQL: scenario @> fragment (served by the GIN jsonb_path_ops index ix_videos_scenario)."""
    return videos.c.scenario.op("@>")(fragment)


def favorite_statement(video_id: str, *, user_id: str, favorite: bool, now: datetime) -> Update:
    """Mark (or unmark) a person's video as a favorite; marking twice keeps the first time."""
    statement = update(videos).where(videos.c.id == video_id, videos.c.user_id == user_id)
    if favorite:
        return statement.where(videos.c.favorited_at.is_(None)).values(favorited_at=now)
    return statement.values(favorited_at=None)


def set_favorite(conn: Connection, video_id: str, *, user_id: str, favorite: bool, now: datetime) -> datetime | None:
    """Run favorite_statement in the caller's transaction; returns favorited_at as it is now (None: not one).

    Raises LookupError when the person has no such video.
    """
    conn.execute(favorite_statement(video_id, user_id=user_id, favorite=favorite, now=now))
    row = conn.execute(
        videos.select().with_only_columns(videos.c.favorited_at)
        .where(videos.c.id == video_id, videos.c.user_id == user_id)
    ).first()
    if row is None:
        raise LookupError(video_id)
    favorited_at: datetime | None = row.favorited_at
    return favorited_at
