"""The /videos routes over HTTP on PostgreSQL: generate, read, list, cancel, idempotency, plans, errors."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from api import videos as videos_api
from nexus_core.catalog import Catalog
from nexus_core.models import VideoRequest
from nexus_core.pricing import token_cost
from tests.api.support import API, SHORT, ApiServer, RecordingDispatcher, new_user, wait_for


def _generate(client: httpx.Client, **overrides: object) -> httpx.Response:
    return client.post(f"{API}/videos/generate", json={**SHORT, **overrides})


def _balance(client: httpx.Client) -> tuple[int, int]:
    body = client.get(f"{API}/tokens").json()
    return body["balance"], body["reserved"]


def test_generate_answers_202_with_cost_and_queue_position(pg_api: ApiServer, dispatcher: RecordingDispatcher) -> None:
    with pg_api.user_client(plan="PREMIUM") as client:
        before, _ = _balance(client)
        response = _generate(client, duration_seconds=20, quality="HD", resolution="1080p")
        assert response.status_code == 202, response.text
        body = response.json()
        cost = token_cost(VideoRequest(**{**SHORT, "duration_seconds": 20, "quality": "HD", "resolution": "1080p"}))
        assert body["status"] == "QUEUED"
        assert body["token_cost"] == cost == 45
        assert body["queue_position"] >= 1
        assert body["links"]["self"] == f"{API}/videos/{body['id']}"
        assert response.headers["location"] == body["links"]["self"]
        assert _balance(client) == (before - cost, cost)
        video = client.get(f"{API}/videos/{body['id']}").json()
    assert video["status"] == "QUEUED" and video["token_cost"] == cost and video["queue_position"] >= 1
    assert video["request"]["resolution"] == "1080p" and video["result"] is None
    wait_for(lambda: body["id"] in dispatcher.dispatched, what="the relay hands the request over")


def test_free_plan_cannot_ask_for_ultra_or_2160p(pg_api: ApiServer) -> None:
    with pg_api.user_client(plan="FREE") as client:
        for field, value in (("quality", "ULTRA"), ("resolution", "2160p")):
            response = _generate(client, **{field: value})
            assert response.status_code == 403, response.text
            error = response.json()["error"]
            assert error["code"] == "plan_limit" and error["field"] == field
            assert value in error["message"] and "FREE" in error["message"]
        assert _balance(client) == (100, 0)  # nothing reserved
    with pg_api.user_client(plan="PREMIUM") as client:
        assert _generate(client, quality="ULTRA", resolution="2160p").status_code == 202


def test_insufficient_tokens_is_402_with_balance_and_cost(pg_api: ApiServer) -> None:
    with pg_api.user_client(plan="FREE") as client:
        response = _generate(client, duration_seconds=120, quality="HD", resolution="1080p")  # 270 tokens
        assert response.status_code == 402, response.text
        error = response.json()["error"]
        assert (error["code"], error["balance"], error["cost"]) == ("insufficient_tokens", 100, 270)
        assert _balance(client) == (100, 0)


def test_another_users_video_is_404(pg_api: ApiServer) -> None:
    with pg_api.user_client() as owner, pg_api.user_client() as other:
        video_id = _generate(owner).json()["id"]
        for method, path in (("GET", f"{API}/videos/{video_id}"), ("POST", f"{API}/videos/{video_id}/cancel"),
                             ("GET", f"{API}/videos/{video_id}/events")):
            response = other.request(method, path)
            assert response.status_code == 404, (path, response.text)
            assert response.json() == {"error": {"code": "not_found", "message": "no such video"}}
        assert other.get(f"{API}/videos").json()["items"] == []
        assert owner.get(f"{API}/videos/{video_id}").status_code == 200
        assert owner.get(f"{API}/videos/0000000000000000").status_code == 404


def test_list_is_newest_first_with_cursor_pagination_and_status_filter(pg_api: ApiServer) -> None:
    with pg_api.user_client() as client:
        ids = [_generate(client, prompt=f"Video number {i}").json()["id"] for i in range(7)]
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, object] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = client.get(f"{API}/videos", params=params).json()
            seen += [item["id"] for item in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert seen == list(reversed(ids))
        for victim in ids[:2]:
            assert client.post(f"{API}/videos/{victim}/cancel").status_code == 200
        cancelled = client.get(f"{API}/videos", params={"status": "CANCELLED"}).json()
        assert [item["id"] for item in cancelled["items"]] == [ids[1], ids[0]]
        queued = client.get(f"{API}/videos", params={"status": "QUEUED", "limit": 100}).json()["items"]
        assert len(queued) == 5 and all(item["status"] == "QUEUED" for item in queued)
        for cursor in ("definitely-not-a-cursor", videos_api.encode_cursor(datetime.now(UTC), "bad\x00id")):
            bad = client.get(f"{API}/videos", params={"cursor": cursor})
            assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor"


def test_cancel_releases_the_tokens_and_a_queued_video_never_starts(
    pg_api: ApiServer, dispatcher: RecordingDispatcher
) -> None:
    dispatcher.down = True  # keep the request in the outbox: it must never be handed over
    try:
        with pg_api.user_client() as client:
            before, _ = _balance(client)
            video_id = _generate(client, duration_seconds=30).json()["id"]
            assert _balance(client) == (before - 15, 15)
            response = client.post(f"{API}/videos/{video_id}/cancel")
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "CANCELLED"
            assert _balance(client) == (before, 0)
            again = client.post(f"{API}/videos/{video_id}/cancel")
            assert again.status_code == 200 and again.json()["status"] == "CANCELLED"
            assert _balance(client) == (before, 0)
            kinds = [e["kind"] for e in client.get(f"{API}/tokens").json()["entries"]]
            assert kinds.count("release") == 1 and kinds.count("reserve") == 1
    finally:
        dispatcher.down = False
    wait_for(lambda: video_id in dispatcher.cancelled, what="the cancel reaches the dispatcher")
    pg_api.state.relay.run_once()
    assert video_id not in dispatcher.dispatched


def test_cancel_of_a_finished_video_is_409(pg_api: ApiServer) -> None:
    with pg_api.user_client() as client:
        video_id = _generate(client).json()["id"]
        catalog = Catalog(pg_api.settings.database_url)
        try:
            catalog.mark_completed(video_id, size_bytes=10, duration_s=5.0, artifacts={})
        finally:
            catalog.close()
        response = client.post(f"{API}/videos/{video_id}/cancel")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "already_final"


def test_same_idempotency_key_returns_the_first_answer_and_charges_once(pg_api: ApiServer) -> None:
    key = str(uuid.uuid4())
    with pg_api.user_client() as client:
        before, _ = _balance(client)
        first = client.post(f"{API}/videos/generate", json=SHORT, headers={"Idempotency-Key": key})
        second = client.post(f"{API}/videos/generate", json=SHORT, headers={"Idempotency-Key": key})
        assert first.status_code == second.status_code == 202
        assert first.json() == second.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert _balance(client) == (before - 3, 3)
        other = client.post(f"{API}/videos/generate", json={**SHORT, "duration_seconds": 6},
                            headers={"Idempotency-Key": key})
        assert other.status_code == 409
        assert other.json()["error"] == {"code": "idempotency_conflict", "field": "Idempotency-Key",
                                         "message": "this Idempotency-Key was used with a different request"}
        assert len(client.get(f"{API}/videos").json()["items"]) == 1


def test_concurrent_retries_with_one_key_create_one_video(pg_api: ApiServer) -> None:
    key = str(uuid.uuid4())
    user = new_user()
    token = pg_api.keys.token(user)
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(8)

    def post() -> None:
        with pg_api.client(token) as client:
            barrier.wait()
            answers.append(client.post(f"{API}/videos/generate", json=SHORT, headers={"Idempotency-Key": key}))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    with pg_api.client(token) as client:
        assert len(client.get(f"{API}/videos").json()["items"]) == 1
        assert _balance(client) == (1000 - 3, 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SHORT, "quality": "BEST"}, "quality"),
        ({**SHORT, "duration_seconds": 4}, "duration_seconds"),
        ({**SHORT, "colour": "red"}, "colour"),
        ({"duration_seconds": 10}, "prompt"),
        ({**SHORT, "prompt": "   "}, "prompt"),
        ({**SHORT, "frame_rate": 29}, "frame_rate"),
    ],
)
def test_bad_fields_are_422_naming_the_field(pg_api: ApiServer, body: dict[str, object], field: str) -> None:
    with pg_api.user_client() as client:
        response = client.post(f"{API}/videos/generate", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert field in error["message"]


def test_enum_errors_list_the_allowed_values(pg_api: ApiServer) -> None:
    with pg_api.user_client() as client:
        error = client.post(f"{API}/videos/generate", json={**SHORT, "resolution": "8k"}).json()["error"]
    assert all(value in error["message"] for value in ("360p", "720p", "2160p"))


def test_oversized_body_is_refused(pg_api: ApiServer) -> None:
    with pg_api.user_client() as client:
        response = client.post(f"{API}/videos/generate", json={**SHORT, "prompt": "x" * 100_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_markup_in_a_prompt_is_stored_as_text_and_served_as_json(pg_api: ApiServer) -> None:
    prompt = '<script>alert("x")</script><img src=x onerror=alert(1)> & friends'
    with pg_api.user_client() as client:
        video_id = _generate(client, prompt=prompt).json()["id"]
        response = client.get(f"{API}/videos/{video_id}")
    assert response.json()["request"]["prompt"] == prompt
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_unknown_routes_and_methods_use_the_error_shape(pg_api: ApiServer) -> None:
    with pg_api.user_client() as client:
        missing = client.get(f"{API}/nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        wrong = client.delete(f"{API}/videos")
        assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
        bad_id = client.get(f"{API}/videos/..%2F..%2Fetc")
        assert bad_id.status_code in (404, 422) and "error" in bad_id.json()
