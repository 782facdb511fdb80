"""The hub's tables.

- ``nodes``: the registered nodes and their harvest state (validators, last success, last error).
- ``profile_versions``: append-only history of every accepted profile, with its exact bytes and hash.
- ``harvest_runs`` / ``fetch_attempts``: what each harvest did, node by node, with reasons for failures.
- ``clusters`` / ``members``: the current view, from each node's latest accepted version.
- ``metaclusters`` / ``placements``: the last formation, with the explanation of every decision.
- ``metacluster_parts``: what each cluster, as of one of its versions, brings to a value chain (formation is
  incremental: a new version rewrites that node's parts only; the read side puts the member lists back from them).
- ``node_keys``: the public keys the hub trusts for each node, with their rotation state.
- ``audit_events``: registration decisions, token events, key changes, refused documents, purges.
- ``api_tokens``: hashed API tokens with their role and scopes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..db import UTCDateTime
from ..profile.member_fields import MemberMixin, member_key
from ..tokens import TokenMixin


class HubBase(DeclarativeBase):
    pass


class NodeRecord(HubBase):
    __tablename__ = "nodes"
    __table_args__ = (UniqueConstraint("cluster_id", name="uq_nodes_cluster_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(500), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    # pending (asked to join) | active (approved) | paused | rejected | suspended
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Identity bound at registration: a document can never change them.
    cluster_id: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    keys_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    profile_url: Mapped[str | None] = mapped_column(String(500))
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Health: ok, degraded (failing), unavailable (failing for trust.unavailable_after_days); backoff in the database
    # so it survives restarts and is shared by every worker.
    health: Mapped[str] = mapped_column(String(16), default="ok", server_default="ok")
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the first push notification not yet served: fetch at the next pass (many notifications, one fetch);
    # last_push_at is the latest one, so a push that arrives during a fetch is not lost when that fetch ends.
    fetch_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the node's discovery document was last read by a good fetch: until harvest.discovery_max_age_s has
    # passed, fetches go straight to profile_url (one request for an unchanged node instead of two).
    discovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the operator's accept-sequence-reset (a reinstalled node starts at 1 again): the next good version may
    # carry a lower sequence than the current one; cleared when it is stored. Otherwise versions only move forward.
    sequence_reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProfileVersion(HubBase):
    """One accepted profile version: never updated, never replaced by a failure."""

    __tablename__ = "profile_versions"
    __table_args__ = (UniqueConstraint("node_id", "sha256", name="uq_profile_versions_node_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int] = mapped_column(BigInteger)  # the node's; each new version's is higher (see harvest)
    schema_version: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str | None] = mapped_column(String(100))
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The document's own publication time: with the sequence, it tells another audience's rendering of the current
    # version (same sequence, same time) from a forked one (same sequence, another time: refused).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The node's detached JWS over the document, as received, and the key that made it.
    signature: Mapped[str | None] = mapped_column(Text)
    kid: Mapped[str | None] = mapped_column(String(100))
    # Set when withdrawn members were purged from the kept bytes (the original signature no longer applies).
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redactions: Mapped[list | None] = mapped_column(JSON)
    # What this hub set aside when it read the version: value chains and activity schemes it does not know (the
    # node has plugins the hub lacks); None when it understood everything. See profile.reader.set_aside_unknown.
    ignored: Mapped[dict | None] = mapped_column(JSON)
    # The hub's catalogue (hub.reread.catalogue_fingerprint) when it set those parts aside: once its plugins change,
    # the version is read again from its bytes (None with ``ignored``: set aside before this was kept).
    ignored_catalogue: Mapped[str | None] = mapped_column(String(64))


class NodeKey(HubBase):
    """A node's public key as the hub trusts it: active, retiring (until ``not_after``) or revoked."""

    __tablename__ = "node_keys"

    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True)
    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    jwk: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # active | retiring | revoked
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(HubBase):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))  # "operator:<token name>", "node:<id>", "system"
    action: Mapped[str] = mapped_column(String(64), index=True)
    node_id: Mapped[str | None] = mapped_column(String(64), index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class HarvestRun(HubBase):
    """A harvest job: running until finished, or failed by the sweeper once its lease has expired."""

    __tablename__ = "harvest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="finished", server_default="finished", index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    aggregated: Mapped[bool] = mapped_column(Boolean, default=False)


class FetchAttempt(HubBase):
    __tablename__ = "fetch_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("harvest_runs.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # queued (sent to a worker) | running | new_version | not_modified | unchanged | failed
    outcome: Mapped[str] = mapped_column(String(32), index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who did the fetch: "host/pid" of the harvesting process, or the Celery worker's name.
    worker: Mapped[str | None] = mapped_column(String(200))
    # The value chains a new version bears on, formed again at the end of the run.
    chains: Mapped[list | None] = mapped_column(JSON)
    http_status: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict | None] = mapped_column(JSON)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("profile_versions.id", ondelete="SET NULL"))


class ClusterView(HubBase):
    """A node's cluster as of its latest accepted version; for a knowledge node (a profile with ``knowledge``), the
    organisation's identity and its block."""

    __tablename__ = "clusters"

    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(String(64))
    names: Mapped[dict] = mapped_column(JSON)
    country: Mapped[str] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(500))
    value_chains: Mapped[list] = mapped_column(JSON, default=list)
    description: Mapped[dict] = mapped_column(JSON, default=dict)
    version_id: Mapped[int] = mapped_column(ForeignKey("profile_versions.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Since when the last good version is all the hub has (the node's fetches fail); None while fresh.
    stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # cluster | knowledge (a knowledge node: no member, never a candidate of formation).
    kind: Mapped[str] = mapped_column(String(16), default="cluster", server_default="cluster")
    # A knowledge node's block as read (its federation rendering; federation.profile.knowledge.public_rendering
    # gives what anyone may see), else None.
    knowledge: Mapped[dict | None] = mapped_column(JSON)
    # The cluster's cooperation profile as read (opportunities included), else None.
    cooperation: Mapped[dict | None] = mapped_column(JSON)


class MemberView(MemberMixin, HubBase):
    """A member of a node's latest accepted version (its columns: federation.profile.member_fields)."""

    __tablename__ = "members"

    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = member_key()
    # public: anyone may read it at the hub; federation: authenticated federation readers only.
    audience: Mapped[str] = mapped_column(String(16), default="public", server_default="public")


class MemberTombstone(HubBase):
    """A member a complete fetch no longer lists: its id only (the data is purged). If it comes back, the node's id
    makes it the same member again and the tombstone goes."""

    __tablename__ = "member_tombstones"

    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    removed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("profile_versions.id", ondelete="SET NULL"))


class MetaClusterRow(HubBase):
    """The last assessment of one value chain: formed or not, and the full explained result."""

    __tablename__ = "metaclusters"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    value_chain: Mapped[str] = mapped_column(String(64), unique=True)
    formed: Mapped[bool] = mapped_column(Boolean)
    countries: Mapped[list] = mapped_column(JSON, default=list)
    document: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Registry.fingerprint of the rules it was formed under: other rules, and the chain is formed again whole.
    rules: Mapped[str | None] = mapped_column(String(64))


class PlacementRow(HubBase):
    """Why a cluster or a member is in or out of a value chain's meta-cluster (one row per subject and chain)."""

    __tablename__ = "placements"
    __table_args__ = (Index("ix_placements_subject", "node_id", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    metacluster_id: Mapped[str] = mapped_column(ForeignKey("metaclusters.id", ondelete="CASCADE"), index=True)
    node_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(16))  # cluster | member | knowledge
    member_id: Mapped[str | None] = mapped_column(String(128))
    included: Mapped[bool] = mapped_column(Boolean)
    sub_cluster: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[list] = mapped_column(JSON, default=list)


class MetaClusterPart(HubBase):
    """What one cluster, as of one of its versions, brings to one value chain's meta-cluster."""

    __tablename__ = "metacluster_parts"

    metacluster_id: Mapped[str] = mapped_column(ForeignKey("metaclusters.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer)  # the node's version these entries were formed from
    members: Mapped[list] = mapped_column(JSON, default=list)  # chain-member entries (none unless admitted)
    knowledge: Mapped[list] = mapped_column(JSON, default=list)  # knowledge-member entries


class ApiToken(TokenMixin, HubBase):
    """API tokens of this hub (hashed; see federation.tokens)."""


class SeenNonce(HubBase):
    """The nonce of a node-signed request the hub accepted (a push, a pilot or invitation answer, a meeting step),
    kept until that signature could no longer be fresh: the same request sent again within the window is a replay."""

    __tablename__ = "seen_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
