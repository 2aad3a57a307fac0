"""API fixtures: real PostgreSQL and Redis (scripts/services.sh), RS256 keys, and the app served by uvicorn
on a free 127.0.0.1 port in a thread, reached over HTTP."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `python -m pytest` puts the repo root on sys.path; a bare `pytest` does not
    sys.path.insert(0, str(REPO))

from api.core.config import Settings  # noqa: E402
from api.core.security import generate_private_key, private_key_pem, public_key_pem  # noqa: E402
from api.main import create_app  # noqa: E402
from nexus_core.catalog.engine import normalize_url  # noqa: E402
from tests.api.support import ApiServer, Keys, RecordingDispatcher, make_settings, start_server  # noqa: E402

SERVICES = REPO / "scripts" / "services.sh"


# -- services -------------------------------------------------------------------------------------


def _services(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SERVICES), *args], capture_output=True, text=True, timeout=600, check=False)


def _service_url(name: str, service: str) -> str:
    preset = os.environ.get(name)
    if preset:
        return preset
    started = _services("start", service)
    if started.returncode != 0:
        pytest.fail(f"scripts/services.sh start {service} failed:\n{started.stdout}{started.stderr}", pytrace=False)
    for line in _services("env").stdout.splitlines():
        match = re.fullmatch(rf"(?:export\s+)?{name}=(.*)", line.strip())
        if match:
            return shlex.split(match.group(1))[0]
    raise AssertionError(f"scripts/services.sh env printed no {name}")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """A running PostgreSQL (NEXUS_TEST_POSTGRES_URL, else the one services.sh starts; left running)."""
    return _service_url("NEXUS_TEST_POSTGRES_URL", "postgres")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _service_url("NEXUS_TEST_REDIS_URL", "redis")


@pytest.fixture(scope="session")
def new_postgres_database(postgres_server_url: str) -> Iterator[Callable[[], str]]:
    """Makes empty databases on the test server; drops them all at the end of the session."""
    server = normalize_url(postgres_server_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def make() -> str:
        name = f"nexus_api_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        names.append(name)
        return server.set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# -- keys and servers --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("jwt")
    key = generate_private_key()
    public_path = folder / "public.pem"
    public_path.write_bytes(public_key_pem(key))
    return Keys(private_key_pem(key), public_path)



@pytest.fixture(scope="session")
def serve(keys: Keys, new_postgres_database: Callable[[], str]) -> Iterator[Callable[..., ApiServer]]:
    """serve(settings, dispatcher=...) starts a server; all are stopped at the end of the session (before
    the test databases are dropped)."""
    servers: list[ApiServer] = []

    def _serve(settings: Settings, **kwargs: Any) -> ApiServer:
        server = start_server(create_app(settings, **kwargs), settings, keys)
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.server.should_exit = True
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def pg_api(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], redis_url: str, keys: Keys,
    tmp_path_factory: pytest.TempPathFactory,
) -> ApiServer:
    """The main test server: PostgreSQL, Redis rate limits, a recording dispatcher (runs nothing)."""
    settings = make_settings(tmp_path_factory.mktemp("api-home"), new_postgres_database(), keys, redis_url=redis_url)
    return serve(settings, dispatcher=RecordingDispatcher())


@pytest.fixture
def dispatcher(pg_api: ApiServer) -> RecordingDispatcher:
    recording: RecordingDispatcher = pg_api.state.dispatcher
    return recording
