"""Announcements from the cluster to its members: a value chain's, a sub-cluster's, or all of them.

An announcement is recorded at the node with its recipients (chosen by :func:`select_recipients`,
federation/node/recipients.py) and each one's delivery: ``no_address`` for a member without a contact e-mail,
``not_sent`` until it is sent, then ``sent`` or ``failed`` (with why) as the node's mail sender answered
(:mod:`federation.mail`). Bounded by ``mail.max_recipients``, ``mail.max_title_chars`` and ``mail.max_body_chars``,
checked before anything is recorded; a send stops trying after ``mail.send_deadline_s`` (the recipients left stay
``not_sent``, for the next send).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from ..db import Database
from ..errors import Conflict, NotFound, ValidationError
from ..mail import Mailer
from ..registry import Registry
from ..settings import Settings
from ..text import text_problem
from .models import Announcement, AnnouncementDelivery, ClusterRow, MemberRow
from .recipients import Audience, select_recipients
from .trust import NodeAudit

#: Columns of the title (the settings may ask for less, never more).
TITLE_COLUMN_CHARS = 300
#: What recipients are chosen by (the formation's reading of a member) and reached at.
RECIPIENT_FIELDS = ("id", "kind", "name", "activities", "offers", "status", "city", "contact")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AnnouncementLimits:
    """``mail.*`` bounds of one announcement, and how many a listing shows."""

    max_recipients: int
    max_title_chars: int
    max_body_chars: int
    max_listed: int
    send_deadline_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> AnnouncementLimits:
        return cls(int(settings.get("mail.max_recipients")),
                   min(int(settings.get("mail.max_title_chars")), TITLE_COLUMN_CHARS),
                   int(settings.get("mail.max_body_chars")), int(settings.get("mail.max_listed")),
                   float(settings.get("mail.send_deadline_s")))


class Announcements:
    def __init__(self, db: Database, registry: Registry, audit: NodeAudit, limits: AnnouncementLimits,
                 mailer: Mailer):
        self.db = db
        self.registry = registry
        self.audit = audit
        self.limits = limits
        self.mailer = mailer
        self.clock: Callable[[], float] = time.monotonic

    def create(self, title: str, body: str, chain: str | None = None, subcluster: str | None = None,
               send: bool = False, actor: str = "cli", dry_run: bool = False) -> dict:
        """Record an announcement to the members of ``chain`` or ``subcluster`` (see :class:`Audience`; neither:
        every member) and send it when ``send``; ``dry_run``: only say who would get it. Refused, with nothing
        recorded: a title or body over its bound or with control characters, an unknown chain or sub-cluster, no
        recipient, more than ``mail.max_recipients``."""
        self._check_text(title, body)
        audience = Audience(chain, subcluster)
        with self.db.session() as session:
            cluster = session.scalar(select(ClusterRow))
            if cluster is None:
                raise NotFound("this node has no cluster profile yet: PUT /api/v1/cluster first")
            cluster_data = {"id": cluster.id, "names": cluster.names, "country": cluster.country,
                            "value_chains": cluster.value_chains}
            columns = [getattr(MemberRow, name) for name in RECIPIENT_FIELDS]
            members = [dict(zip(RECIPIENT_FIELDS, row, strict=True))
                       for row in session.execute(select(*columns).order_by(MemberRow.id))]
        chosen = select_recipients(audience, self.registry, cluster_data, members)
        if not chosen:
            raise ValidationError(f"no member is in {audience.describe()}: nothing to announce",
                                  {"audience": [f"{audience.describe()} has no member on this node"]})
        if len(chosen) > self.limits.max_recipients:
            raise Conflict(f"{audience.describe()} has {len(chosen)} members, more than one announcement may go to "
                           f"(mail.max_recipients: {self.limits.max_recipients}); choose a sub-cluster")
        emails = {m["id"]: (m.get("contact") or {}).get("email") for m in members if m["id"] in chosen}
        if dry_run:
            return {"id": None, "title": title, "audience": audience.as_dict(), "recipients": len(chosen),
                    "deliveries": [{"member_id": member_id, "email": emails[member_id], "reason": reason,
                                    "state": "not_sent" if emails[member_id] else "no_address", "detail": None}
                                   for member_id, reason in chosen.items()], "dry_run": True}
        with self.db.session() as session:
            row = Announcement(title=title, body=body, audience=audience.as_dict(), created_at=now(),
                               created_by=actor, recipients=len(chosen))
            session.add(row)
            session.flush()
            announcement_id = row.id
            session.add_all([AnnouncementDelivery(
                announcement_id=announcement_id, member_id=member_id, email=emails[member_id],
                state="not_sent" if emails[member_id] else "no_address",
                detail=None if emails[member_id] else "no contact e-mail: cannot be reached")
                for member_id in chosen])
            self.audit.record_in(session, "announcement.created", actor,
                                 f"announcement {announcement_id} to {audience.describe()}: {len(chosen)} "
                                 f"recipient(s)", announcement_id=announcement_id, audience=audience.as_dict(),
                                 recipients=len(chosen))
        if send:
            self.send(announcement_id)
        return self.get(announcement_id)

    def send(self, announcement_id: int) -> dict:
        """Send the announcement to each recipient with an address not yet sent to, recording each delivery."""
        with self.db.session() as session:
            row = self._row(session, announcement_id)
            title, body = row.title, row.body
            pending = list(session.execute(
                select(AnnouncementDelivery.member_id, AnnouncementDelivery.email)
                .where(AnnouncementDelivery.announcement_id == announcement_id,
                       AnnouncementDelivery.state.in_(("not_sent", "failed")), AnnouncementDelivery.email.is_not(None))
                .order_by(AnnouncementDelivery.member_id)))
        mailer = self.mailer
        deadline = self.clock() + self.limits.send_deadline_s
        for index, (member_id, email) in enumerate(pending):  # one message per member: never a Bcc list
            if self.clock() >= deadline:  # a transport that hangs holds the request one timeout per recipient
                self._not_tried(announcement_id, [m for m, _email in pending[index:]])
                break
            delivery = mailer.send(email or "", title, body, {"X-Medmci-Announcement": str(announcement_id)})
            with self.db.session() as session:
                session.execute(update(AnnouncementDelivery)
                                .where(AnnouncementDelivery.announcement_id == announcement_id,
                                       AnnouncementDelivery.member_id == member_id)
                                .values(state=delivery.state, detail=delivery.detail, at=now()))
        with self.db.session() as session:
            row = self._row(session, announcement_id)
            row.sender, row.sent_at = mailer.sender.name, now()
        return self.get(announcement_id)

    def _not_tried(self, announcement_id: int, member_ids: list[str]) -> None:
        detail = (f"not tried: the send took longer than mail.send_deadline_s ({self.limits.send_deadline_s:g} s); "
                  f"send the announcement again")
        with self.db.session() as session:
            session.execute(update(AnnouncementDelivery)
                            .where(AnnouncementDelivery.announcement_id == announcement_id,
                                   AnnouncementDelivery.member_id.in_(member_ids),
                                   AnnouncementDelivery.state == "not_sent")
                            .values(detail=detail))

    def get(self, announcement_id: int) -> dict:
        with self.db.session() as session:
            row = self._row(session, announcement_id)
            deliveries = [{"member_id": d.member_id, "email": d.email, "state": d.state, "detail": d.detail,
                           "at": d.at}
                          for d in session.scalars(select(AnnouncementDelivery)
                                                   .where(AnnouncementDelivery.announcement_id == announcement_id)
                                                   .order_by(AnnouncementDelivery.member_id))]
            return {**_summary(row, _counts(d["state"] for d in deliveries)), "body": row.body,
                    "deliveries": deliveries}

    def list(self) -> list[dict]:
        """The newest announcements (at most ``mail.max_listed``), each with its delivery counts."""
        with self.db.session() as session:
            rows = list(session.scalars(select(Announcement).order_by(Announcement.id.desc())
                                        .limit(self.limits.max_listed)))
            counts: dict[int, dict[str, int]] = {row.id: {} for row in rows}
            for announcement_id, state, count in session.execute(
                    select(AnnouncementDelivery.announcement_id, AnnouncementDelivery.state, func.count())
                    .where(AnnouncementDelivery.announcement_id.in_(list(counts)))
                    .group_by(AnnouncementDelivery.announcement_id, AnnouncementDelivery.state)):
                counts[announcement_id][state] = count
            return [_summary(row, counts[row.id]) for row in rows]

    def _check_text(self, title: str, body: str) -> None:
        errors: dict[str, list[str]] = {}
        for name, value, limit, multiline in (("title", title, self.limits.max_title_chars, False),
                                              ("body", body, self.limits.max_body_chars, True)):
            if not value or not value.strip():
                errors[name] = ["must not be empty"]
            elif len(value) > limit:
                errors[name] = [f"{len(value)} characters; at most {limit} (mail.max_{name}_chars)"]
            elif (problem := text_problem(value, multiline=multiline)) is not None:
                errors[name] = [problem]
        if errors:
            raise ValidationError(f"the announcement's {' and '.join(errors)} cannot be used", errors)

    @staticmethod
    def _row(session, announcement_id: int) -> Announcement:
        row = session.get(Announcement, announcement_id)
        if row is None:
            raise NotFound(f"no announcement {announcement_id} on this node")
        return row


def _counts(states) -> dict[str, int]:
    out: dict[str, int] = {}
    for state in states:
        out[state] = out.get(state, 0) + 1
    return out


def _summary(row: Announcement, counts: dict[str, int]) -> dict:
    return {"id": row.id, "title": row.title, "audience": row.audience, "created_at": row.created_at,
            "created_by": row.created_by, "recipients": row.recipients, "sender": row.sender, "sent_at": row.sent_at,
            "delivery_counts": counts}
