"""Settings read from the environment (NEXUS_*), in one class, instantiated once per process."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NexusSettings(BaseSettings):
    """Where Nexus keeps its state and which implementations it uses."""

    model_config = SettingsConfigDict(env_prefix="NEXUS_", extra="ignore")

    environment: Literal["local", "prod"] = "local"
    home: Path = Field(default=Path(".nexus"), description="Local state: catalog, object store, Dagster.")
    database_url: str | None = Field(default=None, description="Catalog URL; SQLite under home by default.")
    store_root: Path | None = Field(default=None, description="Local object store folder.")
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1, le=64)
    dagster_config: Path | None = Field(
        default=None, description="Instance config copied into DAGSTER_HOME (default: the repo's dagster.yaml)."
    )
    piper_model_path: Path | None = Field(default=None, description="A Piper .onnx voice; espeak-ng if unset.")

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def catalog_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_home / 'catalog.db'}"

    @property
    def object_store_root(self) -> Path:
        return (self.store_root or self.resolved_home / "store").expanduser().resolve()

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.resolved_home / "dagster").resolve()


@lru_cache(maxsize=1)
def get_settings() -> NexusSettings:
    return NexusSettings()
