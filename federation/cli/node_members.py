"""``medmci node members`` (who needs a nudge, one-time self-service links) and ``medmci node announce`` /
``medmci node announcements``: the cluster manager's work with its members."""

from __future__ import annotations

from pathlib import Path

import click

from ..display import shown
from ..errors import ValidationError
from ..report import table
from .context import open_node
from .output import FederationGroup, dump, when


@click.group("members", cls=FederationGroup)
def node_members():
    """The cluster's members: who needs a nudge, and one-time links for a member to update its own record."""


@node_members.command("nudges")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def node_members_nudges(ctx, as_json):
    """The members that need a nudge, worst first, with why: dormant, quiet, no activity recorded, a record not
    checked for long, no contact e-mail (thresholds: members.activity.*)."""
    report = open_node(ctx).activity.nudges()
    if as_json:
        click.echo(dump(report))
        return
    click.echo(render_nudges(report))


def render_nudges(report: dict) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in report["counts"].items() if n)
    lines = [f"{report['members']} members on {report['as_of']}: {counts or 'none'}; {report['unreachable']} without "
             f"a contact e-mail; {report['needs_nudge']} need a nudge"
             + (f" (the worst {len(report['nudges'])} listed)" if len(report["nudges"]) < report["needs_nudge"]
                else "")]
    if report["nudges"]:
        lines.append(table(["MEMBER", "NAME", "STATE", "WHY"],
                           [(n["member_id"], n["name"][:40], n["state"], "; ".join(n["reasons"]))
                            for n in report["nudges"]]))
    return "\n".join(lines)


@node_members.command("link")
@click.argument("member_id")
@click.option("--expires-in", help="How long the link works: 7d, 36h, 90m (default: members.self_service."
                                   "expires_in_days).")
@click.option("--send", is_flag=True, help="E-mail it to the member's contact address (mail.sender).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_members_link(ctx, member_id, expires_in, send, as_json):
    """Make a one-time link for MEMBER_ID to check and update its own record (shown once: the node keeps only
    its hash)."""
    from ..node.self_service import parse_expiry

    life = parse_expiry(expires_in) if expires_in else None
    link = open_node(ctx).self_service.create_link(member_id, life, send, actor="cli")
    if as_json:
        click.echo(dump(link))
        return
    click.echo(f"link {link['link_id']} for {shown(member_id)}, works once until {when(link['expires_at'])}:")
    click.echo(f"  {link['url']}")
    if link["delivery"] is not None:
        delivery = link["delivery"]
        click.echo(f"e-mail: {delivery['state']} ({shown(delivery['detail'])})")


@node_members.command("links")
@click.option("--member", "member_id", help="Only this member's links.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_members_links(ctx, member_id, as_json):
    """The self-service links made, newest first: open, used or expired (never their tokens)."""
    links = open_node(ctx).self_service.links(member_id)
    if as_json:
        click.echo(dump(links))
        return
    click.echo(table(["LINK", "MEMBER", "STATE", "CREATED", "EXPIRES", "USED", "E-MAIL"],
                     [(link["link_id"], link["member_id"], link["state"], when(link["created_at"]),
                       when(link["expires_at"]), when(link["used_at"]), link["delivery"] or "-") for link in links]))


@click.command("announce")
@click.option("--title", required=True, help="The title (the e-mail's subject).")
@click.option("--body", "body_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A UTF-8 text file with the announcement.")
@click.option("--subcluster", help="To the members of this sub-cluster (of --chain, or of every chain that has it).")
@click.option("--chain", help="To the members of this value chain.")
@click.option("--send", is_flag=True, help="Send it now through the node's mail sender (mail.sender).")
@click.option("--dry-run", is_flag=True, help="Only show who would get it; record nothing.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_announce(ctx, title, body_file, subcluster, chain, send, dry_run, as_json):
    """Record an announcement to a sub-cluster's or a value chain's members (or, with neither, every member), and
    send it with --send. Members without a contact e-mail are recorded as "no address"."""
    node = open_node(ctx)
    limit = int(node.settings.get("mail.max_body_chars"))
    if body_file.stat().st_size > limit * 4:  # more bytes than the longest body can take in UTF-8: unread
        raise ValidationError(f"{body_file}: larger than an announcement may be (mail.max_body_chars: {limit})",
                              {"body": [f"at most {limit} characters"]})
    raw = body_file.read_bytes()
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{body_file}: not UTF-8 text (byte {exc.start})", {"body": ["not UTF-8"]}) from None
    announcement = node.announcements.create(title, body, chain, subcluster, send=send, actor="cli", dry_run=dry_run)
    if as_json:
        click.echo(dump(announcement))
        return
    click.echo(render_announcement(announcement))


def audience_text(audience: dict) -> str:
    """Whom an announcement goes to, in the same words wherever it is shown: "wine of agri-food"."""
    return " of ".join(v for v in (audience.get("subcluster"), audience.get("chain")) if v) or "every member"


def render_announcement(announcement: dict) -> str:
    to = audience_text(announcement["audience"])
    head = ("would go to" if announcement.get("dry_run") else
            f"announcement {announcement['id']}" + (" sent" if announcement.get("sent_at") else " recorded") + " to")
    states: dict[str, int] = {}
    for delivery in announcement["deliveries"]:
        states[delivery["state"]] = states.get(delivery["state"], 0) + 1
    lines = [f"{head} {shown(to)}: {announcement['recipients']} member(s); "
             + ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in sorted(states.items()))]
    lines.append(table(["MEMBER", "E-MAIL", "DELIVERY", "DETAIL"],
                       [(d["member_id"], d["email"] or "-", d["state"], (d["detail"] or d.get("reason") or "")[:80])
                        for d in announcement["deliveries"]], "  "))
    return "\n".join(lines)


@click.group("announcements", cls=FederationGroup)
def node_announcements():
    """Announcements recorded at this node (`medmci node announce` makes one)."""


@node_announcements.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_announcements_list(ctx, as_json):
    """The newest announcements, with how many deliveries are in each state."""
    rows = open_node(ctx).announcements.list()
    if as_json:
        click.echo(dump(rows))
        return
    click.echo(table(["ID", "CREATED", "TITLE", "TO", "RECIPIENTS", "DELIVERIES"],
                     [(a["id"], when(a["created_at"]), a["title"][:50],
                       audience_text(a["audience"]), a["recipients"],
                       ", ".join(f"{n} {s}" for s, n in sorted(a["delivery_counts"].items()))) for a in rows]))


@node_announcements.command("show")
@click.argument("announcement_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_announcements_show(ctx, announcement_id, as_json):
    """One announcement with every recipient's delivery."""
    announcement = open_node(ctx).announcements.get(announcement_id)
    click.echo(dump(announcement) if as_json else render_announcement(announcement))


@node_announcements.command("send")
@click.argument("announcement_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def node_announcements_send(ctx, announcement_id, as_json):
    """Send a recorded announcement to the recipients not sent to yet (and again where a delivery failed)."""
    announcement = open_node(ctx).announcements.send(announcement_id)
    click.echo(dump(announcement) if as_json else render_announcement(announcement))
