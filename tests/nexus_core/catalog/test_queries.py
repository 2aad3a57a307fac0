"""Catalog queries: favorites, the videos in flight and search over title and narration (SQLite here; the
API tests and bench/catalog_queries.py run them on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from nexus_core.catalog import Catalog
from nexus_core.catalog.queries import list_filters, search_terms, search_text
from nexus_core.catalog.tables import videos
from nexus_core.models import Scenario, Scene, VideoRequest

REQUEST = VideoRequest(prompt="anything", duration_seconds=5)


def _scenario(title: str, *lines: str) -> Scenario:
    scenes = [Scene(scene_number=i + 1, duration_seconds=2.5, description="a scene", visual_elements=["sky"],
                    dialogue=line) for i, line in enumerate(lines or ("",))]
    return Scenario(title=title, scenes=scenes)


def test_search_text_is_the_title_and_narration_casefolded() -> None:
    text = search_text(_scenario("Black  Holes", "Gravity BENDS light.", "", "Straße"))
    assert text == "black holes\ngravity bends light.\nstrasse"


def test_search_terms_refuse_empty_and_too_many_words() -> None:
    assert search_terms("  Black hole BLACK ") == ["black", "hole"]
    with pytest.raises(ValueError, match="no words"):
        search_terms("   ")
    with pytest.raises(ValueError, match="at most 8"):
        search_terms(" ".join(f"w{i}" for i in range(9)))


def _ids(catalog: Catalog, **filters: object) -> set[str]:
    query = select(videos.c.id).where(videos.c.user_id == "ann", *list_filters(**filters))  # type: ignore[arg-type]
    with catalog.engine.connect() as conn:
        return set(conn.scalars(query))


def test_favorites_in_flight_and_search_filter_a_persons_videos(tmp_path: Path) -> None:
    with Catalog(f"sqlite:///{tmp_path / 'catalog.db'}") as catalog:
        for video_id in ("hole", "sleep", "pct", "cjk"):
            catalog.create_video(video_id=video_id, request=REQUEST, user_id="ann")
        catalog.create_video(video_id="bob1", request=REQUEST, user_id="bob")
        catalog.set_scenario("hole", _scenario("Black Holes", "Nothing escapes a black hole."))
        catalog.set_scenario("sleep", _scenario("Sleep better", "Keep the room dark and cool."))
        catalog.set_scenario("pct", _scenario("100% juice_box", "Fifty per cent."))
        catalog.set_scenario("cjk", _scenario("ブラックホール", "光も逃げられない。"))
        catalog.set_scenario("bob1", _scenario("Black holes for Bob", ""))
        catalog.mark_completed("sleep", size_bytes=1, duration_s=5.0, artifacts={})
        catalog.set_favorite("hole", user_id="ann")
        catalog.set_favorite("sleep", user_id="ann")
        catalog.set_favorite("sleep", user_id="ann", favorite=False)

        assert catalog.require("hole").favorited_at is not None and catalog.require("hole").title == "Black Holes"
        assert catalog.require("sleep").favorited_at is None
        assert _ids(catalog, favorite=True) == {"hole"}
        assert _ids(catalog, favorite=False) == {"sleep", "pct", "cjk"}
        assert _ids(catalog, in_flight_only=True) == {"hole", "pct", "cjk"}
        assert _ids(catalog, terms=search_terms("BLACK hole")) == {"hole"}
        assert _ids(catalog, terms=search_terms("dark")) == {"sleep"}  # narration, not only titles
        assert _ids(catalog, terms=search_terms("blac escap")) == {"hole"}  # fragments of words
        assert _ids(catalog, terms=search_terms("black sleep")) == set()  # every word must match
        assert _ids(catalog, terms=search_terms("100%")) == {"pct"}  # % and _ are literal
        assert _ids(catalog, terms=search_terms("%")) == {"pct"}
        assert _ids(catalog, terms=search_terms("e_b")) == {"pct"}
        assert _ids(catalog, terms=search_terms("逃げ")) == {"cjk"}
        with pytest.raises(Exception, match="bob1"):
            catalog.set_favorite("bob1", user_id="ann")
        assert catalog.require("bob1").favorited_at is None
