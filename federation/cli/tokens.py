"""``medmci hub tokens`` and ``medmci node tokens``: API tokens (the hub API's ``/api/v1/tokens``), shown once."""

from __future__ import annotations

import click

from ..report import table
from .context import open_hub, open_node
from .output import when


@click.group("tokens")
def hub_tokens():
    """API tokens of the hub: create, list, revoke."""


@hub_tokens.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "node_operator", "knowledge_member"]), required=True)
@click.option("--node", "node_id", help="The node a node_operator token is bound to.")
@click.option("--entity", "entity_key", help="The hosted profile (hosted:ID) a knowledge_member token is bound to.")
@click.option("--scope", "scopes", multiple=True, help="Limit the token to these scopes (repeatable).")
@click.pass_context
def hub_token_create(ctx, name, role, node_id, entity_key, scopes):
    """Create a token; it is printed once."""
    hub = open_hub(ctx.parent)
    if node_id:
        hub.nodes.get(node_id)
    if entity_key:
        hub.hosted.check_key(entity_key)
    _record, plaintext = hub.tokens.create(name, role, list(scopes) or None, node_id, entity_key=entity_key,
                                           actor="cli")
    click.echo(plaintext)


@hub_tokens.command("list")
@click.pass_context
def hub_token_list(ctx):
    """Every token, never its secret."""
    click.echo(table(["ID", "NAME", "ROLE", "NODE", "SCOPES", "REVOKED"],
                     [(t["id"], t["name"], t["role"], t["node_id"] or t["entity_key"] or "", " ".join(t["scopes"]),
                       when(t["revoked_at"]) if t["revoked_at"] else "") for t in open_hub(ctx.parent).tokens.list()]))


@hub_tokens.command("revoke")
@click.argument("token_id")
@click.pass_context
def hub_token_revoke(ctx, token_id):
    """Revoke a token at once."""
    open_hub(ctx.parent).tokens.revoke(token_id, actor="cli")
    click.echo(f"token {token_id} revoked")


@click.group("tokens")
def node_tokens():
    """API tokens of the node (role node_admin)."""


@node_tokens.command("create")
@click.argument("name")
@click.pass_context
def node_token_create(ctx, name):
    """Create another admin token for the node's API; it is printed once."""
    _record, plaintext = open_node(ctx).tokens.create(name, "node_admin")
    click.echo(plaintext)
