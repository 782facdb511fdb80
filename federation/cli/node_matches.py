"""``medmci node match``: this cluster's members in a hub's matchmaking (interest, meeting requests, answers,
meetings held), every call signed with the node's key (federation/node/hub_matches.py)."""

from __future__ import annotations

import click

from ..display import shown
from ..report import table
from .context import open_node
from .output import FederationGroup, dump

hub_option = click.option("--hub", "hub_url", help="The hub's URL (default: the only hub this node trusts).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


@click.group("match", cls=FederationGroup)
def node_match():
    """Meetings of this cluster's members with the partners a hub suggests."""


def _echo(meeting: dict, as_json: bool) -> None:
    if as_json:
        click.echo(dump(meeting))
        return
    click.echo(f"meeting {meeting['id']}: {shown(meeting['member'])} -> {shown(meeting['partner'])} "
               f"({shown(meeting['member_country'])}-{shown(meeting['partner_country'])}) {shown(meeting['state'])}")


@node_match.command("interest")
@click.argument("member")
@click.argument("partner")
@click.option("--note")
@hub_option
@json_option
@click.pass_context
def node_match_interest(ctx, member, partner, note, hub_url, as_json):
    """This cluster's MEMBER (its id here) marks PARTNER (NODE/ID, as the hub's suggestions name it) as
    interesting."""
    from ..node.hub_matches import propose

    _echo(propose(open_node(ctx), member, partner, "interested", note, hub_url), as_json)


@node_match.command("request")
@click.argument("member")
@click.argument("partner")
@click.option("--note", help="A word for the partner (what the meeting is about).")
@hub_option
@json_option
@click.pass_context
def node_match_request(ctx, member, partner, note, hub_url, as_json):
    """This cluster's MEMBER requests a meeting with PARTNER (NODE/ID)."""
    from ..node.hub_matches import propose

    _echo(propose(open_node(ctx), member, partner, "requested", note, hub_url), as_json)


@node_match.command("answer")
@click.argument("meeting", type=click.IntRange(1))
@click.argument("answer", type=click.Choice(["accept", "decline"]))
@click.option("--note")
@hub_option
@json_option
@click.pass_context
def node_match_answer(ctx, meeting, answer, note, hub_url, as_json):
    """Accept or decline MEETING, requested of one of this cluster's members."""
    from ..node.hub_matches import act

    _echo(act(open_node(ctx), meeting, answer, note, hub_url), as_json)


@node_match.command("held")
@click.argument("meeting", type=click.IntRange(1))
@click.option("--note")
@hub_option
@json_option
@click.pass_context
def node_match_held(ctx, meeting, note, hub_url, as_json):
    """Record that accepted MEETING was held."""
    from ..node.hub_matches import act

    _echo(act(open_node(ctx), meeting, "held", note, hub_url), as_json)


@node_match.command("cancel")
@click.argument("meeting", type=click.IntRange(1))
@hub_option
@json_option
@click.pass_context
def node_match_cancel(ctx, meeting, hub_url, as_json):
    """Cancel an open MEETING (interested, requested or accepted)."""
    from ..node.hub_matches import act

    _echo(act(open_node(ctx), meeting, "cancel", None, hub_url), as_json)


@node_match.command("list")
@click.option("--state", type=click.Choice(["interested", "requested", "accepted", "declined", "held",
                                            "cancelled"]))
@hub_option
@json_option
@click.pass_context
def node_match_list(ctx, state, hub_url, as_json):
    """The meeting intents of this cluster's members at the hub, either side, newest first."""
    from ..node.hub_matches import meetings

    found = meetings(open_node(ctx), state, hub_url)
    if as_json:
        click.echo(dump(found))
        return
    click.echo(table(["id", "member", "partner", "countries", "state", "updated"],
                     [[m["id"], m["member"], m["partner"], f"{m['member_country']}-{m['partner_country']}",
                       m["state"], m["updated_at"]] for m in found]) if found else "no meetings")
