"""The migrations are the schema: upgrading an empty database gives exactly the models, on both engines."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from federation.db import Database
from federation.hub.app import MIGRATIONS as HUB_MIGRATIONS
from federation.hub.models import HubBase, NodeRecord
from federation.node.app import MIGRATIONS as NODE_MIGRATIONS
from federation.node.models import NodeBase


@pytest.mark.parametrize("migrations, metadata, table", [(NODE_MIGRATIONS, NodeBase.metadata, "members"),
                                                         (HUB_MIGRATIONS, HubBase.metadata, "profile_versions")])
def test_migrations_match_the_models(database_url, migrations, metadata, table):
    db = Database(database_url("schema"), migrations)
    db.upgrade()
    db.upgrade()  # idempotent
    with db.engine.connect() as connection:
        assert table in inspect(connection).get_table_names()
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    db.dispose()


def test_timestamps_come_back_in_utc(database_url):
    db = Database(database_url("hub"), HUB_MIGRATIONS)
    db.upgrade()
    registered = datetime(2026, 11, 25, 10, 30, tzinfo=timezone.utc)
    with db.session() as session:
        session.add(NodeRecord(id="n1", url="http://127.0.0.1:1", status="active", registered_at=registered,
                               consecutive_failures=0))
    with db.session() as session:
        assert session.get(NodeRecord, "n1").registered_at == registered
        assert session.get(NodeRecord, "n1").registered_at.tzinfo is not None
    db.dispose()
