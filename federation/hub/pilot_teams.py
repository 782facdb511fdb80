"""Team proposals for a pilot: its participants as the team-formation hook sees them, from the hub's data.

:meth:`PilotTeams.propose` builds one :class:`~federation.pilots.teams.Participant` per participant and calls
:func:`~federation.pilots.teams.propose_teams` (the plugins, the constraints' checks, the scores and the reasons).
Two levels:

- ``clusters``: the pilot's accepted clusters and its knowledge participants;
- ``members``: the active chain members of the accepted clusters in the meta-cluster, plus the knowledge
  participants (at most ``pilots.teams.max_participants`` in all, checked before any member row is read).

What a participant brings: its country and region (federation/pilots/regions.py); its topics (the cluster's
cooperation priority topics and other topics, compared case-insensitively; a member has its cluster's); its offers
and needs as pivot codes (the cluster's cooperation opportunities, or, without a cooperation profile, those of its
members at the hub; a member's own offer and need codes; a knowledge member's own codes), each normalised with the
registry's taxonomies so an ISIC code and a NACE code of the same activity meet. Codes are labelled from the pivot
taxonomy so reasons read "10.41 Manufacture of oils and fats".

The constraints are the request's, over the pilot's ``team_constraints``, over the ``pilots.teams.defaults``
settings. ``save`` stores the teams through :meth:`PilotWork.save_teams` (all or none, audited ``team.saved`` with
the proposal) and keeps the constraints on the pilot; without it nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, ValidationError
from ..pilots.regions import Regions, regions
from ..pilots.teams import Constraints, Participant, Team, bounded_reasons, propose_teams
from ..profile.cooperation import opportunities_of
from ..registry import Registry
from ..settings import Settings
from .models import ClusterView, MemberView, MetaClusterRow
from .pilot_tables import Pilot, PilotParticipant, PilotTeam
from .pilot_work import PilotWork
from .pilots import TAKING_PART, PilotLimits, participants_of, pilot_dict
from .queries import full_document

LEVELS = ("clusters", "members")
CONSTRAINT_KEYS = ("team_size", "min_countries", "eu_and_mena", "min_knowledge", "max_teams_per_participant")


def default_constraints(settings: Settings) -> dict:
    """The ``pilots.teams.defaults`` settings."""
    # One read per setting, spelled out: tests/test_settings_defaults.py finds the reads in the source.
    return {"team_size": list(settings.get("pilots.teams.defaults.team_size")),
            "min_countries": settings.get("pilots.teams.defaults.min_countries"),
            "eu_and_mena": settings.get("pilots.teams.defaults.eu_and_mena"),
            "min_knowledge": settings.get("pilots.teams.defaults.min_knowledge"),
            "max_teams_per_participant": settings.get("pilots.teams.defaults.max_teams_per_participant")}


class PilotTeams:
    """Team proposals (the hook ``medmci_form_teams`` through :func:`propose_teams`), saved by ``work``."""

    def __init__(self, db, registry: Registry, settings: Settings, work: PilotWork, limits: PilotLimits):
        self.db = db
        self.registry = registry
        self.settings = settings
        self.work = work
        self.limits = limits

    def propose(self, pilot_id: str, level: str, constraints: Mapping | None, save: bool, actor: str) -> dict:
        """``{"pilot_id", "level", "constraints", "participants", "teams", "saved"}``. 404: no such pilot; 409: no
        accepted cluster, the meta-cluster is gone (members level), a closed pilot (``save``), names or bounds of
        :meth:`PilotWork.save_teams`; 422: constraints no teams can meet (the reason of propose_teams), too many
        participants (``pilots.teams.max_participants``), teams larger than ``pilots.max_team_members``."""
        if level not in LEVELS:
            raise ValidationError(f"level {level!r}: one of {', '.join(LEVELS)}", {"level": ["unknown"]})
        with self.db.session() as session:
            pilot = session.get(Pilot, pilot_id)
            if pilot is None:
                raise NotFound(f"no pilot {pilot_id!r}")
            if save and pilot.status == "closed":
                raise Conflict(f"pilot {pilot_id!r} is closed: it can no longer change", {"status": ["closed"]})
            chosen = {**default_constraints(self.settings), **(pilot.team_constraints or {}), **(constraints or {})}
            chosen = {key: chosen[key] for key in CONSTRAINT_KEYS}
            if chosen["team_size"][1] > self.limits.max_team_members:
                raise ValidationError(f"team_size: teams of up to {chosen['team_size'][1]}, over the limit of "
                                      f"{self.limits.max_team_members} (pilots.max_team_members)",
                                      {"team_size": ["over pilots.max_team_members"]})
            participants = self._participants(session, pilot, level)
            taken = set(session.scalars(select(PilotTeam.name).where(PilotTeam.pilot_id == pilot_id)))
            described = pilot_dict(pilot)
        labels = self._labels(participants)
        teams = propose_teams(self.registry.pm, described, participants, Constraints(
            team_size=(chosen["team_size"][0], chosen["team_size"][1]), min_countries=chosen["min_countries"],
            eu_and_mena=chosen["eu_and_mena"], min_knowledge=chosen["min_knowledge"],
            max_teams_per_participant=chosen["max_teams_per_participant"]), self.settings, labels)
        teams = _named_apart(teams, taken)
        if save:
            saved = [{"name": t.name, "members": list(t.members), "score": t.score,
                      "reasons": bounded_reasons(t.reasons, self.limits.max_reasons)} for t in teams]
            self.work.save_teams(pilot_id, saved, actor, proposal={"level": level, "constraints": chosen})
        by_id = {p.id: p for p in participants}
        return {"pilot_id": pilot_id, "level": level, "constraints": chosen, "saved": save,
                "participants": [_participant_out(p) for p in participants],
                "teams": [{"name": t.name, "score": t.score, "reasons": list(t.reasons),
                           "members": [_participant_out(by_id[i]) for i in t.members]} for t in teams]}

    # ------------------------------------------------------------------------------------------- participants

    def _participants(self, session: Session, pilot: Pilot, level: str) -> list[Participant]:
        rows = participants_of(session, pilot.id).values()
        clusters = [p for p in rows if p.kind == "cluster" and p.status == "accepted"]
        knowledge = [p for p in rows if p.kind == "knowledge" and p.status in TAKING_PART]
        if not clusters:
            raise Conflict(f"pilot {pilot.id!r} has no accepted cluster: teams are formed of the clusters that "
                           "accepted", {"participants": ["no accepted cluster"]})
        where = regions(self.settings)
        views = {v.node_id: v for v in session.scalars(
            select(ClusterView).where(ClusterView.node_id.in_([p.key for p in clusters] + [p.key for p in knowledge])))}
        topics = {node_id: _topics(v.cooperation) for node_id, v in views.items()}
        if level == "clusters":
            out = [self._cluster(session, p, views.get(p.key), topics.get(p.key, frozenset()), where)
                   for p in clusters]
        else:
            out = self._members(session, pilot, clusters, {p.key for p in knowledge}, topics, where)
        return out + [self._knowledge(session, p, views.get(p.key), where) for p in knowledge]

    def _cluster(self, session: Session, p: PilotParticipant, view: ClusterView | None, topics: frozenset[str],
                 where: Regions) -> Participant:
        opportunities = (view.cooperation or {}).get("opportunities") if view is not None else None
        if opportunities is None:  # no cooperation profile: what its members at the hub offer and need
            opportunities = opportunities_of({"offers": offers, "needs": needs} for offers, needs in session.execute(
                select(MemberView.offers, MemberView.needs).where(MemberView.node_id == p.key)))
        return Participant(p.key, "cluster", p.name, p.country or "", where.of(p.country or ""), topics,
                           self._pivot(opportunities.get("offers") or ()),
                           self._pivot(opportunities.get("needs") or ()))

    def _members(self, session: Session, pilot: Pilot, clusters: list[PilotParticipant], knowledge: set[str],
                 topics: Mapping[str, frozenset[str]], where: Regions) -> list[Participant]:
        row = session.get(MetaClusterRow, pilot.metacluster_id)
        if row is None:
            raise Conflict(f"meta-cluster {pilot.metacluster_id} is no longer assessed: its members are unknown",
                           {"level": ["members unknown"]})
        accepted = {p.key for p in clusters}
        entries = [m for m in full_document(session, row)["members"] if m["node_id"] in accepted
                   and m.get("status", "active") == "active" and m["id"] not in knowledge]
        limit = self.settings.get("pilots.teams.max_participants")
        if len(entries) + len(knowledge) > limit:
            raise ValidationError(f"{len(entries)} members of the accepted clusters and {len(knowledge)} knowledge "
                                  f"participants: more than one proposal may hold (pilots.teams.max_participants "
                                  f"= {limit}); propose at the clusters level", {"level": ["too many members"]})
        codes = self._member_codes(session, [(m["node_id"], m["member_id"]) for m in entries])
        return [Participant(m["id"], "member", m["name"], m["country"], where.of(m["country"]),
                            topics.get(m["node_id"], frozenset()), *codes.get(m["id"], (frozenset(), frozenset())))
                for m in entries]

    def _knowledge(self, session: Session, p: PilotParticipant, view: ClusterView | None,
                   where: Regions) -> Participant:
        """A knowledge member of a cluster brings its own offer and need codes; a knowledge node its cooperation
        profile's, if it has one; a hosted profile nothing yet."""
        offers: frozenset[str] = frozenset()
        needs: frozenset[str] = frozenset()
        topics: frozenset[str] = frozenset()
        node_id, _, member_id = p.key.partition("/")
        if member_id:
            offers, needs = self._member_codes(session, [(node_id, member_id)]).get(p.key, (offers, needs))
        elif view is not None and view.cooperation:
            topics = _topics(view.cooperation)
            opportunities = view.cooperation.get("opportunities") or {}
            offers, needs = (self._pivot(opportunities.get("offers") or ()),
                             self._pivot(opportunities.get("needs") or ()))
        return Participant(p.key, "knowledge", p.name, p.country or "", where.of(p.country or ""), topics, offers,
                           needs)

    def _member_codes(self, session: Session, keys: list[tuple[str, str]]) -> dict[str, tuple[frozenset, frozenset]]:
        """``{"<node_id>/<member_id>": (offers, needs)}`` as pivot codes, from the hub's member rows."""
        by_node: dict[str, list[str]] = {}
        for node_id, member_id in keys:
            by_node.setdefault(node_id, []).append(member_id)
        out = {}
        for node_id, ids in by_node.items():
            for member_id, offers, needs in session.execute(
                    select(MemberView.member_id, MemberView.offers, MemberView.needs)
                    .where(MemberView.node_id == node_id, MemberView.member_id.in_(ids))):
                out[f"{node_id}/{member_id}"] = (
                    self._pivot(code for item in offers or () for code in item.get("codes") or ()),
                    self._pivot(code for item in needs or () for code in item.get("codes") or ()))
        return out

    def _pivot(self, codes: Iterable[Mapping]) -> frozenset[str]:
        """``[{"scheme", "code"}, ...]`` as pivot codes (a code of an unknown scheme stands for none)."""
        taxonomies = self.registry.taxonomies
        return frozenset(pivot for c in codes for pivot in taxonomies.normalise(str(c["scheme"]), str(c["code"])))

    def _labels(self, participants: list[Participant]) -> dict[str, str]:
        taxonomies = self.registry.taxonomies
        pivot = taxonomies.by_scheme[taxonomies.pivot]
        codes = {code for p in participants for code in p.offers | p.needs}
        return {code: pivot.label(code) for code in sorted(codes) if code in pivot}


def _topics(cooperation: Mapping | None) -> frozenset[str]:
    """Priority topics and other topics (free text compared case- and space-insensitively)."""
    if not cooperation:
        return frozenset()
    return frozenset([*(cooperation.get("priority_topics") or ()),
                      *(" ".join(str(t).split()).casefold() for t in cooperation.get("other_topics") or ())])


def _named_apart(teams: list[Team], taken: set[str]) -> list[Team]:
    """The teams, a name the pilot has already given a number ("Team 1 (2)"), so a proposal saves beside them."""
    out, used = [], set(taken)
    for team in teams:
        name, n = team.name, 1
        while name in used:
            n += 1
            name = f"{team.name} ({n})"
        used.add(name)
        out.append(Team(name, team.members, team.score, team.reasons))
    return out


def _participant_out(p: Participant) -> dict:
    return {"id": p.id, "kind": p.kind, "name": p.name, "country": p.country, "region": p.region,
            "topics": sorted(p.topics), "offers": sorted(p.offers), "needs": sorted(p.needs)}
