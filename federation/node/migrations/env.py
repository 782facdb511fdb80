"""Alembic environment of the node database."""

from alembic import context

from federation.db import run_migrations
from federation.node.models import NodeBase

run_migrations(context, NodeBase.metadata)
