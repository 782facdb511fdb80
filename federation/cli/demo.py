"""``medmci demo``: the demo federation on loopback, harvested, its meta-clusters printed, then the hub API served."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import click

from ..demo_funding import render_funding
from ..demo_matches import render_matches
from ..demo_members import render_member_services
from ..demo_subclusters import render_subcluster_comparison
from .metaclusters import render_metaclusters
from .output import dump
from .story import render_story


@click.command()
@click.option("--once", is_flag=True, help="Print the meta-clusters and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the hub API listens afterwards.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the demo's databases (default: a new temporary folder).")
@click.option("--federation", "federation_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A YAML file of your own clusters (and plugin settings), added to the built-in ones or replacing "
                   "them: see README, \"Your own clusters in the demo\".")
def demo(once, as_json, host, port, workdir, federation_file):
    """Start the demo federation on loopback, harvest it, print the meta-clusters; then serve the hub API.

    With --federation FILE, your clusters join the demo (builtin: add, the default) or make it alone (builtin:
    replace); FILE may also set the plugins block (extra modules, disabled plugins, their settings), so a plugin
    author or a cluster sees its effect on the meta-clusters at once. With --once, exits 1 when a plugin's rule
    failed some value chain's formation (the error names the rule and its plugin)."""
    from ..demo import start_demo

    started = time.monotonic()
    federation = start_demo(workdir, host=host, port=0 if once else port, federation_file=federation_file)
    try:
        story = federation.story
        if as_json:
            exported = federation.hub.figures.export()
            if story is not None:
                exported["invitations"], exported["pilots"] = story.invitations, story.pilots
                exported.update(story.samples)
            click.echo(dump(exported))
        else:
            counts = federation.harvest_report["counts"]
            knowledge_nodes = sum(n.knowledge for n in federation.nodes)
            click.echo(f"Demo federation: {len(federation.nodes)} nodes ({knowledge_nodes} of them knowledge node(s); "
                       f"{sum(n.members for n in federation.nodes)} members) harvested over HTTP in "
                       f"{time.monotonic() - started:.1f} s: {counts['new_version']} new versions, "
                       f"{counts['failed']} failed.\n")
            click.echo(render_metaclusters(federation.hub.queries))
            if story is not None:
                click.echo(render_story(story))
                click.echo(render_matches(story.samples["matches"]))
                if story.samples["subcluster_comparison"] is not None:
                    click.echo(render_subcluster_comparison(story.samples["subcluster_comparison"]))
                click.echo(render_funding(story.samples["funding_calls"]))
                click.echo(render_member_services(story.samples))
        for failure in federation.harvest_report["formation_failures"]:
            click.echo(f"value chain {failure['value_chain']} was not formed: {failure['message']}", err=True)
        if once and federation.harvest_report["formation_failures"]:
            sys.exit(1)  # as `hub harvest` does: a plugin's rule failed
        server = federation.hub_server
        if once or server is None:  # (start_demo always starts the hub's server)
            return
        click.echo(f"\nHub API on {server.url}/api/v1/metaclusters (docs: {server.url}/api/v1/openapi.json); "
                   "Ctrl-C stops.", err=as_json)
        # SIGTERM (a service manager, `timeout`) stops as cleanly as Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
    finally:
        federation.close()
