"""``medmci node pilot`` and ``medmci node invitation``: a node answers a hub's invitations (its cluster's to a pilot,
its knowledge entities' to a meta-cluster), signed with the node's key."""

from __future__ import annotations

import click

from ..display import shown
from .context import open_node
from .output import FederationGroup, dump


@click.group("pilot", cls=FederationGroup)
def node_pilot():
    """Pilots this node's cluster is invited to by a hub it trusts."""


@node_pilot.command("answer")
@click.argument("pilot_id")
@click.argument("answer", type=click.Choice(["accept", "decline"]))
@click.option("--hub", "hub_url", help="The hub's URL (default: the only hub this node trusts).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_pilot_answer(ctx, pilot_id, answer, hub_url, as_json):
    """Accept or decline the invitation of this cluster to pilot PILOT_ID, with a request signed by this node's key."""
    from ..node.hub_answers import answer_pilot

    participant = answer_pilot(open_node(ctx), pilot_id, answer, hub_url)
    if as_json:
        click.echo(dump(participant))
        return
    click.echo(f"{shown(pilot_id)}: {shown(str(participant.get('key', '')))} {shown(str(participant.get('status')))}"
               f" ({shown(str(participant.get('answered_at')))})")


@click.group("invitation", cls=FederationGroup)
def node_invitation():
    """Invitations of this knowledge node, or of this cluster's knowledge members, to a hub's meta-clusters."""


@node_invitation.command("answer")
@click.argument("invitation_id", type=click.IntRange(1))
@click.argument("answer", type=click.Choice(["accept", "decline"]))
@click.option("--hub", "hub_url", help="The hub's URL (default: the only hub this node trusts).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_invitation_answer(ctx, invitation_id, answer, hub_url, as_json):
    """Accept or decline invitation INVITATION_ID (`medmci hub knowledge invitations` lists them), with a request
    signed by this node's key."""
    from ..node.hub_answers import answer_invitation

    invitation = answer_invitation(open_node(ctx), invitation_id, answer, hub_url)
    if as_json:
        click.echo(dump(invitation))
        return
    click.echo(f"invitation {invitation_id}: {shown(str(invitation.get('entity_key')))} to "
               f"{shown(str(invitation.get('metacluster_id')))} {shown(str(invitation.get('status')))}")
