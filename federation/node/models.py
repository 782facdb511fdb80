"""The node's tables: its cluster (on a knowledge node, also its knowledge block), its members (with their
visibility) and the published profile; the hub keys it trusts and the catalogues those hubs publish, the nonces of
signed requests it has seen, the members it withdrew, and its audit log; the one-time links members update their
record with, and the announcements sent to members."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, Update, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..db import UTCDateTime
from ..profile.member_fields import MemberMixin, member_key
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
    #: The cooperation profile as the admin set it (its opportunities are derived at each publication), or None.
    cooperation: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KnowledgeRow(NodeBase):
    """A knowledge node's own block (a single row; its presence makes the node a knowledge node, see
    federation/node/knowledge.py): the block as the admin set it, and who may see each hideable field."""

    __tablename__ = "knowledge"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    block: Mapped[dict | None] = mapped_column(JSON)  # None until set: nothing is published before
    # Per hideable field (federation.profile.knowledge.HIDEABLE_FIELDS): public | federation | private.
    visibility: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberRow(MemberMixin, NodeBase):
    """A member of this node's cluster, with who may see it (its columns: federation.profile.member_fields)."""

    __tablename__ = "members"

    id: Mapped[str] = member_key()
    visibility: Mapped[str] = mapped_column(String(16), default="public", index=True)
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
    # Set when the hub rotated this key away (a message signed by it named its successor): accepted until then.
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by: Mapped[str | None] = mapped_column(String(100))


class HubCatalog(NodeBase):
    """The catalogue a trusted hub publishes (its value chains and activity schemes, signed by its key), and what
    that hub last said it set aside of this node's profile (the parts its plugins do not know)."""

    __tablename__ = "hub_catalogs"

    hub_url: Mapped[str] = mapped_column(String(500), primary_key=True)
    document: Mapped[dict | None] = mapped_column(JSON)  # None until one was read
    sha256: Mapped[str | None] = mapped_column(String(64))
    kid: Mapped[str | None] = mapped_column(String(100))  # the hub key that signed it
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)  # why the last refresh failed (the document stays)
    ignored: Mapped[dict | None] = mapped_column(JSON)
    ignored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NodeIdentity(NodeBase):
    """Facts about this node that its commands record (a single row): the URL it is published at, which every
    signed request must name as its target (set by `node init --public-url` or `node join --node-url`)."""

    __tablename__ = "node_identity"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_url: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SeenNonce(NodeBase):
    """The nonce of a signed request this node accepted, kept until that signature could no longer be fresh: the
    same request sent again within the window is a replay."""

    __tablename__ = "seen_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    kid: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Withdrawal(NodeBase):
    """A member that left an audience (deleted, made private, or no longer public): the signed profile of that
    audience lists it for a while, so the hub purges it (and only it) from the history it keeps."""

    __tablename__ = "withdrawals"

    audience: Mapped[str] = mapped_column(String(16), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    withdrawn_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class NodeAuditEvent(NodeBase):
    """What the node refused or changed in its trust: signed requests refused, hub keys rotated."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)


class ApiToken(TokenMixin, NodeBase):
    """API tokens of this node (hashed; see federation.tokens)."""


class MemberLink(NodeBase):
    """A one-time self-service link made for a member (federation/node/self_service.py): only the hash of its token
    is kept; ``used_at`` is set, once, by the update that consumes it."""

    __tablename__ = "member_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(String(128), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Whether the link was e-mailed to the member (sent, failed, no_address), None when it was not asked to be.
    delivery: Mapped[str | None] = mapped_column(String(16))
    delivery_detail: Mapped[str | None] = mapped_column(Text)

    @staticmethod
    def end_open(member_ids: list[str], at: datetime) -> Update:
        """The statement that makes the open links of members removed from the node expire ``at``: whoever gets
        the same id later (a new member, the id re-imported) is not editable with a link made for another."""
        return (update(MemberLink).where(MemberLink.member_id.in_(member_ids), MemberLink.used_at.is_(None),
                                         MemberLink.expires_at > at).values(expires_at=at))


class Announcement(NodeBase):
    """A message from the cluster to some of its members (a value chain's, a sub-cluster's, or all of them)."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    #: Who it is for: ``{"chain": id, "subcluster": name}``, either or both; ``{}`` for every member.
    audience: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    recipients: Mapped[int] = mapped_column(Integer)
    #: The mail sender that sent it (``mail.sender``), None while it is recorded only.
    sender: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AnnouncementDelivery(NodeBase):
    """What became of an announcement for one recipient: sent, failed, no_address or not_sent (with why)."""

    __tablename__ = "announcement_deliveries"

    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"),
                                                 primary_key=True)
    member_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
