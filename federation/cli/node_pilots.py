"""``medmci node pilot``: the cluster manager's side of a hub's pilot (answering its invitation)."""

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
    from ..node.pilot_answers import answer_pilot

    participant = answer_pilot(open_node(ctx), pilot_id, answer, hub_url)
    if as_json:
        click.echo(dump(participant))
        return
    click.echo(f"{shown(pilot_id)}: {shown(str(participant.get('key', '')))} {shown(str(participant.get('status')))}"
               f" ({shown(str(participant.get('answered_at')))})")
