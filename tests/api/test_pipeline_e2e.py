"""Through the real pipeline: the relay starts `nexus run-video`, SSE reaches COMPLETED, files download
behind signed URLs; a running video is cancelled (process stopped, tokens back); a crashed run refunds."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from api.dispatch import SubprocessDispatcher
from tests.api.support import API, SHORT, ApiServer, Keys, make_settings, sse_events, wait_for

pytestmark = pytest.mark.slow
PHASES = {"script", "assets", "compositing", "rendering", "encoding", "finalization"}
LONGER = {**SHORT, "duration_seconds": 40}  # long enough to catch it running


@pytest.fixture(scope="module")
def live_api(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys,
    tmp_path_factory: pytest.TempPathFactory,
) -> ApiServer:
    home = tmp_path_factory.mktemp("live-home")
    settings = make_settings(home, new_postgres_database(), keys, dispatcher="subprocess", cancel_grace_s=5.0)
    server = serve(settings)
    assert isinstance(server.state.dispatcher, SubprocessDispatcher)
    return server


def _events(client: httpx.Client, video_id: str, timeout_s: float = 120) -> Iterator[tuple[str, dict[str, Any]]]:
    return sse_events(client, f"{API}/videos/{video_id}/events", timeout_s=timeout_s)


def _wait_status(client: httpx.Client, video_id: str, status: str, timeout_s: float = 60) -> dict[str, Any]:
    def current() -> dict[str, Any] | None:
        body = client.get(f"{API}/videos/{video_id}").json()
        return body if body["status"] == status else None

    return wait_for(current, timeout_s=timeout_s, every_s=0.2, what=f"{video_id} {status}")


def test_sse_stream_reaches_completed_and_files_download(live_api: ApiServer) -> None:
    with live_api.user_client(plan="FREE") as client:
        start = client.get(f"{API}/tokens").json()["balance"]
        accepted = client.post(f"{API}/videos/generate", json=SHORT).json()
        video_id, cost = accepted["id"], accepted["token_cost"]
        events = list(_events(client, video_id))
        kinds = [kind for kind, _ in events]
        assert kinds[-1] == "done" and set(kinds[:-1]) == {"progress"}
        assert events[-1][1]["status"] == "COMPLETED" and events[-1][1]["percent"] == 100.0
        assert {data["phase"] for _, data in events if data["phase"]} <= PHASES
        assert any(data["status"] == "PROCESSING" for _, data in events)

        video = client.get(f"{API}/videos/{video_id}").json()
        assert video["status"] == "COMPLETED"
        result = video["result"]
        assert abs(result["duration_s"] - 5.0) < 0.2
        assert set(video["timings"]) >= {"scenario", "composited_scenes", "master", "renditions", "published_video"}
        with httpx.Client(timeout=30) as anonymous:  # signed links need no bearer token
            mp4 = anonymous.get(result["video_url"])
            assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
            assert len(mp4.content) == result["size_bytes"]
            assert mp4.content[4:8] == b"ftyp"
            vtt = anonymous.get(result["captions"]["vtt"])
            assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT")
            assert all(anonymous.get(url).status_code == 200 for url in result["thumbnails"])
            _refuses_forged_links(anonymous, live_api, video_id, result["video_url"])

        body = client.get(f"{API}/tokens").json()
        assert (body["balance"], body["reserved"]) == (start - cost, 0)
        assert [e["kind"] for e in body["entries"]][:2] == ["charge", "reserve"]


def _refuses_forged_links(client: httpx.Client, server: ApiServer, video_id: str, url: str) -> None:
    base, query = url.split("?")
    params = dict(part.split("=", 1) for part in query.split("&"))
    tampered = f"{base}?expires={params['expires']}&signature={params['signature'][:-2]}AA"
    assert client.get(tampered).status_code == 403
    other_file = f"{base.rsplit('/', 1)[0]}/captions_srt?{query}"
    assert client.get(other_file).status_code == 403
    signer = server.state.links.signer
    past = int(time.time()) - 5
    expired = f"{base}?expires={past}&signature={signer.signature(video_id, 'video', past)}"
    response = client.get(expired)
    assert response.status_code == 403 and response.json()["error"]["code"] == "invalid_link"
    assert client.get(f"{server.base_url}{API}/files/{video_id}/scenario?{query}").status_code == 422


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_cancel_stops_a_running_video_and_releases_its_tokens(live_api: ApiServer) -> None:
    dispatcher: SubprocessDispatcher = live_api.state.dispatcher
    with live_api.user_client() as client:
        start = client.get(f"{API}/tokens").json()["balance"]
        video_id = client.post(f"{API}/videos/generate", json=LONGER).json()["id"]
        _wait_status(client, video_id, "PROCESSING")
        pid = wait_for(lambda: dispatcher.running_pid(video_id), what="the run's pid")
        response = client.post(f"{API}/videos/{video_id}/cancel")
        assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
        wait_for(lambda: not _group_alive(pid), timeout_s=20, what="the run's process group to be gone")
        body = client.get(f"{API}/tokens").json()
        assert (body["balance"], body["reserved"]) == (start, 0)
        time.sleep(0.5)
        video = client.get(f"{API}/videos/{video_id}").json()
        assert video["status"] == "CANCELLED" and video["result"] is None
    log = (live_api.settings.state_dir / "runs" / f"{video_id}.log").read_text()
    assert f"video {video_id}: CANCELLED" in log


def test_a_run_that_dies_fails_the_video_and_refunds(live_api: ApiServer) -> None:
    dispatcher: SubprocessDispatcher = live_api.state.dispatcher
    with live_api.user_client() as client:
        start = client.get(f"{API}/tokens").json()["balance"]
        video_id = client.post(f"{API}/videos/generate", json=LONGER).json()["id"]
        _wait_status(client, video_id, "PROCESSING")
        pid = wait_for(lambda: dispatcher.running_pid(video_id), what="the run's pid")
        os.killpg(pid, signal.SIGKILL)  # an OOM kill, a lost node
        video = _wait_status(client, video_id, "FAILED", timeout_s=20)
        assert "exited with code -9" in video["error"]
        body = client.get(f"{API}/tokens").json()
        assert (body["balance"], body["reserved"]) == (start, 0)
        assert [e["kind"] for e in body["entries"]][:2] == ["release", "reserve"]
