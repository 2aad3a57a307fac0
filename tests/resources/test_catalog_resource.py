"""CatalogResource hands every asset in a process the same Catalog for its URL."""

from __future__ import annotations

from pathlib import Path

from nexus_core.catalog import Catalog
from resources.catalog import CatalogResource


def test_catalog_resource_shares_one_catalog_per_url(tmp_path: Path) -> None:
    first = CatalogResource(url=f"sqlite:///{tmp_path / 'a.db'}")
    again = CatalogResource(url=f"sqlite:///{tmp_path / 'a.db'}")
    other = CatalogResource(url=f"sqlite:///{tmp_path / 'b.db'}")
    assert isinstance(first.catalog(), Catalog)
    assert first.catalog() is again.catalog()
    assert other.catalog() is not first.catalog()
    assert (tmp_path / "a.db").exists() and (tmp_path / "b.db").exists()


def test_catalog_resource_opens_nothing_until_asked(tmp_path: Path) -> None:
    CatalogResource(url=f"sqlite:///{tmp_path / 'lazy.db'}")
    assert not (tmp_path / "lazy.db").exists()
