"""The hub's knowledge tables: profiles it hosts for knowledge entities that run no server, and invitations of
knowledge entities to meta-clusters. On the hub's declarative base, next to the tables of
:mod:`federation.hub.models`.

- ``hosted_entities``: a university, research or technology centre or TTO whose profile the hub keeps (key
  ``hosted:<id>``): its identity (names, country, website, the value chains it serves, description), its knowledge
  block (:class:`federation.profile.knowledge.KnowledgeSchema`) and who may see each field of it, as a knowledge
  node keeps them; ``sequence`` grows with every change (the profile document the hub serves and signs carries it).
- ``knowledge_invitations``: a meta-cluster asks a knowledge entity to serve it; the entity answers for itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime
from .models import HubBase

#: What an invitation may be: waiting for the entity's answer, accepted, declined, or withdrawn by the operator.
INVITATION_STATUSES = ("invited", "accepted", "declined", "withdrawn")
#: The invitations that keep an entity from being invited again to the same meta-cluster (SQL, for the index).
OPEN_CONDITION = "status IN ('invited', 'accepted')"
#: The entity key prefix of a hosted profile.
HOSTED_PREFIX = "hosted:"


class HostedEntity(HubBase):
    """A knowledge entity's profile kept by the hub."""

    __tablename__ = "hosted_entities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    names: Mapped[dict] = mapped_column(JSON)
    country: Mapped[str] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(500))
    value_chains: Mapped[list] = mapped_column(JSON, default=list)
    description: Mapped[dict] = mapped_column(JSON, default=dict)
    # The knowledge block as its owner set it (every field, whatever its visibility), and per hideable field who may
    # see it (public | federation | private; federation.profile.knowledge.field_levels fills the defaults).
    block: Mapped[dict] = mapped_column(JSON)
    visibility: Mapped[dict] = mapped_column(JSON, default=dict)
    sequence: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))

    @property
    def key(self) -> str:
        return f"{HOSTED_PREFIX}{self.id}"


class KnowledgeInvitation(HubBase):
    """One invitation of a knowledge entity (by key) to a meta-cluster. No foreign key to the meta-cluster: a
    rebuilt formation drops and writes its rows again, and the invitation outlives that."""

    __tablename__ = "knowledge_invitations"
    __table_args__ = (
        Index("ix_knowledge_invitations_mc_entity", "metacluster_id", "entity_key"),
        # One open (waiting or accepted) invitation per entity and meta-cluster, whatever the requests' timing.
        Index("uq_knowledge_invitations_open", "metacluster_id", "entity_key", unique=True,
              sqlite_where=text(OPEN_CONDITION), postgresql_where=text(OPEN_CONDITION)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metacluster_id: Mapped[str] = mapped_column(String(80))
    entity_key: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))  # one of INVITATION_STATUSES
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    invited_by: Mapped[str] = mapped_column(String(200))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(200))
