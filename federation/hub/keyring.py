"""The node keys the hub trusts, and how they change when a node rotates its key.

A key is trusted when it arrived with the node's registration, or when a discovery document listing it was signed
by a key the hub already trusted (the old key vouches for the new one). A key the node marks ``previous`` stays
valid for a grace period, then is refused; a key the node stops listing is revoked. Revoked keys are kept: they still
verify the history (``medmci hub verify``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import SignatureError, ValidationError
from ..settings import packaged_default
from ..signing import jwk_to_public_key, keys_from_jwks, verify_signatures
from . import audit
from .models import NodeKey

ACTIVE, RETIRING, REVOKED = "active", "retiring", "revoked"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TrustLimits:
    """What verifying one node's documents may cost (settings ``trust.*`` and ``limits.max_keys_per_node``)."""

    # Built without settings: the packaged defaults (config/settings.yaml).
    # signatures considered per document: more are refused unread
    max_signatures: int = field(default_factory=packaged_default("trust.max_signatures", int))
    # total verification time of one fetch or request
    verify_budget_s: float = field(default_factory=packaged_default("trust.verify_budget_s", float))
    # keys a node may publish (current, previous and spare)
    max_keys: int = field(default_factory=packaged_default("limits.max_keys_per_node", int))
    #: Signature + Signature-Input of a node's signed request (join, push), refused unparsed beyond it.
    max_request_signature_bytes: int = field(default_factory=packaged_default("trust.max_request_signature_bytes", int))

    @classmethod
    def from_settings(cls, settings) -> TrustLimits:
        return cls(max_signatures=int(settings.get("trust.max_signatures")),
                   verify_budget_s=float(settings.get("trust.verify_budget_s")),
                   max_keys=int(settings.get("limits.max_keys_per_node")),
                   max_request_signature_bytes=int(settings.get("trust.max_request_signature_bytes")))

    def deadline(self) -> float:
        """The verification deadline of a fetch or request starting now (time.monotonic())."""
        return time.monotonic() + self.verify_budget_s


class TooManyKeys(ValidationError):
    """A discovery document publishing more keys than a node may have."""


def check_key_count(document: Mapping, limits: TrustLimits) -> list:
    """The keys a discovery document publishes, refused when there are more than ``limits.max_keys``."""
    keys = document.get("keys") or []
    if not isinstance(keys, list):
        raise ValidationError("the discovery document's 'keys' is not a list", {"keys": ["must be a list"]})
    if len(keys) > limits.max_keys:
        message = (f"the discovery document publishes {len(keys)} keys, over the limit of {limits.max_keys} "
                   f"(limits.max_keys_per_node)")
        raise TooManyKeys(message, {"keys": [message]})
    return keys


def split_keys(rows: Iterable[NodeKey], at: datetime | None = None) -> tuple[dict[str, Ed25519PublicKey],
                                                                             dict[str, str]]:
    """``(trusted, refused)``: keys that may sign now (active, or retiring inside their grace period), and for the
    other known keys the reason they are refused."""
    at = at or now()
    trusted, refused = {}, {}
    for key in rows:
        if key.status == REVOKED:
            refused[key.kid] = f"key {key.kid} was revoked (the node no longer publishes it)"
        elif key.not_after is not None and key.not_after <= at:
            refused[key.kid] = f"key {key.kid} was retired; its grace period ended {key.not_after.isoformat()}"
        else:
            trusted[key.kid] = jwk_to_public_key(key.jwk)
    return trusted, refused


def trusted_keys(session: Session, node_id: str, at: datetime | None = None) -> dict[str, Ed25519PublicKey]:
    """Keys that may sign for the node now."""
    return split_keys(session.scalars(select(NodeKey).where(NodeKey.node_id == node_id)), at)[0]


def all_keys(session: Session, node_id: str) -> dict[str, Ed25519PublicKey]:
    """Every key ever trusted for the node, revoked ones included: for re-checking stored versions."""
    return {k.kid: jwk_to_public_key(k.jwk)
            for k in session.scalars(select(NodeKey).where(NodeKey.node_id == node_id))}


def add_keys(session: Session, node_id: str, jwks: Iterable[Mapping], actor: str, grace: timedelta) -> list[str]:
    """Trust keys that came with a registration (proof of possession checked by the caller); a key the node
    already marks ``previous`` starts its grace period at once."""
    added = []
    for jwk in jwks:
        jwk_to_public_key(jwk)  # refuses malformed keys
        if session.get(NodeKey, (node_id, jwk["kid"])) is None:
            previous = jwk.get("status") == "previous"
            session.add(NodeKey(node_id=node_id, kid=jwk["kid"], jwk=_stored(jwk),
                                status=RETIRING if previous else ACTIVE, first_seen_at=now(),
                                not_after=now() + grace if previous else None))
            audit.record(session, "key.added", actor, node_id, kid=jwk["kid"], status="previous" if previous
                         else "current")
            added.append(jwk["kid"])
    return added


def _stored(jwk: Mapping) -> dict:
    """The key as the hub keeps it: the JWK without the node's view of its status (the hub keeps its own)."""
    return {k: v for k, v in jwk.items() if k != "status"}


def vouched_keys(document: Mapping, signatures: str | None, trusted: Mapping[str, Ed25519PublicKey],
                 max_age_s: int, limits: TrustLimits = TrustLimits(),
                 deadline: float | None = None) -> dict[str, Ed25519PublicKey]:
    """The keys a discovery document publishes, if one of its signatures is by a key the hub trusts.

    Bounded (:func:`federation.signing.jws.verify_signatures`): at most ``limits.max_signatures`` signatures, the
    document canonicalised once, within ``deadline`` (default: ``limits.verify_budget_s`` from now); a document
    publishing more than ``limits.max_keys`` keys is refused before any signature is checked.
    Raises :class:`SignatureError` when no trusted key vouches for the document.
    """
    published = check_key_count(document, limits)
    try:
        verify_signatures(dict(document), signatures, trusted, max_signatures=limits.max_signatures,
                          deadline=deadline if deadline is not None else limits.deadline(),
                          budget_s=limits.verify_budget_s, max_age_s=max_age_s)
    except SignatureError as exc:
        message = f"discovery document not signed by a key the hub trusts: {exc.message}"
        raise SignatureError(message, {"signature": [message]}) from exc
    # keys_from_jwks: a kid must be its key's thumbprint (a name of bounded size that names one key).
    return keys_from_jwks([k for k in published if isinstance(k, Mapping) and k.get("status") != "revoked"])


def apply_discovery(session: Session, node_id: str, document: Mapping, signatures: str | None,
                    grace: timedelta, max_age_s: int, limits: TrustLimits = TrustLimits()) -> list[str]:
    """Update the node's keys from a discovery document, if a key the hub trusts signed it.

    New keys become active; keys marked ``previous`` start their grace period; keys no longer listed are revoked.
    Returns the kids added. Raises :class:`SignatureError` when no trusted key vouches for the document.
    """
    vouched_keys(document, signatures, trusted_keys(session, node_id), max_age_s, limits)
    # Keyed by the kid as published (a JSON value: keys_from_jwks checks it against the key when there is one).
    published: dict[Any, Mapping] = {k.get("kid"): k for k in document.get("keys") or () if isinstance(k, Mapping)}
    keys_from_jwks(published.values())  # every key well formed, each kid its key's thumbprint
    known = {k.kid: k for k in session.scalars(select(NodeKey).where(NodeKey.node_id == node_id))}
    added = []
    for kid, jwk in published.items():
        key = known.get(kid)
        if key is None:
            jwk_to_public_key(jwk)
            session.add(NodeKey(node_id=node_id, kid=kid, jwk=_stored(jwk),
                                status=ACTIVE, first_seen_at=now(), not_after=None))
            audit.record(session, "key.added", f"node:{node_id}", node_id, kid=kid)
            added.append(kid)
        elif jwk.get("status") == "previous" and key.status == ACTIVE:
            key.status, key.not_after = RETIRING, now() + grace
            audit.record(session, "key.retiring", f"node:{node_id}", node_id, kid=kid,
                         not_after=key.not_after.isoformat())
    for kid, key in known.items():
        if kid not in published and key.status != REVOKED:
            key.status = REVOKED
            audit.record(session, "key.revoked", f"node:{node_id}", node_id, kid=kid)
    return added
