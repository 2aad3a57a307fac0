"""Catalog fixtures: a real PostgreSQL (scripts/services.sh) and SQLite, each test on both."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from nexus_core.catalog import Catalog
from nexus_core.catalog.engine import normalize_url

REPO = Path(__file__).resolve().parents[3]
SERVICES = REPO / "scripts" / "services.sh"
BACKENDS = ["sqlite", "postgresql"]

DatabaseFactory = Callable[[], str]


def _services(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SERVICES), *args], capture_output=True, text=True, timeout=timeout, check=False)


def _env_value(output: str, name: str) -> str:
    for line in output.splitlines():
        match = re.fullmatch(rf"(?:export\s+)?{name}=(.*)", line.strip())
        if match:
            return shlex.split(match.group(1))[0]
    raise AssertionError(f"scripts/services.sh env printed no {name}:\n{output}")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The admin URL of a running PostgreSQL: NEXUS_TEST_POSTGRES_URL, else one services.sh starts."""
    preset = os.environ.get("NEXUS_TEST_POSTGRES_URL")
    if preset:
        yield preset
        return
    was_running = _services("status", "postgres").returncode == 0
    started = _services("start", "postgres")
    if started.returncode != 0:
        pytest.fail(
            f"scripts/services.sh start postgres failed (exit {started.returncode}):\n{started.stdout}{started.stderr}",
            pytrace=False,
        )
    yield _env_value(_services("env").stdout, "NEXUS_TEST_POSTGRES_URL")
    if not was_running:
        _services("stop", "postgres")


class PostgresDatabases:
    """Creates uniquely named databases on the test server and drops them all at the end."""

    def __init__(self, server_url: str, prefix: str) -> None:
        self._server = normalize_url(server_url)
        self._prefix = re.sub(r"[^a-z0-9_]", "_", prefix.lower())[:40]
        self._admin = create_engine(self._server, isolation_level="AUTOCOMMIT")
        self._names: list[str] = []

    def create(self) -> str:
        """A new empty database's URL."""
        name = f"{self._prefix}_{uuid.uuid4().hex[:8]}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self._names.append(name)
        return self._server.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every database this made (closing other sessions on them)."""
        with self._admin.connect() as conn:
            for name in self._names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="module")
def postgres_databases(postgres_server_url: str, request: pytest.FixtureRequest) -> Iterator[PostgresDatabases]:
    """This test module's databases on the test server."""
    databases = PostgresDatabases(postgres_server_url, f"nexus_{request.module.__name__.rsplit('.', 1)[-1]}")
    yield databases
    databases.drop_all()


@pytest.fixture(scope="module")
def postgres_module_url(postgres_databases: PostgresDatabases) -> str:
    """One fresh database for the whole test module (each test empties the videos table)."""
    return postgres_databases.create()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fresh_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> DatabaseFactory:
    """Makes brand-new, never-migrated databases of the test's backend."""
    if backend == "sqlite":
        counter = iter(range(1_000_000))
        return lambda: f"sqlite:///{tmp_path / f'fresh-{next(counter)}.db'}"
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    return databases.create


@pytest.fixture
def catalog_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A migrated catalog URL with no videos in it."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    url: str = request.getfixturevalue("postgres_module_url")
    with Catalog(url) as catalog, catalog.engine.begin() as conn:
        conn.execute(text("DELETE FROM videos"))
    return url


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """An empty catalog on the test's backend."""
    with Catalog(catalog_url) as opened:
        yield opened
