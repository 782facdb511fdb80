"""Fresh, empty databases for test apps: a SQLite file, or a PostgreSQL schema of its own dropped afterwards."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa

from tests.support.environment import POSTGRES_URL


def postgres_available() -> bool:
    """Whether PostgreSQL answers at POSTGRES_URL."""
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


class Databases:
    """Database URLs of one backend (``"sqlite"`` or ``"postgres"``), one per name; ``drop()`` removes the
    PostgreSQL schemas it made (SQLite files go with their folder)."""

    def __init__(self, backend: str, folder: Path):
        self.backend, self.folder, self.schemas = backend, folder, []

    def url(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.folder / (name + '.sqlite3')}"
        schema = f"t_{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        self.schemas.append(schema)
        return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        if self.schemas:
            engine = sa.create_engine(POSTGRES_URL)
            with engine.begin() as conn:
                for schema in self.schemas:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()
