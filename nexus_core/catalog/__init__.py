"""The video catalog: one row per video (the Dagster partition key), its status, progress and artifacts."""

from nexus_core.catalog.errors import (
    CatalogError,
    RunAlreadyFailed,
    VideoCancelled,
    VideoExists,
    VideoNotFound,
)
from nexus_core.catalog.record import Remake, VideoRecord
from nexus_core.catalog.repository import Catalog

__all__ = [
    "Catalog",
    "CatalogError",
    "Remake",
    "RunAlreadyFailed",
    "VideoCancelled",
    "VideoExists",
    "VideoNotFound",
    "VideoRecord",
]
