"""Favorites and search over real HTTP on PostgreSQL: PUT/DELETE /videos/{id}/favorite, ?favorite=true,
?in_flight=true and ?q= over the title and the narration the script phase stored in the catalog."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from nexus_core.catalog import Catalog
from nexus_core.models import Scenario, Scene
from tests.api.support import API, SHORT, ApiServer, new_user


def _scenario(title: str, narration: str) -> Scenario:
    return Scenario(title=title, scenes=[Scene(scene_number=1, duration_seconds=5, description="a scene",
                                               visual_elements=["sky"], dialogue=narration)])


@pytest.fixture
def catalog(pg_api: ApiServer) -> Iterator[Catalog]:
    with Catalog(pg_api.settings.database_url) as opened:
        yield opened


def _make(client: httpx.Client, catalog: Catalog, title: str, narration: str) -> str:
    response = client.post(f"{API}/videos/generate", json=SHORT)
    assert response.status_code == 202, response.text
    video_id: str = response.json()["id"]
    catalog.set_scenario(video_id, _scenario(title, narration))  # what the script phase does
    return video_id


def _ids(client: httpx.Client, **params: object) -> list[str]:
    response = client.get(f"{API}/videos", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_favorites_are_marked_listed_and_unmarked(pg_api: ApiServer, catalog: Catalog) -> None:
    with pg_api.user_client() as ann, pg_api.user_client() as bob:
        first = _make(ann, catalog, "Black holes", "Nothing escapes.")
        second = _make(ann, catalog, "Sleep better", "Keep the room dark.")
        marked = ann.put(f"{API}/videos/{first}/favorite")
        assert marked.status_code == 200 and marked.json()["favorite"] is True
        again = ann.put(f"{API}/videos/{first}/favorite").json()
        assert again["favorited_at"] == marked.json()["favorited_at"]  # idempotent: the first time stays
        assert _ids(ann, favorite="true") == [first]
        assert _ids(ann, favorite="false") == [second]
        assert ann.get(f"{API}/videos/{first}").json()["favorite"] is True
        assert [i["favorite"] for i in ann.get(f"{API}/videos").json()["items"]] == [False, True]

        refused = bob.put(f"{API}/videos/{first}/favorite")  # someone else's video: as if it did not exist
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
        assert bob.put(f"{API}/videos/nope/favorite").status_code == 404

        removed = ann.delete(f"{API}/videos/{first}/favorite")
        assert removed.status_code == 200 and removed.json() == {"id": first, "favorite": False, "favorited_at": None}
        assert ann.delete(f"{API}/videos/{first}/favorite").status_code == 200
        assert _ids(ann, favorite="true") == []


def test_search_matches_every_word_in_title_or_narration(pg_api: ApiServer, catalog: Catalog) -> None:
    with pg_api.user_client() as ann, pg_api.user_client() as bob:
        hole = _make(ann, catalog, "Black Holes explained", "Not even light escapes a black hole.")
        sleep = _make(ann, catalog, "Sleep better", "Keep the room DARK and cool.")
        juice = _make(ann, catalog, "100% juice", "Fresh_pressed oranges.")
        bobs = _make(bob, catalog, "Black holes for Bob", "Bob's own.")
        queued = ann.post(f"{API}/videos/generate", json=SHORT).json()["id"]  # no scenario yet: never matches

        assert _ids(ann, q="black HOLE") == [hole]
        assert _ids(ann, q="dark") == [sleep]  # the narration, not only titles
        assert _ids(ann, q="expla escap") == [hole]  # parts of words
        assert _ids(ann, q="black sleep") == []  # every word must appear
        assert _ids(ann, q="100%") == [juice] and _ids(ann, q="h_p") == [juice]  # % and _ mean themselves
        assert _ids(bob, q="black") == [bobs]  # only the caller's videos
        assert queued not in _ids(ann, q="a")

        ann.put(f"{API}/videos/{sleep}/favorite")
        assert _ids(ann, q="dark", favorite="true") == [sleep]
        assert _ids(ann, q="black", favorite="true") == []
        item = ann.get(f"{API}/videos", params={"q": "black"}).json()["items"][0]
        assert item["title"] == "Black Holes explained"

        blank = ann.get(f"{API}/videos", params={"q": "   "})
        assert blank.status_code == 422 and blank.json()["error"]["field"] == "q"
        too_many = ann.get(f"{API}/videos", params={"q": " ".join("abcdefghi")})
        assert too_many.status_code == 422 and "at most 8" in too_many.json()["error"]["message"]


def test_in_flight_lists_queued_and_processing_and_pages_with_the_cursor(pg_api: ApiServer, catalog: Catalog) -> None:
    with pg_api.client(pg_api.keys.token(new_user())) as ann:
        made = [_make(ann, catalog, f"Clip {n}", "Words.") for n in range(5)]
        catalog.start_phase(made[0], phase="script")
        catalog.mark_completed(made[1], size_bytes=1, duration_s=5.0, artifacts={})
        catalog.mark_failed(made[2], error="boom")
        for video_id in made:
            ann.put(f"{API}/videos/{video_id}/favorite")
        assert _ids(ann, in_flight="true") == [made[4], made[3], made[0]]
        first = ann.get(f"{API}/videos", params={"favorite": "true", "limit": 3}).json()
        assert [i["id"] for i in first["items"]] == made[:1:-1]
        rest = _ids(ann, favorite="true", limit=3, cursor=first["next_cursor"])
        assert rest == [made[1], made[0]]


def test_the_filters_are_in_the_openapi_document(pg_api: ApiServer) -> None:
    spec = httpx.get(f"{pg_api.base_url}{API}/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"][f"{API}/videos"]["get"]["parameters"]}
    assert {"favorite", "in_flight", "q"} <= set(params)
    assert params["q"]["examples"]["words"]["value"] == "black hole"
    favorite = spec["paths"][f"{API}/videos/{{video_id}}/favorite"]
    assert {"put", "delete"} <= set(favorite)
    assert favorite["put"]["responses"]["200"]["content"]["application/json"]["example"]["favorite"] is True
