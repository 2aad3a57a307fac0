"""The catalog as a Dagster resource: one Catalog (engine, pool, migration check) per process and URL."""

from __future__ import annotations

import os
import threading

import dagster as dg

from nexus_core.catalog import Catalog

_catalogs: dict[tuple[int, str], Catalog] = {}
_lock = threading.Lock()


def shared_catalog(url: str) -> Catalog:
    """This process's Catalog for a URL, opened (and migrated) on first use; a forked child opens its own."""
    key = (os.getpid(), url)
    with _lock:
        catalog = _catalogs.get(key)
        if catalog is None:
            catalog = _catalogs[key] = Catalog(url)
        return catalog


class CatalogResource(dg.ConfigurableResource):
    """Where videos' status, progress and artifacts are kept (sqlite:///PATH or postgresql://...)."""

    url: str

    def catalog(self) -> Catalog:
        """The shared Catalog for this resource's URL."""
        return shared_catalog(self.url)
