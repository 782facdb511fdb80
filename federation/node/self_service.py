"""Member self-service: a one-time link with which a member reads and updates its own record at the node.

The cluster manager makes a link for a member (``medmci node members link``, ``POST
/api/v1/members/<id>/links``), and may have it e-mailed through the node's mail sender. The link carries a token
signed with a secret derived from the node's key (itsdangerous; a token someone changed fails its signature before
the database is read); the node keeps only the token's SHA-256, with the link's expiry and whether it was used.

With the token the member reads its record (``GET /api/v1/self-service/<token>``) and updates the fields
:data:`SELF_SERVICE_FIELDS` (``PUT``, the member schema's rules, partial): the update consumes the link in the same
unit of work that changes the record (an ``UPDATE ... WHERE used_at IS NULL`` that must touch one row), so of two
uses at once one applies and the other is refused, and an update refused for its body leaves the link unused. Each
update is in the audit log with the member and the link as its actor, and publishes a new profile version when a
published field changed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from cryptography.hazmat.primitives import serialization
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from ..db import Database
from ..errors import Conflict, Forbidden, Gone, NotFound, ValidationError
from ..freshkeys import FreshKeyStore
from ..mail import Mailer
from ..settings import Settings
from .models import MemberLink, MemberRow
from .service import NodeService
from .trust import NodeAudit

#: What a member may change of its own record (its kind, codes and identifiers are the cluster manager's).
SELF_SERVICE_FIELDS = ("name", "city", "offers", "needs", "export_markets", "contact", "website", "status",
                       "last_active", "visibility", "contact_visibility")
#: Where the links are served (the token follows).
PATH = "/api/v1/self-service/"
#: itsdangerous's salt: a token of this kind is never valid as any other signed value.
SALT = "medmci-member-self-service"
#: Tokens are about 70 characters; a path value longer than federation.web's MAX_PATH_VALUE is refused before this.
MAX_TOKEN_CHARS = 200


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LinkPolicy:
    """``members.self_service.*``: a link's default and longest life, and the open links one member may have."""

    expires_in: timedelta
    max_expires_in: timedelta
    max_open_links: int

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkPolicy:
        return cls(timedelta(days=float(settings.get("members.self_service.expires_in_days"))),
                   timedelta(days=float(settings.get("members.self_service.max_expires_in_days"))),
                   int(settings.get("members.self_service.max_open_links")))


class LinkSigner:
    """Signs and checks link tokens with secrets derived from the node's keys (every published key checks, the
    current one signs: a link made before `node rotate-key` still works while the old key is published)."""

    def __init__(self, keys: FreshKeyStore):
        self.keys = keys

    def _serializer(self) -> URLSafeSerializer:
        kids = [k["kid"] for k in self.keys.published()]
        current, _key = self.keys.current
        ordered = [kid for kid in kids if kid != current] + [current]  # itsdangerous signs with the last
        return URLSafeSerializer([self._secret(kid) for kid in ordered], salt=SALT)

    def _secret(self, kid: str) -> bytes:
        raw = self.keys.private_key(kid).private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                       serialization.NoEncryption())
        return hmac.new(raw, b"medmci self-service links", hashlib.sha256).digest()

    def make(self) -> str:
        return self._serializer().dumps(secrets.token_urlsafe(16))

    def check(self, token: str) -> None:
        if len(token) > MAX_TOKEN_CHARS:
            raise Forbidden("this self-service link is not valid")
        try:
            self._serializer().loads(token)
        except BadSignature:
            raise Forbidden("this self-service link is not valid: it was changed, or not made by this node") from None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SelfService:
    """Links for members, and what a member does with one."""

    def __init__(self, db: Database, service: NodeService, signer: LinkSigner, audit: NodeAudit,
                 policy: LinkPolicy, public_url: Callable[[], str | None], mailer: Mailer):
        self.db = db
        self.service = service
        self.signer = signer
        self.audit = audit
        self.policy = policy
        self.public_url = public_url
        self.mailer = mailer

    # -- the cluster manager ---------------------------------------------------------------------------------------

    def create_link(self, member_id: str, expires_in: timedelta | None = None, send: bool = False,
                    actor: str = "cli") -> dict:
        """Make a one-time link for ``member_id`` (and e-mail it when ``send``): ``{"link_id", "member_id", "token",
        "url", "expires_at", "delivery"}``. The token is shown here only."""
        life = self.policy.expires_in if expires_in is None else expires_in
        if life <= timedelta(0) or life > self.policy.max_expires_in:
            raise ValidationError(f"a link expires after more than 0 and at most "
                                  f"{_days(self.policy.max_expires_in)} (members.self_service.max_expires_in_days)",
                                  {"expires_in_days": [f"must be more than 0 and at most "
                                                       f"{self.policy.max_expires_in.total_seconds() / 86400:g}"]})
        token = self.signer.make()
        at = now()
        with self.db.session() as session:
            member = session.get(MemberRow, member_id)
            if member is None:
                raise NotFound(f"no member {member_id!r} on this node")
            open_links = session.scalar(select(func.count()).select_from(MemberLink).where(
                MemberLink.member_id == member_id, MemberLink.used_at.is_(None), MemberLink.expires_at > at))
            if (open_links or 0) >= self.policy.max_open_links:
                raise Conflict(f"member {member_id!r} has {open_links} unused links already "
                               f"(members.self_service.max_open_links): wait for one to be used or to expire")
            link = MemberLink(member_id=member_id, token_hash=token_hash(token), created_at=at,
                              expires_at=at + life, created_by=actor)
            session.add(link)
            session.flush()
            link_id, email, name = link.id, (member.contact or {}).get("email"), member.name
            self.audit.record_in(session, "member_link.created", actor, f"link {link_id} for {member_id}, "
                                 f"expires {link.expires_at.isoformat(timespec='minutes')}",
                                 member_id=member_id, link_id=link_id)
        url = (self.public_url() or "") + PATH + token
        answer = {"link_id": link_id, "member_id": member_id, "token": token, "url": url,
                  "expires_at": at + life, "delivery": None}
        if send:
            answer["delivery"] = self._send(link_id, email, name, url, at + life)
        return answer

    def _send(self, link_id: int, email: str | None, name: str, url: str, expires_at: datetime) -> dict:
        if not email:
            state, detail = "no_address", "no contact e-mail: cannot be reached"
        else:
            body = (f"Hello {name},\n\nPlease check the record your cluster keeps of you, and correct it if need be, "
                    f"with this link (it works once, until {expires_at.isoformat(timespec='minutes')}):\n\n{url}\n\n"
                    f"GET on it shows your record; PUT with the fields to change updates it.\n")
            delivery = self.mailer.send(email, "Please check your cluster member record", body,
                                          {"X-Medmci-Link": str(link_id)})
            state, detail = delivery.state, delivery.detail
        with self.db.session() as session:
            session.execute(update(MemberLink).where(MemberLink.id == link_id)
                            .values(delivery=state, delivery_detail=detail))
        return {"state": state, "detail": detail, "to": email}

    # -- the member ---------------------------------------------------------------------------------------------

    def read(self, token: str) -> dict:
        """The member's record and the link's expiry (the link stays unused)."""
        link = self._open_link(token)
        member = self.service.get_member(link["member_id"])
        return {"member": member, "editable": list(SELF_SERVICE_FIELDS), "expires_at": link["expires_at"]}

    def update(self, token: str, changes: dict) -> dict:
        """Apply ``changes`` (loaded by the self-service schema: only :data:`SELF_SERVICE_FIELDS`) and consume the
        link, in one unit of work. An update is activity: ``last_active`` becomes today unless ``changes`` gives
        it."""
        link = self._open_link(token)
        unknown = sorted(set(changes) - set(SELF_SERVICE_FIELDS))
        if unknown:  # the schema refuses them first; a caller that skipped it gets the same answer
            raise ValidationError(f"a member may not change {', '.join(unknown)} through its link",
                                  {name: ["not a field a member may change"] for name in unknown})
        changes = {"last_active": datetime.now(UTC).date(), **changes}
        digest = token_hash(token)

        def consume(session: Session) -> None:
            used = cast(CursorResult, session.execute(update(MemberLink)
                                   .where(MemberLink.token_hash == digest, MemberLink.used_at.is_(None),
                                          MemberLink.expires_at > now())
                                   .values(used_at=now())))
            if used.rowcount != 1:  # used (or expired) since it was read above: a second use at the same time
                self._refuse_used_or_expired(session, digest)

        actor = f"member:{link['member_id']} via link {link['link_id']}"
        member, changed = self.service.change_member(link["member_id"], changes, actor, guard=consume)
        return {"member": member, "changed": sorted(changed), "published": bool(changed)}

    def _open_link(self, token: str) -> dict:
        """The link of ``token`` if it may be used now; refused otherwise, cheapest check first: the signature (no
        database), then the stored link, its use and its expiry."""
        self.signer.check(token)
        with self.db.session() as session:
            link = session.scalar(select(MemberLink).where(MemberLink.token_hash == token_hash(token)))
            if link is None:
                raise NotFound("no such self-service link on this node (it was withdrawn, or made by another node)")
            if link.used_at is not None or link.expires_at <= now():
                self._refuse_used_or_expired(session, link.token_hash)
            return {"link_id": link.id, "member_id": link.member_id, "expires_at": link.expires_at}

    @staticmethod
    def _refuse_used_or_expired(session: Session, digest: str) -> None:
        link = session.scalar(select(MemberLink).where(MemberLink.token_hash == digest))
        if link is None:
            raise NotFound("no such self-service link on this node")
        if link.used_at is not None:
            raise Conflict(f"this self-service link was used on {link.used_at.isoformat(timespec='minutes')}; a "
                           f"link works once: ask your cluster manager for a new one")
        raise Gone(f"this self-service link expired on {link.expires_at.isoformat(timespec='minutes')}: ask your "
                   f"cluster manager for a new one")

    def links(self, member_id: str | None = None, limit: int = 50) -> list[dict]:
        """The links made, newest first (never their tokens)."""
        with self.db.session() as session:
            query = select(MemberLink).order_by(MemberLink.id.desc()).limit(max(1, min(int(limit), 1000)))
            if member_id:
                query = query.where(MemberLink.member_id == member_id)
            at = now()
            return [{"link_id": link.id, "member_id": link.member_id, "created_at": link.created_at,
                     "created_by": link.created_by, "expires_at": link.expires_at, "used_at": link.used_at,
                     "state": "used" if link.used_at else "expired" if link.expires_at <= at else "open",
                     "delivery": link.delivery, "delivery_detail": link.delivery_detail}
                    for link in session.scalars(query)]


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:g} day{'' if days == 1 else 's'}"


def parse_expiry(text: str) -> timedelta:
    """``7d``, ``36h``, ``90m`` or a number of days: a link's life as the CLI takes it."""
    value = text.strip().lower()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    unit = units.get(value[-1:]) if value else None
    number = value[:-1] if unit else value
    try:  # nan, inf and 1e12 days are numbers, but no timedelta: the same refusal (the policy bounds the rest)
        return timedelta(**{unit or "days": float(number)})
    except (ValueError, OverflowError):
        raise ValidationError(f"--expires-in {text!r}: give a number of days, or 7d, 36h, 90m",
                              {"expires_in": ["not a duration"]}) from None
