"""Node registration at the hub: the operator registers, lists, pauses and resumes nodes."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

from sqlalchemy import select

from ..db import Database
from ..errors import Conflict, NotFound, ValidationError
from .models import NodeRecord

NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
STATUSES = ("active", "paused")


def now() -> datetime:
    return datetime.now(timezone.utc)


def check_node_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"node URL {url!r} must be an absolute http(s) URL",
                              {"url": ["must be an absolute http:// or https:// URL"]})
    if parts.query or parts.fragment:
        raise ValidationError("node URL must not have a query or fragment", {"url": ["no query or fragment"]})
    return url.rstrip("/")


class NodeDirectory:
    def __init__(self, db: Database):
        self.db = db

    def register(self, node_id: str, url: str, name: str | None = None) -> dict:
        if not NODE_ID.match(node_id or ""):
            raise ValidationError(f"node id {node_id!r} must be a lower-case slug (a-z, 0-9, -)",
                                  {"id": ["lower-case letters, digits and dashes, 64 at most"]})
        url = check_node_url(url)
        with self.db.session() as session:
            if session.get(NodeRecord, node_id) is not None:
                raise Conflict(f"node {node_id!r} is registered already", {"id": ["already registered"]})
            if session.scalar(select(NodeRecord).where(NodeRecord.url == url)) is not None:
                raise Conflict(f"a node is registered already at {url}", {"url": ["already registered"]})
            record = NodeRecord(id=node_id, url=url, name=name, status="active", registered_at=now(),
                                consecutive_failures=0)
            session.add(record)
            session.flush()
            return node_dict(record)

    def list(self) -> list[dict]:
        with self.db.session() as session:
            return [node_dict(n) for n in session.scalars(select(NodeRecord).order_by(NodeRecord.id))]

    def get(self, node_id: str) -> dict:
        with self.db.session() as session:
            return node_dict(self._get(session, node_id))

    def set_status(self, node_id: str, status: str) -> dict:
        if status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}", {"status": ["unknown status"]})
        with self.db.session() as session:
            record = self._get(session, node_id)
            record.status = status
            return node_dict(record)

    @staticmethod
    def _get(session, node_id: str) -> NodeRecord:
        record = session.get(NodeRecord, node_id)
        if record is None:
            raise NotFound(f"no node {node_id!r} is registered")
        return record


def node_dict(n: NodeRecord) -> dict:
    return {"id": n.id, "url": n.url, "name": n.name, "status": n.status, "registered_at": n.registered_at,
            "profile_url": n.profile_url, "last_attempt_at": n.last_attempt_at, "last_success_at": n.last_success_at,
            "last_outcome": n.last_outcome, "last_error": n.last_error,
            "consecutive_failures": n.consecutive_failures}
