"""A pilot's work: working teams (saved, listed, edited with a history), activities and outcomes.

Teams come from the team-formation hook (``medmci_form_teams``) or from the operator; either way they are saved
here, and every member must be a participant taking part (an accepted cluster, a knowledge entity) or, for teams
proposed at the members level, a member of an accepted cluster that the hub holds. An edit adds,
removes or renames, and keeps who changed what, when, before and after (the last ``pilots.max_team_history``
edits; the audit log keeps every one). Activities and outcomes name participants of the pilot that have not
declined. All or none, bounded by the ``pilots.*`` settings, audited with the actor; a closed pilot is read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import Database
from ..errors import Conflict, NotFound, ValidationError
from .audit import record
from .models import MemberView
from .pilot_tables import ACTIVITY_KINDS, OUTCOME_KINDS, Pilot, PilotActivity, PilotOutcome, PilotTeam
from .pilots import (
    TAKING_PART,
    PilotLimits,
    check_participants,
    locked_pilot,
    participants_of,
    raise_errors,
    utcnow,
)

#: Participants an activity or outcome may name: any but one that declined.
NAMED = ("invited", "accepted", "taking_part")


def team_dict(team: PilotTeam) -> dict:
    return {"name": team.name, "members": list(team.members), "score": team.score, "reasons": list(team.reasons),
            "created_by": team.created_by, "created_at": team.created_at, "edited_at": team.edited_at,
            "history": list(team.history)}


def entry_dict(row: PilotActivity | PilotOutcome) -> dict:
    out = {"id": row.id, "date": row.date, "kind": row.kind, "title": row.title,
           "participants": list(row.participants), "created_by": row.created_by, "created_at": row.created_at}
    if isinstance(row, PilotActivity):
        out["notes"] = row.notes
    else:
        out["link"] = row.link
    return out


class PilotWork:
    """Teams, activities and outcomes of the pilots (:class:`~federation.hub.pilots.PilotService` owns the pilots
    and their participants)."""

    def __init__(self, db: Database, limits: PilotLimits, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.limits = limits
        self.clock = clock

    # ----------------------------------------------------------------------------------------------- teams

    def teams(self, pilot_id: str) -> list[dict]:
        with self.db.session() as session:
            _exists(session, pilot_id)
            return [team_dict(t) for t in session.scalars(select(PilotTeam).where(PilotTeam.pilot_id == pilot_id)
                                                          .order_by(PilotTeam.name))]

    def save_teams(self, pilot_id: str, teams: list[dict], actor: str, proposal: dict | None = None) -> list[dict]:
        """Store teams (``{"name", "members", "score", "reasons"}`` each), all or none: 409 for a name taken, a
        member that does not take part, past ``pilots.max_teams``; 422 for a name or reason too long.

        ``proposal`` (``{"level", "constraints"}``): the teams come from a team proposal
        (federation/hub/pilot_teams.py); its constraints become the pilot's ``team_constraints`` in the same
        transaction, and each ``team.saved`` event says so."""
        errors: dict = {}
        for index, team in enumerate(teams):
            self._check_team(errors, f"teams.{index}", team["name"], team["members"])
            reasons = team.get("reasons") or []
            if len(reasons) > self.limits.max_reasons:
                errors.setdefault(f"teams.{index}.reasons", []).append(
                    f"{len(reasons)} reasons, over the limit of {self.limits.max_reasons} (pilots.max_reasons)")
            for reason in reasons:
                self.limits.check_text(errors, f"teams.{index}.reasons", reason, long=True)
        names = [team["name"] for team in teams]
        if len(set(names)) != len(names):
            errors.setdefault("teams", []).append("two teams have the same name")
        raise_errors(errors, "invalid teams")
        with self.db.session() as session:
            pilot = locked_pilot(session, pilot_id)
            existing = {t.name for t in session.scalars(select(PilotTeam).where(PilotTeam.pilot_id == pilot_id))}
            taken = sorted(set(names) & existing)
            if taken:
                raise Conflict(f"pilot {pilot_id!r} has teams named {', '.join(taken)} already (edit them instead)",
                               {"teams": {name: ["taken"] for name in taken}})
            if len(existing) + len(teams) > self.limits.max_teams:
                raise Conflict(f"pilot {pilot_id!r} would have {len(existing) + len(teams)} teams, over the limit "
                               f"of {self.limits.max_teams} (pilots.max_teams)")
            check_team_members(session, pilot_id, {k for team in teams for k in team["members"]}, "members")
            if proposal is not None:
                pilot.team_constraints = dict(proposal["constraints"])
            now = self.clock()
            rows = []
            for team in teams:
                row = PilotTeam(pilot_id=pilot_id, name=team["name"], members=list(team["members"]),
                                score=team.get("score"), reasons=list(team.get("reasons") or []), created_by=actor,
                                created_at=now, edited_at=None, history=[])
                session.add(row)
                record(session, "team.saved", actor, None, pilot_id=pilot_id, team=row.name, members=row.members,
                       score=row.score, reasons=row.reasons,
                       **({"proposal": proposal} if proposal is not None else {}))
                rows.append(row)
            session.flush()
            return [team_dict(row) for row in rows]

    def edit_team(self, pilot_id: str, name: str, actor: str, add: list[str] | None = None,
                  remove: list[str] | None = None, rename: str | None = None) -> dict:
        """Add and remove members, or rename the team; the edit goes to its history and the audit log. 404: no
        such team; 409: a member added that does not take part or is in already, one removed that is not in, a
        team left empty, a name taken; 422: nothing to change."""
        add, remove = list(add or []), list(remove or [])
        if not (add or remove or rename):
            raise ValidationError("nothing to change: give add, remove or rename", {"_schema": ["nothing to change"]})
        errors: dict = {}
        if rename is not None:
            self.limits.check_text(errors, "rename", rename)
        raise_errors(errors, "invalid edit")
        with self.db.session() as session:
            locked_pilot(session, pilot_id)
            team = session.scalar(select(PilotTeam).where(PilotTeam.pilot_id == pilot_id, PilotTeam.name == name))
            if team is None:
                raise NotFound(f"pilot {pilot_id!r} has no team {name!r}")
            if rename == team.name:
                rename = None  # its name already
            if not (add or remove or rename):
                raise ValidationError(f"nothing to change: team {name!r} has that name already",
                                      {"rename": ["the team's name already"]})
            members = list(team.members)
            problems = {**{k: ["a member already"] for k in add if k in members},
                        **{k: ["not a member"] for k in remove if k not in members}}
            if problems:
                raise Conflict(f"team {name!r}: " + "; ".join(f"{k}: {m[0]}" for k, m in problems.items()),
                               {"members": problems})
            check_team_members(session, pilot_id, add, "add")
            after = [k for k in members if k not in remove] + list(dict.fromkeys(add))
            if not after:
                raise Conflict(f"team {name!r} would have no member left", {"remove": ["every member"]})
            if len(after) > self.limits.max_team_members:
                raise Conflict(f"team {name!r} would have {len(after)} members, over the limit of "
                               f"{self.limits.max_team_members} (pilots.max_team_members)")
            if rename is not None and rename != name and session.scalar(
                    select(PilotTeam.id).where(PilotTeam.pilot_id == pilot_id, PilotTeam.name == rename)):
                raise Conflict(f"pilot {pilot_id!r} has a team {rename!r} already", {"rename": ["taken"]})
            now = self.clock()
            change = {"by": actor, "at": now.isoformat(), "before": {"name": team.name, "members": members},
                      "after": {"name": rename or team.name, "members": after}}
            team.name, team.members, team.edited_at = rename or team.name, after, now
            team.history = [*team.history, change][-self.limits.max_team_history:]
            record(session, "team.edited", actor, None, pilot_id=pilot_id, team=team.name,
                   before=change["before"], after=change["after"])
            return team_dict(team)

    def _check_team(self, errors: dict, where: str, name: str, members: list[str]) -> None:
        self.limits.check_text(errors, f"{where}.name", name)
        if not members:
            errors.setdefault(f"{where}.members", []).append("a team needs at least one member")
        if len(set(members)) != len(members):
            errors.setdefault(f"{where}.members", []).append("a member is given twice")
        if len(members) > self.limits.max_team_members:
            errors.setdefault(f"{where}.members", []).append(
                f"{len(members)} members, over the limit of {self.limits.max_team_members} (pilots.max_team_members)")

    # ----------------------------------------------------------------------------------------------- activities

    def activities(self, pilot_id: str) -> list[dict]:
        return self._entries(PilotActivity, pilot_id)

    def outcomes(self, pilot_id: str) -> list[dict]:
        return self._entries(PilotOutcome, pilot_id)

    def add_activity(self, pilot_id: str, day: date, kind: str, title: str, participants: list[str], actor: str,
                     notes: str | None = None) -> dict:
        """An activity (meeting, training, benchmarking visit, market mission, other) of named participants."""
        errors: dict = {}
        self.limits.check_text(errors, "notes", notes, long=True)
        return self._add(PilotActivity, "activity.added", ACTIVITY_KINDS, self.limits.max_activities,
                         "pilots.max_activities", errors, pilot_id, actor, date=day, kind=kind, title=title,
                         participants=participants, notes=notes)

    def add_outcome(self, pilot_id: str, day: date, kind: str, title: str, participants: list[str], actor: str,
                    link: str | None = None) -> dict:
        """An outcome (MoU, joint project, funding application, new member, other) of named participants."""
        return self._add(PilotOutcome, "outcome.added", OUTCOME_KINDS, self.limits.max_outcomes,
                         "pilots.max_outcomes", {}, pilot_id, actor, date=day, kind=kind, title=title,
                         participants=participants, link=link)

    def _add(self, model, action: str, kinds: tuple[str, ...], limit: int, setting: str, errors: dict,
             pilot_id: str, actor: str, **values) -> dict:
        if values["kind"] not in kinds:
            errors.setdefault("kind", []).append(f"one of {', '.join(kinds)}")
        self.limits.check_text(errors, "title", values["title"])
        if len(set(values["participants"])) != len(values["participants"]):
            errors.setdefault("participants", []).append("a participant is given twice")
        raise_errors(errors, f"invalid {action.split('.', maxsplit=1)[0]}")
        with self.db.session() as session:
            locked_pilot(session, pilot_id)
            count = session.scalar(select(func.count()).select_from(model).where(model.pilot_id == pilot_id)) or 0
            if count + 1 > limit:
                raise Conflict(f"pilot {pilot_id!r} has {count} already, the limit ({setting})")
            check_participants(session, pilot_id, values["participants"], NAMED, "participants")
            row = model(pilot_id=pilot_id, created_by=actor, created_at=self.clock(), **values)
            session.add(row)
            session.flush()
            record(session, action, actor, None, pilot_id=pilot_id, id=row.id, kind=row.kind, title=row.title,
                   date=row.date.isoformat(), participants=row.participants)
            return entry_dict(row)

    def _entries(self, model, pilot_id: str) -> list[dict]:
        with self.db.session() as session:
            _exists(session, pilot_id)
            return [entry_dict(row) for row in session.scalars(select(model).where(model.pilot_id == pilot_id)
                                                               .order_by(model.date, model.id))]


def check_team_members(session: Session, pilot_id: str, keys: Iterable[str], field: str) -> None:
    """409 unless every key may be in a team: a participant that takes part, or a member
    (``<node_id>/<member_id>``, teams proposed at the members level) that the hub holds of a cluster taking part."""
    known = participants_of(session, pilot_id)
    wanted: dict[str, set[str]] = {}
    for key in set(keys) - set(known):
        node_id, _, member_id = key.partition("/")
        cluster = known.get(node_id)
        if member_id and cluster is not None and cluster.kind == "cluster" and cluster.status in TAKING_PART:
            wanted.setdefault(node_id, set()).add(member_id)
    held = {f"{node_id}/{member_id}" for node_id, ids in wanted.items() for member_id in session.scalars(
        select(MemberView.member_id).where(MemberView.node_id == node_id, MemberView.member_id.in_(sorted(ids))))}
    check_participants(session, pilot_id, set(keys) - held, TAKING_PART, field)


def _exists(session: Session, pilot_id: str) -> None:
    if session.get(Pilot, pilot_id) is None:
        raise NotFound(f"no pilot {pilot_id!r}")
