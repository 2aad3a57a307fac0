"""Alembic environment for the catalog: runs on the connection that nexus_core.catalog.migrate hands it."""

from alembic import context

from nexus_core.catalog.migrate import run_online
from nexus_core.catalog.tables import Base

run_online(context, Base.metadata)
