"""Links to a finished video's files, decided by nexus_core.download_links.client_links (the same rule as the
completion events): a CDN when NEXUS_CDN_BASE_URL is set; else presigned URLs when the object store is S3;
else (a local folder) the API serves the files itself behind short-lived signed URLs that name the video and
the artifact (never a path)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from api.core.config import API_PREFIX, Settings
from api.core.security import UrlSigner
from nexus_core.download_links import ARTIFACT_NAME as ARTIFACT_NAME  # re-exported for the files route
from nexus_core.download_links import (
    FILES_PATH,
    ApiLinks,
    CdnLinks,
    client_links,
    is_public_artifact,
    rounded_expiry,
    signed_file_url,
)

# The artifact names and the link format live in nexus_core.download_links: the sensors' events sign the same way.
assert API_PREFIX + "/files" == FILES_PATH, "the files route and the signed links disagree"


class DownloadLinks(ABC):
    @abstractmethod
    def links(self, *, video_id: str, artifacts: Mapping[str, str], base_url: str) -> dict[str, str]:
        """Published artifact name -> a URL that fetches it until `expires_at()`."""

    @abstractmethod
    def expires_at(self) -> datetime: ...


class LocalSignedLinks(DownloadLinks):
    """The API's links: on the CDN, presigned by the S3 store, or {API_PREFIX}/files/{video_id}/{artifact}?
    expires=...&signature=... served by the files route (which redirects to a presigned URL when the store is S3)."""

    def __init__(
        self, signer: UrlSigner, *, ttl_s: int, store_root: Path, store_url: Callable[[str], str] | None = None,
        store_ttl_s: int | None = None, cdn: CdnLinks | None = None,
    ) -> None:
        self.signer = signer
        self.ttl_s = ttl_s
        self.store_root = store_root.resolve()
        self.store_url = store_url
        self.store_ttl_s = store_ttl_s
        self.cdn = cdn

    def _expires(self) -> int:
        return rounded_expiry(time.time(), self.ttl_s)

    def expires_at(self) -> datetime:
        """When the links handed out now stop working (the soonest of the kind in use)."""
        now = time.time()
        if self.cdn is not None:  # an unsigned CDN's links do not expire: promise them for the CDN's TTL
            seconds = rounded_expiry(now, self.cdn.ttl_s)
        elif self.store_url is not None:
            seconds = int(now) + (self.store_ttl_s or self.ttl_s)
        else:
            seconds = self._expires()
        return datetime.fromtimestamp(seconds, UTC)

    def _own_route_url(self, key: str) -> str:
        return Path("/", key).as_uri()  # a file:// URL: client_links replaces it with a signed API link

    def links(self, *, video_id: str, artifacts: Mapping[str, str], base_url: str) -> dict[str, str]:
        return client_links(
            video_id=video_id, artifacts=artifacts, store_url=self.store_url or self._own_route_url,
            api=ApiLinks(base_url=base_url, secret=self.signer.secret, ttl_s=self.ttl_s), now=time.time(),
            cdn=self.cdn,
        )

    def url(self, *, video_id: str, artifact: str, key: str, base_url: str) -> str:
        """The API's own signed link to one artifact."""
        return signed_file_url(base_url, self.signer.secret, video_id=video_id, artifact=artifact,
                               expires=self._expires())

    def presigned(self, key: str) -> str | None:
        """The S3 store's presigned URL of a key, or None when the store is a local folder."""
        return self.store_url(key) if self.store_url is not None else None

    def path_of(self, key: str) -> Path:
        """The file behind an object-store key, refusing anything that leaves the store."""
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"invalid object key {key!r}")
        path = self.store_root.joinpath(*parts).resolve()
        if self.store_root not in path.parents:
            raise ValueError(f"object key {key!r} leaves the store")
        return path


def build_download_links(settings: Settings, signer: UrlSigner) -> LocalSignedLinks:
    """The links for these settings: the CDN (NEXUS_CDN_*), the S3 store's presigned URLs in the prod environment
    with NEXUS_S3_BUCKET (as resources_for picks the store), else the API's own signed route."""
    store_url: Callable[[str], str] | None = None
    store_ttl_s: int | None = None
    if settings.core.environment == "prod":
        # The API's one use of resources: the S3 store presigns (imported only when the store can be S3).
        from resources.s3_storage import s3_store_from_env

        store = s3_store_from_env()
        if store is not None:
            store_url, store_ttl_s = store.url, store.url_expiry_s
    return LocalSignedLinks(signer, ttl_s=settings.download_ttl_s, store_root=settings.core.object_store_root,
                            store_url=store_url, store_ttl_s=store_ttl_s, cdn=settings.cdn.links())


def result_links(
    links: DownloadLinks, *, video_id: str, artifacts: Mapping[str, str], base_url: str
) -> dict[str, object]:
    """The URLs of a COMPLETED video's published files, grouped as the API answers them."""
    urls = links.links(video_id=video_id, artifacts=artifacts, base_url=base_url)
    thumbs = sorted((n for n in urls if n.startswith("thumbnail_")), key=lambda n: int(n.removeprefix("thumbnail_")))
    return {
        "video_url": urls.get("video", ""),
        "renditions": {n.removeprefix("video_"): u for n, u in urls.items() if n.startswith("video_")},
        "captions": {n.removeprefix("captions_"): u for n, u in urls.items() if n.startswith("captions_")},
        "thumbnails": [urls[n] for n in thumbs],
        "poster": urls.get("poster"),
        "credits_url": urls.get("credits"),
        "urls_expire_at": links.expires_at(),
    }


__all__ = ["ARTIFACT_NAME", "DownloadLinks", "LocalSignedLinks", "build_download_links", "is_public_artifact",
           "result_links"]
