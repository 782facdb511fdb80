"""Alembic environment of the hub database."""

from alembic import context

from federation.db import run_migrations
from federation.hub.models import HubBase

run_migrations(context, HubBase.metadata)
