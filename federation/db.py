"""Database access shared by the node and the hub: an engine per app, sessions as units of work, Alembic upgrades."""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import DateTime, create_engine, event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp on every engine: SQLite stores no offset, so UTC is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


_AFTER_COMMIT = "medmci.after_commit"


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run ``callback`` once the unit of work ``session`` belongs to (:meth:`Database.session`) has committed; it
    is dropped if the unit of work rolls back."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


class Database:
    """One database (the node's or the hub's). ``session()`` is the unit of work: commit on success, rollback on
    any error, so a failing operation changes nothing."""

    def __init__(self, url: str, migrations: Path):
        self.url = url
        self.migrations = migrations
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work. Callbacks registered with :func:`after_commit` run once it is committed (never after a
        rollback): side effects such as notifications must not announce what did not happen."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        for callback in session.info.pop(_AFTER_COMMIT, ()):
            callback()

    def upgrade(self) -> None:
        """Bring the schema to the latest Alembic revision (idempotent)."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(self.migrations))
        with self.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def lock_rows(session: Session, model, *criteria) -> list:
    """The rows of ``model`` matching ``criteria``, locked until the session commits and read after the lock: call it
    before reading what a check-then-write depends on, so that two such writes never both pass the check.

    PostgreSQL: ``SELECT ... FOR UPDATE``, which waits for a concurrent writer of those rows and then re-checks
    ``criteria`` against what it committed. SQLite ignores FOR UPDATE: a no-op UPDATE first takes the database's
    write lock (as a harvest storing a version does), so nothing read afterwards can change before the commit.
    """
    if session.get_bind().dialect.name == "sqlite":
        # Set a plain column to itself: rewriting a key would make SQLite check the rows that refer to it.
        column = next(c for c in model.__table__.columns if not (c.primary_key or c.foreign_keys or c.unique))
        session.execute(update(model).where(*criteria).values({column.key: column})
                        .execution_options(synchronize_session=False))
    query = select(model).where(*criteria).with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(query))


def _unserialisable(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: json.dumps with its defaults, minus the encoder built for every call: JSON columns serialise many small values.
#: (No circular-reference check: it would share state between threads; column values are trees.)
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # CPython's C accelerator (not in the type stubs)
_encode = _c_make_encoder(None, _unserialisable, json.encoder.encode_basestring_ascii, None, ": ", ", ",
                          False, False, True) if _c_make_encoder else None


def json_dumps(value) -> str:
    """The text ``json.dumps(value)`` gives."""
    if _encode is None:  # pragma: no cover - no C accelerator
        return json.dumps(value)
    return "".join(_encode(value, 0))


def make_engine(url: str) -> Engine:
    """An engine for ``url``. Its errors carry no bound parameters (``hide_parameters``): a failed statement logged
    with its traceback would otherwise print the values, members' contact fields among them."""
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(url, json_serializer=json_dumps, hide_parameters=True,
                               connect_args={"check_same_thread": False, "timeout": 30},
                               poolclass=StaticPool if in_memory else None)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                # WAL lets the web server read while a harvest writes.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=json_dumps, hide_parameters=True)


def run_migrations(context, metadata) -> None:
    """The body of each ``migrations/env.py``: online migrations on the connection ``Database.upgrade`` passes in,
    or on a fresh engine from ``sqlalchemy.url`` when Alembic's own command line is used."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _configure_and_run(context, metadata, connection)
        return
    _configure_and_run(context, metadata, connection)


def _configure_and_run(context, metadata, connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
