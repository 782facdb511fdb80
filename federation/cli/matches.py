"""``medmci hub match``: partner suggestions (the API's ``GET /api/v1/matches``), the meeting counts, the
suggestions recomputed now, and meetings recorded by the event organiser on the hub's machine (actor ``cli``).

Input goes through the API's schemas (federation/hub/match_schemas.py), so the command line accepts what the API
accepts; the operator on the hub's machine reads as a federation reader.
"""

from __future__ import annotations

import click

from ..display import shown
from ..hub.match_schemas import MatchQuerySchema
from ..hub.match_tables import MEETING_STATES
from ..hub.meetings import ACTIONS
from ..report import table
from .context import open_hub
from .output import FederationGroup, dump
from .pilots import load

ACTOR = "cli"
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


@click.group("match", cls=FederationGroup, invoke_without_command=True)
@click.option("--member", help="A member: NODE/ID.")
@click.option("--cluster", help="A cluster (its id or its hub node id): every member's suggestions.")
@click.option("--metacluster", help="A meta-cluster (its id or value chain): its members' suggestions.")
@click.option("--country", help="Only partners of this country (ISO code).")
@click.option("--limit", type=int, help="Suggestions per member (at most matching.k).")
@click.option("--page", type=int, default=1, show_default=True)
@json_option
@click.pass_context
def hub_match(ctx, member, cluster, metacluster, country, limit, page, as_json):
    """Partner suggestions in other countries for a member, a cluster or a meta-cluster, with their reasons;
    subcommands: stats, refresh, meeting, meetings."""
    if ctx.invoked_subcommand is not None:
        return
    query = load(MatchQuerySchema(), {"member": member, "cluster": cluster, "metacluster": metacluster,
                                      "country": country, "limit": limit, "page": page})
    subject = next(name for name in ("member", "cluster", "metacluster") if name in query)
    result = open_hub(ctx).matches.suggestions(subject, query[subject], True, query.get("country"),
                                               query.get("limit"), query["page"])
    if as_json:
        click.echo(dump(result))
        return
    click.echo(matches_text(result))


def matches_text(result: dict) -> str:
    """Suggestions as tables, one per member, best first (every cell escaped by ``table``)."""
    subject = result["subject"]
    lines = [f"suggestions for {subject['kind']} {shown(subject['key'])}"
             + (f", partners in {shown(result['country'])}" if result["country"] else "")
             + f": {result['total']} member(s) with suggestions (page {result['page']})"]
    for group in result["groups"]:
        m = group["member"]
        lines += ["", f"{shown(m['name'])} ({shown(m['key'])}, {shown(m['country'])}, {shown(m['kind'])})"]
        rows = [[s["rank"], f"{s['score']:.3f}", s["partner"]["name"], s["partner"]["cluster_id"],
                 s["partner"]["country"], s["partner"]["kind"],
                 "; ".join(r["text"] for r in s["reasons"][:3]) or "-"] for s in group["suggestions"]]
        lines.append(table(["#", "SCORE", "PARTNER", "CLUSTER", "COUNTRY", "KIND", "WHY"], rows, "  "))
    if not result["groups"]:
        lines.append("no suggestions (yet: they are computed after each harvest; `medmci hub match refresh`)")
    return "\n".join(lines)


@hub_match.command("stats")
@json_option
@click.pass_context
def hub_match_stats(ctx, as_json):
    """Meetings initiated, accepted and held, in all and per country pair."""
    stats = open_hub(ctx).meetings.stats(True)
    if as_json:
        click.echo(dump(stats))
        return
    click.echo(stats_text(stats))


def stats_text(stats: dict) -> str:
    names = ("initiated", "accepted", "held", "declined", "cancelled")
    head = "meetings: " + ", ".join(f"{stats[n]} {n}" for n in names)
    rows = [[f"{p['from']}-{p['to']}", *(p[n] for n in names)] for p in stats["pairs"]]
    return head + ("\n" + table(["PAIR", *(n.upper() for n in names)], rows) if rows else "")


@hub_match.command("refresh")
@click.option("--full", is_flag=True, help="Recompute every member, not only what changed.")
@json_option
@click.pass_context
def hub_match_refresh(ctx, full, as_json):
    """Bring the stored suggestions up to the nodes' current versions now (a harvest does it too)."""
    done = open_hub(ctx).matches.refresh(full=full)
    if as_json:
        click.echo(dump(done))
        return
    click.echo(f"{done['members']} member(s) matched; {len(done['changed_nodes'])} node(s) changed; "
               f"{done['rewritten']} list(s) rewritten")


@hub_match.command("meetings")
@click.option("--node", help="Only this node's meetings (either side).")
@click.option("--state", type=click.Choice(MEETING_STATES))
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
@click.pass_context
def hub_match_meetings(ctx, node, state, limit, as_json):
    """Meeting intents, newest first."""
    hub_ = open_hub(ctx)
    total, found = hub_.meetings.page(hub_.nodes.resolve_id(node) if node else None, state, 0, limit)
    if as_json:
        click.echo(dump({"total": total, "meetings": found}))
        return
    click.echo(table(["ID", "MEMBER", "PARTNER", "PAIR", "STATE", "UPDATED"],
                     [[m["id"], m["member"], m["partner"], f"{m['member_country']}-{m['partner_country']}",
                       m["state"], m["updated_at"].isoformat(timespec="seconds")] for m in found])
               + f"\n{total} meeting(s)")


@hub_match.command("meeting")
@click.argument("action", type=click.Choice(["interest", "request", *[a for a in ACTIONS if a != "request"]]))
@click.argument("target")
@click.argument("partner", required=False)
@click.option("--note")
@json_option
@click.pass_context
def hub_match_meeting(ctx, action, target, partner, note, as_json):
    """The event organiser records a step: `interest MEMBER PARTNER`, `request MEMBER PARTNER` (members as
    NODE/ID), or `accept|decline|held|cancel MEETING_ID`."""
    hub_ = open_hub(ctx)
    if action in ("interest", "request"):
        if partner is None:
            raise click.UsageError(f"{action} needs MEMBER and PARTNER (NODE/ID)")
        state = "interested" if action == "interest" else "requested"
        meeting = hub_.meetings.create(target, partner, state, ACTOR, note)
    else:
        if not target.isdigit() or partner is not None:
            raise click.UsageError(f"{action} needs one MEETING_ID")
        meeting = hub_.meetings.act(int(target), action, ACTOR, note=note)
    if as_json:
        click.echo(dump(meeting))
        return
    click.echo(f"meeting {meeting['id']}: {shown(meeting['member'])} -> {shown(meeting['partner'])} "
               f"{shown(meeting['state'])}")


__all__ = ["hub_match", "matches_text", "stats_text"]
