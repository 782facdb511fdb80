"""The hub's audit log: who decided what, and what the hub refused or purged.

Events are written in the same transaction as the change they describe, so the log never claims a change that was
rolled back, nor misses one that was committed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Database
from .models import AuditEvent

#: Every action the hub records, for filters and documentation.
ACTIONS = ("registration.requested", "registration.approved", "registration.rejected", "registration.suspended",
           "node.registered", "node.paused", "node.resumed", "node.reset", "token.created", "token.revoked",
           "key.added", "key.retiring", "key.revoked", "key.refresh_refused", "document.refused", "member.purged",
           "hub_key.rotated", "hub_key.announced", "hub_key.announce_failed",
           "sequence.reset_accepted", "sequence.reset_applied", "version.pruned",
           "version.reread",
           "pilot.created", "pilot.invited", "pilot.accepted", "pilot.declined", "pilot.status", "team.saved",
           "team.edited", "activity.added", "outcome.added",
           "knowledge.hosted", "knowledge.hosted_updated", "knowledge.invited", "knowledge.invitation_accepted",
           "knowledge.invitation_declined", "knowledge.invitation_withdrawn",
           "match.interested", "match.requested", "match.accepted", "match.declined", "match.held", "match.cancelled",
           "calls.imported")


def record(session: Session, action: str, actor: str = "system", node_id: str | None = None, **details) -> None:
    """Add an event to the caller's unit of work."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(AuditEvent(at=datetime.now(UTC), actor=actor, action=action, node_id=node_id,
                           details=details))


def token_event(session: Session, action: str, actor: str, token: dict) -> None:
    """A token created or revoked (the hub's :class:`federation.tokens.TokenService` calls it, in its transaction);
    never the token's secret or hash."""
    record(session, action, actor, token.get("node_id"), token_id=token["id"], name=token["name"],
           role=token["role"], scopes=token["scopes"])


class AuditLog:
    def __init__(self, db: Database):
        self.db = db

    def events(self, action: str | None = None, node_id: str | None = None, limit: int = 200) -> list[dict]:
        with self.db.session() as session:
            query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
            if action:
                query = query.where(AuditEvent.action.startswith(action))
            if node_id:
                query = query.where(AuditEvent.node_id == node_id)
            return [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "node_id": e.node_id,
                     "details": e.details} for e in session.scalars(query)]
