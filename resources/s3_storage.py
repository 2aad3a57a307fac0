"""The object store on AWS S3 or an S3-compatible server (MinIO, SeaweedFS), through boto3."""

from __future__ import annotations

import mimetypes
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from pydantic import Field, field_validator

from resources.storage import ObjectNotFound, ObjectStore, check_key

MIB = 1 << 20
MIN_PART_MB = 5  # S3's smallest multipart part (the last one excepted)
DELETE_BATCH = 1000  # most keys one DeleteObjects call takes
# Types mimetypes lacks or names differently from what browsers and players expect.
CONTENT_TYPES = {".srt": "application/x-subrip", ".vtt": "text/vtt", ".wav": "audio/wav", ".m4a": "audio/mp4"}
DENIED = {"403", "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
          "ExpiredToken", "AuthorizationHeaderMalformed"}
MISSING_KEY = {"404", "NoSuchKey", "NotFound"}

_clients: dict[tuple[Any, ...], Any] = {}
_verified: set[tuple[Any, ...]] = set()
_lock = threading.Lock()


class S3StoreError(RuntimeError):
    """S3 refused a request or could not be reached; the message says which setting to check."""


def content_type_for(key: str) -> str:
    """The Content-Type stored with an object when the caller gives none, from the key's extension."""
    suffix = Path(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3ObjectStore(ObjectStore):
    """Objects under `prefix` in one bucket; url() gives presigned GET URLs for the API and people."""

    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = Field(default="", description="Prepended to every key, e.g. 'nexus/' (a '/' is added).")
    endpoint_url: str | None = Field(default=None, description="An S3-compatible server; None is AWS S3.")
    region: str | None = None
    access_key_id: str | None = Field(default=None, description="None: boto3's chain (env, profile, role).")
    secret_access_key: str | None = None
    path_style: bool | None = Field(default=None, description="Path-style URLs; None: when endpoint_url is set.")
    sse: str | None = Field(default=None, description="Server-side encryption: AES256 or aws:kms.")
    sse_kms_key_id: str | None = None
    multipart_threshold_mb: int = Field(default=64, ge=MIN_PART_MB)
    multipart_chunk_mb: int = Field(default=16, ge=MIN_PART_MB)
    max_concurrency: int = Field(default=4, ge=1, le=64)
    max_attempts: int = Field(default=5, ge=1, le=20)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    url_expiry_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600)

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_folder(cls, value: str) -> str:
        value = value.strip("/")
        return f"{check_key(value)}/" if value else ""

    @field_validator("sse")
    @classmethod
    def _known_sse(cls, value: str | None) -> str | None:
        if value not in (None, "", "AES256", "aws:kms"):
            raise ValueError(f"sse must be AES256 or aws:kms, got {value!r}")
        return value or None

    # --- the client ---------------------------------------------------------------------------

    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint_url or 'AWS S3'}"

    def _client_key(self) -> tuple[Any, ...]:
        return (os.getpid(), self.endpoint_url, self.region, self.access_key_id, self.secret_access_key,
                self.path_style, self.max_attempts, self.connect_timeout_s, self.read_timeout_s)

    def _new_client(self) -> Any:
        path_style = self.path_style if self.path_style is not None else self.endpoint_url is not None
        options: dict[str, Any] = {}
        if self.endpoint_url:  # many S3-compatible servers reject the newer default CRC checksums
            options = {"request_checksum_calculation": "when_required", "response_checksum_validation": "when_required"}
        config = Config(
            s3={"addressing_style": "path" if path_style else "virtual"},
            signature_version="s3v4",
            retries={"total_max_attempts": self.max_attempts, "mode": "standard"},
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
            max_pool_connections=max(10, self.max_concurrency * 2),
            **options,
        )
        session = boto3.session.Session(
            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )
        return session.client("s3", endpoint_url=self.endpoint_url, config=config)

    def client(self) -> Any:
        """This process's boto3 client for these settings; the bucket is checked on first use."""
        key = self._client_key()
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._new_client()
        if (key, self.bucket) not in _verified:
            with self._errors():
                client.head_bucket(Bucket=self.bucket)
            _verified.add((key, self.bucket))
        return client

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """Turn boto3's errors into ObjectNotFound (for key) or an S3StoreError naming what to check."""
        try:
            yield
        except ClientError as exc:
            code = _error_code(exc)
            if key is not None and code in MISSING_KEY:
                raise ObjectNotFound(key) from None
            if code == "NoSuchBucket" or (key is None and code in MISSING_KEY):
                raise S3StoreError(f"bucket {self.bucket!r} does not exist at {self.endpoint_url or 'AWS S3'} "
                                   "(set NEXUS_S3_BUCKET to an existing bucket)") from exc
            if code in DENIED:
                raise S3StoreError(f"S3 refused access to {self._where()} ({code}): check the credentials "
                                   "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and the bucket policy") from exc
            raise S3StoreError(f"S3 request on {self._where()} failed: {exc}") from exc
        except NoCredentialsError as exc:
            raise S3StoreError(f"no S3 credentials for {self._where()}: set AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY (or a profile or instance role)") from exc
        except EndpointConnectionError as exc:
            raise S3StoreError(f"cannot reach {self._where()} (NEXUS_S3_ENDPOINT_URL): {exc}") from exc
        except BotoCoreError as exc:
            raise S3StoreError(f"S3 request on {self._where()} failed: {exc}") from exc

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _put_args(self, key: str, content_type: str | None) -> dict[str, str]:
        args = {"ContentType": content_type or content_type_for(key)}
        if self.sse:
            args["ServerSideEncryption"] = self.sse
        if self.sse == "aws:kms" and self.sse_kms_key_id:
            args["SSEKMSKeyId"] = self.sse_kms_key_id
        return args

    def transfer_config(self) -> TransferConfig:
        """Multipart above the threshold, in chunks, several parts at once."""
        return TransferConfig(
            multipart_threshold=self.multipart_threshold_mb * MIB, multipart_chunksize=self.multipart_chunk_mb * MIB,
            max_concurrency=self.max_concurrency, use_threads=True,
        )

    # --- the contract -------------------------------------------------------------------------

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> int:
        name, size = self._name(key), path.stat().st_size
        client = self.client()
        with self._errors():
            client.upload_file(str(path), self.bucket, name, ExtraArgs=self._put_args(key, content_type),
                               Config=self.transfer_config())
        return size

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> int:
        name = self._name(key)
        client = self.client()
        with self._errors():
            client.put_object(Bucket=self.bucket, Key=name, Body=data, **self._put_args(key, content_type))
        return len(data)

    def get_file(self, key: str, dest: Path) -> Path:
        name = self._name(key)
        client = self.client()
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
        os.close(fd)
        try:
            with self._errors(key):
                client.download_file(self.bucket, name, tmp, Config=self.transfer_config())
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return dest

    def get_bytes(self, key: str) -> bytes:
        name = self._name(key)
        client = self.client()
        with self._errors(key):
            return bytes(client.get_object(Bucket=self.bucket, Key=name)["Body"].read())

    def _head(self, key: str) -> dict[str, Any]:
        name = self._name(key)
        client = self.client()
        with self._errors(key):
            return dict(client.head_object(Bucket=self.bucket, Key=name))

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except ObjectNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def head(self, key: str) -> dict[str, Any]:
        """The object's metadata (ContentLength, ContentType, ETag, ServerSideEncryption...)."""
        return self._head(key)

    def list_keys(self, prefix: str) -> list[str]:
        client = self.client()
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix)
        keys: list[str] = []
        with self._errors():
            for page in pages:
                keys += [obj["Key"].removeprefix(self.prefix) for obj in page.get("Contents", [])]
        return sorted(keys)

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        client = self.client()
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": self.prefix + k} for k in keys[start : start + DELETE_BATCH]]
            with self._errors():
                failed = client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if failed.get("Errors"):
                first = failed["Errors"][0]
                raise S3StoreError(f"could not delete {len(failed['Errors'])} object(s) under {prefix!r} in "
                                   f"{self._where()}: {first.get('Key')}: {first.get('Code')} {first.get('Message')}")
        return len(keys)

    def url(self, key: str) -> str:
        """A presigned GET URL, valid for url_expiry_s seconds."""
        name = self._name(key)
        client = self.client()
        with self._errors():
            return str(client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": name}, ExpiresIn=self.url_expiry_s
            ))


def s3_store_from_env() -> S3ObjectStore | None:
    """The S3 store NEXUS_S3_* describe (as resources_for builds it for 'prod'), or None without NEXUS_S3_BUCKET;
    the API uses it to presign downloads. Credentials come from boto3's chain (AWS_ACCESS_KEY_ID, a role)."""
    from resources.settings import ProviderSettings

    p = ProviderSettings()
    if not p.s3_bucket:
        return None
    return S3ObjectStore(
        bucket=p.s3_bucket, prefix=p.s3_prefix, endpoint_url=p.s3_endpoint_url, region=p.s3_region,
        sse=p.s3_sse, sse_kms_key_id=p.s3_sse_kms_key_id, url_expiry_s=p.s3_url_expiry_s,
        multipart_threshold_mb=p.s3_multipart_threshold_mb,
    )
