"""Meeting intents between members (TechDays-style matchmaking): who asked whom, when, and what came of it.

A member, through its node, marks a partner as interesting (``interested``) and requests a meeting
(``requested``); the partner's node accepts or declines; either side records the meeting as held, or cancels an
open one. Anything else is refused with the reason (a :class:`~federation.errors.Conflict`), nothing changed.
One open intent (interested, requested, accepted) per member and partner; at most
``matching.max_open_meetings_per_member`` open intents per member. Each step is in the audit log (``match.*``).

Who may act is the API's business (federation/hub/matches_api.py): a node for its own members' side only. This
service checks which side of the meeting the acting node is on (``side``), whoever authenticated it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, case, exists, func, select

from ..db import Database, lock_rows
from ..errors import Conflict, Forbidden, NotFound, ValidationError
from . import audit
from .match_tables import MEETING_STATES, MatchMeeting, MatchSuggestion
from .models import ClusterView, MemberView, NodeRecord
from .nodes import FORMING

OPEN = ("interested", "requested", "accepted")
#: action -> (the states it may follow, the state it makes, who acts: the member's side, the partner's, either).
TRANSITIONS = {"request": (("interested",), "requested", "member"),
               "accept": (("requested",), "accepted", "partner"),
               "decline": (("requested",), "declined", "partner"),
               "held": (("accepted",), "held", "either"),
               "cancel": (OPEN, "cancelled", "either")}
ACTIONS = tuple(TRANSITIONS)


def _now() -> datetime:
    return datetime.now(UTC)


class MeetingService:
    def __init__(self, db: Database, max_open_per_member: int, max_note_chars: int):
        self.db = db
        self.max_open_per_member = max_open_per_member
        self.max_note_chars = max_note_chars

    def _note(self, note: str | None) -> str | None:
        if note is not None and len(note) > self.max_note_chars:
            raise ValidationError(f"a note has at most matching.max_note_chars ({self.max_note_chars}) characters",
                                  {"note": [f"{len(note)} characters"]})
        return note or None

    def create(self, member_key: str, partner_key: str, state: str, by: str, note: str | None = None,
               acting_node: str | None = None) -> dict:
        """A member's interest in a partner (``state`` interested) or its meeting request (requested). A request
        after an interest moves that intent on; any other open intent of the pair is a conflict."""
        if state not in ("interested", "requested"):
            raise ValidationError("a new intent is interested or requested", {"state": [state]})
        note = self._note(note)
        with self.db.session() as session:
            member, member_country, member_public = _member(session, member_key, "member")
            partner, partner_country, partner_public = _member(session, partner_key, "partner")
            if acting_node is not None and member.node_id != acting_node:
                raise Forbidden(f"node {acting_node!r} acts for its own members only, not {member_key!r}")
            if member.node_id == partner.node_id:
                raise ValidationError("a partner is a member of another cluster", {"partner": [partner_key]})
            lock_rows(session, NodeRecord, NodeRecord.id == member.node_id)  # one writer per member's node
            keys = (f"{member.node_id}/{member.member_id}", f"{partner.node_id}/{partner.member_id}")
            existing = session.scalar(select(MatchMeeting).where(
                MatchMeeting.member_key == keys[0], MatchMeeting.partner_key == keys[1],
                MatchMeeting.state.in_(OPEN)))
            if existing is not None:
                if existing.state == "interested" and state == "requested":
                    return self._move(session, existing, "request", by, note)
                raise Conflict(f"{keys[0]} has an open intent towards {keys[1]} already (meeting {existing.id}, "
                               f"{existing.state})")
            open_count = session.scalar(select(func.count()).select_from(MatchMeeting).where(
                MatchMeeting.member_key == keys[0], MatchMeeting.state.in_(OPEN))) or 0
            if open_count >= self.max_open_per_member:
                raise Conflict(f"{keys[0]} has {open_count} open intents: at most "
                               f"matching.max_open_meetings_per_member ({self.max_open_per_member})")
            score = session.scalar(select(MatchSuggestion.score).where(
                MatchSuggestion.member_key == keys[0], MatchSuggestion.partner_key == keys[1]))
            now = _now()
            meeting = MatchMeeting(member_key=keys[0], partner_key=keys[1], member_node_id=member.node_id,
                                   partner_node_id=partner.node_id, member_country=member_country,
                                   partner_country=partner_country, public=member_public and partner_public,
                                   state=state, score=score, note=note, created_at=now, updated_at=now,
                                   requested_at=now if state == "requested" else None,
                                   history=[{"state": state, "at": now.isoformat(), "by": by}])
            session.add(meeting)
            session.flush()
            audit.record(session, f"match.{state}", by, member.node_id, meeting_id=meeting.id, member=keys[0],
                         partner=keys[1])
            return meeting_dict(meeting)

    def act(self, meeting_id: int, action: str, by: str, acting_node: str | None = None,
            note: str | None = None) -> dict:
        """Move meeting ``meeting_id`` on by ``action`` (request, accept, decline, held, cancel); ``acting_node``,
        when a node acts, must be on the side the action belongs to."""
        if action not in TRANSITIONS:
            raise ValidationError(f"action must be one of {', '.join(ACTIONS)}", {"action": [action]})
        note = self._note(note)
        with self.db.session() as session:
            lock_rows(session, MatchMeeting, MatchMeeting.id == meeting_id)
            meeting = session.get(MatchMeeting, meeting_id)
            if meeting is None:
                raise NotFound(f"no meeting {meeting_id}")
            if acting_node is not None:
                self.check_side(meeting_dict(meeting), action, acting_node)
            return self._move(session, meeting, action, by, note)

    @staticmethod
    def check_side(meeting: dict, action: str, node_id: str) -> None:
        """Refuse a node that is not on the side ``action`` belongs to (Forbidden, with who may)."""
        side = TRANSITIONS[action][2] if action in TRANSITIONS else "either"
        allowed = {"member": {meeting["member_node_id"]}, "partner": {meeting["partner_node_id"]},
                   "either": {meeting["member_node_id"], meeting["partner_node_id"]}}[side]
        if node_id not in allowed:
            who = {"member": "the requesting member's node", "partner": "the partner's node",
                   "either": "the nodes of its two members"}[side]
            raise Forbidden(f"node {node_id!r} may not {action} meeting {meeting['id']}: only {who} may")

    @staticmethod
    def _move(session, meeting: MatchMeeting, action: str, by: str, note: str | None) -> dict:
        sources, target, _side = TRANSITIONS[action]
        if meeting.state not in sources:
            raise Conflict(f"meeting {meeting.id} is {meeting.state}: it cannot be {target} (only from "
                           f"{' or '.join(sources)})")
        now = _now()
        meeting.state = target
        meeting.updated_at = now
        if target == "requested":
            meeting.requested_at = now
        elif target == "accepted":
            meeting.accepted_at = now
        elif target == "held":
            meeting.held_at = now
        if note:
            meeting.note = note
        meeting.history = [*meeting.history, {"state": target, "at": now.isoformat(), "by": by}]
        audit.record(session, f"match.{target}", by, meeting.member_node_id, meeting_id=meeting.id,
                     member=meeting.member_key, partner=meeting.partner_key)
        session.flush()
        return meeting_dict(meeting)

    def get(self, meeting_id: int) -> dict:
        with self.db.session() as session:
            meeting = session.get(MatchMeeting, meeting_id)
            if meeting is None:
                raise NotFound(f"no meeting {meeting_id}")
            return meeting_dict(meeting)

    def page(self, node_id: str | None, state: str | None, offset: int, limit: int) -> tuple[int, list[dict]]:
        """Meetings, newest first: of one node (either side) when given."""
        if state is not None and state not in MEETING_STATES:
            raise ValidationError(f"state must be one of {', '.join(MEETING_STATES)}", {"state": [state]})
        query = select(MatchMeeting)
        if node_id is not None:
            query = query.where((MatchMeeting.member_node_id == node_id) | (MatchMeeting.partner_node_id == node_id))
        if state is not None:
            query = query.where(MatchMeeting.state == state)
        with self.db.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(MatchMeeting.id.desc()).offset(offset).limit(limit))
            return total, [meeting_dict(m) for m in rows]

    def stats(self, federation: bool) -> dict:
        """Meetings initiated (requested), accepted and held, in all and per country pair (the requesting member's
        country first). An anonymous reader's counts leave out intents that involved a federation-only member, then
        or now (:func:`public_now`)."""
        def count(column):
            return func.sum(case((column.is_not(None), 1), else_=0))

        query = select(MatchMeeting.member_country, MatchMeeting.partner_country, func.count(),
                       count(MatchMeeting.requested_at), count(MatchMeeting.accepted_at), count(MatchMeeting.held_at),
                       func.sum(case((MatchMeeting.state == "declined", 1), else_=0)),
                       func.sum(case((MatchMeeting.state == "cancelled", 1), else_=0))
                       ).group_by(MatchMeeting.member_country, MatchMeeting.partner_country)
        if not federation:
            query = query.where(public_now())
        with self.db.session() as session:
            rows = session.execute(query.order_by(MatchMeeting.member_country, MatchMeeting.partner_country)).all()
        names = ("intents", "initiated", "accepted", "held", "declined", "cancelled")
        pairs = [{"from": a, "to": b, **{n: int(v or 0) for n, v in zip(names, values, strict=True)}}
                 for a, b, *values in rows]
        return {**{n: sum(p[n] for p in pairs) for n in names}, "pairs": pairs}

    def partner_countries_met(self, node_ids, federation: bool) -> dict[str, set[str]]:
        """Per node id, the countries of the partners its members met (meetings ``held``, either side), as one
        reader may see them (an anonymous reader's: meetings between public members only). The benchmark's
        ``PartnerCountries`` (federation/hub/benchmarks.py)."""
        wanted = set(node_ids)
        if not wanted:
            return {}
        query = select(MatchMeeting.member_node_id, MatchMeeting.member_country, MatchMeeting.partner_node_id,
                       MatchMeeting.partner_country).where(
            MatchMeeting.state == "held",
            MatchMeeting.member_node_id.in_(wanted) | MatchMeeting.partner_node_id.in_(wanted))
        if not federation:
            query = query.where(public_now())
        met: dict[str, set[str]] = {}
        with self.db.session() as session:
            for member_node, member_country, partner_node, partner_country in session.execute(query):
                if member_node in wanted:
                    met.setdefault(member_node, set()).add(partner_country)
                if partner_node in wanted:
                    met.setdefault(partner_node, set()).add(member_country)
        return met


def public_now():
    """The meetings an anonymous reader may count: both members public when the intent was recorded and still
    public in the hub's current view (a member made federation-only, or gone, since then is left out too)."""
    def shown(node_column, key_column):
        return exists().where(MemberView.node_id == node_column, MemberView.audience == "public",
                              MemberView.node_id + "/" + MemberView.member_id == key_column)

    return and_(MatchMeeting.public.is_(True), shown(MatchMeeting.member_node_id, MatchMeeting.member_key),
                shown(MatchMeeting.partner_node_id, MatchMeeting.partner_key))


def _member(session, key: str, field: str) -> tuple[MemberView, str, bool]:
    """The member ``NODE/ID`` of a taking-part cluster node, its country and whether it is public."""
    node_ref, _, member_id = key.partition("/")
    found = session.execute(
        select(MemberView, ClusterView.country).join(ClusterView, ClusterView.node_id == MemberView.node_id)
        .join(NodeRecord, NodeRecord.id == MemberView.node_id)
        .where(NodeRecord.status.in_(FORMING), MemberView.member_id == member_id,
               (MemberView.node_id == node_ref) | (ClusterView.cluster_id == node_ref))).first()
    if not member_id or found is None:
        raise NotFound(f"no member {key!r} at the hub (a member is NODE/ID)", {field: [key]})
    row, country = found
    return row, country, row.audience == "public"


def meeting_dict(m: MatchMeeting) -> dict:
    return {"id": m.id, "member": m.member_key, "partner": m.partner_key, "member_node_id": m.member_node_id,
            "partner_node_id": m.partner_node_id, "member_country": m.member_country,
            "partner_country": m.partner_country, "state": m.state, "score": m.score, "note": m.note,
            "created_at": m.created_at, "requested_at": m.requested_at, "accepted_at": m.accepted_at,
            "held_at": m.held_at, "updated_at": m.updated_at, "history": list(m.history or [])}
