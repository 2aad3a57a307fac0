"""SSE through the real pipeline: the overall percent only grows (whole numbers), each event carries the phase,
its own percent and the time left, and `done` carries the files' links."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.support import API, SHORT, ApiServer, Keys, make_settings, sse_events

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_api(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys,
    tmp_path_factory: pytest.TempPathFactory,
) -> ApiServer:
    home = tmp_path_factory.mktemp("progress-home")
    return serve(make_settings(home, new_postgres_database(), keys, dispatcher="subprocess", sse_poll_s=0.1))


def _events(client: httpx.Client, video_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    return sse_events(client, f"{API}/videos/{video_id}/events", timeout_s=180)


def test_overall_percent_grows_and_done_carries_the_links(live_api: ApiServer) -> None:
    with live_api.user_client() as client:
        video_id = client.post(f"{API}/videos/generate", json=SHORT).json()["id"]
        events = list(_events(client, video_id))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"progress"}
    percents = [data["percent"] for _, data in events]
    assert all(isinstance(p, int) for p in percents), percents
    assert percents == sorted(percents), percents
    assert percents[-1] == 100 and 100 not in percents[:-1]
    processing = [data for _, data in events if data["status"] == "PROCESSING"]
    assert len({data["phase"] for data in processing}) >= 3  # it reports along the way, phase by phase
    assert all(isinstance(d["phase_percent"], int) and 0 <= d["phase_percent"] <= 100 for d in processing)
    assert any(d["eta_s"] is not None for d in processing)
    done = events[-1][1]
    assert done["status"] == "COMPLETED" and done["eta_s"] == 0
    result = done["result"]
    assert result["video_url"].startswith(f"{live_api.base_url}/api/v1/files/{video_id}/video?")
    assert len(result["thumbnails"]) >= 1
    with httpx.Client(timeout=30) as anonymous:
        mp4 = anonymous.get(result["video_url"])
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    assert mp4.content[4:8] == b"ftyp" and len(mp4.content) == result["size_bytes"]
