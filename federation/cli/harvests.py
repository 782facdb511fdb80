"""``medmci hub harvest | harvests | worker``: run a harvest (with a progress bar on a terminal), list the harvest
runs (the API's ``/api/v1/harvests``), and run a harvest worker process."""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import click

from ..display import unguarded
from ..report import table
from .context import open_hub
from .output import deprecated_alias, dump, when


@click.command("harvest")
@click.option("--node", "node_ids", multiple=True, help="Harvest only this node (repeatable).")
@click.option("--due", is_flag=True, help="Only the nodes that are due (backoff passed, or a push asked).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_harvest(ctx, node_ids, due, as_json):
    """Fetch the nodes' profiles, keep new versions, form the meta-clusters again. Exits 1 when a fetch failed or a
    plugin's rule failed some value chain's formation (the run is then "partial")."""
    started = time.monotonic()
    harvester = open_hub(ctx).harvester
    if as_json or not sys.stderr.isatty():
        report = harvester.harvest(list(node_ids) or None, due_only=due)
    else:
        report = _harvest_with_progress(harvester, list(node_ids) or None, due)
    if as_json:
        click.echo(dump(report))
    else:
        click.echo(table(["NODE", "OUTCOME", "HTTP", "REASON"],
                         [(n["node_id"], n["outcome"], n["http_status"] or "-", n["reason"] or "")
                          for n in report["nodes"]]))
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report["counts"].items())
        click.echo(f"\nrun {report['run_id']}: {counts} in {time.monotonic() - started:.2f} s"
                   f"{'; meta-clusters formed again' if report['aggregated'] else ''}")
        for failure in report["formation_failures"]:
            click.echo(f"value chain {failure['value_chain']} not formed again (its last meta-cluster is kept): "
                       f"{failure['message']}")
    if report["counts"]["failed"] or report["formation_failures"]:
        sys.exit(1)


def _harvest_with_progress(harvester, node_ids, due) -> dict:
    """A progress bar on stderr: nodes done, with failed and not-modified counts."""
    state: dict[str, Any] = {"bar": None, "counts": {"failed": 0, "not_modified": 0, "new_version": 0, "unchanged": 0}}

    def on_start(total):
        state["bar"] = click.progressbar(length=max(total, 1), label="harvesting", file=unguarded(sys.stderr),
                                         item_show_func=lambda _: "{new_version} new, {not_modified} not modified, "
                                                                  "{failed} failed".format(**state["counts"]))
        state["bar"].__enter__()

    def on_done(outcome):
        state["counts"][outcome.outcome] = state["counts"].get(outcome.outcome, 0) + 1
        state["bar"].update(1, outcome)

    try:
        return harvester.harvest(node_ids, progress=on_done, due_only=due, on_start=on_start)
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)


@click.command("worker")
@click.option("--concurrency", type=int, default=None,
              help="Fetches at once (default: harvest.concurrency). Validation is CPU work: with the prefork pool, "
                   "one process per core.")
@click.option("--pool", type=click.Choice(["prefork", "threads", "solo"]), default="prefork", show_default=True)
@click.option("--name", "hostname", help="The worker's name in `hub harvests --run` (default: celery@<host>).")
@click.option("--loglevel", default="INFO", show_default=True)
@click.pass_context
def hub_worker(ctx, concurrency, pool, hostname, loglevel):
    """Run a harvest worker: fetch, validate and store what the hub queues on harvest.broker_url."""
    from ..hub.app import Hub
    from ..hub.workers import run_worker

    # Built once here: it checks the settings, the keys and the database, and brings the schema up to date
    # before any worker process starts.
    hub_ = Hub.build(ctx.obj["instance"], worker=True)
    hub_.close()
    run_worker(hub_.settings, partial(Hub.build, Path(ctx.obj["instance"]).resolve(), worker=True),
               concurrency or int(hub_.settings.get("harvest.concurrency")), pool, loglevel, hostname)


@click.command("harvests")
@click.option("--sweep", is_flag=True, help="First fail the jobs whose lease has expired.")
@click.option("--limit", default=20, show_default=True)
@click.option("--run", "run_id", type=int, help="Show this run's fetches, node by node, with who did them.")
@click.pass_context
def hub_harvests(ctx, sweep, limit, run_id):
    """Recent harvest runs with their status and counts (or one run's fetches): GET /api/v1/harvests."""
    hub_ = open_hub(ctx)
    if sweep:
        swept = hub_.harvester.sweep()
        click.echo(f"swept {swept['runs']} run(s) and {swept['fetches']} fetch(es) whose lease had expired")
    if run_id is not None:
        run = hub_.queries.run(run_id)
        click.echo(f"run {run['id']}: {run['status']}, started {when(run['started_at'])}, finished "
                   f"{when(run['finished_at'])}{'; ' + run['error'] if run['error'] else ''}")
        click.echo(table(["NODE", "OUTCOME", "HTTP", "WORKER", "CHAINS", "REASON"],
                         [(a["node_id"], a["outcome"], a["http_status"] or "-", a["worker"] or "-",
                           ",".join(a["chains"] or ()) or "-", a["reason"] or "") for a in run["attempts"]]))
        return
    click.echo(table(["RUN", "STATUS", "STARTED", "FINISHED", "COUNTS", "ERROR"],
                     [(r["id"], r["status"], when(r["started_at"]), when(r["finished_at"]),
                       " ".join(f"{k}={v}" for k, v in (r["counts"] or {}).items() if v), r["error"] or "")
                      for r in hub_.queries.runs(limit)]))


def harvest_commands() -> list[click.Command]:
    """The commands this module adds to ``medmci hub`` (with ``jobs``, the old name of ``harvests``)."""
    return [hub_harvest, hub_worker, hub_harvests, deprecated_alias(hub_harvests, "jobs", "hub harvests")]
