"""Links a client can follow to a finished video's files, the same for the API's answers and the Kafka events.

Locally the object store is a folder, and its file:// URLs mean nothing to a client: the API serves the
files behind short-lived signed links (/api/v1/files/{video_id}/{artifact}?expires=...&signature=..., an
HMAC of the video id, the artifact name and the expiry with a secret kept in a file). An object store
with its own http(s) URLs (presigned S3) is linked to directly. With NEXUS_CDN_BASE_URL set, published files
are linked on the CDN instead ({base}/{object key}), signed CloudFront-style (a canned policy, RSA-SHA1, the
Expires/Signature/Key-Pair-Id query) when a key pair is configured. `client_links` decides, for the API's
answers and for the completion events alike.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

FILES_PATH = "/api/v1/files"
ARTIFACT_NAME = re.compile(r"^(video|video_[a-z0-9]{1,32}|captions_(srt|vtt)|thumbnail_[0-9]{1,3}|poster|credits)$")
SIGNING_KEY_NAME = "url-signing.key"


def is_public_artifact(name: str) -> bool:
    """Only the published files are downloadable, not the pipeline's intermediate keys."""
    return bool(ARTIFACT_NAME.match(name))


def artifact_signature(secret: bytes, video_id: str, artifact: str, expires: int) -> str:
    """base64url HMAC-SHA256 of (video id, artifact, expiry)."""
    # Ids and artifact names are checked against patterns without "\n", so the message is unambiguous.
    message = f"{video_id}\n{artifact}\n{int(expires)}".encode()
    return base64.urlsafe_b64encode(hmac.new(secret, message, hashlib.sha256).digest()).rstrip(b"=").decode()


def rounded_expiry(now: float, ttl_s: int) -> int:
    """now + ttl, rounded up to the minute, so repeated reads give the same URLs (cacheable by clients)."""
    return (int(now) + ttl_s) // 60 * 60 + 60


def signed_file_url(base_url: str, secret: bytes, *, video_id: str, artifact: str, expires: int) -> str:
    """The API's download link for one artifact (an int and base64url: nothing to escape)."""
    signature = artifact_signature(secret, video_id, artifact, expires)
    return f"{base_url.rstrip('/')}{FILES_PATH}/{video_id}/{artifact}?expires={expires}&signature={signature}"


def create_once(path: Path, data: bytes, *, mode: int = 0o600) -> bytes:
    """Write path atomically unless it exists; returns what is in it (ours or a racing process's)."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        with contextlib.suppress(FileExistsError):  # another process created it first: keep theirs
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_bytes()


def ensure_signing_secret(path: Path) -> bytes:
    """The 32-byte link-signing secret kept in a file (created on first use), shared by the API and the sensors."""
    return base64.urlsafe_b64decode(create_once(path, base64.urlsafe_b64encode(secrets.token_bytes(32))).strip())


@dataclass(frozen=True)
class ApiLinks:
    """Signed links to the API's files route: its public URL, the shared secret and how long a link lasts."""

    base_url: str
    secret: bytes
    ttl_s: int

    def url(self, *, video_id: str, artifact: str, now: float) -> str:
        return signed_file_url(self.base_url, self.secret, video_id=video_id, artifact=artifact,
                               expires=rounded_expiry(now, self.ttl_s))


class EventLinkSettings(BaseSettings):
    """What the pipeline's sensors need to sign links to the API (NEXUS_API_*, as the API reads them)."""

    model_config = SettingsConfigDict(env_prefix="NEXUS_API_", extra="ignore")

    public_url: str = Field(default="http://127.0.0.1:8000", description="Where clients reach the API.")
    url_signing_key_file: Path | None = Field(default=None, description="Default: NEXUS_HOME/api/url-signing.key.")
    event_link_ttl_s: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600,
                                  description="How long the links in a completion event stay valid.")

    def api_links(self, nexus_home: Path) -> ApiLinks:
        key_file = self.url_signing_key_file or nexus_home / "api" / SIGNING_KEY_NAME
        return ApiLinks(base_url=self.public_url, secret=ensure_signing_secret(key_file), ttl_s=self.event_link_ttl_s)


def _cloudfront_b64(data: bytes) -> str:
    """CloudFront's URL-safe base64: + -> -, = -> _, / -> ~."""
    return base64.b64encode(data).decode().translate(str.maketrans("+=/", "-_~"))


@dataclass(frozen=True)
class CdnLinks:
    """URLs of published files on a CDN whose origin is the object store: {base_url}/{object key}.

    With a key pair (CloudFront trusted key group: its id and the PEM private key), each URL carries a
    canned-policy signature valid until `expires` (Expires, Signature, Key-Pair-Id), as botocore's
    CloudFrontSigner makes them; without one, the URLs are plain (a public distribution).
    """

    base_url: str
    ttl_s: int
    key_pair_id: str | None = None
    private_key: Any = None  # a cryptography RSA private key

    def url(self, key: str, *, now: float) -> str:
        url = f"{self.base_url.rstrip('/')}/{quote(key, safe='/')}"
        if self.private_key is None or self.key_pair_id is None:
            return url
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        expires = rounded_expiry(now, self.ttl_s)
        statement = {"Resource": url, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
        policy = json.dumps({"Statement": [statement]}, separators=(",", ":"))
        signature = self.private_key.sign(policy.encode(), padding.PKCS1v15(), hashes.SHA1())  # CloudFront's choice
        return f"{url}?Expires={expires}&Signature={_cloudfront_b64(signature)}&Key-Pair-Id={self.key_pair_id}"


class CdnSettings(BaseSettings):
    """NEXUS_CDN_*: where published files are served to clients, for the API and the pipeline's events."""

    model_config = SettingsConfigDict(env_prefix="NEXUS_CDN_", extra="ignore")

    base_url: str | None = Field(default=None, description="e.g. https://d111111abcdef8.cloudfront.net; its origin "
                                                            "is the bucket (origin path: NEXUS_S3_PREFIX).")
    key_pair_id: str | None = Field(default=None, description="CloudFront public key id: sign URLs (canned policy).")
    private_key_file: Path | None = Field(default=None, description="The PEM RSA private key of key_pair_id.")
    ttl_s: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600, description="How long a signed CDN URL lasts.")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"NEXUS_CDN_BASE_URL must be an http(s) URL, got {value!r}")
        return value or None

    def links(self) -> CdnLinks | None:
        """The CDN's links (the private key read now, once), or None when no CDN is configured."""
        if self.base_url is None:
            return None
        if (self.key_pair_id is None) != (self.private_key_file is None):
            raise ValueError("set both NEXUS_CDN_KEY_PAIR_ID and NEXUS_CDN_PRIVATE_KEY_FILE to sign CDN URLs, "
                             "or neither")
        private_key = None
        if self.private_key_file is not None:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            private_key = load_pem_private_key(self.private_key_file.read_bytes(), password=None)
        return CdnLinks(base_url=self.base_url, ttl_s=self.ttl_s, key_pair_id=self.key_pair_id,
                        private_key=private_key)


def client_links(
    *, video_id: str, artifacts: Mapping[str, str], store_url: Callable[[str], str], api: ApiLinks, now: float,
    cdn: CdnLinks | None = None,
) -> dict[str, str]:
    """Artifact name -> a URL a client can fetch, for the published files only.

    The CDN's URL when one is configured; else the store's own URL when it is http(s) (presigned S3);
    otherwise (a local folder's file://) a signed link to the API's files route.
    """
    links: dict[str, str] = {}
    for name, key in sorted(artifacts.items()):
        if not is_public_artifact(name):
            continue
        if cdn is not None:
            links[name] = cdn.url(key, now=now)
            continue
        own = store_url(key)
        links[name] = own if own.startswith(("https://", "http://")) else api.url(video_id=video_id, artifact=name,
                                                                                     now=now)
    return links
