"""``medmci hub``: the hub's keys, its nodes (register, decide, pause, verify) and its audit log.

The harvest commands are in :mod:`federation.cli.harvests`, the meta-clusters in :mod:`federation.cli.metaclusters`,
the tokens in :mod:`federation.cli.tokens`, the pilots in :mod:`federation.cli.pilots`, the knowledge entities in
:mod:`federation.cli.knowledge`, sub-clustering compared in :mod:`federation.cli.subclusters`, the benchmark and
freshness in :mod:`federation.cli.benchmark`, the funding calls in :mod:`federation.cli.funding`; all are
commands of this group.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..profile.reader import ignored_summary
from ..report import table
from .benchmark import benchmark_commands
from .context import open_hub
from .funding import hub_calls
from .harvests import harvest_commands
from .knowledge import hub_knowledge
from .matches import hub_match
from .metaclusters import metacluster_commands
from .output import FederationGroup, deprecated_alias, dump, warn_renamed, when
from .pilots import hub_pilot
from .subclusters import hub_subclusters
from .tokens import hub_tokens


@click.group(cls=FederationGroup)
@click.option("--instance", type=click.Path(file_okay=False, path_type=Path), envvar="MEDMCI_HUB_INSTANCE",
              default=Path("instance/hub"), show_default=True, help="The hub's instance folder.")
@click.pass_context
def hub(ctx, instance):
    """Register and harvest nodes; read the meta-clusters."""
    ctx.obj = {"instance": instance}


@hub.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--scheduler/--no-scheduler", default=True, show_default=True,
              help="Harvest due nodes in the background (every harvest.interval_s, sooner on a push).")
@click.pass_context
def hub_serve(ctx, host, port, scheduler):
    """Serve the hub's API."""
    from ..hub.app import create_hub_app
    from ..request_log import configure as configure_logging
    from ..serving import serve

    hub_ = open_hub(ctx)
    configure_logging(hub_.settings)
    app = create_hub_app(hub=hub_)
    if scheduler:
        hub_.start_scheduler()
    click.echo(f"hub serving on http://{host}:{port} (API docs: /api/v1/openapi.json)")
    serve(app, host, port)


@hub.command("init")
@click.pass_context
def hub_init(ctx):
    """Create the hub's key pair and the first operator token (shown once). No default password exists."""
    hub_ = open_hub(ctx)
    click.echo(f"hub key: {hub_.keys.current[0]}")
    if any(t["role"] == "operator" and not t["revoked_at"] for t in hub_.tokens.list()):
        click.echo("an operator token exists already; create more with `medmci hub tokens create`")
        return
    _record, plaintext = hub_.tokens.create("operator", "operator", actor="cli")
    click.echo(f"operator token (shown once, store it now): {plaintext}")


@hub.command("rotate-key")
@click.pass_context
def hub_rotate_key(ctx):
    """Make a new hub key current and tell every node, with a message signed by the old key; the old key stays
    with the hub for trust.hub_key_grace_days (to tell nodes that were unreachable: `hub announce-key`)."""
    from ..hub.hubkeys import rotate

    result = rotate(open_hub(ctx))
    click.echo(f"new hub key: {result['kid']} (previous: {result['previous']})")
    _echo_announced(result["nodes"])


@hub.command("announce-key")
@click.option("--node", "node_ids", multiple=True, help="Only this node (repeatable).")
@click.pass_context
def hub_announce_key(ctx, node_ids):
    """Tell nodes the hub's current key again, signed by the previous key (within its grace period)."""
    from ..hub.hubkeys import announce

    _echo_announced(announce(open_hub(ctx), list(node_ids) or None))


def _echo_announced(results) -> None:
    click.echo(table(["NODE", "TOLD", "REASON"], [(r["node_id"], "yes" if r["ok"] else "no", r["reason"] or "")
                                                  for r in results]))
    if any(not r["ok"] for r in results):
        click.echo("some nodes were not told: run `medmci hub announce-key` again within trust.hub_key_grace_days")
        sys.exit(1)


@hub.command("register")
@click.argument("node_id")
@click.argument("url")
@click.option("--name", help="A readable name for the node.")
@click.option("--country", help="Check that the node's cluster is in this country (ISO 3166-1 alpha-2).")
@click.pass_context
def hub_register(ctx, node_id, url, name, country):
    """Register the node NODE_ID served at URL (its cluster, country and keys come from its signed discovery)."""
    node_ = open_hub(ctx).nodes.register(node_id, url, name, country, actor="cli")
    click.echo(f"registered node {node_['id']} ({node_['cluster_id']}, {node_['country']}) at {node_['url']}")


def _decision(decision):
    @click.argument("node_id")
    @click.option("--reason", help="Why, for the audit log.")
    @click.pass_context
    def command(ctx, node_id, reason):
        node_ = open_hub(ctx).nodes.decide(node_id, decision, "cli", reason)
        click.echo(f"node {node_id}: {node_['status']}")

    command.__doc__ = {"approve": "Approve a node that asked to join (or a suspended one).",
                       "reject": "Reject a node's request to join.",
                       "suspend": "Suspend a node: it is no longer harvested (approve resumes it)."}[decision]
    return command


for _decision_name in ("approve", "reject", "suspend"):
    hub.command(_decision_name)(_decision(_decision_name))


@hub.command("verify")
@click.option("--node", "node_id", help="Only this node's versions.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_verify(ctx, node_id, as_json):
    """Re-check every stored version against the signature it arrived with; exit 1 if any fails."""
    from ..hub.verify import verify_versions

    rows = verify_versions(open_hub(ctx).db, node_id)
    if as_json:
        click.echo(dump(rows))
    else:
        click.echo(table(["NODE", "VERSION", "SEQ", "KEY", "STATUS", "REASON"],
                         [(r["node_id"], r["version_id"], r["sequence"], (r["kid"] or "-")[:12], r["status"],
                           r["reason"] or "") for r in rows]))
        counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("ok", "redacted", "failed")}
        click.echo(f"\n{counts['ok']} ok, {counts['redacted']} redacted, {counts['failed']} failed")
    if any(r["status"] == "failed" for r in rows):
        sys.exit(1)


@hub.command("audit")
@click.option("--action", help="An action or its prefix (registration., key., document.refused).")
@click.option("--node", "node_id")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_audit(ctx, action, node_id, limit, as_json):
    """The audit log, newest first."""
    events = open_hub(ctx).audit.events(action, node_id, limit)
    if as_json:
        click.echo(dump(events))
        return
    click.echo(table(["AT", "ACTOR", "ACTION", "NODE", "DETAILS"],
                     [(e["at"].isoformat(timespec="seconds"), e["actor"], e["action"], e["node_id"] or "",
                       json.dumps(e["details"], ensure_ascii=False, default=str)[:100]) for e in events]))


@hub.command("nodes")
@click.option("--health", "health", is_flag=True,
              help="Each node's health instead: state, consecutive failures, next attempt, last success, last error, "
                   "and what the hub set aside (plugins it lacks).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_nodes(ctx, health, as_json):
    """List registered nodes and their last harvest (or, with --health, their health and what the hub set aside of
    each node's current version: value chains and schemes of plugins this hub lacks)."""
    nodes = open_hub(ctx).nodes.list()
    if health:
        _echo_health(nodes, as_json)
    elif as_json:
        click.echo(dump(nodes))
    else:
        click.echo(table(["NODE", "STATUS", "URL", "LAST OUTCOME", "FAILURES", "LAST ERROR"],
                         [(n["id"], n["status"], n["url"], n["last_outcome"] or "-", n["consecutive_failures"],
                           n["last_error"] or "") for n in nodes]))


def _echo_health(nodes, as_json: bool) -> None:
    if as_json:
        click.echo(dump([{k: n[k] for k in ("id", "status", "health", "consecutive_failures", "next_attempt_at",
                                             "last_success_at", "last_error", "ignored")} for n in nodes]))
        return
    click.echo(table(["NODE", "STATUS", "HEALTH", "FAILURES", "NEXT ATTEMPT", "LAST SUCCESS", "LAST ERROR"],
                     [(n["id"], n["status"], n["health"], n["consecutive_failures"],
                       when(n["next_attempt_at"]), when(n["last_success_at"]), (n["last_error"] or "")[:60])
                      for n in nodes]))
    # Kept, but in part: what this hub's plugins do not know (the node has plugins the hub lacks).
    partial = [(n["id"], ignored_summary(n["ignored"])) for n in nodes if n.get("ignored")]
    if partial:
        click.echo("\nset aside (value chains and schemes this hub's plugins do not know; the rest is kept):")
        click.echo(table(["NODE", "SET ASIDE"], partial))


@hub.command("health", hidden=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_health(ctx, as_json):
    """Deprecated name of `hub nodes --health`."""
    warn_renamed("hub health", "hub nodes --health")
    ctx.invoke(hub_nodes, health=True, as_json=as_json)


@hub.command("pause")
@click.argument("node_id")
@click.pass_context
def hub_pause(ctx, node_id):
    """Stop harvesting a node (its last good version stays)."""
    open_hub(ctx).nodes.set_status(node_id, "paused")
    click.echo(f"node {node_id} paused")


@hub.command("resume")
@click.argument("node_id")
@click.pass_context
def hub_resume(ctx, node_id):
    """Harvest a paused node again."""
    open_hub(ctx).nodes.set_status(node_id, "active")
    click.echo(f"node {node_id} active")


@hub.command("reset")
@click.argument("node_id")
@click.pass_context
def hub_reset(ctx, node_id):
    """Forget a node's failures and backoff."""
    open_hub(ctx).nodes.reset(node_id, "cli")
    click.echo(f"node {node_id}: health reset")


@hub.command("accept-sequence-reset")
@click.argument("node_id")
@click.pass_context
def hub_accept_sequence_reset(ctx, node_id):
    """Accept that a node restarted its sequence numbers (reinstalled): its next good version may carry a lower
    sequence than the current one. Audited (sequence.reset_accepted)."""
    result = open_hub(ctx).harvester.accept_sequence_reset(node_id, "cli")
    click.echo(f"node {node_id}: the next good version may carry any sequence (current: "
               f"{result['current_sequence'] if result['current_sequence'] is not None else 'none'})")


for _command in (*harvest_commands(), *metacluster_commands()):
    hub.add_command(_command)
hub.add_command(hub_tokens)
hub.add_command(hub_pilot)
hub.add_command(hub_knowledge)
hub.add_command(hub_match)
hub.add_command(hub_calls)
hub.add_command(deprecated_alias(hub_tokens, "token", "hub tokens"))
hub.add_command(hub_subclusters)
for _command in benchmark_commands():
    hub.add_command(_command)
