"""``medmci hub metaclusters | metacluster | cluster | why``: the meta-clusters the hub formed, one cluster (its
cooperation profile, a knowledge node's block), and why a cluster is in or out."""

from __future__ import annotations

import sys

import click

from ..report import metacluster_detail, metaclusters_summary, not_formed_summary, table
from .context import open_hub
from .knowledge import explain_links, render_representation
from .output import dump


@click.command("metaclusters")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"metaclusters": [...], "value_chains_not_formed": [{"value_chain", "why"}]} for machines.')
@click.option("--detail", is_flag=True, help="Show each meta-cluster in full.")
@click.pass_context
def hub_metaclusters(ctx, as_json, detail):
    """The meta-clusters the hub formed."""
    hub_ = open_hub(ctx)
    if as_json:
        click.echo(dump(hub_.figures.export()))
        return
    click.echo(render_metaclusters(hub_.queries, detail))


@click.command("metacluster")
@click.argument("metacluster_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_metacluster(ctx, metacluster_id, as_json):
    """One meta-cluster in full (by id or value chain), with its scientific representation (knowledge
    organisations per 100 members, by country and stage, the triple helix, the unsupported stages per country)."""
    document = open_hub(ctx).figures.metacluster(metacluster_id, True)
    click.echo(dump(document) if as_json else
               metacluster_detail(document) + "\n\n" + render_representation(document["scientific_representation"]))


@click.command("why")
@click.argument("cluster_id")
@click.option("--member", "member_id", help="Explain one member's placement instead.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_why(ctx, cluster_id, member_id, as_json):
    """Why a cluster (or one of its members) is in or out of each meta-cluster. For a knowledge entity (a knowledge
    node's id, hosted:ID, or a knowledge member with --member): the stages it supports on each value chain, and
    why."""
    hub_ = open_hub(ctx)
    entity = _knowledge_entity(hub_, cluster_id, member_id)
    if entity is not None and (member_id is None or as_json):
        click.echo(dump(entity) if as_json else _entity_why(entity))
        return
    answer = hub_.queries.why(cluster_id, member_id)
    if as_json:
        click.echo(dump(answer))
        return
    rows = [(p["value_chain"], "in" if p["included"] else "out", p["sub_cluster"] or "",
             "; ".join([r["reason"] for r in p["reasons"]] + _undecided(p)))
            for p in [*answer["placements"], *answer.get("not_placed", [])]]
    rows.sort(key=lambda row: row[0])
    click.echo(table(["VALUE CHAIN", "IN/OUT", "SUB-CLUSTER", "WHY"], rows))
    if entity is not None:  # a knowledge member: its stage links too
        click.echo("\n".join(["", f"{entity['name']} as a knowledge entity ({entity['key']}):",
                               *explain_links(entity["stage_links"])]))


def _knowledge_entity(hub_, key: str, member_id: str | None) -> dict | None:
    """The directory's entry of a knowledge entity named as ``hub why`` names things (hosted:ID, a knowledge node
    by node or cluster id, a cluster's knowledge member with ``--member``), else None."""
    from ..errors import NotFound

    directory = hub_.knowledge.load(True)
    wanted = key if member_id is None else None
    if wanted not in directory.entities:
        try:
            node_id = hub_.queries.cluster(key)["node_id"]
        except NotFound:
            return None  # not a cluster either: `why` says so
        wanted = node_id if member_id is None else f"{node_id}/{member_id}"
    return hub_.knowledge.entity_dict(directory, wanted) if wanted in directory.entities else None


def _entity_why(entity: dict) -> str:
    serving = ", ".join(entity["serves"]) or "no value chain of its own"
    return "\n".join([f"{entity['name']} ({entity['key']}, {entity['source']}): {entity['kind']}, {entity['country']}",
                      f"  serves by its own profile: {serving}", *explain_links(entity["stage_links"])])


def _undecided(placement: dict) -> list[str]:
    """The explanation lines a member's placement adds to its reasons: how its codes fall on the chain."""
    if not placement["included"] and placement.get("subject") != "cluster" and any(
            r["rule"] == "codes" for r in placement["reasons"]):
        return []  # the reasons already explain each code
    return list(placement.get("explanation") or ())


def render_metaclusters(queries, detail: bool = True) -> str:
    """The formed meta-clusters (a summary, then each in full unless ``detail`` is false), then the value chains
    without one."""
    formed = queries.metaclusters(formed=True)
    parts = [metaclusters_summary(formed)]
    if detail:
        parts += ["", *("\n" + metacluster_detail(m) for m in formed)]
    # The same list as the JSON's value_chains_not_formed: chains never formed (a formation failed) included.
    not_formed = [{"value_chain": c["value_chain"], "decisions": c["why"]} for c in queries.value_chains_not_formed()]
    if not_formed:
        parts += ["", "Value chains without a meta-cluster:", not_formed_summary(not_formed)]
    return "\n".join(parts)


@click.command("reform")
@click.option("--chain", "chains", multiple=True, help="Only this value chain (repeatable; default: every one).")
@click.option("--rebuild", is_flag=True, help="Drop the chains' stored results first and form them from scratch.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_reform(ctx, chains, rebuild, as_json):
    """Form the meta-clusters again now, from the versions the hub holds (no harvest): after a rule or value-chain
    file changed, or a plugin was added, upgraded, disabled or removed. After a plugin was added, what the hub had set
    aside of the nodes' current versions (value chains and schemes it did not know) is first read again from the
    stored signed bytes, and the chains it bears on are formed too. Value chains no plugin provides any more are
    retired. Exits 1 when a plugin's rule failed some chain's formation (that chain keeps its last meta-cluster) or
    a node's current version no longer reads (that node keeps its rows)."""
    hub_ = open_hub(ctx)
    unknown = sorted(set(chains) - set(hub_.registry.value_chains))
    if unknown:
        raise click.BadParameter(f"no loaded plugin provides {', '.join(unknown)} (loaded: "
                                 f"{', '.join(sorted(hub_.registry.value_chains))})", param_hint="--chain")
    rereads = hub_.harvester.reread()
    wanted = sorted(set(chains) | rereads.chains) if chains else None
    formation = hub_.harvester.aggregator.form(wanted, rebuild=rebuild)
    if as_json:
        click.echo(dump({"formed": [{"value_chain": s["value_chain"], "formed": s["formed"]}
                                    for s in formation.summaries],
                         "failures": formation.failures_list(),
                         "retired": formation.retired,
                         "reread": rereads.as_dict()}))
    else:
        if rereads.nodes:
            click.echo(f"Read again with this hub's plugins (parts set aside before): {', '.join(rereads.nodes)}")
        for node_id, reason in sorted(rereads.failures.items()):
            click.echo(f"Node {node_id} keeps its rows as they were: {reason}")
        rows = [(s["value_chain"], "formed" if s["formed"] else "not formed",
                 "; ".join(d["reason"] for d in s["decisions"] if not d["passed"])) for s in formation.summaries]
        rows += [(f["value_chain"], "failed", f["message"]) for f in formation.failures_list()]
        rows += [(chain, "retired", "no loaded plugin provides it") for chain in formation.retired]
        click.echo(table(["VALUE CHAIN", "RESULT", "WHY"], rows))
    if formation.failures or rereads.failures:
        sys.exit(1)


@click.command("cluster")
@click.argument("cluster_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_cluster(ctx, cluster_id, as_json):
    """One cluster (by cluster or node id): its identity, its cooperation profile (topics, partners sought, target
    markets, the codes its members offer and need), and a knowledge node's block."""
    cluster = open_hub(ctx).queries.cluster(cluster_id)
    click.echo(dump(cluster) if as_json else render_cluster(cluster))


def _listed(values) -> str:
    return ", ".join(str(v) for v in values or ()) or "-"


def render_cluster(cluster: dict) -> str:
    """A cluster for people: identity, cooperation, knowledge block."""
    name = cluster["names"].get("en") or next(iter(cluster["names"].values()))
    lines = [f"{name} ({cluster['id']}, {cluster['country']}), {cluster['kind']} of node {cluster['node_id']}",
             f"  website: {cluster['website'] or '-'}",
             f"  value chains: {_listed(cluster['value_chains'])}"]
    if cluster["kind"] == "cluster":
        lines.append(f"  members: {cluster['members']}")
    cooperation = cluster.get("cooperation")
    if cooperation:
        lines += ["cooperation:",
                  f"  priority topics: {_listed(cooperation['priority_topics'])}",
                  f"  other topics: {_listed(cooperation['other_topics'])}",
                  f"  partners sought: {_listed(cooperation['partners_sought'])}",
                  f"  target markets: {_listed(cooperation['target_markets'])}"]
        opportunities = cooperation.get("opportunities") or {"offers": [], "needs": []}
        rows = [(side, f"{o['scheme']}:{o['code']}", o["members"])
                for side in ("offers", "needs") for o in opportunities[side]]
        if rows:
            lines.append(table(["OPPORTUNITY", "CODE", "MEMBERS"], rows))
    knowledge = cluster.get("knowledge")
    if knowledge:
        served = (f"{s['value_chain']} ({_listed(s['stages'])})" for s in knowledge["serves"])
        lines += ["knowledge:",
                  f"  kind: {knowledge['kind']}, city: {knowledge.get('city') or '-'}",
                  f"  research domains: {_listed(knowledge['research_domains'])}",
                  f"  services: {_listed(knowledge['services'])}",
                  f"  keywords: {_listed(knowledge['keywords'])}",
                  f"  serves: {_listed(served)}",
                  f"  units: {_listed(u['id'] for u in knowledge['units'])}"]
    return "\n".join(lines)


def metacluster_commands() -> list[click.Command]:
    """The commands this module adds to ``medmci hub``."""
    return [hub_metaclusters, hub_metacluster, hub_cluster, hub_why, hub_reform]
