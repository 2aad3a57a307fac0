"""Alembic environment for the API's tables, in their own version table (api_alembic_version), so this
history stays apart from the catalog's and only ever compares the api_* tables."""

from alembic import context

from api.core.db import VERSION_TABLE
from api.tables import metadata
from nexus_core.catalog.migrate import run_online

run_online(context, metadata, version_table=VERSION_TABLE)
