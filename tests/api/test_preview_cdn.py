"""Preview mode, the GPU-less downgrade, CDN links and S3 presigned downloads, over real HTTP on PostgreSQL
(and a real SeaweedFS for S3)."""

from __future__ import annotations

import os
import shlex
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nexus_core.catalog import Catalog
from nexus_core.download_links import CdnSettings
from nexus_core.messages import VideoEvent
from nexus_core.service_level import NO_GPU_REASON
from nexus_core.settings import NexusSettings
from resources.s3_storage import S3ObjectStore
from resources.storage import LocalObjectStore
from sensors import run_status
from sensors.requests import PARTITION_TAG
from tests.api.support import API, ApiServer, Keys, RecordingDispatcher, make_settings, sse_events

REPO = Path(__file__).resolve().parents[2]
BODY = b"\x00\x00\x00\x18ftypmp42" + b"preview-cdn-test"


def _events(client: httpx.Client, video_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    return sse_events(client, f"{API}/videos/{video_id}/events", timeout_s=60)


def _done(client: httpx.Client, video_id: str) -> dict[str, Any]:
    return next(data for event, data in _events(client, video_id) if event == "done")


def _complete(database_url: str, video_id: str, key: str) -> None:
    with Catalog(database_url) as catalog:
        catalog.mark_completed(video_id, size_bytes=len(BODY), duration_s=5.0, artifacts={"video": key})


@pytest.fixture(scope="module")
def gpu_less_api(serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys,
                 tmp_path_factory: pytest.TempPathFactory) -> ApiServer:
    settings = make_settings(tmp_path_factory.mktemp("no-gpu"), new_postgres_database(), keys, gpu_pool=False)
    return serve(settings, dispatcher=RecordingDispatcher())


def test_a_preview_is_made_at_720p_standard_and_costs_less(pg_api: ApiServer) -> None:
    full = {"prompt": "A tour of the solar system", "duration_seconds": 20, "quality": "ULTRA", "resolution": "2160p"}
    with pg_api.user_client(plan="VIP") as client:
        accepted = client.post(f"{API}/videos/generate", json={**full, "preview": True})
        assert accepted.status_code == 202, accepted.text
        answer = accepted.json()
        assert answer["token_cost"] == 10  # 20 s x STANDARD x 720p x 0.5, not 20 x 3.0 x 4.0 = 240
        assert {(a["field"], a["requested"], a["served"]) for a in answer["adjustments"]} == {
            ("quality", "ULTRA", "STANDARD"), ("resolution", "2160p", "720p")}
        video = client.get(f"{API}/videos/{answer['id']}").json()
        assert video["request"]["preview"] is True
        assert (video["request"]["quality"], video["request"]["resolution"]) == ("STANDARD", "720p")
        assert video["adjustments"] == answer["adjustments"]
        assert client.get(f"{API}/tokens").json()["reserved"] == 10
        listed = client.get(f"{API}/videos").json()["items"][0]
        assert listed["preview"] is True and listed["quality"] == "STANDARD"
        assert client.post(f"{API}/videos/generate", json=full).json()["token_cost"] == 240


def test_without_a_gpu_pool_ultra_is_served_recorded_and_charged_as_hd(gpu_less_api: ApiServer) -> None:
    asked = {"prompt": "Volcanoes", "duration_seconds": 10, "quality": "ULTRA", "resolution": "1080p"}
    with gpu_less_api.user_client(plan="PREMIUM") as client:
        answer = client.post(f"{API}/videos/generate", json=asked).json()
        assert answer["token_cost"] == 23  # 10 s x HD 1.5 x 1080p 1.5 = 22.5, rounded up (ULTRA would be 45)
        expected = [{"field": "quality", "requested": "ULTRA", "served": "HD", "reason": NO_GPU_REASON}]
        assert answer["adjustments"] == expected
        video_id = answer["id"]
        video = client.get(f"{API}/videos/{video_id}").json()
        assert video["request"]["quality"] == "HD" and video["adjustments"] == expected
        with Catalog(gpu_less_api.settings.database_url) as catalog:  # recorded in the video's record
            assert [a.model_dump() for a in catalog.require(video_id).adjustments] == expected
            assert catalog.get_request(video_id).quality == "HD"  # what the pipeline makes

        key = f"videos/{video_id}/final/video.mp4"
        LocalObjectStore(root=str(gpu_less_api.settings.core.object_store_root)).put_bytes(key, BODY)
        _complete(gpu_less_api.settings.database_url, video_id, key)
        done = _done(client, video_id)
        assert done["status"] == "COMPLETED" and done["adjustments"] == expected
        tokens = client.get(f"{API}/tokens").json()
        assert [e["amount"] for e in tokens["entries"] if e["kind"] == "charge"] == [23]

        # The pipeline's completion event says it too.
        with Catalog(gpu_less_api.settings.database_url) as catalog:
            run = dg.DagsterRun(job_name="make_video", run_id=str(uuid.uuid4()), tags={PARTITION_TAG: video_id})
            messages = run_status.run_events(catalog, LocalObjectStore(root="/nonexistent"), run, succeeded=True)
        event = VideoEvent.model_validate_json(next(value for kind, _, value, _ in messages if kind == "events"))
        assert [a.model_dump() for a in event.adjustments] == expected


def test_with_a_cdn_the_api_and_its_events_link_signed_cdn_urls(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys, tmp_path: Path,
) -> None:
    pem = tmp_path / "cdn.pem"
    pem.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    cdn = CdnSettings(base_url="https://cdn.example.com", key_pair_id="K2JCJMDEHXQW5F", private_key_file=pem)
    api = serve(make_settings(tmp_path / "home", new_postgres_database(), keys, cdn=cdn),
                dispatcher=RecordingDispatcher())
    with api.user_client() as client:
        video_id = client.post(f"{API}/videos/generate", json={"prompt": "Tides", "duration_seconds": 5}).json()["id"]
        key = f"videos/{video_id}/final/video.mp4"
        _complete(api.settings.database_url, video_id, key)
        result = client.get(f"{API}/videos/{video_id}").json()["result"]
        url = urlsplit(result["video_url"])
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"https://cdn.example.com/{key}"
        assert set(parse_qs(url.query)) == {"Expires", "Signature", "Key-Pair-Id"}
        assert _done(client, video_id)["result"]["video_url"].startswith(f"https://cdn.example.com/{key}?Expires=")


def _s3_env() -> dict[str, str]:
    names = ("NEXUS_TEST_S3_ENDPOINT_URL", "NEXUS_TEST_S3_BUCKET", "NEXUS_TEST_S3_ACCESS_KEY_ID",
             "NEXUS_TEST_S3_SECRET_ACCESS_KEY")
    if not os.environ.get(names[0]):
        services = str(REPO / "scripts" / "services.sh")
        started = subprocess.run(["bash", services, "start", "s3"], capture_output=True, text=True, timeout=600)
        if started.returncode != 0:
            pytest.fail(f"scripts/services.sh start s3 failed:\n{started.stdout}{started.stderr}", pytrace=False)
        printed = subprocess.run(["bash", services, "env"], capture_output=True, text=True, timeout=60).stdout
        found = dict(line.removeprefix("export ").split("=", 1) for line in printed.splitlines() if "=" in line)
        return {name: shlex.split(found[name])[0] for name in names}
    return {name: os.environ[name] for name in names}


def test_with_an_s3_store_the_api_hands_out_presigned_urls_and_its_file_links_redirect(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3 = _s3_env()
    prefix = f"tests/api-{uuid.uuid4().hex[:10]}"
    for name, value in {"NEXUS_S3_BUCKET": s3["NEXUS_TEST_S3_BUCKET"], "NEXUS_S3_PREFIX": prefix,
                        "NEXUS_S3_ENDPOINT_URL": s3["NEXUS_TEST_S3_ENDPOINT_URL"],
                        "AWS_ACCESS_KEY_ID": s3["NEXUS_TEST_S3_ACCESS_KEY_ID"],
                        "AWS_SECRET_ACCESS_KEY": s3["NEXUS_TEST_S3_SECRET_ACCESS_KEY"],
                        "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    core = NexusSettings(home=tmp_path / "home", database_url=new_postgres_database(), environment="prod")
    api = serve(make_settings(tmp_path / "home", None, keys, core=core), dispatcher=RecordingDispatcher())
    store = S3ObjectStore(bucket=s3["NEXUS_TEST_S3_BUCKET"], prefix=prefix,
                          endpoint_url=s3["NEXUS_TEST_S3_ENDPOINT_URL"],
                          access_key_id=s3["NEXUS_TEST_S3_ACCESS_KEY_ID"],
                          secret_access_key=s3["NEXUS_TEST_S3_SECRET_ACCESS_KEY"])
    try:
        with api.user_client() as client, httpx.Client(timeout=30) as anonymous:
            asked = {"prompt": "Rain", "duration_seconds": 5}
            video_id = client.post(f"{API}/videos/generate", json=asked).json()["id"]
            key = f"videos/{video_id}/final/video.mp4"
            store.put_bytes(key, BODY)
            _complete(api.settings.database_url, video_id, key)
            url = client.get(f"{API}/videos/{video_id}").json()["result"]["video_url"]
            assert url.startswith(s3["NEXUS_TEST_S3_ENDPOINT_URL"]) and "X-Amz-Signature=" in url
            fetched = anonymous.get(url)
            assert fetched.status_code == 200 and fetched.content == BODY

            # A signed link to the API's files route (handed out before, or by a sensor) still downloads.
            link = api.state.links.url(video_id=video_id, artifact="video", key=key, base_url=api.base_url)
            redirect = anonymous.get(link)
            assert redirect.status_code == 307 and "X-Amz-Signature=" in redirect.headers["location"]
            assert anonymous.get(link, follow_redirects=True).content == BODY
    finally:
        store.delete_prefix("")
