"""The migrations are the schema: upgrading an empty database gives exactly the models, on both engines."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from federation.db import Database, json_dumps
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


# -- json_dumps: the JSON columns' serialiser ----------------------------------------------------------------------

_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text())
_documents = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5)
                          | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=30)
_any_keys = st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none(),
                      st.floats(allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(_documents)
def test_json_dumps_gives_the_value_back_and_the_bytes_of_the_stdlib(value):
    text = json_dumps(value)
    assert json.loads(text) == value
    assert text == json.dumps(value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_any_keys, _scalars, max_size=6), st.sampled_from([float("nan"), float("inf"),
                                                                          -float("inf")]))
def test_json_dumps_writes_what_the_stdlib_writes_for_non_string_keys_and_special_floats(value, special):
    """Keys other than strings become strings and NaN/Infinity are written as the stdlib writes them (its
    defaults), so a JSON column holds the same text whichever function wrote it."""
    for item in (value, [special, value], {"x": special}):
        assert json_dumps(item) == json.dumps(item)


def test_json_dumps_refuses_what_is_not_json_like_the_stdlib():
    for bad in (object(), {1, 2}, b"bytes", {"when": datetime(2026, 1, 1)}, {(1, 2): "tuple key"}):
        with pytest.raises(TypeError):
            json.dumps(bad)
        with pytest.raises(TypeError):
            json_dumps(bad)
