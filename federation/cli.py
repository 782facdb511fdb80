"""The ``medmci`` command line: nodes, the hub, plugins and the demo federation."""

from __future__ import annotations

import json
import signal
import sys
import time
from functools import partial
from pathlib import Path

import click
from marshmallow import ValidationError as SchemaError

from .display import guarded, guarded_output, unguarded
from .errors import FederationError, ValidationError
from .plugin_manager import describe_plugins
from .profile.reader import first_message
from .registry import Registry
from .report import metacluster_detail, metaclusters_summary, not_formed_summary, table
from .settings import Settings, read_yaml


class FederationGroup(click.Group):
    """Turns the federation's errors into a clear message and exit status 1, never a traceback; and whatever a
    command prints goes through :func:`federation.display.guarded` (nodes wrote much of it: names, errors)."""

    def invoke(self, ctx):
        try:
            with guarded_output():
                return super().invoke(ctx)
        except FederationError as exc:
            message = exc.message
            if exc.errors:
                message += "\n" + json.dumps(exc.errors, indent=2, ensure_ascii=False, default=str)
            # Shown after this group returns, so escaped here: a refusal may quote what a node sent.
            raise click.ClickException(guarded(message)) from exc


def _dump(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


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
        click.echo(_dump(described))
        return
    click.echo(table(["PLUGIN", "DISTRIBUTION", "VERSION", "HOOKS"],
                     [(p["name"], p["distribution"] or "-", p["version"] or "-", ", ".join(p["hooks"]))
                      for p in described]))


# -- node --------------------------------------------------------------------------------------------------------

@main.group(cls=FederationGroup)
@click.option("--instance", type=click.Path(file_okay=False, path_type=Path), envvar="MEDMCI_NODE_INSTANCE",
              default=Path("instance/node"), show_default=True, help="The node's instance folder.")
@click.pass_context
def node(ctx, instance):
    """Run and fill a cluster's node."""
    ctx.obj = {"instance": instance}


def _node(ctx):
    """The node's services (no web app): closed with the command."""
    from .node.app import Node

    node_ = Node.build(ctx.obj["instance"])
    ctx.call_on_close(node_.close)  # the database's connections go with the command
    return node_


def _node_service(ctx):
    return _node(ctx).service


@node.command("init")
@click.option("--public-url", help="The URL this node is published at (as hubs reach it): signed requests from a "
                                   "hub must name it. `node join --node-url` sets it too.")
@click.pass_context
def node_init(ctx, public_url):
    """Create the node's key pair and its first admin token (shown once)."""
    context = _node(ctx)
    kid, _key = context.keys.current
    click.echo(f"node key: {kid} (private key in {context.keys.folder}, mode 0600)")
    if public_url:
        click.echo(f"public URL: {context.hubs.set_public_url(public_url)}")
    elif not context.hubs.public_url():
        click.echo("no public URL yet: give --public-url (or join a hub with --node-url) before trusting a hub")
    if context.tokens.count(active_only=True):
        click.echo("an admin token exists already; create more with `medmci node token NAME`")
        return
    _record, plaintext = context.tokens.create("admin", "node_admin")
    click.echo(f"admin token (shown once, store it now): {plaintext}")


@node.command("rotate-key")
@click.pass_context
def node_rotate_key(ctx):
    """Make a new key current; the old one stays published as previous during the hubs' grace period."""
    context = _node(ctx)
    kid = context.keys.rotate()
    click.echo(f"new current key: {kid}")


@node.command("token")
@click.argument("name")
@click.pass_context
def node_token(ctx, name):
    """Create another admin token for the node's API (shown once)."""
    _record, plaintext = _node(ctx).tokens.create(name, "node_admin")
    click.echo(plaintext)


@node.command("join")
@click.argument("hub_url")
@click.option("--node-url", required=True, help="The URL this node is served at, as the hub will reach it.")
@click.option("--name", help="A readable name for the hub's operator.")
@click.pass_context
def node_join(ctx, hub_url, node_url, name):
    """Ask the hub at HUB_URL to register this node (signed with the node's key); the operator then approves it."""
    from .node.join import join_hub

    answer = join_hub(_node(ctx), hub_url, node_url, name)
    click.echo(f"asked to join as {answer['id']} ({answer['country']}): status {answer['status']}; "
               f"trusting {len(answer.get('hub_keys') or ())} hub key(s)")


@node.command("trust-hub")
@click.argument("hub_url")
@click.option("--public-url", help="The URL this node is published at (needed once, if `node init` had none).")
@click.pass_context
def node_trust_hub(ctx, hub_url, public_url):
    """Trust the keys a hub publishes, so its signed requests read federation members."""
    from .node.join import trust_hub

    added = trust_hub(_node(ctx), hub_url, public_url)
    click.echo(f"trusting {len(added)} new key(s) of {hub_url}")


@node.command("audit")
@click.option("--action", help="An action or its prefix (request.refused, hub_key.).")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_audit(ctx, action, limit, as_json):
    """The node's audit log, newest first: refused signed requests, hub keys trusted and rotated."""
    events = _node(ctx).hubs.audit.events(action, limit)
    if as_json:
        click.echo(_dump(events))
        return
    click.echo(table(["AT", "ACTION", "ACTOR", "MESSAGE"],
                     [(e["at"].isoformat(timespec="seconds"), e["action"], e["actor"], (e["message"] or "")[:100])
                      for e in events]))


@node.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True, type=int)
@click.pass_context
def node_serve(ctx, host, port):
    """Serve the node's API and published profile."""
    from .node.app import create_node_app
    from .request_log import configure as configure_logging
    from .serving import serve

    node_ = _node(ctx)
    configure_logging(node_.settings)
    app = create_node_app(node=node_)
    click.echo(f"node serving on http://{host}:{port} (discovery: /.well-known/med-mci)")
    serve(app, host, port)


@node.command("set-cluster")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def node_set_cluster(ctx, path):
    """Create or replace the cluster profile from a YAML or JSON file."""
    from .profile.schema import ClusterSchema

    try:
        data = ClusterSchema().load(read_yaml(path))
    except SchemaError as exc:
        raise ValidationError(f"{path}: not a valid cluster: {first_message(exc.messages)}", exc.messages) from exc
    cluster = _node_service(ctx).put_cluster(data)
    click.echo(f"cluster {cluster['id']} ({cluster['country']}) saved")


@node.command("import-members")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Also remove the members that are not in the file.")
@click.pass_context
def node_import_members(ctx, path, replace):
    """Import members from a CSV file: every row, or none with a row-by-row report."""
    try:
        report = _node_service(ctx).import_members(path.read_bytes(), replace=replace)
    except ValidationError as exc:
        rows = exc.errors.get("rows") if isinstance(exc.errors, dict) else None
        if not rows:
            raise
        lines = [f"  line {r['line']} ({r.get('id') or 'no id'}): {first_message(r['errors'])}" for r in rows]
        raise click.ClickException(f"{len(rows)} row(s) have errors; nothing was imported:\n" + "\n".join(lines))
    click.echo(f"imported {report['rows']} members: {report['created']} new, {report['updated']} updated, "
               f"{report['removed']} removed")


# -- hub ---------------------------------------------------------------------------------------------------------

@main.group(cls=FederationGroup)
@click.option("--instance", type=click.Path(file_okay=False, path_type=Path), envvar="MEDMCI_HUB_INSTANCE",
              default=Path("instance/hub"), show_default=True, help="The hub's instance folder.")
@click.pass_context
def hub(ctx, instance):
    """Register and harvest nodes; read the meta-clusters."""
    ctx.obj = {"instance": instance}


def _hub(ctx):
    from .hub.app import Hub

    hub_ = Hub.build(ctx.obj["instance"])
    ctx.call_on_close(hub_.close)
    return hub_


@hub.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--scheduler/--no-scheduler", default=True, show_default=True,
              help="Harvest due nodes in the background (every harvest.interval_s, sooner on a push).")
@click.pass_context
def hub_serve(ctx, host, port, scheduler):
    """Serve the hub's API."""
    from .hub.app import create_hub_app
    from .request_log import configure as configure_logging
    from .serving import serve

    hub_ = _hub(ctx)
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
    hub_ = _hub(ctx)
    click.echo(f"hub key: {hub_.keys.current[0]}")
    if any(t["role"] == "operator" and not t["revoked_at"] for t in hub_.tokens.list()):
        click.echo("an operator token exists already; create more with `medmci hub token create`")
        return
    _record, plaintext = hub_.tokens.create("operator", "operator", actor="cli")
    click.echo(f"operator token (shown once, store it now): {plaintext}")


@hub.command("rotate-key")
@click.pass_context
def hub_rotate_key(ctx):
    """Make a new hub key current and tell every node, with a message signed by the old key; the old key stays
    with the hub for trust.hub_key_grace_days (to tell nodes that were unreachable: `hub announce-key`)."""
    from .hub.hubkeys import rotate

    result = rotate(_hub(ctx))
    click.echo(f"new hub key: {result['kid']} (previous: {result['previous']})")
    _echo_announced(result["nodes"])


@hub.command("announce-key")
@click.option("--node", "node_ids", multiple=True, help="Only this node (repeatable).")
@click.pass_context
def hub_announce_key(ctx, node_ids):
    """Tell nodes the hub's current key again, signed by the previous key (within its grace period)."""
    from .hub.hubkeys import announce

    _echo_announced(announce(_hub(ctx), list(node_ids) or None))


def _echo_announced(results) -> None:
    click.echo(table(["NODE", "TOLD", "REASON"], [(r["node_id"], "yes" if r["ok"] else "no", r["reason"] or "")
                                                  for r in results]))
    if any(not r["ok"] for r in results):
        click.echo("some nodes were not told: run `medmci hub announce-key` again within trust.hub_key_grace_days")
        sys.exit(1)


@hub.group("token")
def hub_token():
    """API tokens: create, list, revoke."""


@hub_token.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "node_operator", "knowledge_member"]), required=True)
@click.option("--node", "node_id", help="The node a node_operator token is bound to.")
@click.option("--scope", "scopes", multiple=True, help="Limit the token to these scopes (repeatable).")
@click.pass_context
def hub_token_create(ctx, name, role, node_id, scopes):
    """Create a token; it is printed once."""
    hub_ = _hub(ctx.parent)
    if node_id:
        hub_.nodes.get(node_id)
    _record, plaintext = hub_.tokens.create(name, role, list(scopes) or None, node_id, actor="cli")
    click.echo(plaintext)


@hub_token.command("list")
@click.pass_context
def hub_token_list(ctx):
    """Every token, never its secret."""
    click.echo(table(["ID", "NAME", "ROLE", "NODE", "SCOPES", "REVOKED"],
                     [(t["id"], t["name"], t["role"], t["node_id"] or "", " ".join(t["scopes"]),
                       _when(t["revoked_at"]) if t["revoked_at"] else "") for t in _hub(ctx.parent).tokens.list()]))


@hub_token.command("revoke")
@click.argument("token_id")
@click.pass_context
def hub_token_revoke(ctx, token_id):
    """Revoke a token at once."""
    hub_ = _hub(ctx.parent)
    hub_.tokens.revoke(token_id, actor="cli")
    click.echo(f"token {token_id} revoked")


@hub.command("register")
@click.argument("node_id")
@click.argument("url")
@click.option("--name", help="A readable name for the node.")
@click.option("--country", help="Check that the node's cluster is in this country (ISO 3166-1 alpha-2).")
@click.pass_context
def hub_register(ctx, node_id, url, name, country):
    """Register the node NODE_ID served at URL (its cluster, country and keys come from its signed discovery)."""
    node_ = _hub(ctx).nodes.register(node_id, url, name, country, actor="cli")
    click.echo(f"registered node {node_['id']} ({node_['cluster_id']}, {node_['country']}) at {node_['url']}")


def _decision(decision):
    @click.argument("node_id")
    @click.option("--reason", help="Why, for the audit log.")
    @click.pass_context
    def command(ctx, node_id, reason):
        node_ = _hub(ctx).nodes.decide(node_id, decision, "cli", reason)
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
    from .hub.verify import verify_versions

    rows = verify_versions(_hub(ctx).db, node_id)
    if as_json:
        click.echo(_dump(rows))
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
    events = _hub(ctx).audit.events(action, node_id, limit)
    if as_json:
        click.echo(_dump(events))
        return
    click.echo(table(["AT", "ACTOR", "ACTION", "NODE", "DETAILS"],
                     [(e["at"].isoformat(timespec="seconds"), e["actor"], e["action"], e["node_id"] or "",
                       json.dumps(e["details"], ensure_ascii=False, default=str)[:100]) for e in events]))


@hub.command("nodes")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_nodes(ctx, as_json):
    """List registered nodes and their last harvest."""
    nodes = _hub(ctx).nodes.list()
    if as_json:
        click.echo(_dump(nodes))
        return
    click.echo(table(["NODE", "STATUS", "URL", "LAST OUTCOME", "FAILURES", "LAST ERROR"],
                     [(n["id"], n["status"], n["url"], n["last_outcome"] or "-", n["consecutive_failures"],
                       n["last_error"] or "") for n in nodes]))


@hub.command("pause")
@click.argument("node_id")
@click.pass_context
def hub_pause(ctx, node_id):
    """Stop harvesting a node (its last good version stays)."""
    _hub(ctx).nodes.set_status(node_id, "paused")
    click.echo(f"node {node_id} paused")


@hub.command("resume")
@click.argument("node_id")
@click.pass_context
def hub_resume(ctx, node_id):
    """Harvest a paused node again."""
    _hub(ctx).nodes.set_status(node_id, "active")
    click.echo(f"node {node_id} active")


@hub.command("harvest")
@click.option("--node", "node_ids", multiple=True, help="Harvest only this node (repeatable).")
@click.option("--due", is_flag=True, help="Only the nodes that are due (backoff passed, or a push asked).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_harvest(ctx, node_ids, due, as_json):
    """Fetch the nodes' profiles, keep new versions, form the meta-clusters again."""
    started = time.monotonic()
    harvester = _hub(ctx).harvester
    if as_json or not sys.stderr.isatty():
        report = harvester.harvest(list(node_ids) or None, due_only=due)
    else:
        report = _harvest_with_progress(harvester, list(node_ids) or None, due)
    if as_json:
        click.echo(_dump(report))
    else:
        click.echo(table(["NODE", "OUTCOME", "HTTP", "REASON"],
                         [(n["node_id"], n["outcome"], n["http_status"] or "-", n["reason"] or "")
                          for n in report["nodes"]]))
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report["counts"].items())
        click.echo(f"\nrun {report['run_id']}: {counts} in {time.monotonic() - started:.2f} s"
                   f"{'; meta-clusters formed again' if report['aggregated'] else ''}")
    if report["counts"]["failed"]:
        sys.exit(1)


def _harvest_with_progress(harvester, node_ids, due) -> dict:
    """A progress bar on stderr: nodes done, with failed and not-modified counts."""
    state = {"bar": None, "counts": {"failed": 0, "not_modified": 0, "new_version": 0, "unchanged": 0}}

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


@hub.command("worker")
@click.option("--concurrency", type=int, default=None,
              help="Fetches at once (default: harvest.workers). Validation is CPU work: with the prefork pool, "
                   "one process per core.")
@click.option("--pool", type=click.Choice(["prefork", "threads", "solo"]), default="prefork", show_default=True)
@click.option("--name", "hostname", help="The worker's name in the job list (default: celery@<host>).")
@click.option("--loglevel", default="INFO", show_default=True)
@click.pass_context
def hub_worker(ctx, concurrency, pool, hostname, loglevel):
    """Run a harvest worker: fetch, validate and store what the hub queues on harvest.broker_url."""
    from .hub.app import Hub
    from .hub.workers import run_worker

    # Built once here: it checks the settings, the keys and the database, and brings the schema up to date
    # before any worker process starts.
    hub_ = Hub.build(ctx.obj["instance"], worker=True)
    hub_.close()
    run_worker(hub_.settings, partial(Hub.build, Path(ctx.obj["instance"]).resolve(), worker=True),
               concurrency or int(hub_.settings.get("harvest.workers", 8)), pool, loglevel, hostname)


@hub.command("health")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_health(ctx, as_json):
    """Each node's health: state, consecutive failures, next attempt, last success, last error."""
    nodes = _hub(ctx).nodes.list()
    if as_json:
        click.echo(_dump([{k: n[k] for k in ("id", "status", "health", "consecutive_failures", "next_attempt_at",
                                             "last_success_at", "last_error")} for n in nodes]))
        return
    click.echo(table(["NODE", "STATUS", "HEALTH", "FAILURES", "NEXT ATTEMPT", "LAST SUCCESS", "LAST ERROR"],
                     [(n["id"], n["status"], n["health"], n["consecutive_failures"],
                       _when(n["next_attempt_at"]), _when(n["last_success_at"]), (n["last_error"] or "")[:60])
                      for n in nodes]))


def _when(moment) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


@hub.command("reset")
@click.argument("node_id")
@click.pass_context
def hub_reset(ctx, node_id):
    """Forget a node's failures and backoff."""
    _hub(ctx).nodes.reset(node_id, "cli")
    click.echo(f"node {node_id}: health reset")


@hub.command("accept-sequence-reset")
@click.argument("node_id")
@click.pass_context
def hub_accept_sequence_reset(ctx, node_id):
    """Accept that a node restarted its sequence numbers (reinstalled): its next good version may carry a lower
    sequence than the current one. Audited (sequence.reset_accepted)."""
    result = _hub(ctx).harvester.accept_sequence_reset(node_id, "cli")
    click.echo(f"node {node_id}: the next good version may carry any sequence (current: "
               f"{result['current_sequence'] if result['current_sequence'] is not None else 'none'})")


@hub.command("jobs")
@click.option("--sweep", is_flag=True, help="First fail the jobs whose lease has expired.")
@click.option("--limit", default=20, show_default=True)
@click.option("--run", "run_id", type=int, help="Show this run's fetches, node by node, with who did them.")
@click.pass_context
def hub_jobs(ctx, sweep, limit, run_id):
    """Recent harvest runs with their status and counts (or one run's fetches)."""
    hub_ = _hub(ctx)
    if sweep:
        swept = hub_.harvester.sweep()
        click.echo(f"swept {swept['runs']} run(s) and {swept['fetches']} fetch(es) whose lease had expired")
    if run_id is not None:
        run = hub_.queries.run(run_id)
        click.echo(f"run {run['id']}: {run['status']}, started {_when(run['started_at'])}, finished "
                   f"{_when(run['finished_at'])}{'; ' + run['error'] if run['error'] else ''}")
        click.echo(table(["NODE", "OUTCOME", "HTTP", "WORKER", "CHAINS", "REASON"],
                         [(a["node_id"], a["outcome"], a["http_status"] or "-", a["worker"] or "-",
                           ",".join(a["chains"] or ()) or "-", a["reason"] or "") for a in run["attempts"]]))
        return
    click.echo(table(["RUN", "STATUS", "STARTED", "FINISHED", "COUNTS", "ERROR"],
                     [(r["id"], r["status"], _when(r["started_at"]), _when(r["finished_at"]),
                       " ".join(f"{k}={v}" for k, v in (r["counts"] or {}).items() if v), r["error"] or "")
                      for r in hub_.queries.runs(limit)]))


@hub.command("metaclusters")
@click.option("--json", "as_json", is_flag=True, help='Print {"metaclusters": [...]} for machines.')
@click.option("--detail", is_flag=True, help="Show each meta-cluster in full.")
@click.pass_context
def hub_metaclusters(ctx, as_json, detail):
    """The meta-clusters the hub formed."""
    hub_ = _hub(ctx)
    if as_json:
        click.echo(_dump(hub_.queries.export()))
        return
    click.echo(render_metaclusters(hub_.queries, detail))


@hub.command("metacluster")
@click.argument("metacluster_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_metacluster(ctx, metacluster_id, as_json):
    """One meta-cluster in full (by id or value chain)."""
    document = _hub(ctx).queries.metacluster(metacluster_id)
    click.echo(_dump(document) if as_json else metacluster_detail(document))


@hub.command("why")
@click.argument("cluster_id")
@click.option("--member", "member_id", help="Explain one member's placement instead.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_why(ctx, cluster_id, member_id, as_json):
    """Why a cluster (or one of its members) is in or out of each meta-cluster."""
    answer = _hub(ctx).queries.why(cluster_id, member_id)
    if as_json:
        click.echo(_dump(answer))
        return
    rows = [(p["value_chain"], "in" if p["included"] else "out", p["sub_cluster"] or "",
             "; ".join(r["reason"] for r in p["reasons"])) for p in answer["placements"]]
    click.echo(table(["VALUE CHAIN", "IN/OUT", "SUB-CLUSTER", "WHY"], rows))


def render_metaclusters(queries, detail: bool = True) -> str:
    formed = queries.metaclusters(formed=True)
    parts = [metaclusters_summary(formed)]
    if detail:
        parts += ["", *("\n" + metacluster_detail(m) for m in formed)]
    not_formed = queries.metaclusters(formed=False)
    if not_formed:
        parts += ["", "Value chains without a meta-cluster:", not_formed_summary(not_formed)]
    return "\n".join(parts)


# -- demo --------------------------------------------------------------------------------------------------------

@main.command()
@click.option("--once", is_flag=True, help="Print the meta-clusters and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the hub API listens afterwards.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the demo's databases (default: a new temporary folder).")
def demo(once, as_json, host, port, workdir):
    """Start the demo federation on loopback, harvest it, print the meta-clusters; then serve the hub API."""
    from .demo import start_demo

    started = time.monotonic()
    federation = start_demo(workdir, host=host, port=0 if once else port)
    try:
        if as_json:
            click.echo(_dump(federation.hub.queries.export()))
        else:
            counts = federation.harvest_report["counts"]
            click.echo(f"Demo federation: {len(federation.nodes)} nodes "
                       f"({sum(n.members for n in federation.nodes)} members) harvested over HTTP in "
                       f"{time.monotonic() - started:.1f} s: {counts['new_version']} new versions, "
                       f"{counts['failed']} failed.\n")
            click.echo(render_metaclusters(federation.hub.queries))
        if once:
            return
        server = federation.hub_server
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


if __name__ == "__main__":  # pragma: no cover
    main()
