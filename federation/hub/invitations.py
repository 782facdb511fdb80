"""Invitations of knowledge entities to meta-clusters: whom to invite, the invitations, the entities' answers.

Suggestions come from the science core: :func:`federation.science.invitations.invitation_candidates` (entities
none of whose organisation serves the meta-cluster, whose stage links fill an unsupported (stage, country) pair or
a stage no knowledge organisation supports), ranked by the ``medmci_rank_invitations`` hook
(:func:`federation.science.invitations.rank_invitations`); an entity already invited and not yet answering is left
out. The operator invites an entity (it must exist and not serve the meta-cluster already: 409); the entity answers
for itself (the API checks who speaks: :func:`federation.hub.knowledge_api.entity_itself`), once (409 the second
time). An accepted entity is one of the meta-cluster's knowledge members (``"via": "invitation"``) and counts in
its figures (:mod:`federation.hub.knowledge_figures`); the operator may withdraw an invitation, answered or not.
Every step is in the audit log (``knowledge.*``), in the transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..db import Database, lock_rows
from ..errors import Conflict, NotFound, ValidationError
from ..registry import Registry
from ..science.invitations import invitation_candidates, rank_invitations
from ..settings import Settings
from .audit import record
from .knowledge_figures import KnowledgeFigures
from .knowledge_tables import INVITATION_STATUSES, KnowledgeInvitation
from .models import MetaClusterRow

ANSWERS = {"accept": "accepted", "decline": "declined"}


def utcnow() -> datetime:
    return datetime.now(UTC)


def invitation_dict(row: KnowledgeInvitation, name: str | None = None) -> dict:
    return {"id": row.id, "metacluster_id": row.metacluster_id, "entity_key": row.entity_key, "entity_name": name,
            "status": row.status, "invited_at": row.invited_at, "invited_by": row.invited_by,
            "answered_at": row.answered_at, "answered_by": row.answered_by}


class InvitationService:
    """Suggestions, invitations and answers (see the module docstring)."""

    def __init__(self, db: Database, registry: Registry, settings: Settings, figures: KnowledgeFigures,
                 clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.registry = registry
        self.settings = settings
        self.figures = figures
        self.clock = clock

    def suggestions(self, metacluster_id: str) -> list[dict]:
        """The ranked suggestions of a formed meta-cluster: ``entity``, ``name``, ``kind``, ``country``,
        ``score`` (0..1), ``reasons``, ``fills``; 409 for a meta-cluster that is not formed."""
        document, directory = self.figures.document_and_directory(metacluster_id, True)
        self._formed(document)
        chain = self.registry.value_chains[document["value_chain"]]
        with self.db.session() as session:
            pending = set(session.scalars(select(KnowledgeInvitation.entity_key).where(
                KnowledgeInvitation.metacluster_id == document["id"], KnowledgeInvitation.status == "invited")))
        entities = [e for key, e in directory.entities.items() if key not in pending]
        figures = document["scientific_representation"]
        candidates = invitation_candidates(document, figures, entities, chain, self.registry.taxonomies,
                                           directory.links)
        candidates = [c for c in candidates if not pending & {c.key, *c.same_as}]
        return rank_invitations(self.registry.pm, document, figures, candidates, self.settings)

    def invite(self, metacluster_id: str, entity_key: str, actor: str) -> dict:
        """Invite an entity the hub knows (404 otherwise) to a formed meta-cluster (409 otherwise); 409 when its
        organisation serves the meta-cluster already, or it has an invitation waiting for its answer."""
        document, directory = self.figures.document_and_directory(metacluster_id, True)
        self._formed(document)
        entity = directory.get(entity_key)
        organisation = directory.organisation.get(entity.key, entity.key)
        for org in (document["scientific_representation"] or {"organisations": []})["organisations"]:
            serving = [key for key in org["entities"] if directory.organisation.get(key, key) == organisation]
            if serving:
                how = ("itself" if serving == [entity.key] else
                       f"as the same organisation as {', '.join(k for k in serving if k != entity.key)}")
                raise Conflict(f"{entity.key} ({entity.name}) serves {document['id']} already, {how}",
                               {"entity": ["serves the meta-cluster already"]})
        with self.db.session() as session:
            waiting = lock_rows(session, KnowledgeInvitation, self._open(document["id"], entity.key))
            if waiting:
                raise self._invited_already(waiting[0])
            row = KnowledgeInvitation(metacluster_id=document["id"], entity_key=entity.key, status="invited",
                                      invited_at=self.clock(), invited_by=actor)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # invited by a concurrent request after the check: the unique index says so
                session.rollback()
                first = session.scalars(select(KnowledgeInvitation).where(
                    self._open(document["id"], entity.key))).first()
                raise (self._invited_already(first) if first is not None else
                       Conflict(f"{entity.key} was invited to {document['id']} by another request at the same "
                                f"moment", {"entity": ["already invited"]})) from None
            record(session, "knowledge.invited", actor, entity.cluster_node_id, invitation_id=row.id,
                   metacluster_id=document["id"], entity_key=entity.key)
            return invitation_dict(row, entity.name)

    def get(self, invitation_id: int) -> dict:
        with self.db.session() as session:
            row = session.get(KnowledgeInvitation, invitation_id)
            if row is None:
                raise NotFound(f"no invitation {invitation_id}")
            return invitation_dict(row)

    def answer(self, invitation_id: int, answer: str, actor: str) -> dict:
        """The invited entity accepts or declines; the caller established that ``actor`` speaks for it. 409 when
        it answered already or the invitation was withdrawn."""
        if answer not in ANSWERS:
            raise ValidationError(f"answer {answer!r}: accept or decline", {"answer": ["accept or decline"]})
        with self.db.session() as session:
            row = self._locked(session, invitation_id)
            if row.status != "invited":
                when = row.answered_at or row.invited_at
                raise Conflict(f"invitation {invitation_id} is {row.status} already (since {when:%Y-%m-%d}): it "
                               f"is answered once", {"answer": [f"already {row.status}"]})
            row.status, row.answered_at, row.answered_by = ANSWERS[answer], self.clock(), actor
            record(session, f"knowledge.invitation_{row.status}", actor, None, invitation_id=row.id,
                   metacluster_id=row.metacluster_id, entity_key=row.entity_key)
            return invitation_dict(row)

    def withdraw(self, invitation_id: int, actor: str) -> dict:
        """The operator withdraws an invitation waiting for its answer or accepted (an accepted entity then no
        longer serves the meta-cluster through it); 409 for one declined or withdrawn already."""
        with self.db.session() as session:
            row = self._locked(session, invitation_id)
            if row.status not in ("invited", "accepted"):
                raise Conflict(f"invitation {invitation_id} is {row.status}: nothing to withdraw",
                               {"status": [row.status]})
            before = row.status
            row.status, row.answered_at, row.answered_by = "withdrawn", self.clock(), actor
            record(session, "knowledge.invitation_withdrawn", actor, None, invitation_id=row.id,
                   metacluster_id=row.metacluster_id, entity_key=row.entity_key, before=before)
            return invitation_dict(row)

    def page(self, metacluster_id: str | None, status: str | None, offset: int,
             limit: int) -> tuple[int, list[dict]]:
        """Invitations, newest first, of one meta-cluster (by id or value chain) or all."""
        if status is not None and status not in INVITATION_STATUSES:
            raise ValidationError(f"status {status!r}: one of {', '.join(INVITATION_STATUSES)}",
                                  {"status": ["unknown"]})
        query = select(KnowledgeInvitation)
        if status is not None:
            query = query.where(KnowledgeInvitation.status == status)
        with self.db.session() as session:
            if metacluster_id is not None:
                row = session.get(MetaClusterRow, metacluster_id) or session.scalar(
                    select(MetaClusterRow).where(MetaClusterRow.value_chain == metacluster_id))
                if row is None:
                    raise NotFound(f"no meta-cluster {metacluster_id!r} (see /api/v1/metaclusters?formed=all)")
                query = query.where(KnowledgeInvitation.metacluster_id == row.id)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(KnowledgeInvitation.id.desc()).offset(min(offset, total))
                                   .limit(limit))
            return total, [invitation_dict(row) for row in rows]

    @staticmethod
    def _open(metacluster_id: str, entity_key: str):
        return ((KnowledgeInvitation.metacluster_id == metacluster_id) & (KnowledgeInvitation.entity_key == entity_key)
                & KnowledgeInvitation.status.in_(("invited", "accepted")))

    @staticmethod
    def _invited_already(row: KnowledgeInvitation) -> Conflict:
        return Conflict(f"{row.entity_key} has an invitation to {row.metacluster_id} already (#{row.id}, "
                        f"{row.status} since {row.answered_at or row.invited_at:%Y-%m-%d})",
                        {"entity": [f"already {row.status}"]})

    @staticmethod
    def _formed(document: dict) -> None:
        if not document["formed"]:
            raise Conflict(f"meta-cluster {document['id']} is not formed: knowledge entities are invited to formed "
                           f"meta-clusters", {"metacluster_id": ["not formed"]})

    @staticmethod
    def _locked(session, invitation_id: int) -> KnowledgeInvitation:
        row = next(iter(lock_rows(session, KnowledgeInvitation, KnowledgeInvitation.id == invitation_id)), None)
        if row is None:
            raise NotFound(f"no invitation {invitation_id}")
        return row
