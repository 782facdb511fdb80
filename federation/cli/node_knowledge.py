"""``medmci node knowledge`` and ``medmci node cooperation`` (the API's /api/v1/knowledge and
/api/v1/cluster/cooperation): a knowledge node's own block with who may see each field, and a cluster's
cooperation profile."""

from __future__ import annotations

from pathlib import Path

import click
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError

from ..errors import ValidationError
from ..profile.reader import first_message
from ..settings import read_yaml
from .context import open_node
from .output import FederationGroup, dump

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def load_file(path: Path, schema: Schema, what: str) -> dict:
    """A JSON or YAML file loaded by ``schema``; a refusal names the file and the first field at fault."""
    try:
        return schema.load(read_yaml(path))
    except SchemaError as exc:
        raise ValidationError(f"{path}: not a valid {what}: {first_message(exc.messages)}", exc.messages) from exc


@click.group("knowledge", cls=FederationGroup)
def node_knowledge():
    """A knowledge node's block (kind, research domains, units, services, contact...) and who may see each field
    (`medmci node init --knowledge` makes the node one)."""


@node_knowledge.command("show")
@click.pass_context
def node_knowledge_show(ctx):
    """The knowledge block with each field's visibility, as JSON."""
    click.echo(dump(open_node(ctx).service.get_knowledge()))


@node_knowledge.command("set")
@click.argument("path", type=FILE)
@click.pass_context
def node_knowledge_set(ctx, path):
    """Replace the knowledge block from a JSON or YAML file (its fields, and ``visibility``: public, federation or
    private per field); the knowledge profile is published at once."""
    from ..node.schemas import NodeKnowledgeSchema

    block = open_node(ctx).service.put_knowledge(load_file(path, NodeKnowledgeSchema(), "knowledge block"))
    hidden = sorted(field for field, level in block["visibility"].items() if level != "public")
    click.echo(f"knowledge block saved ({block['kind']}); not public: {', '.join(hidden) or 'nothing'}")


@click.group("cooperation", cls=FederationGroup)
def node_cooperation():
    """The cluster's cooperation profile: priority topics, partners sought, target markets; its opportunities are
    derived from the members' offers and needs at each publication."""


@node_cooperation.command("show")
@click.pass_context
def node_cooperation_show(ctx):
    """The cooperation profile with the opportunities the federation's document carries, as JSON."""
    click.echo(dump(open_node(ctx).service.get_cooperation()))


@node_cooperation.command("set")
@click.argument("path", type=FILE)
@click.pass_context
def node_cooperation_set(ctx, path):
    """Set the cooperation profile from a JSON or YAML file; published at once."""
    from ..node.schemas import NodeCooperationSchema

    cooperation = open_node(ctx).service.put_cooperation(load_file(path, NodeCooperationSchema(),
                                                                   "cooperation profile"))
    opportunities = cooperation["opportunities"]
    click.echo(f"cooperation profile saved: {len(cooperation['priority_topics'])} priority topic(s); "
               f"opportunities: {len(opportunities['offers'])} offered code(s), {len(opportunities['needs'])} "
               f"needed code(s)")
