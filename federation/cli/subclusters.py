"""``medmci hub subclusters compare``: two sub-clustering rule sets applied to one meta-cluster, side by side."""

from __future__ import annotations

import click

from ..subclustering.report import render_comparison
from .context import open_hub
from .output import dump


@click.group("subclusters")
def hub_subclusters():
    """Sub-clustering rule sets: compare them on a meta-cluster before adopting one."""


@hub_subclusters.command("compare")
@click.argument("chain")
@click.option("--rules", "specs", multiple=True, required=True,
              help="A rule set, twice: `installed`, a plugin's name, a saved alternative's name "
                   "(subclusters.alternatives_path), or the path of a rule file (the format of "
                   "config/subclusters/<chain>.yaml), read without installing it.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def subclusters_compare(ctx, chain, specs, as_json):
    """Apply two sub-clustering rule sets to CHAIN's meta-cluster (a value chain or meta-cluster id) and show them
    side by side: sizes, countries, clusters and knowledge members per sub-cluster, members left in other, the
    members that move, the balance of each, and what B gains and loses against A."""
    if len(specs) != 2:
        raise click.UsageError(f"give --rules exactly twice (A, then B), not {len(specs)} time(s)")
    result = open_hub(ctx).subclusters.by_specs(chain, specs)
    click.echo(dump(result) if as_json else render_comparison(result))
