"""Shared fixtures: a private Nexus home (catalog, object store, Dagster instance) per test session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nexus_cli.instance import prepare_instance
from nexus_cli.main import main
from nexus_core.catalog import Catalog, VideoRecord
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


VideoMaker = Callable[..., VideoRecord]


@pytest.fixture(scope="session")
def make_video(nexus_settings: NexusSettings) -> VideoMaker:
    """Run `nexus generate` with CLI arguments; return the new video's catalog record."""

    def generate(*args: str) -> VideoRecord:
        catalog = Catalog(nexus_settings.catalog_url)
        before = {r.video_id for r in catalog.list_videos()}
        assert main(["generate", *args]) == 0
        (record,) = [r for r in catalog.list_videos() if r.video_id not in before]
        return record

    return generate


@pytest.fixture(scope="session")
def hd_video(make_video: VideoMaker) -> VideoRecord:
    """One finished 8 s 360p video shared by the end-to-end, re-materialization and backfill tests."""
    return make_video(
        "A short tour of the solar system, from the Sun to Neptune",
        "--duration", "8", "--resolution", "360p", "--fps", "24", "--quality", "STANDARD", "--music", "upbeat",
    )
