"""The demo's step 1 and pilot (federation.demo_story), as text: whom the hub invited and why, and the pilot's
teams with why, and where its report is."""

from __future__ import annotations

from ..demo_benchmark import render_benchmark_sample
from ..display import shown
from ..report import table
from .knowledge import render_representation


def _summary(figures: dict | None) -> str:
    if figures is None:
        return "none"
    return (f"{figures['knowledge_per_100_members']:g} knowledge organisations per 100 chain members, "
            f"{len(figures['unsupported'])} (stage, country) pairs without knowledge support")


def render_story(story) -> str:
    lines = ["", "Agri-food, scientific representation now (Med-MCI step 1):", render_representation(story.after),
             f"  before the invitations: {_summary(story.before)}; after: {_summary(story.after)}",
             "", "Whom to invite (agri-food), and the invitations sent:"]
    lines.append(table(["ENTITY", "KIND", "COUNTRY", "SCORE", "STATUS", "REASON"],
                       [(i["name"], i["kind"], i["country"], f"{i['score']:.2f}", i["status"], i["reason"][:110])
                        for i in story.invitations], "  "))
    for pilot in story.pilots:
        lines += ["", f"Pilot {shown(pilot['id'])} ({shown(pilot['name'])}) on {pilot['metacluster']}, coordinated by "
                      f"{shown(pilot['coordinator'])}: {len(pilot['participants'])} participants, "
                      f"{len(pilot['teams'])} working teams."]
        for team in pilot["teams"]:
            members = ", ".join(f"{shown(m['name'])} ({m['country'] or '-'})" for m in team["members"])
            lines.append(f"  {shown(team['name'])}: {members}")
            lines += [f"    - {shown(reason)}" for reason in team["reasons"]]
        if pilot.get("report"):
            lines.append(f"  Report: {', '.join(pilot['report'])}")
    if "benchmark" in story.samples:
        lines.append(render_benchmark_sample(story.samples))
    return "\n".join(lines)
