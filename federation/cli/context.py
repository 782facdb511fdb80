"""The node or hub a command works on: built from the instance folder of its group, closed with the command."""

from __future__ import annotations

import click


def open_node(ctx: click.Context):
    """The node's services (no web app), from the ``node --instance`` folder; closed with the command."""
    from ..node.app import Node

    node = Node.build(ctx.obj["instance"])
    ctx.call_on_close(node.close)  # the database's connections go with the command
    return node


def open_hub(ctx: click.Context):
    """The hub's services (no web app), from the ``hub --instance`` folder; closed with the command."""
    from ..hub.app import Hub

    hub = Hub.build(ctx.obj["instance"])
    ctx.call_on_close(hub.close)
    return hub
