"""Links to a finished video's files. Locally the API serves them itself behind short-lived signed URLs
that name the video and the artifact (never a path); in production an object store presigns them."""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from api.core.config import API_PREFIX
from api.core.security import UrlSigner

ARTIFACT_NAME = re.compile(r"^(video|video_[a-z0-9]{1,32}|captions_(srt|vtt)|thumbnail_[0-9]{1,3}|poster|credits)$")


def is_public_artifact(name: str) -> bool:
    """Only the published files are downloadable, not the pipeline's intermediate keys."""
    return bool(ARTIFACT_NAME.match(name))


class DownloadLinks(ABC):
    @abstractmethod
    def url(self, *, video_id: str, artifact: str, key: str, base_url: str) -> str:
        """A URL that fetches the artifact (stored under `key`) until `expires_at()`."""

    @abstractmethod
    def expires_at(self) -> datetime: ...


class LocalSignedLinks(DownloadLinks):
    """{API_PREFIX}/files/{video_id}/{artifact}?expires=...&signature=... served by the files route."""

    def __init__(self, signer: UrlSigner, *, ttl_s: int, store_root: Path) -> None:
        self.signer = signer
        self.ttl_s = ttl_s
        self.store_root = store_root.resolve()

    def _expires(self) -> int:
        # Rounded up to the minute so that repeated reads give the same URLs (cacheable by clients).
        return (int(time.time()) + self.ttl_s) // 60 * 60 + 60

    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self._expires(), UTC)

    def url(self, *, video_id: str, artifact: str, key: str, base_url: str) -> str:
        expires = self._expires()  # an int, and the signature is base64url: nothing to escape
        signature = self.signer.signature(video_id, artifact, expires)
        return f"{base_url.rstrip('/')}{API_PREFIX}/files/{video_id}/{artifact}?expires={expires}&signature={signature}"

    def path_of(self, key: str) -> Path:
        """The file behind an object-store key, refusing anything that leaves the store."""
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"invalid object key {key!r}")
        path = self.store_root.joinpath(*parts).resolve()
        if self.store_root not in path.parents:
            raise ValueError(f"object key {key!r} leaves the store")
        return path


def result_links(
    links: DownloadLinks, *, video_id: str, artifacts: Mapping[str, str], base_url: str
) -> dict[str, object]:
    """The URLs of a COMPLETED video's published files, grouped as the API answers them."""

    def url(name: str) -> str:
        return links.url(video_id=video_id, artifact=name, key=artifacts[name], base_url=base_url)

    thumbs = sorted((n for n in artifacts if n.startswith("thumbnail_") and is_public_artifact(n)),
                    key=lambda n: int(n.removeprefix("thumbnail_")))
    return {
        "video_url": url("video") if "video" in artifacts else "",
        "renditions": {n.removeprefix("video_"): url(n) for n in sorted(artifacts)
                       if n.startswith("video_") and is_public_artifact(n)},
        "captions": {n.removeprefix("captions_"): url(n) for n in sorted(artifacts)
                     if n.startswith("captions_") and is_public_artifact(n)},
        "thumbnails": [url(n) for n in thumbs],
        "poster": url("poster") if "poster" in artifacts else None,
        "credits_url": url("credits") if "credits" in artifacts else None,
        "urls_expire_at": links.expires_at(),
    }
