"""Alembic environment of the hub database."""

from alembic import context

from federation.db import run_migrations
from federation.hub.models import HubBase
from federation.hub import formation_models  # noqa: F401 - its table is in HubBase.metadata

run_migrations(context, HubBase.metadata)
