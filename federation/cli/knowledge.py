"""``medmci hub knowledge ...``: the knowledge entities the hub knows (``list``, ``show``), the profiles it hosts
(``host``), invitations to meta-clusters (``suggest``, ``invite``, ``invitations``, ``withdraw``); and the
readable lines of a meta-cluster's scientific representation that ``hub metacluster`` prints."""

from __future__ import annotations

import click

from ..domain import KNOWLEDGE_ENTITY_KINDS
from ..report import table
from .context import open_hub
from .output import FederationGroup, dump, when

#: Who the command line acts as, in the audit log.
ACTOR = "cli"


@click.group("knowledge", cls=FederationGroup)
def hub_knowledge():
    """Knowledge entities (universities, research and technology centres, TTOs): the directory with same-as links,
    hosted profiles, invitations to meta-clusters."""


@hub_knowledge.command("host")
@click.argument("hosted_id")
@click.option("--name", required=True, help="The entity's name (English).")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code.")
@click.option("--kind", required=True, type=click.Choice(KNOWLEDGE_ENTITY_KINDS))
@click.option("--city")
@click.option("--website")
@click.option("--ror", help="Its ROR id (e.g. 05f0yaq80).")
@click.option("--value-chain", "value_chains", multiple=True, help="A value chain it serves (repeatable).")
@click.pass_context
def knowledge_host(ctx, hosted_id, name, country, kind, city, website, ror, value_chains):
    """Host the profile of an entity that runs no server (key hosted:ID), and print the knowledge_member token it
    edits its profile with (PUT /api/v1/knowledge/hosted/ID), once."""
    from ..hub.knowledge_schemas import HostedCreateSchema

    data = HostedCreateSchema().load({
        "id": hosted_id, "names": {"en": name}, "country": country, "website": website,
        "value_chains": list(value_chains),
        "knowledge": {"kind": kind, "city": city, "identifiers": {"ror": ror} if ror else None}})
    data.pop("token_name")
    profile, token, plaintext = open_hub(ctx.parent).hosted.create(data, ACTOR)
    click.echo(f"hosted {profile['key']} ({name}, {country}, {kind}); token {token['id']} bound to it")
    click.echo(f"knowledge_member token (shown once, give it to the entity): {plaintext}")


@hub_knowledge.command("list")
@click.option("--source", type=click.Choice(("member", "node", "hosted")))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def knowledge_list(ctx, source, as_json):
    """Every knowledge entity the hub knows, with its same-as links."""
    _total, entities = open_hub(ctx.parent).knowledge.page(True, 0, None, source)
    if as_json:
        click.echo(dump(entities))
        return
    click.echo(table(["KEY", "SOURCE", "NAME", "KIND", "COUNTRY", "SAME AS"],
                     [(e["key"], e["source"], e["name"], e["kind"], e["country"],
                       "; ".join(f"{s['key']} ({', '.join(s['matched'])})" for s in e["same_as"]))
                      for e in entities]))


@hub_knowledge.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def knowledge_show(ctx, key, as_json):
    """One knowledge entity: what its source says, its stage links per value chain and its same-as links."""
    entity = open_hub(ctx.parent).knowledge.one(key, True)
    click.echo(dump(entity) if as_json else render_entity(entity))


def render_entity(entity: dict) -> str:
    city = f", {entity['city']}" if entity["city"] else ""
    identifiers = ", ".join(f"{k} {v}" for k, v in entity["identifiers"].items()) or "-"
    serves = ", ".join(f"{chain} ({', '.join(stages) or 'no stage claimed'})"
                       for chain, stages in entity["serves"].items()) or "-"
    lines = [f"{entity['name']} ({entity['key']}): {entity['kind']}, {entity['country']}{city}; "
             f"source {entity['source']}",
             f"  identifiers: {identifiers}",
             f"  research domains: {', '.join(entity['research_domains']) or '-'}",
             f"  serves: {serves}",
             f"  organisation: {entity['organisation']} ({', '.join(entity['same_organisation'])})"]
    for link in entity["same_as"]:
        lines.append(f"  same as {link['key']}: {link['reason']}")
    lines += explain_links(entity["stage_links"])
    return "\n".join(lines)


def explain_links(stage_links: dict) -> list[str]:
    """Per value chain, each stage link's reason (place_entity's words)."""
    if not stage_links:
        return ["  stage links: none (no research domain, activity or claim falls on a value chain's stage)"]
    lines = ["  stage links:"]
    for chain, links in stage_links.items():
        lines.append(f"    {chain}:")
        lines += [f"      {link['stage']} ({link['how']}): {link['reason']}" for link in links]
    return lines


@hub_knowledge.command("suggest")
@click.argument("metacluster_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def knowledge_suggest(ctx, metacluster_id, as_json):
    """Whom a formed meta-cluster could invite, best first, with the score and reasons."""
    suggestions = open_hub(ctx.parent).invitations.suggestions(metacluster_id)
    if as_json:
        click.echo(dump(suggestions))
        return
    click.echo(table(["ENTITY", "NAME", "COUNTRY", "SCORE", "REASONS"],
                     [(s["entity"], s["name"], s["country"], f"{s['score']:.2f}", "; ".join(s["reasons"]))
                      for s in suggestions]) if suggestions else f"no suggestion for {metacluster_id}")


@hub_knowledge.command("invite")
@click.argument("metacluster_id")
@click.argument("key")
@click.pass_context
def knowledge_invite(ctx, metacluster_id, key):
    """Invite the knowledge entity KEY to a formed meta-cluster; it answers for itself."""
    invitation = open_hub(ctx.parent).invitations.invite(metacluster_id, key, ACTOR)
    click.echo(f"invitation {invitation['id']}: {key} invited to {invitation['metacluster_id']}")


@hub_knowledge.command("invitations")
@click.argument("metacluster_id", required=False)
@click.option("--status", type=click.Choice(("invited", "accepted", "declined", "withdrawn")))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def knowledge_invitations(ctx, metacluster_id, status, as_json):
    """Invitations, newest first (of one meta-cluster when given)."""
    _total, rows = open_hub(ctx.parent).invitations.page(metacluster_id, status, 0, None)
    if as_json:
        click.echo(dump(rows))
        return
    click.echo(table(["ID", "META-CLUSTER", "ENTITY", "STATUS", "INVITED", "ANSWERED", "BY"],
                     [(r["id"], r["metacluster_id"], r["entity_key"], r["status"], when(r["invited_at"]),
                       when(r["answered_at"]), r["answered_by"] or "") for r in rows]))


@hub_knowledge.command("withdraw")
@click.argument("invitation_id", type=int)
@click.pass_context
def knowledge_withdraw(ctx, invitation_id):
    """Withdraw an invitation (waiting for its answer, or accepted)."""
    row = open_hub(ctx.parent).invitations.withdraw(invitation_id, ACTOR)
    click.echo(f"invitation {row['id']} ({row['entity_key']} to {row['metacluster_id']}) withdrawn")


def render_representation(figures: dict | None) -> str:
    """A meta-cluster's scientific representation in readable lines: per 100 members, by country, by stage, the
    triple helix, the unsupported stages per country, then each cluster's per 100 members."""
    if figures is None:
        return "Scientific representation: none (the meta-cluster is not formed, or its value chain is not loaded)"

    def ratio(value) -> str:
        return "-" if value is None else f"{value:g}"

    helix = figures["triple_helix"]
    shares = helix["shares"]
    lines = ["Scientific representation:",
             f"  knowledge organisations per 100 chain members: {ratio(figures['knowledge_per_100_members'])}",
             f"  triple helix: {helix['companies']} companies, {helix['knowledge']} knowledge organisations, "
             f"{helix['public_support']} public and support bodies (shares "
             f"{', '.join(f'{k} {ratio(v)}' for k, v in shares.items())})",
             table(["COUNTRY", "MEMBERS", "KNOWLEDGE", "PER 100"],
                   [(c, v["members"], v["knowledge"], ratio(v["per_100"])) for c, v in figures["by_country"].items()],
                   "  "),
             table(["STAGE", "KNOWLEDGE", "COUNTRIES"],
                   [(s, v["knowledge"], ", ".join(v["countries"]) or "-") for s, v in figures["by_stage"].items()],
                   "  ")]
    unsupported: dict[str, list[str]] = {}
    for pair in figures["unsupported"]:
        unsupported.setdefault(pair["country"], []).append(pair["stage"])
    lines.append("  unsupported stages: " + ("; ".join(f"{c}: {', '.join(s)}" for c, s in unsupported.items())
                                             or "none"))
    for cluster in figures.get("clusters") or ():
        lines.append(f"  cluster {cluster['id']} ({cluster['country']}): "
                     f"{ratio(cluster['knowledge_per_100_members'])} per 100 members")
    return "\n".join(lines)
