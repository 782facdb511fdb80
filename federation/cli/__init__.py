"""The ``medmci`` command line: nodes, the hub, plugins and the demo federation.

The entry point is :func:`main` (``federation.cli:main`` in pyproject). Each group has its module: ``node``,
``hub`` (with ``harvests``, ``metaclusters`` and ``tokens``), ``demo``; ``output`` holds what they share. Renamed
commands keep their old name as a hidden alias that logs a deprecation line (README "Renamed commands").
"""

from __future__ import annotations

from pathlib import Path

import click

from ..plugin_manager import describe_plugins
from ..registry import Registry
from ..report import table
from ..settings import Settings
from .demo import demo
from .harvests import _harvest_with_progress  # noqa: F401 - importable from its old place
from .hub import hub
from .metaclusters import render_metaclusters  # noqa: F401 - importable from its old place
from .node import node
from .output import FederationGroup, dump

instance_option = click.option("--instance", type=click.Path(file_okay=False, path_type=Path),
                               help="Instance folder (database, medmci.yaml).")


@click.group(cls=FederationGroup)
def main():
    """Med-MCI federation: cluster nodes publish value-chain profiles; a hub forms meta-clusters."""


@main.command()
@instance_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(instance, as_json):
    """List the loaded plugins and the hooks each implements."""
    registry = Registry.build(Settings.load(instance or Path("instance/hub")))
    described = describe_plugins(registry.pm)
    if as_json:
        click.echo(dump(described))
        return
    click.echo(table(["PLUGIN", "DISTRIBUTION", "VERSION", "HOOKS"],
                     [(p["name"], p["distribution"] or "-", p["version"] or "-", ", ".join(p["hooks"]))
                      for p in described]))


main.add_command(node)
main.add_command(hub)
main.add_command(demo)
