"""client_links: which URL a client gets for each published file (presigned store URL or a signed API link)."""

from __future__ import annotations

from pathlib import Path

from nexus_core.download_links import (
    ApiLinks,
    EventLinkSettings,
    artifact_signature,
    client_links,
    ensure_signing_secret,
)

ARTIFACTS = {"video": "videos/abc/final/video.mp4", "captions_vtt": "videos/abc/final/captions.vtt",
             "scenario": "videos/abc/script/scenario.json"}
API = ApiLinks(base_url="http://127.0.0.1:8000/", secret=b"s" * 32, ttl_s=3600)


def test_a_local_store_gets_signed_api_links_for_published_files_only() -> None:
    links = client_links(video_id="abc", artifacts=ARTIFACTS, store_url=lambda key: Path("/store", key).as_uri(),
                         api=API, now=1_000_000.0)
    assert set(links) == {"video", "captions_vtt"}  # the pipeline's intermediate keys are not published
    url = links["video"]
    assert url.startswith("http://127.0.0.1:8000/api/v1/files/abc/video?expires=")
    expires = int(url.split("expires=")[1].split("&")[0])
    assert 1_000_000 + 3600 <= expires <= 1_000_000 + 3600 + 60
    assert url.endswith(f"&signature={artifact_signature(b's' * 32, 'abc', 'video', expires)}")
    assert not any(link.startswith("file:") for link in links.values())


def test_an_object_store_with_http_urls_is_linked_directly() -> None:
    presigned = {key: f"https://bucket.s3.example/{key}?X-Amz-Signature=x" for key in ARTIFACTS.values()}
    links = client_links(video_id="abc", artifacts=ARTIFACTS, store_url=presigned.__getitem__, api=API, now=0.0)
    assert links == {"video": presigned[ARTIFACTS["video"]], "captions_vtt": presigned[ARTIFACTS["captions_vtt"]]}


def test_the_sensors_use_the_apis_secret_file(tmp_path: Path) -> None:
    secret = ensure_signing_secret(tmp_path / "api" / "url-signing.key")
    assert len(secret) == 32 and ensure_signing_secret(tmp_path / "api" / "url-signing.key") == secret
    links = EventLinkSettings(public_url="http://api.local:9000").api_links(tmp_path)
    assert links.secret == secret and links.base_url == "http://api.local:9000"
