"""Fetch one node's profile and verify it: network and cryptography only, no database (runs in a worker thread or
a worker process). Returns a frozen :class:`Fetched`: the verified new version, or why there is none.

The checks run cheapest first, in this order: the size cap (the client's), a bounded parse, the member count, the
signature (a key refresh on an unknown key), the identity, the ``sub`` claim, the audience, the sequence, and only
then the schema and taxonomies (:func:`read_profile`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urljoin

from connectors.http_fetch import FetchResult, NodeClient, NodeFetchError

from ..errors import SignatureError, ValidationError
from ..profile import SUPPORTED_VERSIONS, read_profile
from ..profile.reader import first_message, parse_version
from ..registry import Registry
from ..signing import ParsedDocument, parse_bounded, signature_kid, verify_signatures
from . import keyring, versioning, withdrawals
from .limits import HarvestLimits
from .results import FAILED, NEW_VERSION, NOT_MODIFIED, UNCHANGED, Outcome, now, printable

log = logging.getLogger(__name__)


class IdentityError(ValidationError):
    """A document that claims another identity than the node's registration."""


@dataclass(frozen=True)
class NodeSnapshot:
    """What a fetch needs to know of a node, read before the pool starts (no session crosses threads)."""

    id: str
    url: str
    profile_url: str | None
    etag: str | None
    last_modified: str | None
    last_sha256: str | None
    cluster_id: str | None = None
    country: str | None = None
    keys: dict = field(default_factory=dict)  # kid -> public key the hub trusts now
    retired: dict = field(default_factory=dict)  # kid -> why that known key is refused
    may_refresh_keys: bool = True
    sequence: int | None = None  # the current version's
    sequence_reset: bool = False  # the operator accepted that the node restarted its sequence
    # Fetch the profile at profile_url without reading the discovery document first (it was read recently, and
    # the node has not pushed since): a moved profile or an unknown key sends the fetch back to the discovery.
    skip_discovery: bool = False


@dataclass(frozen=True)
class Verified:
    """A new version that passed every check: the bytes to keep and the profile read from them."""

    body: bytes
    profile: dict
    content_type: str | None = None
    signature: str | None = None  # the JWS that verified: what `hub verify` checks again
    kid: str | None = None


@dataclass(frozen=True)
class KeyCheck:
    """What the signature check did about the node's keys (the store step applies and records it)."""

    refresh: tuple | None = None  # (discovery, signatures): keys to trust, vouched for by a key trusted already
    attempted: bool = False  # the node's keys were read again (rate-limited by trust.key_refresh_interval_s)
    refused: bool = False  # an unknown key, but the keys were read too recently to read them again
    kid: str | None = None  # the key id the refused signature named (audited)


@dataclass(frozen=True)
class Fetched:
    """The fetch step's result: what was fetched and verified, or why it was refused."""

    node_id: str
    outcome: str  # NEW_VERSION (with ``version``), NOT_MODIFIED, UNCHANGED or FAILED
    started_at: datetime
    finished_at: datetime | None = None
    http_status: int | None = None
    reason: str | None = None
    details: dict | list | None = None
    refused: bool = False  # a signature, identity, keys or sequence refusal: audited
    sha256: str | None = None  # of the body received (a refused one's too)
    profile_url: str | None = None
    discovered: bool = False  # the node's discovery document was read by this fetch
    etag: str | None = None
    last_modified: str | None = None
    version: Verified | None = None
    keys: KeyCheck = KeyCheck()

    def reported(self) -> Outcome:
        """This fetch as a run reports it, before the store step has recorded it."""
        return Outcome(self.node_id, self.outcome, self.started_at, self.finished_at, self.http_status, self.reason,
                       self.details)


@dataclass
class _Trail:
    """What one fetch has learnt so far, for the result it ends in (a refusal included). Private to one call."""

    discovered: bool = False
    profile_url: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    keys: KeyCheck = KeyCheck()

    def result(self, node_id: str, outcome: str, started_at: datetime, **more) -> Fetched:
        return Fetched(node_id, outcome, started_at, now(), http_status=more.pop("http_status", self.http_status),
                       sha256=self.sha256, profile_url=self.profile_url, discovered=self.discovered,
                       etag=self.etag, last_modified=self.last_modified, keys=self.keys, **more)


class Fetcher:
    """Fetches and verifies one node at a time; safe to share between threads (it keeps no per-fetch state)."""

    def __init__(self, client: NodeClient, registry: Registry, limits: HarvestLimits, signature_max_age_s: int,
                 key_refresh_interval: timedelta):
        self.client = client
        self.registry = registry
        self.limits = limits
        self.signature_max_age_s = signature_max_age_s
        self.key_refresh_interval = key_refresh_interval

    def fetch(self, node: NodeSnapshot) -> Fetched:
        """Fetch and verify ``node``'s profile; never raises for what a node does (its failure is the result)."""
        started, trail = now(), _Trail()
        try:
            return self._fetch(node, trail, started)
        except NodeFetchError as exc:
            # A 401: the node refused the hub's signature (audited).
            return trail.result(node.id, FAILED, started, reason=exc.message, http_status=exc.http_status,
                                refused=exc.http_status == 401)
        except (SignatureError, IdentityError, versioning.SequenceError, keyring.TooManyKeys) as exc:
            kind = ("signature" if isinstance(exc, SignatureError) else "identity" if isinstance(exc, IdentityError)
                    else "keys" if isinstance(exc, keyring.TooManyKeys) else "sequence")
            return trail.result(node.id, FAILED, started, reason=f"refused ({kind}): {exc.message}",
                                details=exc.errors, refused=True)
        except ValidationError as exc:
            # The first field error with its path ("members.3.name: ..."), unless the message says it already.
            detail = first_message(exc.errors) if exc.errors else ""
            said = detail and first_message(exc.errors, with_path=False) in exc.message
            reason = f"invalid profile: {exc.message}" + (f" ({detail})" if detail and not said else "")
            return trail.result(node.id, FAILED, started, reason=reason, details=exc.errors)
        except Exception as exc:  # one broken node must not stop the harvest
            log.exception("unexpected error harvesting node %s", printable(node.id, 200))
            return trail.result(node.id, FAILED, started, reason=f"unexpected error: {type(exc).__name__}: {exc}")

    def _fetch(self, node: NodeSnapshot, trail: _Trail, started: datetime) -> Fetched:
        discovery = discovery_signatures = None
        if node.skip_discovery and node.profile_url:  # skip_discovery is only set with a profile_url
            profile_url = node.profile_url
            try:
                result = self.client.fetch(profile_url, node.etag, node.last_modified, signed=True)
            except NodeFetchError as exc:
                if exc.http_status not in (404, 410):
                    raise
                # The profile moved (or went): the node's discovery document says where it is now.
                return self._fetch(replace(node, skip_discovery=False), trail, started)
        else:
            discovery, discovery_signatures, discovery_url = self.client.discover(node.url)
            trail.discovered = True
            profile_url = urljoin(discovery_url, self._choose_profile(discovery))
            same_url = profile_url == node.profile_url and node.last_sha256 is not None
            result = self.client.fetch(profile_url, node.etag if same_url else None,
                                       node.last_modified if same_url else None, signed=True)
        trail.profile_url, trail.http_status = profile_url, result.status
        trail.etag, trail.last_modified = result.etag, result.last_modified
        if result.status == 304 or result.body is None:  # only a 304 comes without a body
            return trail.result(node.id, NOT_MODIFIED, started)
        body = result.body
        trail.sha256 = hashlib.sha256(body).hexdigest()
        # The cheapest checks first (the size cap was the client's): a bounded parse, the counts, the signature, the
        # identity and the sequence; the schema and the taxonomies only for a document that passed all of them.
        parsed = self._parse(body)
        same = trail.sha256 == node.last_sha256
        jws, kid, sub = self._verify(node, profile_url, result, trail, discovery, discovery_signatures, parsed)
        if same:
            # A node that ignores validators: caught by the content hash, healthy only with a valid signature.
            return trail.result(node.id, UNCHANGED, started)
        self._check_identity(node, parsed.document)
        self._check_sub(node, sub)
        withdrawals.check_audience(parsed.document)  # signed for the audience the hub asked for, or refused
        versioning.check_sequence(node.sequence, parsed.document.get("sequence"), node.sequence_reset)
        profile = read_profile(parsed.document, self.registry.taxonomies, self.registry.value_chains,
                               max_unknown_bytes=self.limits.max_unknown_bytes)
        return trail.result(node.id, NEW_VERSION, started,
                            version=Verified(body, profile, result.content_type, jws, kid))

    def _parse(self, body: bytes) -> ParsedDocument:
        """The body as strict JSON within the limits, refused with the limit's setting; a profile listing more
        members than limits.max_members_per_profile is refused before its signature is checked."""
        try:
            parsed = parse_bounded(body, self.limits.json)
        except ValueError as exc:
            raise ValidationError(str(exc), {"_schema": [str(exc)]}) from exc
        if type(parsed.document) is not dict:
            raise ValidationError("profile must be a JSON object", {"_schema": ["must be a JSON object"]})
        members = parsed.document.get("members")
        if type(members) is list and len(members) > self.limits.max_members:
            message = (f"the profile lists {len(members)} members, over the limit of {self.limits.max_members} "
                       f"(limits.max_members_per_profile)")
            raise ValidationError(message, {"members": [message]})
        return parsed

    def _verify(self, node: NodeSnapshot, profile_url: str, result: FetchResult, trail: _Trail,
                discovery: dict | None, discovery_signatures: str | None,
                parsed: ParsedDocument) -> tuple[str, str, str | None]:
        """Check the node's signature (bounded: trust.max_signatures, one canonicalisation, trust.verify_budget_s
        for the whole check, the key refresh included); on an unknown key, refresh the node's keys (rate-limited)
        and retry once. Returns the JWS that verified, its kid and its ``sub`` claim (checked after the identity,
        by :meth:`_check_sub`)."""
        trust = self.limits.trust
        deadline = trust.deadline()

        def verify(keys) -> tuple[dict, str]:
            return verify_signatures(parsed, result.signature, keys, max_signatures=trust.max_signatures,
                                     deadline=deadline, budget_s=trust.verify_budget_s,
                                     max_age_s=self.signature_max_age_s, expected_htu=profile_url)

        try:
            header, jws = verify(node.keys)
        except SignatureError as exc:
            kid = signature_kid(result.signature.split(",")[0] if result.signature else None)
            if kid in node.retired:
                raise SignatureError(node.retired[kid], {"signature": [node.retired[kid]]}) from exc
            if not kid or kid in node.keys:
                raise
            if not node.may_refresh_keys:
                reason = (f"{exc.message}; the hub last read this node's keys (or tried to) less than "
                          f"{int(self.key_refresh_interval.total_seconds())} s ago (trust.key_refresh_interval_s)")
                trail.keys = KeyCheck(refused=True, kid=signature_kid(result.signature))
                raise SignatureError(reason, {"signature": [reason]}) from exc
            trail.keys = KeyCheck(attempted=True)
            if discovery is None:  # fetched without it: the node's discovery document publishes its keys
                discovery, discovery_signatures, _url = self.client.discover(node.url)
                trail.discovered = True
            vouched = keyring.vouched_keys(discovery, discovery_signatures, node.keys, self.signature_max_age_s,
                                           trust, deadline)
            header, jws = verify({**node.keys, **vouched})
            trail.keys = KeyCheck(refresh=(discovery, discovery_signatures), attempted=True)
        return jws, header["kid"], header.get("sub")

    @staticmethod
    def _check_sub(node: NodeSnapshot, sub: str | None) -> None:
        """The signature names the cluster it was made for: the node's own (checked after the identity, whose
        refusal says more)."""
        if node.cluster_id is not None and sub != node.cluster_id:
            reason = f"signed for {printable(repr(sub), 100)}, expected {node.cluster_id!r}"
            raise SignatureError(f"signed for another cluster: {reason}", {"signature": ["signed for another cluster"]})

    @staticmethod
    def _check_identity(node: NodeSnapshot, document: dict) -> None:
        """Country and cluster id come from the registration, never from a document (read before validation:
        anything but the registered values is refused here)."""
        cluster = document.get("cluster")
        cluster = cluster if type(cluster) is dict else {}
        cluster_id, country = cluster.get("id"), cluster.get("country")
        if node.cluster_id and cluster_id != node.cluster_id:
            raise IdentityError(f"the document claims cluster {printable(repr(cluster_id), 100)}; node {node.id!r} "
                                f"is registered for {node.cluster_id!r}",
                                {"cluster": {"id": ["not this node's cluster"]}})
        if node.country and country != node.country:
            raise IdentityError(f"the document says country {printable(str(country), 100)}; node {node.id!r} is "
                                f"registered in {node.country}",
                                {"cluster": {"country": ["not the registered country"]}})

    @staticmethod
    def _choose_profile(discovery: dict) -> str:
        """The URL of the highest profile version this hub reads."""
        readable = []
        for entry in discovery["profiles"]:
            try:
                major, minor = parse_version(entry["version"])
            except ValidationError:
                continue
            if major in SUPPORTED_VERSIONS:
                readable.append(((major, minor), entry["url"]))
        if not readable:
            served = ", ".join(str(p.get("version")) for p in discovery["profiles"]) or "none"
            supported = ", ".join(f"{m}.x" for m in SUPPORTED_VERSIONS)
            raise NodeFetchError(f"the node serves profile version(s) {served}; this hub reads {supported}", 200)
        return max(readable)[1]
