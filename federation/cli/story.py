"""The demo's step 1 and pilot (federation.demo_story), as text: whom the hub invited and why, and the pilot's
teams with why, and where its report is."""

from __future__ import annotations

from ..display import shown
from ..report import table


def render_story(story) -> str:
    lines = ["", "Whom to invite (agri-food), and the invitations sent:"]
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
    return "\n".join(lines)
