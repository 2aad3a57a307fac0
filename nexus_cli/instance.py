"""The local Dagster instance the CLI and the UI share: DAGSTER_HOME and its dagster.yaml."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

from nexus_core.settings import NexusSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def project_file(name: str) -> Path:
    """A file at the project root (dagster.yaml, workspace.yaml), found from the source checkout."""
    path = PROJECT_ROOT / name
    if not path.is_file():
        raise FileNotFoundError(f"{name} not found next to the nexus package (looked in {PROJECT_ROOT})")
    return path


def prepare_instance(settings: NexusSettings) -> dg.DagsterInstance:
    """Point DAGSTER_HOME at the instance and open it.

    Its dagster.yaml comes from NEXUS_DAGSTER_CONFIG when set, else from the repo. A dagster.yaml that
    already sits in a DAGSTER_HOME the operator chose is theirs and is never overwritten.
    """
    operator_home = "DAGSTER_HOME" in os.environ
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    source = settings.dagster_config or project_file("dagster.yaml")
    if not source.is_file():
        raise FileNotFoundError(f"NEXUS_DAGSTER_CONFIG points at {source}, which is not a file")
    keep_operators = operator_home and target.exists() and settings.dagster_config is None
    if not keep_operators and (not target.exists() or target.read_bytes() != source.read_bytes()):
        shutil.copyfile(source, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()
