"""Node registration at the hub.

Two ways in, both binding the node's identity (cluster id, country, keys) once, from a discovery document that its
own keys sign: the operator registers a node directly (active at once), or a node asks to join with a request signed
by its key (pending until the operator approves). Afterwards a document can never change that identity.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import select, update

from connectors.http_fetch import NodeClient, NodeFetchError

from ..db import Database
from ..errors import Conflict, NotFound, SignatureError, ValidationError
from ..signing import keys_from_jwks, verify_request
from . import audit, keyring
from .health import HealthPolicy
from .models import NodeRecord

NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
STATUSES = ("active", "paused")
#: Operator decisions on a node and the status each leads to.
DECISIONS = {"approve": "active", "reject": "rejected", "suspend": "suspended"}


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
    def __init__(self, db: Database, client: NodeClient, signature_max_age_s: int = 300,
                 key_grace: timedelta = timedelta(days=7), trust_limits: keyring.TrustLimits | None = None):
        self.trust_limits = trust_limits or keyring.TrustLimits()
        self.db = db
        self.client = client
        self.signature_max_age_s = signature_max_age_s
        self.key_grace = key_grace

    def _identity(self, url: str) -> tuple[dict, dict]:
        """The node's cluster and keys from its discovery document, which its own keys must sign. The work is
        bounded like a harvest's: the discovery size cap, at most trust.max_signatures signatures, the keys limit,
        and the verification budget (trust.verify_budget_s) from the moment the document has arrived."""
        try:
            discovery, signatures, _url = self.client.discover(url)
        except NodeFetchError as exc:
            raise ValidationError(f"cannot read the node's discovery document: {exc.message}",
                                  {"url": [exc.message]}) from exc
        cluster = discovery.get("cluster")
        if not isinstance(cluster, dict) or not cluster.get("id") or not cluster.get("country"):
            raise ValidationError("the node publishes no cluster yet (set its cluster profile first)",
                                  {"url": ["the discovery document names no cluster"]})
        deadline = self.trust_limits.deadline()
        keys = keys_from_jwks(keyring.check_key_count(discovery, self.trust_limits))
        if not keys:
            raise ValidationError("the node publishes no key", {"url": ["the discovery document lists no key"]})
        try:
            keyring.vouched_keys(discovery, signatures, keys, self.signature_max_age_s, self.trust_limits, deadline)
        except SignatureError as exc:  # the node's document is at fault, not the caller's credentials: 422
            raise ValidationError(f"the node's discovery document is not signed by its own keys: {exc.message}",
                                  {"url": [exc.message]}) from exc
        return cluster, discovery

    def _check_new(self, session, node_id: str, url: str, cluster_id: str) -> None:
        if session.get(NodeRecord, node_id) is not None:
            raise Conflict(f"node {node_id!r} is registered already", {"id": ["already registered"]})
        if session.scalar(select(NodeRecord).where(NodeRecord.url == url)) is not None:
            raise Conflict(f"a node is registered already at {url}", {"url": ["already registered"]})
        if session.scalar(select(NodeRecord).where(NodeRecord.cluster_id == cluster_id)) is not None:
            raise Conflict(f"cluster {cluster_id!r} has a node already", {"cluster_id": ["already registered"]})
        # Pushes name a node by its id or its cluster id: neither may be another node's other name.
        clash = session.scalar(select(NodeRecord.id).where((NodeRecord.cluster_id == node_id)
                                                           | (NodeRecord.id == cluster_id)))
        if clash is not None:
            raise Conflict(f"node {clash!r} already answers to {node_id!r} or {cluster_id!r}",
                           {"id": ["clashes with another node's id or cluster id"]})

    def register(self, node_id: str, url: str, name: str | None = None, country: str | None = None,
                 actor: str = "operator") -> dict:
        """The operator registers a node: active at once, identity and keys read from its signed discovery."""
        if not NODE_ID.match(node_id or ""):
            raise ValidationError(f"node id {node_id!r} must be a lower-case slug (a-z, 0-9, -)",
                                  {"id": ["lower-case letters, digits and dashes, 64 at most"]})
        url = check_node_url(url)
        cluster, discovery = self._identity(url)
        if country and country != cluster["country"]:
            raise ValidationError(f"the node says its cluster is in {cluster['country']}, not {country}",
                                  {"country": ["differs from the node's cluster"]})
        return self._create(node_id, url, name, cluster, discovery, "active", actor, "node.registered")

    def request_join(self, node_url: str, method: str, request_url: str, headers, body: bytes,
                     name: str | None = None) -> dict:
        """A node asks to join: its request must be signed (RFC 9421) by a key its discovery document publishes,
        which proves it holds the key and controls the URL. The node waits, pending, for the operator."""
        url = check_node_url(node_url)
        cluster, discovery = self._identity(url)
        kid = verify_request(method, request_url, headers, body, keys_from_jwks(discovery["keys"]))
        return self._create(cluster["id"], url, name, cluster, discovery, "pending", f"node:{cluster['id']}",
                            "registration.requested", kid=kid)

    def _create(self, node_id: str, url: str, name: str | None, cluster: dict, discovery: dict, status: str,
                actor: str, action: str, **details) -> dict:
        """The node record bound to its cluster, country and keys, with the audit event, in one transaction."""
        with self.db.session() as session:
            self._check_new(session, node_id, url, cluster["id"])
            record = NodeRecord(id=node_id, url=url, name=name or _name(cluster), status=status,
                                registered_at=now(), consecutive_failures=0, cluster_id=cluster["id"],
                                country=cluster["country"])
            session.add(record)
            session.flush()
            keyring.add_keys(session, node_id, discovery["keys"], actor, self.key_grace)
            audit.record(session, action, actor, node_id, url=url, cluster_id=cluster["id"],
                         country=cluster["country"], keys=[k["kid"] for k in discovery["keys"]], **details)
            return node_dict(record)

    def decide(self, node_id: str, decision: str, actor: str = "operator", reason: str | None = None) -> dict:
        if decision not in DECISIONS:
            raise ValidationError(f"decision must be one of {', '.join(DECISIONS)}", {"decision": ["unknown"]})
        with self.db.session() as session:
            record = self._get(session, node_id)
            record.status = DECISIONS[decision]
            action = {"approve": "registration.approved", "reject": "registration.rejected",
                      "suspend": "registration.suspended"}[decision]
            audit.record(session, action, actor, node_id, reason=reason)
            return node_dict(record)

    def list(self) -> list[dict]:
        with self.db.session() as session:
            return [node_dict(n) for n in session.scalars(select(NodeRecord).order_by(NodeRecord.id))]

    def get(self, node_id: str) -> dict:
        with self.db.session() as session:
            return node_dict(self._get(session, node_id))

    def set_status(self, node_id: str, status: str, actor: str = "operator") -> dict:
        """Pause or resume an approved node (pending, rejected and suspended nodes need a decision instead)."""
        if status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}", {"status": ["unknown status"]})
        with self.db.session() as session:
            record = self._get(session, node_id)
            if record.status not in STATUSES:
                raise Conflict(f"node {node_id!r} is {record.status}: approve it first",
                               {"status": [f"the node is {record.status}"]})
            record.status = status
            audit.record(session, "node.paused" if status == "paused" else "node.resumed", actor, node_id)
            return node_dict(record)

    def reset(self, node_id: str, actor: str = "operator") -> dict:
        """Forget the node's failures and backoff: it is due at the next scheduled pass."""
        with self.db.session() as session:
            record = self._get(session, node_id)
            HealthPolicy.reset(record)
            record.discovered_at = None  # and read its discovery document again at the next fetch
            audit.record(session, "node.reset", actor, node_id)
            return node_dict(record)

    def request_fetch(self, node_id: str) -> dict:
        """A push from the node: fetch it at the next scheduled pass. Repeated pushes keep the first request, so
        they cause one fetch; the node's failure state is left alone (only a good fetch clears it)."""
        with self.db.session() as session:
            record = self.resolve(session, node_id)
            if record.status != "active":
                raise Conflict(f"node {record.id!r} is {record.status}", {"node_id": ["not active"]})
            at = now()
            # Conditional update, not read-then-write: concurrent first pushes agree on one request time.
            session.execute(update(NodeRecord).where(NodeRecord.id == record.id,
                                                     NodeRecord.fetch_requested_at.is_(None))
                            .values(fetch_requested_at=at))
            session.execute(update(NodeRecord).where(NodeRecord.id == record.id).values(last_push_at=at))
            session.refresh(record)
            return node_dict(record)

    def resolve_id(self, node_id: str) -> str:
        with self.db.session() as session:
            return self.resolve(session, node_id).id

    def verify_node_request(self, node_id: str, method: str, url: str, headers, body: bytes) -> str:
        """Check a request is signed (RFC 9421) by a key the hub trusts for that node; returns the key id."""
        with self.db.session() as session:
            record = self.resolve(session, node_id)
            return verify_request(method, url, headers, body, keyring.trusted_keys(session, record.id))

    @classmethod
    def resolve(cls, session, node_id: str) -> NodeRecord:
        """A node by its hub id or by its cluster id (a node knows only the latter)."""
        return session.get(NodeRecord, node_id) or session.scalar(
            select(NodeRecord).where(NodeRecord.cluster_id == node_id)) or cls._get(session, node_id)

    @staticmethod
    def _get(session, node_id: str) -> NodeRecord:
        record = session.get(NodeRecord, node_id)
        if record is None:
            raise NotFound(f"no node {node_id!r} is registered")
        return record


def _name(cluster: dict) -> str | None:
    names = cluster.get("names") or {}
    return names.get("en") or next(iter(names.values()), None)


def node_dict(n: NodeRecord) -> dict:
    return {"id": n.id, "url": n.url, "name": n.name, "status": n.status, "registered_at": n.registered_at,
            "cluster_id": n.cluster_id, "country": n.country,
            "health": n.health, "next_attempt_at": n.next_attempt_at, "first_failure_at": n.first_failure_at,
            "fetch_requested_at": n.fetch_requested_at,
            "profile_url": n.profile_url, "last_attempt_at": n.last_attempt_at, "last_success_at": n.last_success_at,
            "last_outcome": n.last_outcome, "last_error": n.last_error,
            "consecutive_failures": n.consecutive_failures}
