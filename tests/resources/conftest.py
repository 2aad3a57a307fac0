"""Fixtures for the resource tests: a real S3-compatible server for the object-store contract."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from resources.s3_storage import S3ObjectStore
from tests.standins.elevenlabs_server import ElevenLabsStandIn
from tests.standins.openai_server import OpenAIStandIn

# -- S3: a real S3-compatible server (SeaweedFS from scripts/services.sh) ------------------------------

SERVICES = Path(__file__).resolve().parents[2] / "scripts" / "services.sh"
S3_ENV = ("NEXUS_TEST_S3_ENDPOINT_URL", "NEXUS_TEST_S3_BUCKET", "NEXUS_TEST_S3_ACCESS_KEY_ID",
          "NEXUS_TEST_S3_SECRET_ACCESS_KEY")


@dataclass(frozen=True)
class S3Server:
    """Where the test S3 server listens, its bucket and its credentials."""

    endpoint_url: str
    bucket: str
    access_key_id: str
    secret_access_key: str

    def store(self, **overrides: Any) -> S3ObjectStore:
        """An S3ObjectStore on this server; keyword arguments override its fields."""
        fields: dict[str, Any] = {
            "bucket": self.bucket, "endpoint_url": self.endpoint_url, "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key, "max_attempts": 2,
        }
        return S3ObjectStore(**(fields | overrides))


def _services(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SERVICES), *args], capture_output=True, text=True, timeout=600, check=False)


def _exported(output: str) -> dict[str, str]:
    """NAME=value pairs from `export NAME=value` lines."""
    found = (re.fullmatch(r"(?:export\s+)?(\w+)=(.*)", line.strip()) for line in output.splitlines())
    return {m.group(1): shlex.split(m.group(2))[0] for m in found if m}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """NEXUS_TEST_S3_* when set, else SeaweedFS started by scripts/services.sh (stopped again if it started it)."""
    if os.environ.get(S3_ENV[0]):
        yield S3Server(*(os.environ[name] for name in S3_ENV))
        return
    was_running = _services("status", "s3").returncode == 0
    started = _services("start", "s3")
    if started.returncode != 0:
        pytest.fail(f"scripts/services.sh start s3 failed (exit {started.returncode}):\n{started.stderr}",
                    pytrace=False)
    env = _exported(_services("env").stdout)
    yield S3Server(*(env[name] for name in S3_ENV))
    if not was_running:
        _services("stop", "s3")


@pytest.fixture
def s3_store(s3_server: S3Server) -> Iterator[S3ObjectStore]:
    """A store under a fresh prefix of the test bucket; its objects are deleted afterwards."""
    store = s3_server.store(prefix=f"tests/{uuid.uuid4().hex[:12]}")
    yield store
    store.delete_prefix("")


# -- OpenAI and ElevenLabs: stand-in HTTP servers on 127.0.0.1 speaking their wire formats ------------


@pytest.fixture
def openai_api() -> Iterator[OpenAIStandIn]:
    """A fresh OpenAI stand-in per test (a new port, so circuit breakers never carry over)."""
    server = OpenAIStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def elevenlabs_api() -> Iterator[ElevenLabsStandIn]:
    """A fresh ElevenLabs stand-in per test (a new port, so circuit breakers never carry over)."""
    server = ElevenLabsStandIn().start()
    yield server
    server.stop()
