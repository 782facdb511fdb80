"""The demo's matchmaking sample: QOOT's members' partners in Spain and Latvia, two meeting requests made by QOOT's
node (signed with its key), one accepted by the partner's node and held, and the counts per country pair."""

from __future__ import annotations

from typing import Any

from .node.hub_matches import act, propose
from .report import table

CLUSTER = "qoot"
COUNTRIES = ("ES", "LV")
#: Suggestions shown per country.
SHOWN = 3


def matches_sample(call, operator: str, node_contexts: dict[str, Any]) -> dict:
    """``{"suggestions": [...], "meetings": {...stats...}}``, made over HTTP with each caller's credentials."""
    suggestions = []
    for country in COUNTRIES:
        found = call("GET", f"/api/v1/matches?cluster={CLUSTER}&country={country}&limit=1&page_size={SHOWN}",
                     operator)
        for group in found["groups"]:
            best = group["suggestions"][0]
            suggestions.append({"member": group["member"]["key"], "member_name": group["member"]["name"],
                                "partner": best["partner"], "score": best["score"],
                                "reasons": [r["text"] for r in best["reasons"]]})
    for position, country in enumerate(COUNTRIES):
        pick = next((s for s in suggestions if s["partner"]["country"] == country), None)
        if pick is None:
            continue
        node_id, member_id = pick["member"].split("/", 1)
        meeting = propose(node_contexts[node_id], member_id, pick["partner"]["key"], "requested",
                          "TechDays: a first meeting", call.url)
        if position == 0:  # the first partner's node accepts, and QOOT records the meeting held
            act(node_contexts[pick["partner"]["node_id"]], meeting["id"], "accept", None, call.url)
            act(node_contexts[node_id], meeting["id"], "held", None, call.url)
    return {"suggestions": suggestions, "meetings": call("GET", "/api/v1/matches/meetings/stats", operator)}


def render_matches(sample: dict) -> str:
    lines = ["", f"Matchmaking: partners for {CLUSTER.upper()}'s members in {' and '.join(COUNTRIES)}"]
    lines.append(table(["MEMBER", "PARTNER", "COUNTRY", "SCORE", "WHY"],
                       [[s["member_name"], s["partner"]["name"], s["partner"]["country"], f"{s['score']:.3f}",
                         "; ".join(s["reasons"][:2]) or "-"] for s in sample["suggestions"]], "  "))
    stats = sample["meetings"]
    lines.append(f"  meetings: {stats['initiated']} initiated, {stats['accepted']} accepted, {stats['held']} held")
    return "\n".join(lines)
