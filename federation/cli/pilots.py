"""``medmci hub pilot ...``: pilots at the hub (the API's ``/api/v1/pilots``), for the operator on the hub's machine.

Input goes through the API's schemas (federation/hub/pilot_schemas.py), so the command line accepts exactly what
the API accepts. The actor in the audit log is ``cli``. ``answer`` records the answer a cluster gave the hub team
(by letter, by e-mail); over the API only the cluster itself answers.
"""

from __future__ import annotations

from pathlib import Path

import click
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError

from ..display import shown
from ..errors import ValidationError
from ..hub.pilot_schemas import (
    ActivityInSchema,
    AnswerSchema,
    InviteSchema,
    OutcomeInSchema,
    PilotCreateSchema,
    PilotStatusSchema,
    TeamEditSchema,
    TeamProposalSchema,
    TeamsSaveSchema,
)
from ..hub.pilot_tables import ACTIVITY_KINDS, OUTCOME_KINDS
from ..pilots.report import FORMATS, write_report
from ..report import table
from .context import open_hub
from .output import dump, when

ACTOR = "cli"
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


def load(schema: Schema, data: dict) -> dict:
    """``data`` as the API's schema reads it; the schema's refusal as the federation's (a message, exit 1)."""
    try:
        return schema.load({k: v for k, v in data.items() if v is not None})
    except SchemaError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationError("invalid input: " + "; ".join(f"{k}: {v}" for k, v in messages.items()),
                              messages) from None


def _hub(ctx: click.Context):
    """The hub of the ``medmci hub`` group above (its ``--instance``: click hands ``ctx.obj`` down)."""
    return open_hub(ctx)


def _show(as_json: bool, data, echo) -> None:
    """``data`` as JSON, or as ``echo`` prints it for a person."""
    if as_json:
        click.echo(dump(data))
    else:
        echo(data)


def _echo_participants(participants: list[dict]) -> None:
    click.echo(table(["KEY", "KIND", "NAME", "COUNTRY", "STATUS", "ANSWERED"],
                     [(p["key"], p["kind"], p["name"], p["country"] or "-", p["status"], when(p["answered_at"]))
                      for p in participants]))


def _echo_pilot(pilot: dict) -> None:
    rows = [("id", pilot["id"]), ("name", pilot["name"]), ("status", pilot["status"]),
            ("meta-cluster", pilot["metacluster_id"]), ("coordinator", pilot["coordinator_node_id"]),
            ("created", f"{when(pilot['created_at'])} by {pilot['created_by']}"),
            ("activated", when(pilot["activated_at"])), ("closed", when(pilot["closed_at"])),
            ("figures at start", "kept" if pilot["figures_at_start"] is not None else "none known")]
    if "counts" in pilot:
        rows.append(("teams, activities, outcomes", ", ".join(str(pilot["counts"][k]) for k in
                                                              ("teams", "activities", "outcomes"))))
    click.echo(table(["", ""], rows))
    click.echo(f"\ngoal: {pilot['goal']}")
    if pilot.get("participants"):
        click.echo("")
        _echo_participants(pilot["participants"])


@click.group("pilot")
def hub_pilot():
    """Pilots: a formed meta-cluster taken forward with its participants, teams, activities and outcomes."""


@hub_pilot.command("create")
@click.argument("pilot_id")
@click.option("--name", required=True)
@click.option("--goal", required=True)
@click.option("--metacluster", "metacluster_id", required=True, help="A formed meta-cluster (id or value chain).")
@click.option("--coordinator", required=True, help="The coordinating cluster (node id or cluster id).")
@json_option
@click.pass_context
def pilot_create(ctx, pilot_id, name, goal, metacluster_id, coordinator, as_json):
    """Create a pilot (proposed) from a formed meta-cluster."""
    data = load(PilotCreateSchema(), {"id": pilot_id, "name": name, "goal": goal, "metacluster_id": metacluster_id,
                                      "coordinator": coordinator})
    pilot = _hub(ctx).pilots.create(data["id"], data["name"], data["goal"], data["metacluster_id"],
                                    data["coordinator"], ACTOR, data["team_constraints"])
    _show(as_json, pilot, _echo_pilot)


@hub_pilot.command("list")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000), help="The newest LIMIT.")
@json_option
@click.pass_context
def pilot_list(ctx, limit, as_json):
    """The pilots, newest first."""
    total, pilots = _hub(ctx).pilots.page(0, limit)
    if as_json:
        click.echo(dump(pilots))
        return
    click.echo(table(["ID", "STATUS", "META-CLUSTER", "COORDINATOR", "CREATED", "NAME"],
                     [(p["id"], p["status"], p["metacluster_id"], p["coordinator_node_id"], when(p["created_at"]),
                       p["name"]) for p in pilots]))
    if total > len(pilots):
        click.echo(f"\n{len(pilots)} of {total} pilots (--limit)")


@hub_pilot.command("show")
@click.argument("pilot_id")
@json_option
@click.pass_context
def pilot_show(ctx, pilot_id, as_json):
    """One pilot with its participants."""
    pilot = _hub(ctx).pilots.get(pilot_id)
    _show(as_json, pilot, _echo_pilot)


@hub_pilot.command("invite")
@click.argument("pilot_id")
@click.argument("keys", nargs=-1, required=True)
@click.option("--knowledge", is_flag=True, help="Add knowledge entities serving the meta-cluster (they take part "
                                                "at once) instead of inviting clusters.")
@json_option
@click.pass_context
def pilot_invite(ctx, pilot_id, keys, knowledge, as_json):
    """Invite clusters of the pilot's meta-cluster (KEYS: node or cluster ids), or add knowledge entities."""
    data = load(InviteSchema(), {"kind": "knowledge" if knowledge else "cluster", "keys": list(keys)})
    participants = _hub(ctx).pilots.invite(pilot_id, data["kind"], data["keys"], ACTOR)
    _show(as_json, participants, _echo_participants)


@hub_pilot.command("answer")
@click.argument("pilot_id")
@click.argument("node_id")
@click.argument("answer", type=click.Choice(["accept", "decline"]))
@json_option
@click.pass_context
def pilot_answer(ctx, pilot_id, node_id, answer, as_json):
    """Record the answer an invited cluster gave the hub team (audited as given through the command line)."""
    data = load(AnswerSchema(), {"answer": answer})
    hub = _hub(ctx)
    participant = hub.pilots.answer(pilot_id, hub.nodes.resolve_id(node_id), data["answer"], ACTOR)
    _show(as_json, participant, lambda p: _echo_participants([p]))


@hub_pilot.command("status")
@click.argument("pilot_id")
@click.argument("status", type=click.Choice(["active", "closed"]))
@json_option
@click.pass_context
def pilot_status(ctx, pilot_id, status, as_json):
    """Activate a proposed pilot, or close an active one."""
    data = load(PilotStatusSchema(), {"status": status})
    pilot = _hub(ctx).pilots.set_status(pilot_id, data["status"], ACTOR)
    _show(as_json, pilot, lambda p: click.echo(f"pilot {p['id']}: {p['status']}"))


@hub_pilot.group("team")
def pilot_team():
    """A pilot's working teams."""


def _echo_teams(teams: list[dict]) -> None:
    click.echo(table(["TEAM", "MEMBERS", "SCORE", "EDITS", "REASONS"],
                     [(t["name"], " ".join(t["members"]), "-" if t["score"] is None else f"{t['score']:.2f}",
                       len(t["history"]), "; ".join(t["reasons"])) for t in teams]))


@pilot_team.command("list")
@click.argument("pilot_id")
@json_option
@click.pass_context
def team_list(ctx, pilot_id, as_json):
    """The pilot's teams."""
    teams = _hub(ctx).pilot_work.teams(pilot_id)
    _show(as_json, teams, _echo_teams)


@pilot_team.command("save")
@click.argument("pilot_id")
@click.argument("name")
@click.argument("members", nargs=-1, required=True)
@click.option("--score", type=float)
@click.option("--reason", "reasons", multiple=True, help="Why this team (repeatable).")
@json_option
@click.pass_context
def team_save(ctx, pilot_id, name, members, score, reasons, as_json):
    """Save a team NAME of MEMBERS (participant keys that take part)."""
    data = load(TeamsSaveSchema(), {"teams": [{"name": name, "members": list(members), "score": score,
                                               "reasons": list(reasons)}]})
    teams = _hub(ctx).pilot_work.save_teams(pilot_id, data["teams"], ACTOR)
    _show(as_json, teams, _echo_teams)


@pilot_team.command("edit")
@click.argument("pilot_id")
@click.argument("name")
@click.option("--add", "add", multiple=True, help="A participant to add (repeatable).")
@click.option("--remove", "remove", multiple=True, help="A member to remove (repeatable).")
@click.option("--rename", help="The team's new name.")
@json_option
@click.pass_context
def team_edit(ctx, pilot_id, name, add, remove, rename, as_json):
    """Add or remove members of a team, or rename it (kept in the team's history)."""
    data = load(TeamEditSchema(), {"add": list(add), "remove": list(remove), "rename": rename})
    team = _hub(ctx).pilot_work.edit_team(pilot_id, name, ACTOR, data["add"], data["remove"], data["rename"])
    _show(as_json, team, lambda t: _echo_teams([t]))


@pilot_team.command("propose")
@click.argument("pilot_id")
@click.option("--level", type=click.Choice(["clusters", "members"]), default="clusters", show_default=True,
              help="Teams of the accepted clusters, or of their chain members (with the knowledge participants).")
@click.option("--size", type=(int, int), metavar="MIN MAX", help="Participants per team.")
@click.option("--min-countries", type=int)
@click.option("--eu-and-mena/--no-eu-and-mena", default=None, help="One EU and one MENA participant per team.")
@click.option("--min-knowledge", type=int)
@click.option("--max-teams-per-participant", type=int)
@click.option("--save", is_flag=True, help="Store the teams (and keep the constraints on the pilot).")
@json_option
@click.pass_context
def team_propose(ctx, pilot_id, level, size, min_countries, eu_and_mena, min_knowledge, max_teams_per_participant,
                 save, as_json):
    """Propose working teams meeting the constraints (the pilot's, else the settings'), with their reasons."""
    constraints = {"team_size": list(size) if size else None, "min_countries": min_countries,
                   "eu_and_mena": eu_and_mena, "min_knowledge": min_knowledge,
                   "max_teams_per_participant": max_teams_per_participant}
    data = load(TeamProposalSchema(), {"level": level, "save": save,
                                       "constraints": {k: v for k, v in constraints.items() if v is not None}})
    proposal = _hub(ctx).pilot_teams.propose(pilot_id, data["level"], data["constraints"], data["save"], ACTOR)
    _show(as_json, proposal, _echo_proposal)


def _echo_proposal(proposal: dict) -> None:
    said = ", ".join(f"{k} {v}" for k, v in proposal["constraints"].items())
    click.echo(f"{len(proposal['teams'])} teams of {len(proposal['participants'])} participants "
               f"({proposal['level']}; {said})")
    for team in proposal["teams"]:
        click.echo(f"\n{shown(team['name'])} (score {team['score']:g})")
        click.echo(table(["MEMBER", "KIND", "COUNTRY", "ID"],
                         [(m["name"], m["kind"], m["country"] or "-", m["id"]) for m in team["members"]], "  "))
        for reason in team["reasons"]:
            click.echo(f"  - {shown(reason)}")
    click.echo("\nsaved" if proposal["saved"] else "\nnot saved (--save stores them)")


@hub_pilot.command("report")
@click.argument("pilot_id")
@click.option("--out", "folder", type=click.Path(file_okay=False), help="The folder to write to (default: "
              "report-PILOT_ID in the current folder).")
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS), help="html, md (repeatable; "
              "default: both).")
@click.pass_context
def pilot_report(ctx, pilot_id, folder, formats):
    """Write the pilot's report (HTML, and Markdown with its chart PNG files) and print the files' paths."""
    data = _hub(ctx).pilots.report_data(pilot_id)
    for path in write_report(data, Path(folder or f"report-{pilot_id}"), formats or FORMATS):
        click.echo(str(path))


def _entry_command(group: click.Group, what: str, kinds: tuple[str, ...], schema: Schema, extra: str):
    """``activity add`` and ``outcome add``: the same options, and ``--notes`` or ``--link``."""

    @group.command("add", help=f"Record an {what} of participants of the pilot.")
    @click.argument("pilot_id")
    @click.option("--date", "day", required=True, help="YYYY-MM-DD")
    @click.option("--kind", required=True, type=click.Choice(kinds))
    @click.option("--title", required=True)
    @click.option("--participant", "participants", multiple=True, help="A participant's key (repeatable).")
    @click.option(f"--{extra}", "extra_value")
    @json_option
    @click.pass_context
    def add(ctx, pilot_id, day, kind, title, participants, extra_value, as_json):
        data = load(schema, {"date": day, "kind": kind, "title": title, "participants": list(participants),
                             extra: extra_value})
        work = _hub(ctx).pilot_work
        adder = work.add_activity if what == "activity" else work.add_outcome
        entry = adder(pilot_id, data["date"], data["kind"], data["title"], data["participants"], ACTOR,
                      data[extra])
        click.echo(dump(entry) if as_json else f"{what} {entry['id']} added to pilot {pilot_id}: {entry['title']}")

    return add


@hub_pilot.group("activity")
def pilot_activity():
    """A pilot's activities: meetings, trainings, benchmarking visits, market missions."""


@hub_pilot.group("outcome")
def pilot_outcome():
    """A pilot's outcomes: MoUs, joint projects, funding applications, new members."""


_entry_command(pilot_activity, "activity", ACTIVITY_KINDS, ActivityInSchema(), "notes")
_entry_command(pilot_outcome, "outcome", OUTCOME_KINDS, OutcomeInSchema(), "link")
