"""The data of a pilot's report, as the renderer (federation/pilots/report.py) takes it: a plain dict, built from
the pilot's rows and its meta-cluster's document. No database here: :meth:`PilotService.report_data`
(federation/hub/pilots.py) reads the rows and calls :func:`build_report`.

Shape (documented with the renderer)::

    {"generated_at", "language",
     "pilot": {"id", "name", "goal", "status", "created_at", "activated_at", "closed_at",
               "coordinator": {"node_id", "name", "country"}},
     "metacluster": {"id", "value_chain", "name", "countries", "stages": [{"id", "name"}]},
     "participants": [{"id", "kind", "name", "country", "status", "answered_at"}],
     "teams": [{"name", "members": [{"id", "name", "country", "kind"}], "score", "reasons", "edited"}],
                                              # kind "member": a member of a cluster taking part
     "activities": [{"date", "kind", "title", "participants": [names], "notes"}],
     "outcomes": [{"date", "kind", "title", "participants": [names], "link"}],
     "representation": {"start": R | None, "now": R | None}}

Times and dates are ISO text. Names are in English where a document has several (``language`` says which).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from .pilot_tables import Pilot, PilotActivity, PilotOutcome, PilotParticipant, PilotTeam

LANGUAGE = "en"


def _iso(moment: datetime | date | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _name(names: dict | None, fallback: str) -> str:
    names = names or {}
    return names.get(LANGUAGE) or next(iter(names.values()), fallback)


def build_report(pilot: Pilot, document: dict | None, participants: Sequence[PilotParticipant],
                 teams: Sequence[PilotTeam], activities: Sequence[PilotActivity], outcomes: Sequence[PilotOutcome],
                 *, now: dict | None, generated_at: datetime, members: Mapping[str, dict] | None = None) -> dict:
    """The report dict of one pilot. ``document``: its meta-cluster's stored summary (None once the chain was
    retired: the report then names the meta-cluster by id only); ``now``: the representation figures today;
    ``members``: team members that are members of a participating cluster (teams proposed at the members level),
    by key: ``{"name", "country"}`` (one the hub no longer holds is shown by its key)."""
    by_key = {p.key: p for p in participants}
    members = members or {}

    def team_member(key: str) -> dict:
        if key in by_key:
            return {"id": key, "name": by_key[key].name, "country": by_key[key].country, "kind": by_key[key].kind}
        if key in members:
            return {"id": key, "name": members[key]["name"], "country": members[key]["country"], "kind": "member"}
        return {"id": key, "name": key, "country": None, "kind": None}

    def names(keys: Sequence[str]) -> list[str]:
        return [by_key[k].name if k in by_key else k for k in keys]

    coordinator = by_key.get(pilot.coordinator_node_id)
    document = document or {}
    return {
        "generated_at": _iso(generated_at),
        "language": LANGUAGE,
        "pilot": {"id": pilot.id, "name": pilot.name, "goal": pilot.goal, "status": pilot.status,
                  "created_at": _iso(pilot.created_at), "activated_at": _iso(pilot.activated_at),
                  "closed_at": _iso(pilot.closed_at),
                  "coordinator": {"node_id": pilot.coordinator_node_id,
                                  "name": coordinator.name if coordinator else pilot.coordinator_node_id,
                                  "country": coordinator.country if coordinator else None}},
        "metacluster": {"id": pilot.metacluster_id, "value_chain": document.get("value_chain"),
                        "name": _name(document.get("value_chain_names"), pilot.metacluster_id),
                        "countries": list(document.get("countries", ())),
                        "stages": [{"id": s["id"], "name": _name(s.get("names"), s["id"])}
                                   for s in document.get("stages", ())]},
        "participants": [{"id": p.key, "kind": p.kind, "name": p.name, "country": p.country, "status": p.status,
                          "answered_at": _iso(p.answered_at)} for p in participants],
        "teams": [{"name": t.name,
                   "members": [team_member(k) for k in t.members],
                   "score": t.score, "reasons": list(t.reasons), "edited": bool(t.history)} for t in teams],
        "activities": [{"date": _iso(a.date), "kind": a.kind, "title": a.title, "participants": names(a.participants),
                        "notes": a.notes} for a in activities],
        "outcomes": [{"date": _iso(o.date), "kind": o.kind, "title": o.title, "participants": names(o.participants),
                      "link": o.link} for o in outcomes],
        "representation": {"start": pilot.figures_at_start, "now": now},
    }
