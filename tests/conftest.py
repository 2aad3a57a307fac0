"""Shared fixtures: a private Nexus home (catalog, object store, Dagster instance) per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_cli.instance import prepare_instance
from nexus_core.settings import NexusSettings


@pytest.fixture(scope="session")
def nexus_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NexusSettings]:
    """Point NEXUS_HOME and DAGSTER_HOME at a fresh folder for the whole session."""
    home = tmp_path_factory.mktemp("nexus-home")
    saved = {k: os.environ.get(k) for k in ("NEXUS_HOME", "DAGSTER_HOME", "NEXUS_DATABASE_URL", "NEXUS_STORE_ROOT")}
    os.environ["NEXUS_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    os.environ.pop("NEXUS_DATABASE_URL", None)
    os.environ.pop("NEXUS_STORE_ROOT", None)
    try:
        settings = NexusSettings()
        prepare_instance(settings)
        yield settings
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def store_root(nexus_settings: NexusSettings) -> Path:
    return nexus_settings.object_store_root
