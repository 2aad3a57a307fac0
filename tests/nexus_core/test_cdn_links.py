"""CDN links: published files on NEXUS_CDN_BASE_URL, signed as CloudFront signs them (checked against botocore's
CloudFrontSigner, the AWS SDK's own implementation, and verified with the public key)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from nexus_core.download_links import ApiLinks, CdnSettings, client_links, rounded_expiry

ARTIFACTS = {"video": "videos/abc/final/video.mp4", "captions_vtt": "videos/abc/final/captions.vtt",
             "scenario": "videos/abc/script/scenario.json"}
API = ApiLinks(base_url="http://api.test", secret=b"k" * 32, ttl_s=600)


def _store_url(key: str) -> str:
    return f"https://s3.test/bucket/{key}?X-Amz-Signature=abc"


def test_without_a_cdn_the_store_decides() -> None:
    links = client_links(video_id="abc", artifacts=ARTIFACTS, store_url=_store_url, api=API, now=0.0)
    assert links["video"].startswith("https://s3.test/") and "scenario" not in links


def test_an_unsigned_cdn_links_the_published_files_by_their_keys() -> None:
    cdn = CdnSettings(base_url="https://cdn.example.com/media/").links()
    links = client_links(video_id="abc", artifacts=ARTIFACTS, store_url=_store_url, api=API, now=0.0, cdn=cdn)
    assert links == {"video": "https://cdn.example.com/media/videos/abc/final/video.mp4",
                     "captions_vtt": "https://cdn.example.com/media/videos/abc/final/captions.vtt"}


def test_signed_cdn_urls_are_cloudfront_canned_policy_urls(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "cdn.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    cdn = CdnSettings(base_url="https://d111.cloudfront.net", key_pair_id="K2JCJMDEHXQW5F", private_key_file=pem,
                      ttl_s=3600).links()
    now = 1_760_000_000.0
    url = client_links(video_id="abc", artifacts=ARTIFACTS, store_url=_store_url, api=API, now=now, cdn=cdn)["video"]

    expires = rounded_expiry(now, 3600)
    signer = CloudFrontSigner("K2JCJMDEHXQW5F", lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1()))
    resource = "https://d111.cloudfront.net/videos/abc/final/video.mp4"
    assert url == signer.generate_presigned_url(resource, date_less_than=datetime.fromtimestamp(expires, UTC))

    query = parse_qs(urlsplit(url).query)
    assert query["Key-Pair-Id"] == ["K2JCJMDEHXQW5F"] and query["Expires"] == [str(expires)]
    condition = '{"DateLessThan":{"AWS:EpochTime":' + str(expires) + "}}"
    policy = ('{"Statement":[{"Resource":"' + resource + '","Condition":' + condition + "}]}").encode()
    signature = base64.b64decode(query["Signature"][0].translate(str.maketrans("-_~", "+=/")))
    key.public_key().verify(signature, policy, padding.PKCS1v15(), hashes.SHA1())  # raises when it is wrong


def test_cdn_settings_refuse_half_a_key_pair_and_non_http_urls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both"):
        CdnSettings(base_url="https://cdn.example.com", key_pair_id="K1").links()
    with pytest.raises(ValueError, match="http"):
        CdnSettings(base_url="s3://bucket")
    assert CdnSettings().links() is None
