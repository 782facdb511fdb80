"""API tokens with roles and scopes, shared by the node and the hub apps.

Roles and scopes
----------------
A token has one **role** and a set of **scopes**. The role is the ceiling: a token is created with its role's
default scopes or with a subset of them, never with more. :data:`ROLE_SCOPES` is the one mapping:

=====================  ====  ==========================================================================
role                   app   default scopes
=====================  ====  ==========================================================================
``operator``           hub   ``nodes:write`` ``harvest:run`` ``tokens:admin`` ``audit:read``
                             ``federation:read`` ``registrations:decide`` ``pilots:write``
                             ``knowledge:write`` ``matches:write`` ``calls:write`` (everything the hub
                             offers)
``node_operator``      hub   ``federation:read`` ``push:write``; bound to one ``node_id``: it pushes
                             for that node only (:func:`require` with ``node_id_arg``), answers the
                             pilot invitations of that node's cluster only, and reads the whole
                             federation (pilots included) like any ``federation:read`` token
``knowledge_member``   hub   ``federation:read``; bound to one knowledge entity (``entity_key``,
                             ``hosted:<id>``: a profile the hub hosts): it edits that profile
                             only and answers that entity's invitations only
``node_admin``         node  ``members:write`` ``cluster:write`` ``tokens:admin``
=====================  ====  ==========================================================================

Anonymous readers send no token: they are :data:`ANONYMOUS` (no scopes) and see only public data; what "public"
means is the apps' decision, not this module's.

Tokens
------
A token is shown once, at creation, as ``mmci_<id>_<secret>``: ``<id>`` is a short public id (12 hex digits; it
appears in listings and logs), ``<secret>`` is ``secrets.token_urlsafe(32)``. Only ``sha256(secret)`` is stored.
A fast hash is right here, unlike for passwords: the secret is 32 random bytes (256 bits), so there is nothing to
guess and no dictionary to slow down; a slow KDF would only add latency to every request. Hashes are compared
with :func:`hmac.compare_digest`.

The prefix makes leaked tokens easy to spot (secret scanners, logs); the format is parsed strictly.

Errors and the ``WWW-Authenticate`` header
------------------------------------------
Failures raise :class:`federation.errors.Unauthorized` (401) and :class:`federation.errors.Forbidden` (403). The
401s (and the 403 for a missing scope) carry an extra attribute ``headers``, a dict such as
``{"WWW-Authenticate": 'Bearer realm="medmci", error="invalid_token"'}`` (RFC 6750 §3). The app's error handler
should copy it onto the response; :data:`ERROR_HEADERS_ATTRIBUTE` names the attribute.

Flask
-----
The request side lives in :mod:`federation.token_guard` (importable from here too, under the same names):
``current_principal()`` authenticates the request once with the :class:`TokenService` at
``current_app.extensions["medmci"].tokens`` and ``require()`` guards a view::

    @nodes_bp.route("/<node_id>/reset", methods=["POST"])     # POST /api/v1/nodes/<node_id>/reset
    @nodes_bp.response(200, NodeSchema)
    @require("nodes:write")
    def reset(node_id): ...

``require("push:write", node_id_arg="node_id")`` also checks a bound token's node: the hub's unsigned push,
``POST /api/v1/nodes/<node_id>/notify``, is guarded that way (``federation.hub.api``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Database, UTCDateTime, lock_rows
from .errors import Conflict, NotFound, Unauthorized, ValidationError

__all__ = [
    "ANONYMOUS", "ENTITY_BOUND_ROLES", "ERROR_HEADERS_ATTRIBUTE", "HUB_ROLES", "NODE_ROLES", "REALM", "ROLE_SCOPES",
    "SCOPES", "TOKEN_PREFIX", "Principal", "TokenMixin", "TokenService", "bearer_challenge", "format_token",
    "hash_secret", "parse_token",
]

#: Default (and maximum) scopes of each role; see the module docstring.
ROLE_SCOPES: Mapping[str, frozenset[str]] = MappingProxyType({
    # hub
    "operator": frozenset({"nodes:write", "harvest:run", "tokens:admin", "audit:read", "federation:read",
                           "registrations:decide", "pilots:write", "knowledge:write", "matches:write",
                           "calls:write"}),
    "node_operator": frozenset({"federation:read", "push:write"}),
    "knowledge_member": frozenset({"federation:read"}),
    # node
    "node_admin": frozenset({"members:write", "cluster:write", "tokens:admin"}),
})
HUB_ROLES: tuple[str, ...] = ("operator", "node_operator", "knowledge_member")
NODE_ROLES: tuple[str, ...] = ("node_admin",)
#: Roles whose tokens are bound to one node (``node_id`` required; other roles must not have one).
NODE_BOUND_ROLES: frozenset[str] = frozenset({"node_operator"})
#: Roles whose tokens are bound to one knowledge entity (``entity_key`` required; other roles must not have one).
ENTITY_BOUND_ROLES: frozenset[str] = frozenset({"knowledge_member"})
#: Every scope known to the federation.
SCOPES: frozenset[str] = frozenset().union(*ROLE_SCOPES.values())

TOKEN_PREFIX = "mmci_"
REALM = "medmci"
#: The attribute of raised errors that holds extra response headers (a ``dict``), for the app's error handler.
ERROR_HEADERS_ATTRIBUTE = "headers"
EXPECTED_HEADER = "expected 'Authorization: Bearer <token>'"
EXPECTED_TOKEN = "expected 'mmci_<id>_<secret>'"

# The id has no "_", so the first "_" after it ends it; the secret is URL-safe base64 (which may contain "_").
_TOKEN = re.compile(r"mmci_([A-Za-z0-9]{1,32})_([A-Za-z0-9_-]{1,128})")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,31}")
_ID_BYTES = 6  # 12 hex digits
_MAX_NAME = 200
_MAX_NODE_ID = 64
_MAX_ENTITY_KEY = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------------- the table


class TokenMixin:
    """The ``api_tokens`` table, as a mixin for either declarative base::

        class ApiToken(TokenMixin, HubBase): pass     # federation/hub/models.py
        class ApiToken(TokenMixin, NodeBase): pass    # federation/node/models.py
    """

    __tablename__ = "api_tokens"

    #: Short public id: the ``<id>`` of ``mmci_<id>_<secret>``.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(_MAX_NAME))
    role: Mapped[str] = mapped_column(String(32))
    #: Sorted list of scope names.
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    #: The node a ``node_operator`` token speaks for; ``None`` for every other role.
    node_id: Mapped[str | None] = mapped_column(String(_MAX_NODE_ID), index=True)
    #: The knowledge entity a ``knowledge_member`` token speaks for (``hosted:<id>``); ``None`` for every other
    #: role (and for knowledge_member tokens made before tokens were bound: they read, and act for no entity).
    entity_key: Mapped[str | None] = mapped_column(String(_MAX_ENTITY_KEY), index=True)
    #: ``sha256(secret)`` in hex; the secret itself is never stored.
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Updated at most once per :attr:`TokenService.touch_interval` (one minute by default).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    if TYPE_CHECKING:  # the declarative base it is mixed into gives the mapped class a keyword constructor
        def __init__(self, **kwargs: Any) -> None: ...


#: The scope that creates and revokes tokens: the last active token holding it cannot be revoked.
ADMIN_SCOPE = "tokens:admin"
_ADMIN_ROLES = tuple(role for role, scopes in ROLE_SCOPES.items() if ADMIN_SCOPE in scopes)


# --------------------------------------------------------------------------------------------------- principals


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's identity and scopes, or :data:`ANONYMOUS`."""

    token_id: str | None
    name: str | None
    role: str | None
    scopes: frozenset[str]
    node_id: str | None = None
    entity_key: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def is_anonymous(self) -> bool:
        return self.token_id is None

    def may_act_for(self, node_id: str) -> bool:
        """False when the token is bound to another node (``node_operator``); True for unbound tokens."""
        return self.node_id is None or self.node_id == node_id


ANONYMOUS = Principal(token_id=None, name=None, role=None, scopes=frozenset(), node_id=None, entity_key=None)


# --------------------------------------------------------------------------------------------------- format


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def format_token(token_id: str, secret: str) -> str:
    return f"{TOKEN_PREFIX}{token_id}_{secret}"


def parse_token(token: str) -> tuple[str, str]:
    """``mmci_<id>_<secret>`` -> ``(id, secret)``; :class:`Unauthorized` for anything else."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise _unauthorized(f"malformed token: {EXPECTED_TOKEN}", "invalid_token")
    return match.group(1), match.group(2)


def bearer_challenge(error: str | None = None, scope: str | None = None) -> dict[str, str]:
    """The ``WWW-Authenticate`` header of a refusal (RFC 6750 §3), as a dict to set on the error."""
    value = f'Bearer realm="{REALM}"'
    if error:
        value += f', error="{error}"'
    if scope:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}


def _unauthorized(message: str, error: str | None = None) -> Unauthorized:
    exc = Unauthorized(message)
    setattr(exc, ERROR_HEADERS_ATTRIBUTE, bearer_challenge(error))
    return exc


def _bearer_token(header: str) -> str:
    """The token of ``Bearer <token>`` (scheme case-insensitive, RFC 7235); :class:`Unauthorized` otherwise."""
    parts = header.split()
    if not parts:
        raise _unauthorized(f"empty Authorization header: {EXPECTED_HEADER}", "invalid_request")
    scheme = parts[0]
    if scheme.lower() != "bearer":
        shown = f" '{scheme}'" if _SCHEME.fullmatch(scheme) else ""
        raise _unauthorized(f"unsupported authorization scheme{shown}: {EXPECTED_HEADER}", "invalid_request")
    if len(parts) == 1:
        raise _unauthorized(f"no token after 'Bearer': {EXPECTED_HEADER}", "invalid_request")
    if len(parts) > 2:
        raise _unauthorized(f"more than one token: {EXPECTED_HEADER}", "invalid_request")
    return parts[1]


# --------------------------------------------------------------------------------------------------- service

#: ``audit(session, action, actor, token)``: writes a token event in the caller's unit of work.
TokenAudit = Callable[[Session, str, str, dict], None]



class TokenService:
    """Creates, lists, revokes and checks the tokens of one database.

    :param db: the node's or the hub's :class:`~federation.db.Database`.
    :param model: the mapped class made with :class:`TokenMixin` on that database's base.
    :param roles: the roles this app issues (:data:`HUB_ROLES` on the hub, :data:`NODE_ROLES` on a node); all
        roles of :data:`ROLE_SCOPES` when ``None``.
    :param clock: returns the current, timezone-aware time (tests pass a fake one).
    :param touch_interval: ``last_used_at`` is written at most once per interval per token.
    :param audit: records ``token.created`` and ``token.revoked``: called as ``audit(session, action, actor,
        token)`` in the transaction that makes the change, so the log holds exactly the committed changes. The
        service writes the events itself, so no caller (CLI, API) can forget one.
    """

    def __init__(self, db: Database, model: type[TokenMixin], *, roles: Iterable[str] | None = None,
                 clock: Callable[[], datetime] = utcnow, touch_interval: timedelta = timedelta(minutes=1),
                 audit: TokenAudit | None = None):
        self.db = db
        self.model = model
        self.audit = audit
        self.roles: tuple[str, ...] = tuple(roles) if roles is not None else tuple(ROLE_SCOPES)
        unknown = [r for r in self.roles if r not in ROLE_SCOPES]
        if unknown:
            raise ValueError(f"unknown roles {unknown}; known: {sorted(ROLE_SCOPES)}")
        self.clock = clock
        self.touch_interval = touch_interval

    # ----------------------------------------------------------------------------------------------- admin

    def create(self, name: str, role: str, scopes: Iterable[str] | None = None,
               node_id: str | None = None, *, entity_key: str | None = None,
               actor: str | None = None) -> tuple[dict, str]:
        """A new token: ``(its dict, without secret or hash; the plaintext token, to show once)``.

        :param actor: who asks (``cli``, ``operator:<name>``), for the audit log; ``None`` records no event
            (tokens seeded by tests or by code that is not an operator's decision).

        :raises ValidationError: with ``errors`` keyed by the fields at fault (``name``, ``role``, ``scopes``,
            ``node_id``, ``entity_key``): an unknown role or scope, a scope the role does not grant, a
            ``node_operator`` without ``node_id`` or another role with one, a ``knowledge_member`` without
            ``entity_key`` or another role with one. Whether that node or entity exists is the app's to check.
        """
        granted = self._check(name, role, scopes, node_id, entity_key)
        token_id = secrets.token_hex(_ID_BYTES)
        secret = secrets.token_urlsafe(32)
        with self.db.session() as session:
            row = self.model(id=token_id, name=name.strip(), role=role, scopes=sorted(granted), node_id=node_id,
                             entity_key=entity_key, secret_hash=hash_secret(secret), created_at=self.clock(),
                             revoked_at=None, last_used_at=None)
            session.add(row)
            session.flush()
            record = token_dict(row)
            self._audit(session, "token.created", actor, record)
            return record, format_token(token_id, secret)

    def list(self) -> list[dict]:
        """Every token, revoked ones included, oldest first; never a secret or a hash."""
        with self.db.session() as session:
            rows = session.scalars(select(self.model).order_by(self.model.created_at, self.model.id))
            return [token_dict(row) for row in rows]

    def revoke(self, token_id: str, *, actor: str | None = None) -> dict:
        """Revoke a token (``actor``: as for :meth:`create`). :class:`NotFound` if there is no such token or it is
        revoked already (there is no token to revoke); :class:`Conflict` for the last active token that may manage
        tokens (``tokens:admin``): revoking it would lock every operator out (create another first)."""
        with self.db.session() as session:
            # Lock the token and every active admin token before reading them: two revocations at once (two
            # operators revoking each other) are serialised, so the second sees the first's and is refused.
            locked = lock_rows(session, self.model, (self.model.id == token_id)
                               | (self.model.revoked_at.is_(None) & self.model.role.in_(_ADMIN_ROLES)))
            row = next((r for r in locked if r.id == token_id), None)
            if row is None:
                raise NotFound(f"no token {token_id!r}")
            if row.revoked_at is not None:
                raise NotFound(f"token {row.id} was revoked already, at {row.revoked_at.isoformat()}")
            if ADMIN_SCOPE in (row.scopes or ()):
                admins = [r for r in locked if r.revoked_at is None and ADMIN_SCOPE in (r.scopes or ())]
                if [r.id for r in admins] == [row.id]:
                    raise Conflict(f"token '{row.name}' ({row.id}) is the last active token with scope "
                                   f"'{ADMIN_SCOPE}': create another before revoking it",
                                   {"token_id": ["the last token that can manage tokens"]})
            row.revoked_at = self.clock()
            record = token_dict(row)
            self._audit(session, "token.revoked", actor, record)
            return record

    def _audit(self, session, action: str, actor: str | None, token: dict) -> None:
        if self.audit is not None and actor is not None:
            self.audit(session, action, actor, token)

    def count(self, *, active_only: bool = False) -> int:
        """How many tokens exist (not revoked ones only, with ``active_only``)."""
        query = select(func.count()).select_from(self.model)
        if active_only:
            query = query.where(self.model.revoked_at.is_(None))
        with self.db.session() as session:
            return session.scalar(query) or 0

    # ----------------------------------------------------------------------------------------------- requests

    def authenticate(self, authorization_header: str | None) -> Principal | None:
        """The principal of an ``Authorization`` header value; ``None`` when there is no header at all.

        :raises Unauthorized: (with ``headers``) for a header that is not ``Bearer <token>``, a token that is not
            ``mmci_<id>_<secret>``, an unknown token (or a wrong secret: the same message), a revoked token.
        """
        if authorization_header is None:
            return None
        token_id, secret = parse_token(_bearer_token(authorization_header))
        presented = hash_secret(secret)
        with self.db.session() as session:
            row = session.get(self.model, token_id)
            stored = row.secret_hash if row is not None else "0" * 64
            # Compare even for an unknown id, so that both failures take about the same time.
            if not hmac.compare_digest(presented, stored) or row is None:
                raise _unauthorized(f"unknown token '{token_id}'", "invalid_token")
            if row.revoked_at is not None:
                raise _unauthorized(f"token '{row.name}' ({row.id}) was revoked", "invalid_token")
            now = self.clock()
            if row.last_used_at is None or now - row.last_used_at >= self.touch_interval:
                row.last_used_at = now
            # The role is a ceiling at run time too: a scope dropped from a role in a later release is gone.
            scopes = frozenset(row.scopes or ()) & ROLE_SCOPES.get(row.role, frozenset())
            return Principal(token_id=row.id, name=row.name, role=row.role, scopes=scopes, node_id=row.node_id,
                             entity_key=row.entity_key)

    # ----------------------------------------------------------------------------------------------- checks

    def _check(self, name, role, scopes, node_id, entity_key=None) -> frozenset[str]:
        errors: dict[str, list[str]] = {}
        if not isinstance(name, str) or not name.strip():
            errors["name"] = ["a token needs a name"]
        elif len(name.strip()) > _MAX_NAME:
            errors["name"] = [f"{_MAX_NAME} characters at most"]
        allowed = ROLE_SCOPES.get(role) if role in self.roles else None
        if allowed is None:
            errors["role"] = [f"unknown role {role!r}; one of: {', '.join(self.roles)}"]
        granted: frozenset[str] = allowed or frozenset()
        if scopes is not None:
            if isinstance(scopes, str):
                scopes = [scopes] if scopes else []
            requested = list(scopes)
            unknown = sorted({s for s in requested if s not in SCOPES}, key=str)
            beyond = sorted({s for s in requested if s in SCOPES and allowed is not None and s not in allowed})
            problems = [f"unknown scope {s!r}" for s in unknown]
            problems += [f"scope {s!r} is not granted to role {role!r} (it grants: {', '.join(sorted(allowed or ()))})"
                         for s in beyond]
            if not requested:
                problems.append("give at least one scope, or none at all for the role's defaults")
            if problems:
                errors["scopes"] = problems
            granted = frozenset(requested)
        if role in NODE_BOUND_ROLES:
            if not isinstance(node_id, str) or not node_id:
                errors["node_id"] = [f"a {role} token must be bound to a node_id"]
            elif len(node_id) > _MAX_NODE_ID:
                errors["node_id"] = [f"{_MAX_NODE_ID} characters at most"]
        elif node_id is not None and allowed is not None:
            errors["node_id"] = [f"only {', '.join(sorted(NODE_BOUND_ROLES))} tokens are bound to a node"]
        if role in ENTITY_BOUND_ROLES:
            if not isinstance(entity_key, str) or not entity_key:
                errors["entity_key"] = [f"a {role} token must be bound to an entity_key (hosted:<id>)"]
            elif len(entity_key) > _MAX_ENTITY_KEY:
                errors["entity_key"] = [f"{_MAX_ENTITY_KEY} characters at most"]
        elif entity_key is not None and allowed is not None:
            errors["entity_key"] = [f"only {', '.join(sorted(ENTITY_BOUND_ROLES))} tokens are bound to a knowledge "
                                    f"entity"]
        if errors:
            summary = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in errors.items())
            raise ValidationError(f"invalid token: {summary}", errors)
        return granted


def token_dict(row) -> dict:
    """What may be shown of a token: everything but ``secret_hash``."""
    return {"id": row.id, "name": row.name, "role": row.role, "scopes": list(row.scopes or []),
            "node_id": row.node_id, "entity_key": row.entity_key, "created_at": row.created_at,
            "revoked_at": row.revoked_at, "last_used_at": row.last_used_at}


#: The Flask guard's names, moved to federation.token_guard and still importable from here.
_GUARD_NAMES = frozenset({"authorize", "caller_was_read", "current_principal", "require"})


def __getattr__(name: str):
    # Lazy: token_guard imports this module, so an eager import here would be circular.
    if name in _GUARD_NAMES:
        from . import token_guard
        return getattr(token_guard, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
