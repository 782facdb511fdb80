"""The ``medmci`` command line: nodes, the hub, plugins and the demo federation.

The entry point is :func:`main` (``federation.cli:main`` in pyproject). Each group has its module: ``node``,
``hub`` (with ``harvests``, ``metaclusters`` and ``tokens``), ``demo``; ``output`` holds what they share. Renamed
commands keep their old name as a hidden alias that logs a deprecation line (README "Renamed commands").
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import ConfigurationError
from ..plugin_manager import describe_plugins, get_plugin_manager
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one entry per plugin, with its status and errors.")
def plugins(instance, as_json):
    """List the plugins, the hooks each implements, and the broken ones with their error.

    A plugin is broken when it does not import, does not fit the hook contract, or a registration hook of it raises
    or returns something the load refuses. Exits 1 when any plugin is broken (a node or hub would not start), so a
    deployment can check its plugins before it starts; warnings (a name in plugins.disabled matching nothing) go
    to stderr and do not change the exit status."""
    settings = Settings.load(instance or Path("instance/hub"))
    pm = get_plugin_manager(settings, strict=False)
    problems = list(pm.broken)
    warnings = list(pm.warnings)
    failure = None
    try:
        registry = Registry.build(settings, pm, problems=problems)
        warnings = registry.warnings
    except ConfigurationError as exc:  # not one plugin's fault (no pivot scheme): said below the table
        failure = exc.message
    described = plugin_report(describe_plugins(pm), problems)
    if as_json:
        click.echo(dump(described))
    else:
        # A broken plugin's row says so where its hooks would be; its errors follow the table.
        click.echo(table(["PLUGIN", "DISTRIBUTION", "VERSION", "HOOKS"],
                         [(p["name"], p["distribution"] or "-", p["version"] or "-",
                           ", ".join(p["hooks"]) if p["status"] == "ok" else "BROKEN (below)") for p in described]))
        if problems:
            click.echo("\nBroken plugins:")
            click.echo(table(["PLUGIN", "HOOK", "ERROR"], [(e.plugin, e.hook, e.cause) for e in problems]))
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if failure is not None:
        click.echo(f"error: {failure}", err=True)
    if problems or failure is not None:
        sys.exit(1)


def plugin_report(described: list[dict], problems: list) -> list[dict]:
    """Each loaded plugin with ``status`` ("ok" or "broken") and its ``errors``; the plugins that could not be
    loaded at all are listed too (no hooks)."""
    errors: dict[str, list[dict]] = {}
    for error in problems:
        errors.setdefault(error.plugin, []).append({"hook": error.hook, "cause": error.cause,
                                                    "message": error.message})
    out = [{**p, "status": "broken" if p["name"] in errors else "ok", "errors": errors.get(p["name"], [])}
           for p in described]
    loaded = {p["name"] for p in described}
    for error in problems:
        if error.plugin not in loaded:
            loaded.add(error.plugin)
            name, _, version = (error.distribution or "").partition(" ")
            out.append({"name": error.plugin, "module": None, "distribution": name or None,
                        "version": version or None, "hooks": [], "status": "broken",
                        "errors": errors[error.plugin]})
    return sorted(out, key=lambda p: p["name"])


main.add_command(node)
main.add_command(hub)
main.add_command(demo)
