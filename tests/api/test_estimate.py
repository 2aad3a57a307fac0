"""POST /videos/estimate over HTTP on PostgreSQL: the cost generate then reserves, the plan check, the
expected generation time, and nothing reserved or recorded; 422 names the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api.estimates import DEFAULT_FIXED_S, DEFAULT_PER_VIDEO_SECOND_S, Run, fit, predict
from nexus_core.catalog import Catalog
from nexus_core.models import Resolution
from nexus_core.pricing import PLAN_LIMITS, Plan
from tests.api.support import API, SHORT, ApiServer, Keys, RecordingDispatcher, make_settings, new_user

REQUESTS: list[dict[str, Any]] = [
    SHORT,
    {"prompt": "A 30-second explainer on black holes", "duration_seconds": 30, "quality": "HD", "resolution": "720p"},
    {"prompt": "Trois astuces pour bien dormir", "duration_seconds": 15, "aspect": "9:16", "resolution": "1080p",
     "quality": "STANDARD", "language": "fr"},
    {"prompt": "A city at dawn", "duration_seconds": 7, "quality": "ULTRA", "resolution": "480p"},
]


@pytest.fixture(scope="module")
def api(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys,
    tmp_path_factory: pytest.TempPathFactory,
) -> ApiServer:
    """An API on its own database (the generation history starts empty), running nothing."""
    settings = make_settings(tmp_path_factory.mktemp("estimate-home"), new_postgres_database(), keys)
    return serve(settings, dispatcher=RecordingDispatcher())


@pytest.mark.parametrize("body", REQUESTS, ids=["short", "hd", "vertical-fr", "ultra"])
def test_estimate_costs_what_generate_then_reserves_and_reserves_nothing(api: ApiServer, body: dict[str, Any]) -> None:
    with api.user_client(new_user("est"), plan="VIP") as client:
        first = client.post(f"{API}/videos/estimate", json=body)
        assert first.status_code == 200, first.text
        estimate = first.json()
        welcome = PLAN_LIMITS[Plan.VIP].welcome_tokens
        assert (estimate["balance"], estimate["reserved"], estimate["enough_tokens"]) == (welcome, 0, True)
        assert client.post(f"{API}/videos/estimate", json=body).json() == estimate  # asking twice changes nothing

        tokens = client.get(f"{API}/tokens").json()  # nothing reserved, no video recorded
        assert (tokens["balance"], tokens["reserved"]) == (welcome, 0)
        assert [e["kind"] for e in tokens["entries"]] == ["grant"]
        assert client.get(f"{API}/videos").json()["items"] == []

        accepted = client.post(f"{API}/videos/generate", json=body).json()
        assert accepted["token_cost"] == estimate["token_cost"]
        tokens = client.get(f"{API}/tokens").json()
        assert tokens["entries"][0]["kind"] == "reserve"
        assert tokens["entries"][0]["amount"] == estimate["token_cost"]
        assert (tokens["balance"], tokens["reserved"]) == (welcome - estimate["token_cost"], estimate["token_cost"])

        after = client.post(f"{API}/videos/estimate", json=body).json()
        assert (after["balance"], after["reserved"]) == (tokens["balance"], tokens["reserved"])
        assert after["generation"]["queue_ahead"] >= 1  # the video just queued


def test_estimate_reports_the_plan_check_and_the_shortfall(api: ApiServer) -> None:
    too_much = {"prompt": "A long 4K film", "duration_seconds": 600, "quality": "ULTRA", "resolution": "2160p"}
    with api.user_client(new_user("est-free"), plan="FREE") as client:
        estimate = client.post(f"{API}/videos/estimate", json=too_much).json()
        plan = estimate["plan"]
        assert plan["name"] == "FREE" and plan["allowed"] is False
        assert {v["field"] for v in plan["violations"]} == {"quality", "resolution", "duration_seconds"}
        assert (plan["max_duration_s"], plan["max_resolution"], plan["qualities"]) == (120, "1080p", ["STANDARD", "HD"])
        assert estimate["token_cost"] == 600 * 3 * 4
        assert estimate["enough_tokens"] is False
        assert estimate["shortfall"] == estimate["token_cost"] - estimate["balance"] == 7200 - 100
        refused = client.post(f"{API}/videos/generate", json=too_much)  # what the estimate said
        assert refused.status_code == 403 and refused.json()["error"]["field"] == "quality"

        affordable_but_not_enough = {**too_much, "duration_seconds": 120, "quality": "HD", "resolution": "1080p"}
        estimate = client.post(f"{API}/videos/estimate", json=affordable_but_not_enough).json()
        assert estimate["plan"]["allowed"] is True and estimate["plan"]["violations"] == []
        assert (estimate["token_cost"], estimate["enough_tokens"], estimate["shortfall"]) == (270, False, 170)
        short = client.post(f"{API}/videos/generate", json=affordable_but_not_enough)
        assert short.status_code == 402
        assert (short.json()["error"]["balance"], short.json()["error"]["cost"]) == (100, 270)


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"prompt": "x", "duration_seconds": 3}, "duration_seconds", "greater than or equal to 5"),
    ({"prompt": "   "}, "prompt", "at least 1 visible character"),
    ({"prompt": "x" * 2001}, "prompt", "at most 2000 characters"),
    ({"prompt": "x", "aspect": "4:3"}, "aspect", "16:9"),
    ({"prompt": "x", "colour": "red"}, "colour", "Extra inputs"),
    ({"duration_seconds": 10}, "prompt", "Field required"),
])
def test_estimate_names_the_field_of_bad_input(api: ApiServer, body: dict[str, Any], field: str, words: str) -> None:
    with api.user_client() as client:
        response = client.post(f"{API}/videos/estimate", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert words in error["message"]
    assert error["details"][0]["field"] == field


def test_estimate_needs_a_token_and_is_documented(api: ApiServer) -> None:
    with api.client() as client:
        assert client.post(f"{API}/videos/estimate", json=SHORT).status_code == 401
        doc = client.get(f"{API}/openapi.json").json()["paths"]["/api/v1/videos/estimate"]["post"]
    assert {"200", "401", "422", "429"} <= set(doc["responses"])
    assert doc["responses"]["200"]["content"]["application/json"]["example"]["token_cost"] > 0
    assert "short" in doc["requestBody"]["content"]["application/json"]["examples"]


def test_expected_time_learns_from_completed_videos(api: ApiServer) -> None:
    body = {**SHORT, "duration_seconds": 20}
    with api.user_client(new_user("est-time"), plan="PREMIUM") as client:
        before = client.post(f"{API}/videos/estimate", json=body).json()["generation"]
        if before["basis"] == "default":  # nothing completed in this database yet
            assert before["expected_s"] == pytest.approx(DEFAULT_FIXED_S + 20 * DEFAULT_PER_VIDEO_SECOND_S, abs=0.1)
        ids = [client.post(f"{API}/videos/generate", json=body).json()["id"] for _ in range(3)]
        with Catalog(api.settings.database_url) as catalog:  # what the pipeline records as it runs
            for video_id in ids:
                catalog.start_phase(video_id, phase="script")
                catalog.mark_completed(video_id, size_bytes=1, duration_s=20.0, artifacts={})
        after = client.post(f"{API}/videos/estimate", json=body).json()["generation"]
    assert after["basis"] == "recent" and after["samples"] >= 3
    assert 0 <= after["expected_s"] < before["expected_s"]  # these runs took milliseconds


def test_fit_recovers_fixed_and_per_second_costs() -> None:
    runs = [Run(d, "360p", 12.0 + 0.8 * d) for d in (5, 10, 20, 40)]
    fixed, per_second = fit(runs)
    assert (fixed, per_second) == (pytest.approx(12.0), pytest.approx(0.8))
    seconds, basis, samples = predict(runs, duration_s=30, resolution=Resolution.P360)
    assert (seconds, basis, samples) == (pytest.approx(36.0), "recent", 4)
    same_length = [Run(10, "720p", t) for t in (8.0, 10.0, 30.0)]
    assert fit(same_length) == (0.0, pytest.approx(1.0))  # the median seconds per second of video
    assert predict(runs[:2], duration_s=10, resolution=Resolution.P360)[1] == "default"
