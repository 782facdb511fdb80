"""The node's tables: its cluster, its members (with their visibility) and the published profile."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Integer, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..db import UTCDateTime
from ..tokens import TokenMixin


class NodeBase(DeclarativeBase):
    pass


class ClusterRow(NodeBase):
    """The one cluster this node speaks for (a single row)."""

    __tablename__ = "cluster"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(64))
    names: Mapped[dict] = mapped_column(JSON)
    country: Mapped[str] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(500))
    value_chains: Mapped[list] = mapped_column(JSON, default=list)
    description: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberRow(NodeBase):
    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    size: Mapped[str | None] = mapped_column(String(16))
    activities: Mapped[list] = mapped_column(JSON, default=list)
    offers: Mapped[list] = mapped_column(JSON, default=list)
    needs: Mapped[list] = mapped_column(JSON, default=list)
    export_markets: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_active: Mapped[date | None] = mapped_column(Date)
    visibility: Mapped[str] = mapped_column(String(16), default="public", index=True)
    contact: Mapped[dict | None] = mapped_column(JSON)
    # Per contact field: public | federation | private (a field without an entry is private).
    contact_visibility: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Publication(NodeBase):
    """The profile as last published for one audience (public, federation): rendered once per change, served as
    stored bytes with their ETag."""

    __tablename__ = "publications"

    audience: Mapped[str] = mapped_column(String(16), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    etag: Mapped[str] = mapped_column(String(80))


class TrustedHubKey(NodeBase):
    """A hub key this node accepts on signed requests: such a request reads federation members."""

    __tablename__ = "trusted_hub_keys"

    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    jwk: Mapped[dict] = mapped_column(JSON)
    hub_url: Mapped[str] = mapped_column(String(500))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(TokenMixin, NodeBase):
    """API tokens of this node (hashed; see federation.tokens)."""
