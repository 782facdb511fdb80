"""Pilots at the hub: a formed meta-cluster the hub team takes forward with a coordinating cluster.

A pilot is created from a formed meta-cluster (``proposed``), becomes ``active`` and then ``closed``; no other
transition exists. The operator invites the meta-cluster's clusters, which answer for themselves (the API checks
who is asking: the cluster's own ``node_operator`` token or a request signed with its key), and adds knowledge
entities serving the meta-cluster, which take part at once. The coordinating cluster takes part from the start.
Working teams, activities and outcomes are in :mod:`federation.hub.pilot_work`; the report's data is
:meth:`PilotService.report_data`.

Every decision is written to the audit log (``pilot.*``) in the transaction that makes it, with its actor. Every
write locks the pilot's row first, so two writes to one pilot (two invitations near a bound) apply one after the
other. Bounds are the ``pilots.*`` settings (:class:`PilotLimits`); a closed pilot is read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database, lock_rows
from ..errors import ConfigurationError, Conflict, NotFound, ValidationError
from .audit import record
from .models import MemberView, MetaClusterRow
from .pilot_report import build_report
from .pilot_tables import (
    MAX_NAME_COLUMN,
    PARTICIPANT_KINDS,
    PILOT_STATUSES,
    Pilot,
    PilotActivity,
    PilotOutcome,
    PilotParticipant,
    PilotTeam,
)
from .queries import full_document

#: Meta-cluster id -> its scientific-representation figures (federation.science), or None when none are known.
RepresentationOf = Callable[[str], "dict | None"]
#: Meta-cluster id -> the knowledge entities serving it, by key: {"name", "kind", "country"}.
KnowledgeOf = Callable[[str], Mapping[str, dict]]

#: The one order of a pilot's statuses: each may only become the next.
NEXT_STATUS = {"proposed": "active", "active": "closed"}
#: Participants that take part (may be in a team); any participant but a declined one may be named in an activity.
TAKING_PART = ("accepted", "taking_part")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PilotLimits:
    """The ``pilots.*`` settings: what one pilot may hold."""

    max_participants: int
    max_teams: int
    max_team_members: int
    max_team_history: int
    max_activities: int
    max_outcomes: int
    max_name_chars: int
    max_text_chars: int
    max_reasons: int

    @classmethod
    def from_settings(cls, settings) -> PilotLimits:
        # One read per setting, spelled out: tests/test_settings_defaults.py finds the reads in the source.
        limits = cls(max_participants=int(settings.get("pilots.max_participants")),
                     max_teams=int(settings.get("pilots.max_teams")),
                     max_team_members=int(settings.get("pilots.max_team_members")),
                     max_team_history=int(settings.get("pilots.max_team_history")),
                     max_activities=int(settings.get("pilots.max_activities")),
                     max_outcomes=int(settings.get("pilots.max_outcomes")),
                     max_name_chars=int(settings.get("pilots.max_name_chars")),
                     max_text_chars=int(settings.get("pilots.max_text_chars")),
                     max_reasons=int(settings.get("pilots.max_reasons")))
        if not 0 < limits.max_name_chars <= MAX_NAME_COLUMN:
            raise ConfigurationError(f"pilots.max_name_chars is {limits.max_name_chars}: between 1 and "
                                     f"{MAX_NAME_COLUMN} (the width of the name columns)")
        return limits

    def check_text(self, errors: dict, field: str, value: str | None, *, long: bool = False) -> None:
        """Add to ``errors`` when ``value`` is longer than its setting allows (``long``: goal, notes, reasons)."""
        limit, setting = ((self.max_text_chars, "pilots.max_text_chars") if long
                          else (self.max_name_chars, "pilots.max_name_chars"))
        if value is not None and len(value) > limit:
            errors.setdefault(field, []).append(f"{len(value)} characters, over the limit of {limit} ({setting})")


def raise_errors(errors: dict, what: str) -> None:
    if errors:
        summary = "; ".join(f"{field}: {', '.join(messages)}" for field, messages in errors.items())
        raise ValidationError(f"{what}: {summary}", errors)


def knowledge_members_of(db: Database) -> KnowledgeOf:
    """The knowledge entities of a meta-cluster as formation placed them: the knowledge members of its clusters
    (key ``<node_id>/<member_id>``). The hub passes another function once it knows knowledge nodes and hosted
    profiles too."""

    def knowledge(metacluster_id: str) -> dict[str, dict]:
        with db.session() as session:
            row = session.get(MetaClusterRow, metacluster_id)
            if row is None:
                return {}
            return {k["id"]: {"name": k["name"], "kind": k["kind"], "country": k["country"]}
                    for k in full_document(session, row)["knowledge_members"]}

    return knowledge


def pilot_dict(pilot: Pilot) -> dict:
    return {"id": pilot.id, "name": pilot.name, "goal": pilot.goal, "metacluster_id": pilot.metacluster_id,
            "coordinator_node_id": pilot.coordinator_node_id, "status": pilot.status,
            "created_at": pilot.created_at, "activated_at": pilot.activated_at, "closed_at": pilot.closed_at,
            "created_by": pilot.created_by, "figures_at_start": pilot.figures_at_start,
            "team_constraints": pilot.team_constraints}


def participant_dict(p: PilotParticipant) -> dict:
    return {"key": p.key, "kind": p.kind, "name": p.name, "country": p.country, "status": p.status,
            "invited_at": p.invited_at, "answered_at": p.answered_at, "answered_by": p.answered_by}


def locked_pilot(session: Session, pilot_id: str, *, writable: bool = True) -> Pilot:
    """The pilot, locked until the session commits; 404 if unknown, 409 if closed and ``writable``."""
    pilot = next(iter(lock_rows(session, Pilot, Pilot.id == pilot_id)), None)
    if pilot is None:
        raise NotFound(f"no pilot {pilot_id!r}")
    if writable and pilot.status == "closed":
        raise Conflict(f"pilot {pilot_id!r} was closed on {pilot.closed_at:%Y-%m-%d}: it can no longer change",
                       {"status": ["closed"]})
    return pilot


def participants_of(session: Session, pilot_id: str) -> dict[str, PilotParticipant]:
    rows = session.scalars(select(PilotParticipant).where(PilotParticipant.pilot_id == pilot_id)
                           .order_by(PilotParticipant.kind, PilotParticipant.key))
    return {p.key: p for p in rows}


def check_participants(session: Session, pilot_id: str, keys: Iterable[str], statuses: tuple[str, ...],
                       field: str) -> None:
    """409 unless every key is a participant of the pilot in one of ``statuses``."""
    known = participants_of(session, pilot_id)
    wrong = sorted(key for key in set(keys) if key not in known or known[key].status not in statuses)
    if wrong:
        described = [f"{key} ({known[key].status})" if key in known else f"{key} (not a participant)"
                     for key in wrong]
        raise Conflict(f"{field}: only participants that are {' or '.join(statuses)} may be named; not "
                       f"{', '.join(described)}", {field: described})


class PilotService:
    """Pilots and their participants.

    :param representation_of: the meta-cluster's scientific-representation figures (kept at creation as
        ``figures_at_start``, read again for the report's "now"); given by the hub app.
    :param knowledge_of: the knowledge entities serving a meta-cluster (those the operator may add);
        :func:`knowledge_members_of` by default.
    """

    def __init__(self, db: Database, limits: PilotLimits, representation_of: RepresentationOf,
                 knowledge_of: KnowledgeOf | None = None, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.limits = limits
        self.representation_of = representation_of
        self.knowledge_of = knowledge_of or knowledge_members_of(db)
        self.clock = clock

    # ----------------------------------------------------------------------------------------------- pilots

    def create(self, pilot_id: str, name: str, goal: str, metacluster_id: str, coordinator: str, actor: str,
               team_constraints: dict | None = None) -> dict:
        """A proposed pilot of a formed meta-cluster (by id or value chain), coordinated by one of its clusters
        (by hub node id or cluster id). 404: no such meta-cluster; 409: not formed, the coordinator is none of its
        clusters, or the id is taken."""
        errors: dict = {}
        self.limits.check_text(errors, "name", name)
        self.limits.check_text(errors, "goal", goal, long=True)
        raise_errors(errors, "invalid pilot")
        with self.db.session() as session:
            row = session.get(MetaClusterRow, metacluster_id) or session.scalar(
                select(MetaClusterRow).where(MetaClusterRow.value_chain == metacluster_id))
            if row is None:
                raise NotFound(f"no meta-cluster {metacluster_id!r} (see /api/v1/metaclusters?formed=all)")
            if not row.formed:
                raise Conflict(f"meta-cluster {row.id} is not formed: a pilot starts from a formed meta-cluster",
                               {"metacluster_id": ["not formed"]})
            entry = _cluster_entry(row, coordinator)
            if entry is None:
                raise Conflict(f"the coordinator must be a cluster of {row.id} ({_cluster_list(row)}); "
                               f"{coordinator!r} is not", {"coordinator": ["not a cluster of the meta-cluster"]})
            metacluster = row.id
        # Outside the transaction: the figures are read by the hub's own code, which may open its own session.
        figures = self.representation_of(metacluster)
        with self.db.session() as session:
            if session.get(Pilot, pilot_id) is not None:
                raise Conflict(f"a pilot {pilot_id!r} exists already", {"id": ["taken"]})
            now = self.clock()
            pilot = Pilot(id=pilot_id, name=name, goal=goal, metacluster_id=metacluster,
                          coordinator_node_id=entry["node_id"], status="proposed", created_at=now, created_by=actor,
                          figures_at_start=figures, team_constraints=team_constraints or {})
            session.add(pilot)
            session.add(PilotParticipant(pilot_id=pilot_id, key=entry["node_id"], kind="cluster",
                                         name=entry["name"][:MAX_NAME_COLUMN], country=entry["country"],
                                         status="accepted", invited_at=now, answered_at=now, answered_by=actor))
            record(session, "pilot.created", actor, entry["node_id"], pilot_id=pilot_id, metacluster_id=metacluster,
                   coordinator=entry["node_id"], name=name)
            try:
                session.flush()
            except IntegrityError:  # the same id created at the same moment by another request
                raise Conflict(f"a pilot {pilot_id!r} exists already", {"id": ["taken"]}) from None
            return {**pilot_dict(pilot), "participants": [participant_dict(p) for p in
                                                          participants_of(session, pilot_id).values()]}

    def page(self, offset: int, limit: int) -> tuple[int, list[dict]]:
        """``(total, a window of pilots)``, newest first."""
        with self.db.session() as session:
            total = session.scalar(select(func.count()).select_from(Pilot)) or 0
            rows = session.scalars(select(Pilot).order_by(Pilot.created_at.desc(), Pilot.id)
                                   .offset(min(offset, total)).limit(limit))
            return total, [pilot_dict(p) for p in rows]

    def get(self, pilot_id: str) -> dict:
        """The pilot with its participants and how many teams, activities and outcomes it has."""
        with self.db.session() as session:
            pilot = session.get(Pilot, pilot_id)
            if pilot is None:
                raise NotFound(f"no pilot {pilot_id!r}")
            counts = {name: session.scalar(select(func.count()).select_from(model)
                                           .where(model.pilot_id == pilot_id)) or 0
                      for name, model in (("teams", PilotTeam), ("activities", PilotActivity),
                                          ("outcomes", PilotOutcome))}
            return {**pilot_dict(pilot), "participants": [participant_dict(p) for p in
                                                          participants_of(session, pilot_id).values()],
                    "counts": counts}

    def set_status(self, pilot_id: str, status: str, actor: str) -> dict:
        """proposed -> active -> closed, each with its date; 409 for any other change."""
        if status not in PILOT_STATUSES:
            raise ValidationError(f"status {status!r}: one of {', '.join(PILOT_STATUSES)}", {"status": ["unknown"]})
        with self.db.session() as session:
            pilot = locked_pilot(session, pilot_id, writable=False)
            if NEXT_STATUS.get(pilot.status) != status:
                expected = NEXT_STATUS.get(pilot.status)
                raise Conflict(f"pilot {pilot_id!r} is {pilot.status}: "
                               + (f"it can only become {expected}" if expected else "it can no longer change"),
                               {"status": [f"{pilot.status} -> {status} is not a transition"]})
            before, pilot.status = pilot.status, status
            now = self.clock()
            if status == "active":
                pilot.activated_at = now
            else:
                pilot.closed_at = now
            record(session, "pilot.status", actor, None, pilot_id=pilot_id, before=before, after=status)
            return pilot_dict(pilot)

    # ----------------------------------------------------------------------------------------------- participants

    def participants(self, pilot_id: str) -> list[dict]:
        with self.db.session() as session:
            if session.get(Pilot, pilot_id) is None:
                raise NotFound(f"no pilot {pilot_id!r}")
            return [participant_dict(p) for p in participants_of(session, pilot_id).values()]

    def invite(self, pilot_id: str, kind: str, keys: list[str], actor: str) -> list[dict]:
        """Invite clusters of the pilot's meta-cluster (``invited``, until they answer), or add knowledge entities
        serving it (``taking_part``). All or none: 409 for a key that is not the meta-cluster's, a participant
        already (a cluster that declined may be invited again), or past ``pilots.max_participants``."""
        if kind not in PARTICIPANT_KINDS:
            raise ValidationError(f"kind {kind!r}: one of {', '.join(PARTICIPANT_KINDS)}", {"kind": ["unknown"]})
        if not keys or len(set(keys)) != len(keys):
            raise ValidationError("give each key once, at least one", {"keys": ["empty, or a key given twice"]})
        # The knowledge function may open its own session: called before ours.
        knowledge = dict(self.knowledge_of(self._metacluster_of(pilot_id))) if kind == "knowledge" else {}
        with self.db.session() as session:
            pilot = locked_pilot(session, pilot_id)
            if kind == "cluster":
                candidates, keys = _clusters_named(session, pilot.metacluster_id, keys)
                if len(set(keys)) != len(keys):
                    raise ValidationError("a cluster is named twice (by node id and cluster id)",
                                          {"keys": ["a cluster named twice"]})
            else:
                candidates = knowledge
            unknown = [key for key in keys if key not in candidates]
            if unknown:
                what = "clusters" if kind == "cluster" else "knowledge entities"
                raise Conflict(f"not {what} of meta-cluster {pilot.metacluster_id}: {', '.join(unknown)}",
                               {"keys": {key: [f"not one of the meta-cluster's {what}"] for key in unknown}})
            known = participants_of(session, pilot_id)
            taken = [key for key in keys if key in known and known[key].status != "declined"]
            if taken:
                raise Conflict(f"participants already: {', '.join(f'{k} ({known[k].status})' for k in taken)}",
                               {"keys": {key: [f"already {known[key].status}"] for key in taken}})
            new = [key for key in keys if key not in known]
            if len(known) + len(new) > self.limits.max_participants:
                raise Conflict(f"pilot {pilot_id!r} would have {len(known) + len(new)} participants, over the "
                               f"limit of {self.limits.max_participants} (pilots.max_participants)")
            now = self.clock()
            status = "invited" if kind == "cluster" else "taking_part"
            out = []
            for key in keys:
                entry = candidates[key]
                participant = known.get(key) or PilotParticipant(pilot_id=pilot_id, key=key, kind=kind)
                participant.name, participant.country = entry["name"][:MAX_NAME_COLUMN], entry.get("country")
                participant.status, participant.invited_at = status, now
                participant.answered_at = participant.answered_by = None
                session.add(participant)
                record(session, "pilot.invited", actor, key if kind == "cluster" else None, pilot_id=pilot_id,
                       kind=kind, key=key, status=status, again=key in known)
                out.append(participant)
            session.flush()
            return [participant_dict(p) for p in out]

    def _metacluster_of(self, pilot_id: str) -> str:
        with self.db.session() as session:
            pilot = session.get(Pilot, pilot_id)
            if pilot is None:
                raise NotFound(f"no pilot {pilot_id!r}")
            return pilot.metacluster_id

    def answer(self, pilot_id: str, node_id: str, answer: str, actor: str) -> dict:
        """An invited cluster accepts or declines. The caller has established that ``actor`` speaks for
        ``node_id`` (the API: a token bound to it or its signature). 404 if it was not invited; 409 if it answered
        already or the pilot is closed."""
        if answer not in ("accept", "decline"):
            raise ValidationError(f"answer {answer!r}: accept or decline", {"answer": ["accept or decline"]})
        with self.db.session() as session:
            locked_pilot(session, pilot_id)
            participant = session.get(PilotParticipant, (pilot_id, node_id))
            if participant is None or participant.kind != "cluster":
                raise NotFound(f"cluster {node_id!r} is not invited to pilot {pilot_id!r}")
            if participant.status != "invited":
                raise Conflict(f"cluster {node_id!r} has answered already: {participant.status}"
                               + (f" on {participant.answered_at:%Y-%m-%d}" if participant.answered_at else ""),
                               {"answer": [f"already {participant.status}"]})
            participant.status = "accepted" if answer == "accept" else "declined"
            participant.answered_at, participant.answered_by = self.clock(), actor
            record(session, f"pilot.{participant.status}", actor, node_id, pilot_id=pilot_id)
            return participant_dict(participant)

    # ----------------------------------------------------------------------------------------------- report

    def report_data(self, pilot_id: str) -> dict:
        """The report dict of federation.pilots.report (its module docstring documents the shape), from the tables;
        the representation "now" is read through the same function as the figures kept at the start."""
        with self.db.session() as session:
            pilot = session.get(Pilot, pilot_id)
            if pilot is None:
                raise NotFound(f"no pilot {pilot_id!r}")
            participants = list(participants_of(session, pilot_id).values())
            teams = list(session.scalars(select(PilotTeam).where(PilotTeam.pilot_id == pilot_id)
                                         .order_by(PilotTeam.name)))
            activities = list(session.scalars(select(PilotActivity).where(PilotActivity.pilot_id == pilot_id)
                                              .order_by(PilotActivity.date, PilotActivity.id)))
            outcomes = list(session.scalars(select(PilotOutcome).where(PilotOutcome.pilot_id == pilot_id)
                                            .order_by(PilotOutcome.date, PilotOutcome.id)))
            row = session.get(MetaClusterRow, pilot.metacluster_id)
            document = dict(row.document) if row is not None else None
            members = _team_members(session, participants, teams)
        return build_report(pilot, document, participants, teams, activities, outcomes,
                            now=self.representation_of(pilot.metacluster_id), generated_at=self.clock(),
                            members=members)


def _team_members(session: Session, participants: Sequence[PilotParticipant],
                  teams: Sequence[PilotTeam]) -> dict[str, dict]:
    """``{key: {"name", "country"}}`` of the team members that are members of a participating cluster (keys
    ``<node_id>/<member_id>``), as the hub holds them; the country is their cluster's."""
    clusters = {p.key: p for p in participants if p.kind == "cluster"}
    known = {p.key for p in participants}
    wanted: dict[str, set[str]] = {}
    for team in teams:
        for key in team.members:
            node_id, _, member_id = key.partition("/")
            if key not in known and member_id and node_id in clusters:
                wanted.setdefault(node_id, set()).add(member_id)
    return {f"{node_id}/{member_id}": {"name": name, "country": clusters[node_id].country}
            for node_id, ids in wanted.items() for member_id, name in session.execute(
                select(MemberView.member_id, MemberView.name)
                .where(MemberView.node_id == node_id, MemberView.member_id.in_(sorted(ids))))}


def _clusters_named(session: Session, metacluster_id: str, keys: list[str]) -> tuple[dict[str, dict], list[str]]:
    """The meta-cluster's entries of the clusters ``keys`` name (by node id), and the keys as node ids (a cluster id
    becomes its node's id; a key naming none of its clusters stays as it is)."""
    row = session.get(MetaClusterRow, metacluster_id)
    entries = {key: entry for key in keys if row is not None and (entry := _cluster_entry(row, key)) is not None}
    return {e["node_id"]: e for e in entries.values()}, [entries[k]["node_id"] if k in entries else k for k in keys]


def _cluster_entry(row: MetaClusterRow, key: str) -> dict | None:
    """The meta-cluster's entry of an admitted cluster, by hub node id or cluster id."""
    return next((c for c in row.document.get("clusters", ()) if key in (c["node_id"], c["id"])), None)


def _cluster_list(row: MetaClusterRow) -> str:
    return ", ".join(f"{c['node_id']} ({c['name']}, {c['country']})" for c in row.document.get("clusters", ()))
