"""S3ObjectStore against a real S3-compatible server: multipart, content types, encryption, presigned URLs,
and clear errors for bad credentials, a missing bucket or an unreachable endpoint."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from resources import s3_storage
from resources.s3_storage import S3ObjectStore, S3StoreError, content_type_for
from resources.storage import ObjectStore, file_sha256

from .conftest import S3Server


def _fetch(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), response.headers.get("Content-Type", "")


def test_large_file_goes_up_in_parts_and_comes_back_whole(s3_store: S3ObjectStore, tmp_path: Path) -> None:
    store = s3_store.model_copy(update={"multipart_threshold_mb": 5, "multipart_chunk_mb": 5})
    src = tmp_path / "big.mp4"
    src.write_bytes(os.urandom(11 * (1 << 20) + 123))
    assert store.put_file("videos/v/big.mp4", src) == src.stat().st_size
    head = store.head("videos/v/big.mp4")
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]  # three parts: 5 + 5 + 1 MiB
    assert head["ContentType"] == "video/mp4"
    out = store.get_file("videos/v/big.mp4", tmp_path / "out" / "big.mp4")
    assert file_sha256(out) == file_sha256(src)
    assert [p.name for p in out.parent.iterdir()] == ["big.mp4"]  # no partial download left behind


def test_small_file_is_one_put(s3_store: S3ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "small.bin"
    src.write_bytes(b"x" * 1000)
    s3_store.put_file("videos/v/small.bin", src)
    assert "-" not in s3_store.head("videos/v/small.bin")["ETag"]


def test_presigned_url_serves_the_bytes_with_their_content_type(s3_store: S3ObjectStore) -> None:
    data = os.urandom(70_000)
    s3_store.put_bytes("videos/v/final/video.mp4", data)
    url = s3_store.url("videos/v/final/video.mp4")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
    body, content_type = _fetch(url)
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert content_type == "video/mp4"


def test_tampered_presigned_url_is_refused(s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("videos/v/a.txt", b"secret")
    url = s3_store.url("videos/v/a.txt").replace("a.txt", "b.txt")
    with pytest.raises(urllib.error.HTTPError) as info:
        _fetch(url)
    assert info.value.code == 403


def test_content_types_given_or_guessed_from_the_key(s3_store: S3ObjectStore) -> None:
    s3_store.put_bytes("videos/v/captions.vtt", b"WEBVTT\n")
    s3_store.put_bytes("videos/v/captions.srt", b"1\n", content_type="text/plain")
    assert s3_store.head("videos/v/captions.vtt")["ContentType"] == "text/vtt"
    assert s3_store.head("videos/v/captions.srt")["ContentType"] == "text/plain"
    assert content_type_for("a/b.srt") == "application/x-subrip"
    assert content_type_for("a/b.wav") == "audio/wav"
    assert content_type_for("a/b") == "application/octet-stream"


def test_server_side_encryption_is_requested(s3_server: S3Server, s3_store: S3ObjectStore, tmp_path: Path) -> None:
    encrypted = s3_store.model_copy(update={"sse": "AES256"})
    encrypted.put_bytes("videos/v/enc.bin", b"1")
    src = tmp_path / "f.bin"
    src.write_bytes(b"2" * 10)
    encrypted.put_file("videos/v/enc-file.bin", src)
    assert encrypted.head("videos/v/enc.bin").get("ServerSideEncryption") == "AES256"
    assert encrypted.head("videos/v/enc-file.bin").get("ServerSideEncryption") == "AES256"
    with pytest.raises(ValueError, match="AES256 or aws:kms"):
        s3_server.store(sse="rot13")


def test_prefixes_keep_stores_apart(s3_server: S3Server) -> None:
    first, second = s3_server.store(prefix="/tests/apart-1/"), s3_server.store(prefix="tests/apart-2")
    assert (first.prefix, second.prefix) == ("tests/apart-1/", "tests/apart-2/")
    try:
        first.put_bytes("videos/v/a", b"1")
        second.put_bytes("videos/v/b", b"2")
        assert first.list_keys("videos/") == ["videos/v/a"]
        assert second.list_keys("videos/") == ["videos/v/b"]
        assert not first.exists("videos/v/b")
    finally:
        first.delete_prefix("")
        second.delete_prefix("")


def test_delete_prefix_deletes_in_batches(s3_store: S3ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_storage, "DELETE_BATCH", 2)
    for n in range(5):
        s3_store.put_bytes(f"videos/v/{n}", b"x")
    assert s3_store.delete_prefix("videos/v/") == 5
    assert s3_store.list_keys("videos/") == []


def test_bad_credentials_give_a_clear_error(s3_server: S3Server) -> None:
    store = s3_server.store(secret_access_key="not-the-secret", prefix="tests/denied")
    with pytest.raises(S3StoreError, match=r"refused access .*AWS_SECRET_ACCESS_KEY"):
        store.put_bytes("videos/v/a", b"1")
    with pytest.raises(S3StoreError, match="refused access"):
        store.exists("videos/v/a")


def test_missing_bucket_gives_a_clear_error(s3_server: S3Server) -> None:
    store = s3_server.store(bucket="no-such-bucket-here")
    with pytest.raises(S3StoreError, match=r"bucket 'no-such-bucket-here' does not exist.*NEXUS_S3_BUCKET"):
        store.exists("videos/v/a")


def test_unreachable_endpoint_gives_a_clear_error(s3_server: S3Server) -> None:
    store = s3_server.store(endpoint_url="http://127.0.0.1:9", max_attempts=1, connect_timeout_s=2)
    with pytest.raises(S3StoreError, match=r"cannot reach .*NEXUS_S3_ENDPOINT_URL"):
        store.list_keys("videos/")


def test_client_uses_path_style_and_retries_for_compatible_servers(s3_store: S3ObjectStore) -> None:
    config = s3_store.client().meta.config
    assert config.s3["addressing_style"] == "path"
    assert config.retries == {"total_max_attempts": 2, "mode": "standard"}
    assert S3ObjectStore(bucket="nexus-videos").path_style is None  # AWS itself: virtual-hosted style


def test_works_as_a_dagster_resource_with_secrets_from_the_environment(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_TEST_SECRET", s3_server.secret_access_key)
    store = s3_server.store(prefix="tests/as-resource", secret_access_key=dg.EnvVar("NEXUS_TEST_SECRET"))

    @dg.asset
    def stored(store: ObjectStore) -> dg.MaterializeResult:
        store.put_json("videos/v/meta.json", {"ok": True})
        return dg.MaterializeResult(metadata={"url": store.url("videos/v/meta.json")})

    try:
        result = dg.materialize([stored], resources={"store": store})
        assert result.success
        (event,) = result.get_asset_materialization_events()
        url = event.materialization.metadata["url"].value
        assert _fetch(str(url)) == (b'{\n  "ok": true\n}', "application/json")
    finally:
        s3_server.store(prefix="tests/as-resource").delete_prefix("")
