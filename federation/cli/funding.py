"""``medmci hub calls ...``: funding calls (``import``, ``list``, ``show``) and which ones a meta-cluster or a pilot
may apply to (``eligible``), with the gaps and the candidates that could fill them."""

from __future__ import annotations

from pathlib import Path

import click

from ..report import table
from .context import open_hub
from .output import FederationGroup, dump

#: Who the command line acts as, in the audit log.
ACTOR = "cli"


@click.group("calls", cls=FederationGroup)
def hub_calls():
    """Funding calls: import them from CSV or JSON, list them, and check who may apply."""


@hub_calls.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def calls_import(ctx, file: Path, as_json: bool):
    """Import the calls of FILE (CSV or JSON): every call valid or none imported; calls are upserted by id."""
    hub = open_hub(ctx.parent)
    with file.open("rb") as handle:  # one byte over funding.max_bytes is enough to refuse a file unread
        data = handle.read(hub.funding.limits.max_bytes + 1)
    report = hub.funding.import_file(data, ACTOR)
    if as_json:
        click.echo(dump(report))
        return
    click.echo(f"{report['calls']} calls read ({report['format']}): {len(report['created'])} created, "
               f"{len(report['updated'])} updated, {report['unchanged']} unchanged")


@hub_calls.command("list")
@click.option("--all", "include_closed", is_flag=True, help="Closed calls too.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def calls_list(ctx, include_closed: bool, as_json: bool):
    """The open calls by deadline (every call with --all)."""
    _total, calls = open_hub(ctx.parent).funding.page(include_closed, 0, None)
    if as_json:
        click.echo(dump(calls))
        return
    click.echo(table(["ID", "PROGRAMME", "TITLE", "DEADLINE", "COUNTRIES", "RULES"],
                     [(c["id"], c["programme"], c["title"][:60], c["deadline"] + ("" if c["open"] else " (closed)"),
                       ", ".join(c["country_lists"]) or (", ".join(c["countries"]) or "any"), _rules(c))
                      for c in calls]) if calls else "no open call (import some with `medmci hub calls import`)")


@hub_calls.command("show")
@click.argument("call_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def calls_show(ctx, call_id: str, as_json: bool):
    """One call, every field."""
    call = open_hub(ctx.parent).funding.get(call_id)
    click.echo(dump(call) if as_json else "\n".join(f"{k}: {v}" for k, v in call.items()))


@hub_calls.command("eligible")
@click.argument("metacluster", required=False)
@click.option("--pilot", help="A pilot's id, instead of a meta-cluster.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def calls_eligible(ctx, metacluster: str | None, pilot: str | None, as_json: bool):
    """The open calls METACLUSTER (or --pilot ID) may apply to; for the others, what is missing and who could fill
    it."""
    if (metacluster is None) == (pilot is None):
        raise click.UsageError("give a METACLUSTER or --pilot ID, one of them")
    answer = open_hub(ctx.parent).funding.eligible(metacluster, pilot, True)
    click.echo(dump(answer) if as_json else render_eligibility(answer))


def _rules(call: dict) -> str:
    parts = []
    if call["min_partners"]:
        parts.append(f"{call['min_partners']} partners")
    if call["min_countries"]:
        parts.append(f"{call['min_countries']} countries")
    parts += [" or ".join(kinds) for kinds in call["required_kinds"]]
    parts += [f"one from {region}" for region in call["required_regions"]]
    return "; ".join(parts) or "-"


def render_eligibility(answer: dict) -> str:
    """The eligibility answer as text: the eligible calls, then each other call with its gaps and candidates."""
    consortium = answer["consortium"]
    lines = [f"{consortium['kind']} {consortium['id']} ({consortium['value_chain']}): {consortium['partners']} "
             f"partners from {', '.join(consortium['countries']) or 'no country'}; {answer['checked']} of "
             f"{answer['open_calls']} open calls checked"]
    lines.append("Eligible:" if answer["eligible"] else "Eligible: none")
    lines += [f"  {c['programme']}: {c['title']} (deadline {c['deadline']}) {c['link']}" for c in answer["eligible"]]
    for call in answer["not_eligible"]:
        lines.append(f"Not yet: {call['programme']}: {call['title']} (deadline {call['deadline']})")
        for gap in call["gaps"]:
            lines.append(f"  - {gap['text']}")
            for c in gap["candidates"]:
                chain = ", works on a stage of the chain" if c["same_value_chain"] else ""
                lines.append(f"      could fill it: {c['name']} ({c['kind'].replace('_', ' ')}, {c['country']}"
                             f"{chain}; {c['key']})")
            if gap["fillable"] and not gap["candidates"]:
                lines.append("      no candidate in the federation")
    return "\n".join(lines)
