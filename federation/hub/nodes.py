"""Node registration at the hub.

Two ways in, both binding the node's identity (cluster id, country, keys) once, from a discovery document that its
own keys sign: the operator registers a node directly (active at once), or a node asks to join with a request signed
by its key (pending until the operator approves). Afterwards a document can never change that identity.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from connectors.http_fetch import NodeClient, NodeFetchError

from ..db import Database, lock_rows
from ..errors import Conflict, NotFound, SignatureError, ValidationError
from ..signing import keys_from_jwks, precheck_request, verify_request, verify_signed_request
from . import audit, keyring
from .health import HealthPolicy
from .identity import check_distinct, check_text, cluster_from_discovery
from .models import AuditEvent, ClusterView, NodeKey, NodeRecord, ProfileVersion
from .replay import NonceLedger

NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
STATUSES = ("active", "paused")
#: Operator decisions on a node and the status each leads to.
DECISIONS = {"approve": "active", "reject": "rejected", "suspend": "suspended"}
#: The state machine of decisions: the statuses each decision applies to. Rejected is final (the node may ask to
#: join again, which makes it pending); a paused node is an approved one, so it may be suspended too.
DECISION_FROM = {"approve": ("pending", "suspended"), "reject": ("pending",), "suspend": ("active", "paused")}
#: Statuses whose data takes part in the meta-clusters (a paused node is not harvested, but its data stays).
FORMING = ("active", "paused")


def now() -> datetime:
    return datetime.now(UTC)


def check_node_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"node URL {url!r} must be an absolute http(s) URL",
                              {"url": ["must be an absolute http:// or https:// URL"]})
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up in logs, listings and audit events; a node's public data needs none.
        raise ValidationError("node URL must not contain a user name or password",
                              {"url": ["no user:password@ part"]})
    if parts.query or parts.fragment:
        raise ValidationError("node URL must not have a query or fragment", {"url": ["no query or fragment"]})
    return url.rstrip("/")


class NodeDirectory:
    # No setting has a default here: Hub.build passes each from the settings (config/settings.yaml holds them).
    def __init__(self, db: Database, client: NodeClient, signature_max_age_s: int, key_grace: timedelta,
                 trust_limits: keyring.TrustLimits, *, max_pending: int, max_pending_per_source: int,
                 nonces: NonceLedger, on_decision: Callable[[str], object] | None = None):
        self.trust_limits = trust_limits
        self.nonces = nonces
        self.db = db
        self.client = client
        self.signature_max_age_s = signature_max_age_s
        self.key_grace = key_grace
        self.max_pending = max_pending
        self.max_pending_per_source = max_pending_per_source
        #: Called with the node id once a decision that moves a node in or out of the meta-clusters is committed.
        self.on_decision = on_decision

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
        # Signed by the node, but still the node's word: the same checks as a profile's cluster.
        return cluster_from_discovery(cluster), discovery

    def _check_new(self, session, node_id: str, url: str, cluster_id: str, itself: str | None = None) -> None:
        """The new node's ids and URL are no other node's (``itself``: a rejected node asking again)."""
        others = select(NodeRecord).where(NodeRecord.id != itself) if itself else select(NodeRecord)
        if itself is None and session.get(NodeRecord, node_id) is not None:
            raise Conflict(f"node {node_id!r} is registered already", {"id": ["already registered"]})
        if session.scalar(others.where(NodeRecord.url == url)) is not None:
            raise Conflict(f"a node is registered already at {url}", {"url": ["already registered"]})
        if session.scalar(others.where(NodeRecord.cluster_id == cluster_id)) is not None:
            raise Conflict(f"cluster {cluster_id!r} has a node already", {"cluster_id": ["already registered"]})
        # Pushes name a node by its id or its cluster id: neither may be another node's other name.
        clash = session.scalar(select(NodeRecord.id).where(NodeRecord.id != (itself or ""),
                                                           (NodeRecord.cluster_id == node_id)
                                                           | (NodeRecord.id == cluster_id)))
        if clash is not None:
            raise Conflict(f"node {clash!r} already answers to {node_id!r} or {cluster_id!r}",
                           {"id": ["clashes with another node's id or cluster id"]})
        # Nor may they pass for one: same letters in another case, with spaces, or confusable characters.
        known = session.execute(select(NodeRecord.id, NodeRecord.cluster_id)
                                .where(NodeRecord.id != (itself or ""))).all()
        check_distinct((node_id, cluster_id), [i for row in known for i in row])

    def _check_pending(self, session, source: str | None) -> None:
        """Join requests wait for a person: bound how many may wait, in total and from one address."""
        pending = list(session.scalars(select(NodeRecord.id).where(NodeRecord.status == "pending")))
        if len(pending) >= self.max_pending:
            raise Conflict(f"{len(pending)} join requests already wait for the operator's decision "
                           f"(registration.max_pending); ask again later", {"node_url": ["too many pending requests"]})
        if source is None or not pending:
            return
        # The source of each pending request is in its audit event (there are at most max_pending of them).
        events = session.execute(select(AuditEvent.node_id, AuditEvent.details)
                                 .where(AuditEvent.action == "registration.requested",
                                        AuditEvent.node_id.in_(pending))
                                 .order_by(AuditEvent.id)).all()
        latest = {node_id: (details or {}).get("source") for node_id, details in events}
        mine = sum(1 for s in latest.values() if s == source)
        if mine >= self.max_pending_per_source:
            raise Conflict(f"{mine} join requests from {source} already wait for the operator's decision "
                           f"(registration.max_pending_per_source)", {"node_url": ["too many pending requests "
                                                                                  "from this address"]})

    def register(self, node_id: str, url: str, name: str | None = None, country: str | None = None,
                 actor: str = "operator") -> dict:
        """The operator registers a node: active at once, identity and keys read from its signed discovery."""
        if not isinstance(node_id, str) or not NODE_ID.match(node_id):
            raise ValidationError("node id must be a lower-case slug (a-z, 0-9, -)",
                                  {"id": ["lower-case letters, digits and dashes, 64 at most"]})
        check_text("name", name)
        url = check_node_url(url)
        cluster, discovery = self._identity(url)
        if country and country != cluster["country"]:
            raise ValidationError(f"the node says its cluster is in {cluster['country']}, not {country}",
                                  {"country": ["differs from the node's cluster"]})
        return self._create(node_id, url, name, cluster, discovery, "active", actor, "node.registered")

    def request_join(self, node_url: str, method: str, request_url: str, headers, body: bytes,
                     name: str | None = None, source: str | None = None) -> dict:
        """A node asks to join: its request must be signed (RFC 9421) by a key its discovery document publishes,
        which proves it holds the key and controls the URL. The node waits, pending, for the operator.
        ``source``: the client's address, for the bound on pending requests per address."""
        check_text("name", name)
        url = check_node_url(node_url)
        # Cheapest first: what the signature says that needs no key, then the waiting room, then the fetch.
        precheck_request(headers, body, max_age_s=self.signature_max_age_s,
                         max_bytes=self.trust_limits.max_request_signature_bytes)
        with self.db.session() as session:  # a full waiting room costs no fetch
            self._check_pending(session, source)
        cluster, discovery = self._identity(url)
        kid = verify_request(method, request_url, headers, body, keys_from_jwks(discovery["keys"]),
                             max_bytes=self.trust_limits.max_request_signature_bytes)
        return self._create(cluster["id"], url, name, cluster, discovery, "pending", f"node:{cluster['id']}",
                            "registration.requested", kid=kid, source=source)

    def _create(self, node_id: str, url: str, name: str | None, cluster: dict, discovery: dict, status: str,
                actor: str, action: str, **details) -> dict:
        """The node record bound to its cluster, country and keys, with the audit event, in one transaction."""
        with self.db.session() as session:
            if status == "pending":
                self._check_pending(session, details.get("source"))
                record = session.get(NodeRecord, node_id)
                if record is not None and record.status == "rejected":
                    return self._ask_again(session, record, url, name, cluster, discovery, actor, action, details)
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

    def _ask_again(self, session, record: NodeRecord, url: str, name: str | None, cluster: dict, discovery: dict,
                   actor: str, action: str, details: dict) -> dict:
        """A rejected node asks to join again: pending once more, bound to what its discovery document says now.
        It never had data at the hub (only pending nodes are rejected), so nothing else changes."""
        self._check_new(session, record.id, url, cluster["id"], itself=record.id)
        record.status, record.url, record.country = "pending", url, cluster["country"]
        record.name = name or _name(cluster)
        published = {k["kid"] for k in discovery["keys"]}
        for key in session.scalars(select(NodeKey).where(NodeKey.node_id == record.id)):
            if key.kid not in published and key.status != keyring.REVOKED:
                key.status = keyring.REVOKED
                audit.record(session, "key.revoked", actor, record.id, kid=key.kid)
        keyring.add_keys(session, record.id, discovery["keys"], actor, self.key_grace)
        audit.record(session, action, actor, record.id, url=url, cluster_id=cluster["id"],
                     country=cluster["country"], keys=sorted(published), again=True, **details)
        return node_dict(record)

    def decide(self, node_id: str, decision: str, actor: str = "operator", reason: str | None = None) -> dict:
        """Apply an operator's decision, if the node's status allows it (:data:`DECISION_FROM`; 409 otherwise).
        Suspending takes the node's clusters out of the meta-clusters at once (its versions are kept); approving a
        suspended node brings them back."""
        if decision not in DECISIONS:
            raise ValidationError(f"decision must be one of {', '.join(DECISIONS)}", {"decision": ["unknown"]})
        check_text("reason", reason, 1000)
        with self.db.session() as session:
            record = self._locked(session, node_id)
            before = record.status
            if before not in DECISION_FROM[decision]:
                raise Conflict(f"node {node_id!r} is {before}: {_refusal(decision, before)}",
                               {"decision": [f"cannot {decision} a node that is {before}"]})
            record.status = DECISIONS[decision]
            action = {"approve": "registration.approved", "reject": "registration.rejected",
                      "suspend": "registration.suspended"}[decision]
            audit.record(session, action, actor, node_id, reason=reason, previous=before)
            answer = node_dict(record)
        if self.on_decision is not None and (before in FORMING) != (answer["status"] in FORMING):
            self.on_decision(node_id)  # committed: form again the chains the node is in or comes back to
        return answer

    def list(self) -> list[dict]:
        with self.db.session() as session:
            ignored = ignored_parts(session)
            return [node_dict(n, ignored.get(n.id))
                    for n in session.scalars(select(NodeRecord).order_by(NodeRecord.id))]

    def get(self, node_id: str) -> dict:
        with self.db.session() as session:
            record = self._get(session, node_id)
            return node_dict(record, ignored_parts(session, [record.id]).get(record.id))

    def set_status(self, node_id: str, status: str, actor: str = "operator") -> dict:
        """Pause or resume an approved node (pending, rejected and suspended nodes need a decision instead)."""
        if status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}", {"status": ["unknown status"]})
        with self.db.session() as session:
            record = self._locked(session, node_id)
            if record.status not in STATUSES:
                why = _refusal("approve", "rejected") if record.status == "rejected" else "approve it first"
                raise Conflict(f"node {node_id!r} is {record.status}: {why}",
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
            # The answer tells the node what the hub set aside of its current version (plugins the hub lacks).
            return node_dict(record, ignored_parts(session, [record.id]).get(record.id))

    def resolve_id(self, node_id: str) -> str:
        with self.db.session() as session:
            return self.resolve(session, node_id).id

    def verify_node_request(self, node_id: str, method: str, url: str, headers, body: bytes) -> str:
        """Check a request is signed (RFC 9421) by a key the hub trusts for that node, fresh and never seen before
        (its nonce is remembered: a replay is refused); returns the key id."""
        with self.db.session() as session:
            record = self.resolve(session, node_id)
            signature = verify_signed_request(method, url, headers, body, keyring.trusted_keys(session, record.id),
                                              max_age_s=self.signature_max_age_s, skew_s=self.nonces.skew_s,
                                              require_nonce=True,
                                              max_bytes=self.trust_limits.max_request_signature_bytes)
        self.nonces.remember(record.id, signature)
        return signature.kid

    @classmethod
    def resolve(cls, session, node_id: str) -> NodeRecord:
        """A node by its hub id or by its cluster id (a node knows only the latter)."""
        return session.get(NodeRecord, node_id) or session.scalar(
            select(NodeRecord).where(NodeRecord.cluster_id == node_id)) or cls._get(session, node_id)

    @classmethod
    def _locked(cls, session, node_id: str) -> NodeRecord:
        """The node, locked until the session commits and read under the lock: status transitions read the status
        they change, so two at once (a decision and a pause, two approvals) apply one after the other."""
        lock_rows(session, NodeRecord, NodeRecord.id == node_id)
        return cls._get(session, node_id)

    @staticmethod
    def _get(session, node_id: str) -> NodeRecord:
        record = session.get(NodeRecord, node_id)
        if record is None:
            raise NotFound(f"no node {node_id!r} is registered")
        return record


def _refusal(decision: str, status: str) -> str:
    """Why a decision does not apply, and what would."""
    if status == "rejected":
        return "a rejected node stays rejected unless it asks to join again"
    allowed = [d for d, sources in DECISION_FROM.items() if status in sources]
    return f"only {' or '.join(allowed)} applies" if allowed else f"no decision applies (use {STATUSES})"


def _name(cluster: dict) -> str | None:
    names = cluster.get("names") or {}
    return names.get("en") or next(iter(names.values()), None)


def ignored_parts(session, node_ids: list[str] | None = None) -> dict[str, dict]:
    """Node id -> what the hub set aside of its current version (value chains and activity schemes it does not
    know: see federation.profile.reader.set_aside_unknown); nodes whose current version it read whole are absent."""
    query = (select(ClusterView.node_id, ProfileVersion.ignored)
             .join(ProfileVersion, ProfileVersion.id == ClusterView.version_id)
             .where(ProfileVersion.ignored.is_not(None)))
    if node_ids is not None:
        query = query.where(ClusterView.node_id.in_(node_ids))
    return {node_id: ignored for node_id, ignored in session.execute(query) if ignored}


def node_dict(n: NodeRecord, ignored: dict | None = None) -> dict:
    """A node as the API and the CLI show it; ``ignored``: what the hub set aside of its current version."""
    return {"id": n.id, "url": n.url, "name": n.name, "status": n.status, "registered_at": n.registered_at,
            "cluster_id": n.cluster_id, "country": n.country,
            "health": n.health, "next_attempt_at": n.next_attempt_at, "first_failure_at": n.first_failure_at,
            "fetch_requested_at": n.fetch_requested_at,
            "profile_url": n.profile_url, "last_attempt_at": n.last_attempt_at, "last_success_at": n.last_success_at,
            "last_outcome": n.last_outcome, "last_error": n.last_error,
            "consecutive_failures": n.consecutive_failures, "ignored": ignored}
