"""``medmci node trusted-hubs`` (the API's /api/v1/trusted-hubs): the hubs a node trusts, their catalogues, and
what each set aside of this node's profile."""

from __future__ import annotations

import sys

import click

from ..profile.reader import ignored_summary
from ..report import table
from .context import open_node
from .output import FederationGroup, dump, when


@click.group("trusted-hubs", cls=FederationGroup)
def node_hubs():
    """The hubs this node trusts and their catalogues: the value chains and schemes a hub publishes are accepted
    here without the plugins that provide them."""


@node_hubs.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_hubs_list(ctx, as_json):
    """Each trusted hub: the value chains and schemes of its catalogue, when it was read (and why not, last time),
    and what the hub set aside of this node's profile (parts named by plugins the hub lacks)."""
    hubs = open_node(ctx).catalogs.list()
    if as_json:
        click.echo(dump(hubs))
        return
    click.echo(table(["HUB", "VALUE CHAINS", "SCHEMES", "READ", "LAST ERROR", "THE HUB SET ASIDE"],
                     [(h["hub_url"] + ("" if h["trusted"] else " (no longer trusted)"),
                       ", ".join(h["value_chains"]) or "-", ", ".join(h["schemes"]) or "-", when(h["fetched_at"]),
                       (h["last_error"] or "")[:80], ignored_summary(h["ignored"]) or "-") for h in hubs]))


@node_hubs.command("refresh")
@click.option("--hub", "hub_url", help="Only the hub at this URL (as trusted).")
@click.pass_context
def node_hubs_refresh(ctx, hub_url):
    """Read the trusted hubs' signed catalogues again; exit 1 if one could not be read (its previous one stays)."""
    results = open_node(ctx).catalogs.refresh(hub_url)
    click.echo(table(["HUB", "READ", "VALUE CHAINS", "SCHEMES", "REASON"],
                     [(r["hub_url"], "yes" if r["ok"] else "no", r["value_chains"] if r["ok"] else "-",
                       r["schemes"] if r["ok"] else "-", r["reason"] or "") for r in results]))
    if not results:
        click.echo("this node trusts no hub yet (`medmci node join` or `medmci node trust-hub`)")
    if any(not r["ok"] for r in results):
        sys.exit(1)
