"""The completion event on video.generation.events carries links a client can download (not file:// paths)."""

from __future__ import annotations

import uuid

import dagster as dg
import httpx
import pytest

from nexus_core.catalog import Catalog
from nexus_core.messages import VideoEvent
from resources.storage import LocalObjectStore
from sensors import run_status
from sensors.requests import PARTITION_TAG
from tests.api.support import API, SHORT, ApiServer


def test_completion_event_links_download_from_the_running_api(pg_api: ApiServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    settings = pg_api.settings
    with pg_api.user_client() as client:
        video_id = client.post(f"{API}/videos/generate", json=SHORT).json()["id"]
    store = LocalObjectStore(root=str(settings.core.object_store_root))
    body = b"\x00\x00\x00\x18ftypmp42" + uuid.uuid4().bytes
    key = f"videos/{video_id}/final/video.mp4"
    store.put_bytes(key, body)
    catalog = Catalog(settings.database_url)
    try:
        catalog.mark_completed(video_id, size_bytes=len(body), duration_s=5.0,
                               artifacts={"video": key, "scenario": f"videos/{video_id}/script/scenario.json"})
        # What `nexus up` gives the Dagster processes: the API's address; the signing key is the API's own file.
        monkeypatch.setenv("NEXUS_API_PUBLIC_URL", pg_api.base_url)
        monkeypatch.setenv("NEXUS_API_URL_SIGNING_KEY_FILE", str(settings.state_dir / "url-signing.key"))
        run_status._api_links.cache_clear()
        run = dg.DagsterRun(job_name="make_video", run_id=str(uuid.uuid4()), tags={PARTITION_TAG: video_id})
        messages = run_status.run_events(catalog, store, run, succeeded=True)
    finally:
        run_status._api_links.cache_clear()
        catalog.close()
    event = VideoEvent.model_validate_json(next(value for kind, _, value, _ in messages if kind == "events"))
    assert event.kind == "completed"
    assert set(event.urls) == {"video"}
    assert event.urls["video"].startswith(f"{pg_api.base_url}/api/v1/files/{video_id}/video?")
    with httpx.Client(timeout=30) as anonymous:  # a signed link needs no bearer token
        response = anonymous.get(event.urls["video"])
        assert response.status_code == 200 and response.content == body
        assert response.headers["content-type"] == "video/mp4"
        assert anonymous.get(event.urls["video"].replace("signature=", "signature=x")).status_code == 403
