"""What a node trusts, and how it checks a hub's signed requests.

A request signed (RFC 9421) by a hub key this node trusts reads the federation audience. The node checks it against
the URL it is published at (its public URL: ``node.public_url``, or the one ``node init --public-url`` / ``node join
--node-url`` recorded), never against a URL rebuilt from the request's Host header: a signature the hub made for
another node does not verify here. A signed nonce is remembered until the signature is no longer fresh, so the
same request sent twice is refused. A request signed by a key the node does not know, or no longer trusts, is
refused with 401 and the reason (never answered as if it were anonymous: the hub would take the public document for
the federation one).

A refusal costs the node little whoever sends it: signature headers over ``trust.max_request_signature_bytes`` are
refused unparsed, no value the request sent is repeated (answer or audit line) beyond
:data:`federation.signing.MAX_ECHO_CHARS` characters, and each client address writes at most
``trust.max_refusal_lines_per_minute`` audit lines a minute; the refusals beyond are counted in one line per address
(written when the minute is over and the node records a refusal again, or when the audit log is read).

The hub rotates its key with a message signed by its old key (:meth:`NodeTrust.rotate_hub_key`): the node trusts
the new key and keeps the old one for ``trust.hub_key_grace_days``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..errors import SignatureError, TooManyRequests, ValidationError
from ..signing import (
    RequestSignature,
    clip,
    jwk_to_public_key,
    keys_from_jwks,
    normalize_url,
    request_signature_kid,
    verify_signed_request,
)
from .models import NodeAuditEvent, NodeIdentity, SeenNonce, TrustedHubKey

#: How the node answers a refused signature (RFC 9421 section 5: the client may sign and try again).
CHALLENGE = {"WWW-Authenticate": 'Signature realm="medmci"'}
#: Client addresses whose refusals are counted at once; beyond, new addresses share one count (bounded memory).
MAX_COUNTED_CLIENTS = 10_000
OTHER_CLIENTS = "(other addresses)"
#: An audit line's actor fits its column (200) with the mark of a cut; its message is our words around values
#: already cut to MAX_ECHO_CHARS, bounded again here.
ACTOR_CHARS = 160
MESSAGE_CHARS = 1000


def now() -> datetime:
    return datetime.now(UTC)


def check_public_url(url: str) -> str:
    """An absolute http(s) URL without query or fragment, without its trailing slash."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValidationError(f"public URL {url!r} must be an absolute http(s) URL without query or fragment",
                              {"public_url": ["an absolute http:// or https:// URL"]})
    return url.rstrip("/")


_clip = clip  # every untrusted value in an audit line: at most MAX_ECHO_CHARS characters, marked when cut


class RefusalCounter:
    """How many refusal lines each client address may still write this minute (in memory, per process).

    ``admit(remote, at)`` says whether a refusal gets its own line; the ones that do not are counted, and
    ``flush(at, force)`` hands out ``(remote, count, since)`` for the counts of a minute that is over (every count
    when ``force``), once each.
    """

    def __init__(self, per_minute: int, max_clients: int = MAX_COUNTED_CLIENTS):
        self.per_minute = max(0, int(per_minute))
        self.max_clients = max_clients
        self._lock = threading.Lock()
        self._minute: int | None = None
        self._lines: dict[str, int] = {}
        self._counted: dict[int, dict[str, tuple[int, datetime]]] = {}  # minute -> address -> (count, first)

    def admit(self, remote: str | None, at: datetime) -> bool:
        minute = int(at.timestamp() // 60)
        key = remote or "-"
        with self._lock:
            if minute != self._minute:
                self._minute, self._lines = minute, {}
            if key not in self._lines and len(self._lines) >= self.max_clients:
                key = OTHER_CLIENTS
            lines = self._lines.get(key, 0)
            if lines < self.per_minute:
                self._lines[key] = lines + 1
                return True
            counted = self._counted.setdefault(minute, {})
            if key not in counted and len(counted) >= self.max_clients:
                key = OTHER_CLIENTS
            count, since = counted.get(key, (0, at))
            counted[key] = (count + 1, since)
            return False

    def flush(self, at: datetime, force: bool = False) -> list[tuple[str, int, datetime]]:
        minute = int(at.timestamp() // 60)
        with self._lock:
            due = [m for m in self._counted if force or m < minute]
            done = [self._counted.pop(m) for m in sorted(due)]
        return [(remote, count, since) for counted in done for remote, (count, since) in counted.items()]


class NodeAudit:
    """The node's audit log, bounded: beyond ``max_events`` the oldest lines go."""

    ACTIONS = ("request.refused", "hub_key.trusted", "hub_key.rotated", "public_url.set",
               # the cluster manager's work with members (federation/node/self_service.py, announcements.py)
               "member.updated", "member_link.created", "announcement.created")

    def __init__(self, db: Database, max_events: int, refusal_lines_per_minute: int):
        self.db = db
        self.max_events = max(100, int(max_events))
        self.refusals = RefusalCounter(refusal_lines_per_minute)

    def record(self, action: str, actor: str, message: str | None = None, **details) -> None:
        if action not in self.ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        self._write([(action, actor, message, details)])

    def refused(self, actor: str, message: str, remote: str | None, **details) -> None:
        """A refused request's line, unless its address wrote its share this minute (then it is only counted)."""
        at = now()
        line = [("request.refused", actor, message, {"remote": remote, **details})] \
            if self.refusals.admit(remote, at) else []
        self._write(self._counts(at) + line)

    def _counts(self, at: datetime, force: bool = False) -> list[tuple]:
        return [("request.refused", "-", f"{count} more refused requests from {remote} since "
                 f"{since.isoformat(timespec='seconds')}, counted, not written one by one "
                 f"(trust.max_refusal_lines_per_minute)", {"remote": remote, "count": count})
                for remote, count, since in self.refusals.flush(at, force)]

    def record_in(self, session: Session, action: str, actor: str, message: str | None = None, **details) -> None:
        """:meth:`record` in the caller's unit of work: the change and its audit line are committed together (or
        neither is)."""
        if action not in self.ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        self._add(session, action, actor, message, details)

    def _write(self, lines: list[tuple]) -> None:
        if not lines:
            return
        with self.db.session() as session:
            for action, actor, message, details in lines:
                self._add(session, action, actor, message, details)

    def _add(self, session: Session, action: str, actor: str, message: str | None, details: dict) -> None:
        event = NodeAuditEvent(at=now(), action=action, actor=clip(actor, ACTOR_CHARS) or "-",
                               message=clip(message, MESSAGE_CHARS),
                               details={k: v for k, v in details.items() if v is not None})
        session.add(event)
        session.flush()
        if event.id % 100 == 0:  # prune now and then, not on every line
            session.execute(delete(NodeAuditEvent).where(NodeAuditEvent.id <= event.id - self.max_events))

    def events(self, action: str | None = None, limit: int = 50) -> list[dict]:
        self._write(self._counts(now(), force=True))  # the reader sees every refusal counted so far
        with self.db.session() as session:
            query = select(NodeAuditEvent).order_by(NodeAuditEvent.id.desc()).limit(max(1, min(int(limit), 1000)))
            if action:
                query = query.where(NodeAuditEvent.action.startswith(action))
            return [{"id": e.id, "at": e.at, "action": e.action, "actor": e.actor, "message": e.message,
                     "details": e.details} for e in session.scalars(query)]


class NodeTrust:
    """The hub keys this node trusts, its public URL, and the check of a hub's signed request."""

    def __init__(self, db: Database, settings, audit: NodeAudit | None = None):
        self.db = db
        self.audit = audit or NodeAudit(db, settings.get("node.audit_max_events"),
                                        int(settings.get("trust.max_refusal_lines_per_minute")))
        self.max_signature_bytes = int(settings.get("trust.max_request_signature_bytes"))
        self.configured_url = settings.get("node.public_url") or None
        self.max_age_s = int(settings.get("trust.signature_max_age_s"))
        self.skew_s = int(settings.get("trust.signature_skew_s"))
        self.max_nonces = int(settings.get("trust.max_nonces"))
        self.hub_key_grace = timedelta(days=float(settings.get("trust.hub_key_grace_days")))

    # -- the URL this node is published at ------------------------------------------------------------------------

    def public_url(self) -> str | None:
        """The configured ``node.public_url``, else the URL a command recorded; None when neither is known."""
        if self.configured_url:
            return check_public_url(self.configured_url)
        with self.db.session() as session:
            row = session.get(NodeIdentity, 1)
            return row.public_url if row is not None else None

    def set_public_url(self, url: str, actor: str = "cli") -> str:
        url = check_public_url(url)
        if self.configured_url and normalize_url(check_public_url(self.configured_url)) != normalize_url(url):
            raise ValidationError(f"this node's settings say it is published at {self.configured_url} "
                                  f"(node.public_url), not {url}", {"public_url": ["differs from node.public_url"]})
        with self.db.session() as session:
            row = session.get(NodeIdentity, 1) or NodeIdentity(pk=1)
            changed = row.public_url != url
            row.public_url, row.updated_at = url, now()
            session.add(row)
        if changed:
            self.audit.record("public_url.set", actor, public_url=url)
        return url

    # -- hub keys -------------------------------------------------------------------------------------------------

    def _split(self, rows: Iterable[TrustedHubKey], at: datetime) -> tuple[dict, dict]:
        trusted, retired = {}, {}
        for row in rows:
            if row.not_after is not None and row.not_after <= at:
                retired[row.kid] = (f"hub key {row.kid} was rotated out (replaced by {row.replaced_by}); its grace "
                                    f"period ended {row.not_after.isoformat(timespec='seconds')}")
            else:
                trusted[row.kid] = jwk_to_public_key(row.jwk)
        return trusted, retired

    def keys(self) -> dict:
        """``{kid: public key}`` of the hub keys a signed request may use now."""
        with self.db.session() as session:
            return self._split(session.scalars(select(TrustedHubKey)), now())[0]

    def trust(self, hub_url: str, jwks: Iterable[dict], actor: str = "cli") -> list[str]:
        """Trust a hub's published keys (from its join answer or its discovery document)."""
        added = []
        with self.db.session() as session:
            for jwk in jwks:
                jwk_to_public_key(jwk)  # refuses malformed keys before anything is stored
                known = session.get(TrustedHubKey, jwk["kid"])
                if known is None:
                    # A key the hub itself marks "previous" (rotated out) is accepted for the grace period only.
                    retiring = jwk.get("status") == "previous"
                    session.add(TrustedHubKey(kid=jwk["kid"], jwk={k: v for k, v in jwk.items() if k != "status"},
                                              hub_url=hub_url, added_at=now(),
                                              not_after=now() + self.hub_key_grace if retiring else None))
                    added.append(jwk["kid"])
                else:
                    known.hub_url = hub_url  # the hub answers there now (pushes go to it)
        for kid in added:
            self.audit.record("hub_key.trusted", actor, hub_url=_clip(hub_url), kid=kid)
        return added

    def list(self) -> list[dict]:
        with self.db.session() as session:
            return [{"kid": k.kid, "hub_url": k.hub_url, "added_at": k.added_at, "not_after": k.not_after,
                     "replaced_by": k.replaced_by}
                    for k in session.scalars(select(TrustedHubKey).order_by(TrustedHubKey.added_at))]

    # -- a hub's signed request -----------------------------------------------------------------------------------

    def check_request(self, method: str, target: str, headers: Any, body: bytes | None,
                      received_url: str | None = None, remote: str | None = None) -> RequestSignature:
        """Verify a hub's signed request sent to ``target`` (the path and query as on the wire) of this node.

        The cheapest checks first: a public URL to check against, a key this node trusts, then the signature over
        this node's URL, its age, and last the nonce (a write). Every refusal is audited and raised as
        :class:`SignatureError` (401), or :class:`TooManyRequests` when the nonce memory is full.
        """
        kid = request_signature_kid(headers, self.max_signature_bytes)
        try:
            base = self.public_url()
            if not base:
                raise _refused("this node has no public URL (node.public_url; `medmci node init --public-url`): it "
                               "cannot check that a signed request was meant for it")
            url = base + target
            with self.db.session() as session:
                trusted, retired = self._split(session.scalars(select(TrustedHubKey)), now())
            if kid in retired:
                raise _refused(retired[kid])
            if kid is not None and kid not in trusted:
                raise _refused(f"unknown key id {clip(kid)}: this node does not trust the key that signed the request "
                               f"(a hub must be trusted first: `medmci node trust-hub`, or tell the node about a new "
                               f"hub key); unsigned requests read the public profile")
            try:
                signature = verify_signed_request(method, url, headers, body, trusted, max_age_s=self.max_age_s,
                                                  skew_s=self.skew_s, require_nonce=True,
                                                  max_bytes=self.max_signature_bytes)
            except SignatureError as exc:
                raise self._explain(exc, method, url, received_url, headers, body, trusted) from None
            self._remember(signature)
            return signature
        except (SignatureError, TooManyRequests) as exc:
            self.audit.refused(f"hub-key:{kid}" if kid else "anonymous", exc.message, _clip(remote),
                               method=_clip(method), target=_clip(target), received=_clip(received_url),
                               kid=_clip(kid))
            exc.headers = CHALLENGE
            raise

    def _explain(self, exc: SignatureError, method, url, received_url, headers, body, trusted) -> SignatureError:
        """A signature that does not match this node's URL: say so, and whether it was made for another URL."""
        if not exc.message.startswith("signature does not match") or not received_url:
            return exc
        if normalize_url(received_url) != normalize_url(url):
            try:  # one more verification, only on a failure: was it signed for the URL the client claims?
                verify_signed_request(method, received_url, headers, body, trusted, max_age_s=None,
                                      max_bytes=self.max_signature_bytes)
            except SignatureError:
                pass
            else:
                return _refused(f"signed for another target ({clip(received_url)}): this node is published at {url}; "
                                f"a request the hub made for one node is not valid at another")
        return _refused(f"signature does not match this node's URL {url} (signed for another node, or the method "
                        f"or body altered)")

    def _remember(self, signature: RequestSignature) -> None:
        """Store the nonce until the signature can no longer be fresh; one already stored is a replay."""
        at = now()
        expires = datetime.fromtimestamp(signature.created, UTC) + \
            timedelta(seconds=self.max_age_s + self.skew_s)
        try:
            with self.db.session() as session:
                session.execute(delete(SeenNonce).where(SeenNonce.expires_at < at))
                if (session.scalar(select(func.count()).select_from(SeenNonce)) or 0) >= self.max_nonces:
                    raise TooManyRequests(f"more than {self.max_nonces} signed requests within the freshness window "
                                          f"(trust.max_nonces): try again later")
                session.add(SeenNonce(nonce=signature.nonce, kid=signature.kid, expires_at=expires))
        except IntegrityError:
            raise _refused("request replayed: its nonce was seen already within the freshness window") from None

    # -- the hub rotates its key ----------------------------------------------------------------------------------

    def rotate_hub_key(self, signature: RequestSignature, message: Mapping) -> dict:
        """Trust the new hub key a message signed by a trusted hub key names; the signing key stays trusted for
        ``trust.hub_key_grace_days``."""
        new_jwk = message.get("new_key") if isinstance(message, Mapping) else None
        if not isinstance(new_jwk, Mapping):
            raise ValidationError("the message names no new key", {"new_key": ["a public JWK is required"]})
        try:
            (new_kid, _key), = keys_from_jwks([new_jwk]).items()
        except SignatureError as exc:  # a malformed key, or a wrong kid: the message is at fault, not its signature
            raise ValidationError(f"the new key is not a valid public Ed25519 JWK: {exc.message}",
                                  {"new_key": [exc.message]}) from None
        at = now()
        with self.db.session() as session:
            old = session.get(TrustedHubKey, signature.kid, with_for_update=True)
            if old is None:  # trusted when the request was verified, and removed since
                raise _refused(f"the hub key {clip(signature.kid)} that signed the message is no longer trusted")
            if new_kid == old.kid:
                raise ValidationError("the new key is the key that signed the message", {"new_key": ["same key"]})
            if session.get(TrustedHubKey, new_kid) is None:
                session.add(TrustedHubKey(kid=new_kid, jwk={k: v for k, v in new_jwk.items() if k != "status"},
                                          hub_url=old.hub_url, added_at=at))
            if old.not_after is None:
                old.not_after, old.replaced_by = at + self.hub_key_grace, new_kid
            previous_until = old.not_after
            answer = {"trusted": new_kid, "previous": old.kid, "previous_until": previous_until}
        self.audit.record("hub_key.rotated", f"hub-key:{signature.kid}", kid=new_kid, previous=signature.kid,
                          previous_until=previous_until.isoformat(timespec="seconds"))
        return answer


def request_target(request) -> str:
    """The path and query of a werkzeug/Flask request exactly as on the wire (what the hub signed, after the
    node's public URL); see :func:`federation.signing.received_url`."""
    target = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    if not target:
        target = request.full_path if request.query_string else request.path
    if target.startswith(("http://", "https://")):  # absolute-form: the authority is the client's claim, not ours
        parts = urlsplit(target)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return target


def _refused(reason: str) -> SignatureError:
    return SignatureError(reason, {"signature": [reason]})
