"""Meta-cluster formation: from the clusters the hub holds to one explained assessment per value chain.

Pure domain code (no database, no web). For each value chain:

1. each cluster's *chain members* are its members with an activity in a core stage of the chain; members whose
   activities fall only in enabling or support stages (packaging, logistics, R&D...) serve many chains, so they
   count only for a cluster that claims the chain;
2. every formation rule judges every cluster that has chain members or claims the chain; a cluster takes part only
   if no rule refuses it;
3. the rules judge the admitted clusters as a whole; the meta-cluster forms only if none refuses;
4. knowledge members (universities, research centres) of the admitted clusters serve the meta-cluster when their
   activities or offers touch a core stage, or when their cluster claims the chain;
5. chain members are split into sub-clusters by the chain's rules (first match wins, else "other");
6. stage coverage per country is computed from active members; stages nobody covers are the gaps.

Every verdict keeps its reason, so the result answers "why is this cluster in or out".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

from .domain import Cluster, Decision, Member, Placement, ValueChain
from .registry import Registry

OTHER = "other"


def metacluster_id(chain_id: str) -> str:
    return f"mc-{chain_id}"


class StageMatcher:
    """Which stages of a chain a member's codes fall in; cached by code, since members share codes."""

    def __init__(self, chain: ValueChain, registry: Registry):
        self.chain = chain
        self.taxonomies = registry.taxonomies
        self._cache: dict[tuple[str, str], tuple[str, ...]] = {}

    def stages_of_code(self, scheme: str, code: str) -> tuple[str, ...]:
        key = (scheme, code)
        if key not in self._cache:
            self._cache[key] = tuple(stage.id for stage in self.chain.stages
                                     if self.taxonomies.under(scheme, code, stage.prefixes) is not None)
        return self._cache[key]

    def stages(self, activities: Iterable) -> list[str]:
        found: dict[str, None] = {}
        for activity in activities:
            for stage in self.stages_of_code(activity.scheme, activity.code):
                found[stage] = None
        return [s.id for s in self.chain.stages if s.id in found]


def place_member(member: Member, chain: ValueChain, registry: Registry) -> Placement:
    for rule in registry.subcluster_rules.get(chain.id, ()):
        reason = rule.match(member, registry.taxonomies)
        if reason is not None:
            return Placement(rule.name, rule.name, reason)
    return Placement(OTHER, "", "no sub-clustering rule matched")


def assess_value_chain(chain: ValueChain, clusters: Sequence[Cluster], registry: Registry) -> dict:
    matcher = StageMatcher(chain, registry)
    stage_ids = [s.id for s in chain.stages]
    core = {s.id for s in chain.stages if s.kind == "core"}

    def on_chain(stages: list[str], claims: bool) -> bool:
        return bool(stages) and (claims or not core.isdisjoint(stages))

    admitted: list[Cluster] = []
    cluster_entries, excluded_entries = [], []
    chain_members: dict[str, list[tuple[Member, list[str]]]] = {}

    for cluster in clusters:
        claims = chain.id in cluster.value_chains
        members_on_chain = [(m, stages) for m in cluster.members if not m.is_knowledge
                            for stages in [matcher.stages(m.activities)] if on_chain(stages, claims)]
        if not members_on_chain and not claims:
            continue  # not a candidate: nothing to explain beyond "no member on this chain"
        decisions = [d for rule in registry.formation_rules
                     if (d := rule.check_cluster(cluster, chain, [m for m, _ in members_on_chain])) is not None]
        if not members_on_chain:
            decisions.append(Decision(False, "core", f"claims {chain.id} but no member has an activity on it"))
        entry = {"id": cluster.id, "node_id": cluster.node_id, "name": cluster.name, "country": cluster.country,
                 "claims_chain": claims, "members_on_chain": len(members_on_chain),
                 "decisions": [d.as_dict() for d in decisions]}
        if all(d.passed for d in decisions):
            admitted.append(cluster)
            chain_members[cluster.node_id] = members_on_chain
            cluster_entries.append(entry)
        else:
            excluded_entries.append(entry)

    chain_decisions = [d for rule in registry.formation_rules
                       if (d := rule.check_metacluster(chain, admitted)) is not None]
    if not admitted:
        chain_decisions.append(Decision(False, "core", "no cluster takes part"))
    formed = all(d.passed for d in chain_decisions)

    members_out, knowledge_out = [], []
    sub_clusters: dict[str, list[str]] = defaultdict(list)
    for cluster in admitted:
        for member, stages in chain_members[cluster.node_id]:
            placement = place_member(member, chain, registry)
            sub_clusters[placement.sub_cluster].append(member.key)
            members_out.append(_member_entry(member, cluster, stages, placement))
        claims = chain.id in cluster.value_chains
        for member in cluster.members:
            if not member.is_knowledge:
                continue
            stages = matcher.stages(member.activities + member.offer_codes)
            if not core.isdisjoint(stages):
                reason = f"its activities or offers fall in stage(s) {', '.join(s for s in stages if s in core)}"
            elif claims:
                reason = f"knowledge member of {cluster.name}, which claims {chain.id}"
            else:
                continue
            knowledge_out.append({"id": member.key, "member_id": member.id, "name": member.name,
                                  "kind": member.kind, "country": cluster.country, "cluster_id": cluster.id,
                                  "node_id": cluster.node_id, "city": member.city, "status": member.status,
                                  "audience": member.audience, "stages": stages, "reason": reason})

    coverage_view = stage_coverage(stage_ids, members_out + knowledge_out)
    countries = sorted({c.country for c in admitted})
    rule_names = {r.name: dict(r.names) for r in registry.subcluster_rules.get(chain.id, ())}
    ordered_subs = [name for name in rule_names if name in sub_clusters]
    if OTHER in sub_clusters:
        ordered_subs.append(OTHER)
    return {
        "id": metacluster_id(chain.id),
        "value_chain": chain.id,
        "value_chain_names": dict(chain.names),
        "ecosystem": chain.ecosystem,
        "formed": formed,
        "decisions": [d.as_dict() for d in chain_decisions],
        "countries": countries,
        "clusters": sorted(cluster_entries, key=lambda e: (e["country"], e["id"])),
        "excluded_clusters": sorted(excluded_entries, key=lambda e: (e["country"], e["id"])),
        "stages": [{"id": s.id, "names": dict(s.names), "kind": s.kind} for s in chain.stages],
        "sub_clusters": [{"name": name, "names": rule_names.get(name, {"en": "Other"}),
                          "members": sorted(sub_clusters[name])} for name in ordered_subs],
        "members": sorted(members_out, key=lambda e: e["id"]),
        "knowledge_members": sorted(knowledge_out, key=lambda e: e["id"]),
        **coverage_view,
        "country_gaps": {country: [s for s in stage_ids if country not in coverage_view["stage_coverage"][s]]
                         for country in countries},
    }


def stage_coverage(stage_ids: Sequence[str], entries: Iterable[dict]) -> dict:
    """Countries covering each stage, from the active members among ``entries``; the stages nobody covers."""
    coverage: dict[str, set[str]] = {s: set() for s in stage_ids}
    for entry in entries:
        if entry["status"] == "active":
            for stage in entry["stages"]:
                coverage[stage].add(entry["country"])
    return {"stage_coverage": {s: sorted(coverage[s]) for s in stage_ids},
            "gaps": [s for s in stage_ids if not coverage[s]]}


def _member_entry(member: Member, cluster: Cluster, stages: list[str], placement: Placement) -> dict:
    return {"id": member.key, "member_id": member.id, "name": member.name, "kind": member.kind,
            "country": cluster.country, "cluster_id": cluster.id, "node_id": cluster.node_id,
            "city": member.city, "status": member.status, "audience": member.audience, "stages": stages,
            "sub_cluster": placement.sub_cluster, "rule": placement.rule, "reason": placement.reason}


def form_metaclusters(clusters: Sequence[Cluster], registry: Registry) -> list[dict]:
    """One assessment per value chain, formed or not, in value-chain order."""
    return [assess_value_chain(chain, clusters, registry) for _id, chain in sorted(registry.value_chains.items())]
