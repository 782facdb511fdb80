"""``medmci node``: create, fill, serve and join a cluster's node."""

from __future__ import annotations

from pathlib import Path

import click

from ..display import shown
from ..errors import ValidationError
from ..profile.reader import first_message
from ..report import table
from .context import open_node
from .node_hubs import node_hubs
from .node_knowledge import load_file, node_cooperation, node_knowledge
from .node_matches import node_match
from .node_members import node_announce, node_announcements, node_members
from .node_pilots import node_invitation, node_pilot
from .output import FederationGroup, deprecated_alias, dump
from .tokens import node_token_create, node_tokens


@click.group(cls=FederationGroup)
@click.option("--instance", type=click.Path(file_okay=False, path_type=Path), envvar="MEDMCI_NODE_INSTANCE",
              default=Path("instance/node"), show_default=True, help="The node's instance folder.")
@click.pass_context
def node(ctx, instance):
    """Run and fill a cluster's node."""
    ctx.obj = {"instance": instance}


@node.command("init")
@click.option("--public-url", help="The URL this node is published at (as hubs reach it): signed requests from a "
                                   "hub must name it. `node join --node-url` sets it too.")
@click.option("--knowledge", is_flag=True, help="A knowledge node: a university, research or technology centre or "
                                                "TTO publishing its own knowledge profile (no members).")
@click.pass_context
def node_init(ctx, public_url, knowledge):
    """Create the node's key pair and its first admin token (shown once)."""
    context = open_node(ctx)
    kid, _key = context.keys.current
    click.echo(f"node key: {kid} (private key in {context.keys.folder}, mode 0600)")
    if knowledge:
        made = context.service.enable_knowledge_mode()
        click.echo("knowledge node" + ("" if made else " (already)") + ": set its identity with `medmci node "
                   "set-cluster FILE` and its block with `medmci node knowledge set FILE`")
    if public_url:
        click.echo(f"public URL: {context.hubs.set_public_url(public_url)}")
    elif not context.hubs.public_url():
        click.echo("no public URL yet: give --public-url (or join a hub with --node-url) before trusting a hub")
    if context.tokens.count(active_only=True):
        click.echo("an admin token exists already; create more with `medmci node tokens create NAME`")
        return
    _record, plaintext = context.tokens.create("admin", "node_admin")
    click.echo(f"admin token (shown once, store it now): {plaintext}")


@node.command("rotate-key")
@click.pass_context
def node_rotate_key(ctx):
    """Make a new key current; the old one stays published as previous during the hubs' grace period."""
    context = open_node(ctx)
    kid = context.keys.rotate()
    click.echo(f"new current key: {kid}")


@node.command("join")
@click.argument("hub_url")
@click.option("--node-url", required=True, help="The URL this node is served at, as the hub will reach it.")
@click.option("--name", help="A readable name for the hub's operator.")
@click.pass_context
def node_join(ctx, hub_url, node_url, name):
    """Ask the hub at HUB_URL to register this node (signed with the node's key); the operator then approves it.
    The node trusts the hub's keys and reads its signed catalogue (value chains and schemes accepted here)."""
    from ..node.join import join_hub

    answer = join_hub(open_node(ctx), hub_url, node_url, name)
    click.echo(f"asked to join as {answer['id']} ({answer['country']}): status {answer['status']}; "
               f"trusting {len(answer.get('hub_keys') or ())} hub key(s)")
    _echo_catalog(answer.get("catalog"))


@node.command("trust-hub")
@click.argument("hub_url")
@click.option("--public-url", help="The URL this node is published at (needed once, if `node init` had none).")
@click.pass_context
def node_trust_hub(ctx, hub_url, public_url):
    """Trust the keys a hub publishes, so its signed requests read federation members, and read its signed
    catalogue: the value chains and schemes it publishes are accepted here without their plugins."""
    from ..node.join import trust_hub

    context = open_node(ctx)
    added = trust_hub(context, hub_url, public_url)
    click.echo(f"trusting {len(added)} new key(s) of {hub_url}")
    _echo_catalog(next((dict(h, ok=not h["last_error"]) for h in context.catalogs.list()
                        if h["hub_url"] == hub_url), None))


def _echo_catalog(result) -> None:
    """What reading a hub's catalogue just gave (value chains and schemes this node now accepts), or why not."""
    if result is None:
        return
    if result.get("ok"):
        chains, schemes = result["value_chains"], result["schemes"]
        click.echo(f"hub catalogue read: {chains if isinstance(chains, int) else len(chains)} value chain(s), "
                   f"{schemes if isinstance(schemes, int) else len(schemes)} scheme(s)")
    else:
        click.echo(f"the hub's catalogue was not read ({result.get('reason') or result.get('last_error')}); its value "
                   f"chains and schemes are not accepted here until `medmci node trusted-hubs refresh` reads it")


@node.command("audit")
@click.option("--action", help="An action or its prefix (request.refused, hub_key.).")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_audit(ctx, action, limit, as_json):
    """The node's audit log, newest first: refused signed requests, hub keys trusted and rotated."""
    events = open_node(ctx).hubs.audit.events(action, limit)
    if as_json:
        click.echo(dump(events))
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
    from ..node.app import create_node_app
    from ..request_log import configure as configure_logging
    from ..serving import serve

    node_ = open_node(ctx)
    configure_logging(node_.settings)
    app = create_node_app(node=node_)
    click.echo(f"node serving on http://{host}:{port} (discovery: /.well-known/med-mci)")
    serve(app, host, port)


@node.command("set-cluster")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def node_set_cluster(ctx, path):
    """Create or replace the cluster profile from a YAML or JSON file; a ``cooperation`` block in it sets the
    cooperation profile too (as `node cooperation set`)."""
    from ..node.schemas import NodeClusterFileSchema

    data = load_file(path, NodeClusterFileSchema(), "cluster")  # the whole file checked before anything is saved
    cooperation = data.pop("cooperation", None)
    service = open_node(ctx).service
    cluster = service.put_cluster(data)
    if cooperation is not None:
        service.put_cooperation(cooperation)
    click.echo(f"cluster {cluster['id']} ({cluster['country']}) saved"
               + (" with its cooperation profile" if cooperation is not None else ""))


@node.command("import-members")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Also remove the members that are not in the file.")
@click.option("--dry-run", is_flag=True, help="Check the file and show what would be created, updated and removed; "
                                              "change nothing.")
@click.pass_context
def node_import_members(ctx, path, replace, dry_run):
    """Import members from a CSV or .xlsx file: every row, or none with every error of every row.

    CSV in UTF-8 (with or without BOM), UTF-16 (Excel "Unicode text") or Windows-1252, comma, semicolon or tab
    delimited, all detected; column names in English, French or Arabic (config/README.md, "members.csv"). Rows
    without an id get one from their name and city, so importing the same file again changes nothing. Warns when
    the published profile approaches the size hubs accept (node.profile_warn_bytes).
    """
    try:
        with path.open("rb") as stream:  # read as it is parsed, never whole
            report = open_node(ctx).service.import_members(stream, replace=replace, dry_run=dry_run)
    except ValidationError as exc:
        rows = exc.errors.get("rows") if isinstance(exc.errors, dict) else None
        if not rows:
            raise
        lines = [line for r in rows for line in _row_lines(r)]
        message = f"{len(rows)} row(s) have errors; nothing was imported:\n" + "\n".join(lines)
        raise click.ClickException(message) from exc
    detected = report["file"]
    click.echo(f"file: {detected['format']}" + (f", {detected['encoding']}, {detected['delimiter']}-delimited"
                                                 if detected["format"] == "csv" else ""))
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {report['rows']} members: {report['created']} new, {report['updated']} updated, "
               f"{report['unchanged']} unchanged, {report['removed']} removed")
    if dry_run:
        for kind in ("created", "updated", "removed"):
            ids = report["ids"][kind]
            if ids:
                more = report[kind] - len(ids)
                click.echo(f"  {kind}: {', '.join(ids)}" + (f" (and {more} more)" if more else ""))
        click.echo("dry run: nothing was changed")
    elif not report["published"]:
        click.echo("nothing changed: no new profile version")
    if report.get("checks", {}).get("total"):  # silent when there is nothing to tell
        # The first few after an import (an import of thousands may find thousands): `node check` lists them all.
        click.echo(render_findings(report["checks"], "members imported", IMPORT_FINDINGS_SHOWN))


def _row_lines(row: dict) -> list[str]:
    """A refused row's errors, one line each: line, id, member, field, value, reason, suggestion."""
    who = f"line {row['line']} ({row.get('id') or 'no id'})"
    if row.get("member"):
        who += f" {row['member']!r}"
    problems = row.get("problems") or [{"field": "", "value": "", "message": first_message(row["errors"])}]
    # "_row": a problem of the row as a whole (its cells), not of one field
    return [f"  {who}: {'the row' if p['field'] == '_row' else p['field']} {p['value']!r}: {p['message']}"
            + (f" (did you mean {p['suggestion']}?)" if p.get("suggestion") else "") for p in problems]


@node.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (findings, total, counts).")
@click.pass_context
def node_check(ctx, as_json):
    """Check the node's data as a hub will read it: members whose activity code is too coarse for the hub to place
    precisely (with the finer code that would), and more. Exits with status 1 when a finding is an error."""
    report = open_node(ctx).check()
    click.echo(dump(report) if as_json else render_findings(report, "members"))
    if report["counts"].get("error"):
        ctx.exit(1)


#: Findings an import's summary shows; `node check` shows up to node.check_max_findings.
IMPORT_FINDINGS_SHOWN = 20


def render_findings(report: dict, what: str, shown_at_most: int | None = None) -> str:
    """The checks' findings as a table, each suggestion under it; one line when there are none."""
    if not report["total"]:
        return f"checks of the {what}: nothing to report"
    findings = report["findings"][:shown_at_most]
    counts = ", ".join(f"{n} {severity}" for severity, n in report["counts"].items() if n)
    lines = [f"checks of the {what}: {counts}" + (f" (the first {len(findings)} listed"
                                                  + ("; `medmci node check` lists more)"
                                                     if len(findings) < len(report["findings"]) else ")")
                                                  if len(findings) < report["total"] else "")]
    for finding in findings:  # what members hold is escaped, one line each
        member = f" {shown(finding['member_id'])}:" if finding["member_id"] else ""
        lines.append(f"  {finding['severity']} [{finding['kind']}]{member} {shown(finding['message'])}")
        if finding["suggestion"]:
            lines.append(f"      fix: {shown(finding['suggestion'])}")
    return "\n".join(lines)


node.add_command(node_hubs)
node.add_command(node_knowledge)
node.add_command(node_cooperation)
node.add_command(node_pilot)
node.add_command(node_invitation)
node.add_command(node_match)
node.add_command(node_tokens)
node.add_command(deprecated_alias(node_token_create, "token", "node tokens create"))
node.add_command(node_members)
node.add_command(node_announce)
node.add_command(node_announcements)
