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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .code_placement import CodeOnChain, coarse_notes, exclusion_reasons, place_code
from .domain import Activity, Cluster, Decision, Member, Placement, ValueChain
from .plugin_calls import rule_failure
from .registry import Registry
from .rules import SubclusterRule

OTHER = "other"


def metacluster_id(chain_id: str) -> str:
    return f"mc-{chain_id}"


class StageMatcher:
    """Which stages of a chain a member's codes fall in (see :mod:`federation.code_placement`); cached by code,
    since members share codes."""

    def __init__(self, chain: ValueChain, registry: Registry):
        self.chain = chain
        self.taxonomies = registry.taxonomies
        self._cache: dict[tuple[str, str], CodeOnChain] = {}
        self._by_activities: dict[tuple, tuple[str, ...]] = {}

    def code(self, activity: Activity) -> CodeOnChain:
        key = (activity.scheme, activity.code)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = place_code(activity, self.chain, self.taxonomies)
        return found

    def stages_of_code(self, scheme: str, code: str) -> tuple[str, ...]:
        return self.code(Activity(scheme, code)).stages

    def codes(self, activities: Iterable[Activity]) -> list[CodeOnChain]:
        return [self.code(a) for a in activities]

    def notes(self, activities: Iterable[Activity]) -> list[str]:
        """What the codes left undecided on this chain (counted on several stages, or only partly on it)."""
        return coarse_notes(self.codes(activities))

    def stages(self, activities: Iterable) -> list[str]:
        if type(activities) is tuple:  # members share their combinations of codes: answer each once
            try:
                return list(self._by_activities[activities])
            except KeyError:
                found = self._by_activities[activities] = tuple(self._stages(activities))
                return list(found)
        return self._stages(activities)

    def _stages(self, activities: Iterable) -> list[str]:
        found: dict[str, None] = {}
        for activity in activities:
            for stage in self.code(activity).stages:
                found[stage] = None
        return [s.id for s in self.chain.stages if s.id in found]


#: The reason of a member no sub-clustering rule places.
NO_RULE = "no sub-clustering rule matched"


def place_member(member: Member, chain: ValueChain, registry: Registry) -> Placement:
    """The member's sub-cluster: the first rule (by priority) that matches it, else ``other``.

    A coarse code only partly covered by a rule (ISIC 1102 is NACE 11.02, 11.03 and 11.04; a rule lists 11.02 and
    11.03) does not match that rule, but makes it a *candidate*: if a candidate comes before the rule that matched
    (rules go from specific to broad), the member's own words (name, offers: the rule's keywords) decide for the
    first candidate they match; otherwise the broader rule places it, and the placement notes what it could not
    decide.
    """
    taxonomies = registry.taxonomies
    rules = registry.subcluster_rules.get(chain.id, ())
    candidates: list[tuple[SubclusterRule, str]] = []
    for rule in rules:
        reason = rule.match(member, taxonomies)
        if reason is not None:
            return _settle(member, rule.name, reason, candidates, rules)
        if all(c.name != rule.name for c, _ in candidates) and (partly := rule.partial(member, taxonomies)):
            candidates.append((rule, partly))
    return _settle(member, OTHER, NO_RULE, candidates, rules)


def _settle(member: Member, name: str, reason: str, candidates: list[tuple[SubclusterRule, str]],
            rules: Sequence[SubclusterRule]) -> Placement:
    candidates = [(rule, partly) for rule, partly in candidates if rule.name != name]
    rule_name = "" if name == OTHER else name
    if not candidates:
        return Placement(name, rule_name, reason)
    for rule, partly in candidates:
        said = next((w for r in rules if r.name == rule.name and (w := r.words(member)) is not None), None)
        if said is not None:
            return Placement(rule.name, rule.name, f"{partly}; its {said} decides for {rule.name}")
    names = ", ".join(rule.name for rule, _ in candidates)
    note = (f"could not decide between {names} and {name}: {'; '.join(partly for _, partly in candidates)}; "
            f"no word of {names} in its name or offers, so {name} (a finer code would decide)")
    return Placement(name, rule_name, reason, (note,))


def explain_member(member: Member, chain: ValueChain, registry: Registry, claims: bool,
                   matcher: StageMatcher | None = None) -> dict:
    """How a member's codes fall on ``chain``, in the words of its own scheme: ``stages`` it counts on,
    ``explanation`` (each code, then what its sub-cluster placement could not decide) and ``excluded`` (why its
    codes keep it off the chain, whatever its cluster; empty when they put it on). ``claims``: whether its cluster
    claims the chain. Knowledge members count their offers' codes too, as formation does."""
    matcher = matcher or StageMatcher(chain, registry)
    activities = member.activities + (member.offer_codes if member.is_knowledge else ())
    codes = matcher.codes(activities)
    excluded = exclusion_reasons(codes, chain, claims, member.is_knowledge)
    if member.is_knowledge and claims:
        excluded = []  # a claiming cluster's knowledge members serve the chain
    explanation = [code.explain() for code in codes]
    if not excluded and not member.is_knowledge:
        explanation += place_member(member, chain, registry).notes
    return {"stages": matcher.stages(activities), "explanation": explanation, "excluded": excluded}


@dataclass(slots=True)
class ClusterPart:
    """What one cluster (at one version) brings to one value chain's meta-cluster.

    Whether a cluster takes part depends on the cluster alone (formation rules judge it with its own chain members),
    so this is computed once per cluster version and chain; :func:`combine` then makes the meta-cluster from the
    parts. ``members`` and ``knowledge`` (the entries) may be dropped once stored: combining needs only the counts
    and the stages covered.
    """

    cluster: Cluster
    entry: dict  # the cluster entry: id, node_id, name, country, claims_chain, members_on_chain, decisions
    admitted: bool
    sub_counts: dict[str, int]  # sub-cluster -> how many of its chain members
    covered: frozenset[str]  # stages its active chain and knowledge members cover
    members: list[dict] | None  # member entries, sorted by id (none unless admitted)
    knowledge: list[dict] | None  # knowledge-member entries, sorted by id (none unless admitted)

    @property
    def node_id(self) -> str:
        return self.cluster.node_id

    @property
    def country(self) -> str:
        return self.cluster.country

    def entries(self) -> tuple[list[dict], list[dict]]:
        """``members`` and ``knowledge``; ValueError once they were dropped."""
        if self.members is None or self.knowledge is None:
            raise ValueError(f"the member entries of node {self.node_id}'s part were dropped")
        return self.members, self.knowledge


def chain_members(chain: ValueChain, cluster: Cluster, matcher: StageMatcher) -> list[tuple[Member, list[str]]]:
    """The cluster's members on ``chain`` (knowledge members aside), each with its stages: a member with an activity
    on a core stage, or on any stage when the cluster claims the chain (see the module's docstring, step 1)."""
    core = {s.id for s in chain.stages if s.kind == "core"}
    claims = chain.id in cluster.value_chains
    members_on_chain = []
    for m in cluster.members:
        if m.is_knowledge:
            continue
        stages = matcher.stages(m.activities)
        if stages and (claims or not core.isdisjoint(stages)):
            members_on_chain.append((m, stages))
    return members_on_chain


def knowledge_on_chain(chain: ValueChain, cluster: Cluster,
                       matcher: StageMatcher) -> list[tuple[Member, list[str], str]]:
    """The cluster's knowledge members that serve ``chain``, each with its stages and why (step 4): their
    activities or offers touch a core stage, or their cluster claims the chain."""
    core = {s.id for s in chain.stages if s.kind == "core"}
    claims = chain.id in cluster.value_chains
    serving = []
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
        serving.append((member, stages, reason))
    return serving


def cluster_part(chain: ValueChain, cluster: Cluster, registry: Registry,
                 matcher: StageMatcher | None = None) -> ClusterPart | None:
    """The cluster's part in ``chain``, or None when it is no candidate (no member on the chain, no claim)."""
    matcher = matcher or StageMatcher(chain, registry)
    claims = chain.id in cluster.value_chains
    members_on_chain = chain_members(chain, cluster, matcher)
    if not members_on_chain and not claims:
        return None  # not a candidate: nothing to explain beyond "no member on this chain"
    decisions = [d for rule in registry.formation_rules
                 if (d := rule.check_cluster(cluster, chain, [m for m, _ in members_on_chain])) is not None]
    if not members_on_chain:
        decisions.append(Decision(False, "core", f"claims {chain.id} but no member has an activity on it"))
    entry = {"id": cluster.id, "node_id": cluster.node_id, "name": cluster.name, "country": cluster.country,
             "claims_chain": claims, "members_on_chain": len(members_on_chain),
             "decisions": [d.as_dict() for d in decisions]}
    if not all(d.passed for d in decisions):
        return ClusterPart(cluster, entry, False, {}, frozenset(), [], [])
    members_out: list[dict] = []
    knowledge_out: list[dict] = []
    sub_counts: dict[str, int] = {}
    for member, stages in members_on_chain:
        placement = place_member(member, chain, registry)
        sub_counts[placement.sub_cluster] = sub_counts.get(placement.sub_cluster, 0) + 1
        notes = matcher.notes(member.activities) + list(placement.notes)
        members_out.append(_member_entry(member, cluster, stages, placement, notes))
    for member, stages, reason in knowledge_on_chain(chain, cluster, matcher):
        knowledge_out.append({"id": member.key, "member_id": member.id, "name": member.name,
                              "kind": member.kind, "country": cluster.country, "cluster_id": cluster.id,
                              "node_id": cluster.node_id, "city": member.city, "status": member.status,
                              "audience": member.audience, "stages": stages, "reason": reason})
    covered = frozenset(stage for entry in members_out + knowledge_out if entry["status"] == "active"
                        for stage in entry["stages"])
    members_out.sort(key=lambda e: e["id"])
    knowledge_out.sort(key=lambda e: e["id"])
    return ClusterPart(cluster, entry, True, sub_counts, covered, members_out, knowledge_out)


def combine(chain: ValueChain, parts: Sequence[ClusterPart], registry: Registry) -> dict:
    """The meta-cluster of ``chain`` from its candidates' parts (in the clusters' order), as a summary: the
    assessment without its member lists (``sub_clusters`` carry a ``count`` instead of ``members``); see
    :func:`full_assessment`. Costs O(clusters), not O(members)."""
    stage_ids = [s.id for s in chain.stages]
    admitted = [p for p in parts if p.admitted]
    chain_decisions = [d for rule in registry.formation_rules
                       if (d := rule.check_metacluster(chain, [p.cluster for p in admitted])) is not None]
    if not admitted:
        chain_decisions.append(Decision(False, "core", "no cluster takes part"))
    formed = all(d.passed for d in chain_decisions)
    counts: dict[str, int] = defaultdict(int)
    for part in admitted:
        for name, count in part.sub_counts.items():
            counts[name] += count
    coverage = {s: sorted({p.country for p in admitted if s in p.covered}) for s in stage_ids}
    countries = sorted({p.country for p in admitted})
    rule_names = {r.name: dict(r.names) for r in registry.subcluster_rules.get(chain.id, ())}
    ordered_subs = [name for name in rule_names if counts.get(name)]
    if counts.get(OTHER):
        ordered_subs.append(OTHER)
    return {
        "id": metacluster_id(chain.id),
        "value_chain": chain.id,
        "value_chain_names": dict(chain.names),
        "ecosystem": chain.ecosystem,
        "formed": formed,
        "decisions": [d.as_dict() for d in chain_decisions],
        "countries": countries,
        "clusters": sorted((p.entry for p in admitted), key=lambda e: (e["country"], e["id"])),
        "excluded_clusters": sorted((p.entry for p in parts if not p.admitted), key=lambda e: (e["country"], e["id"])),
        "stages": [{"id": s.id, "names": dict(s.names), "kind": s.kind} for s in chain.stages],
        "sub_clusters": [{"name": name, "names": rule_names.get(name, {"en": "Other"}), "count": counts[name]}
                         for name in ordered_subs],
        "stage_coverage": coverage,
        "gaps": [s for s in stage_ids if not coverage[s]],
        "country_gaps": {country: [s for s in stage_ids if country not in coverage[s]] for country in countries},
    }


#: Keys of a full assessment, in order (a summary lacks ``members`` and ``knowledge_members``).
ASSESSMENT_KEYS = ("id", "value_chain", "value_chain_names", "ecosystem", "formed", "decisions", "countries",
                   "clusters", "excluded_clusters", "stages", "sub_clusters", "members", "knowledge_members",
                   "stage_coverage", "gaps", "country_gaps")


def full_assessment(summary: dict, members: Iterable[dict], knowledge: Iterable[dict]) -> dict:
    """A summary from :func:`combine` with its member entries: the assessment :func:`assess_value_chain` gives."""
    members = sorted(members, key=lambda e: e["id"])
    by_sub: dict[str, list[str]] = defaultdict(list)
    for entry in members:
        by_sub[entry["sub_cluster"]].append(entry["id"])
    document = {**summary, "members": members, "knowledge_members": sorted(knowledge, key=lambda e: e["id"]),
                "sub_clusters": [{"name": s["name"], "names": s["names"], "members": by_sub.get(s["name"], [])}
                                 for s in summary["sub_clusters"]]}
    return {key: document[key] for key in ASSESSMENT_KEYS}


def assess_value_chain(chain: ValueChain, clusters: Sequence[Cluster], registry: Registry) -> dict:
    matcher = StageMatcher(chain, registry)
    parts = [p for cluster in clusters if (p := cluster_part(chain, cluster, registry, matcher)) is not None]
    return full_assessment(combine(chain, parts, registry), [e for p in parts for e in p.entries()[0]],
                           [e for p in parts for e in p.entries()[1]])


def stage_coverage(stage_ids: Sequence[str], entries: Iterable[dict]) -> dict:
    """Countries covering each stage, from the active members among ``entries``; the stages nobody covers."""
    coverage: dict[str, set[str]] = {s: set() for s in stage_ids}
    for entry in entries:
        if entry["status"] == "active":
            for stage in entry["stages"]:
                coverage[stage].add(entry["country"])
    return {"stage_coverage": {s: sorted(coverage[s]) for s in stage_ids},
            "gaps": [s for s in stage_ids if not coverage[s]]}


def _member_entry(member: Member, cluster: Cluster, stages: list[str], placement: Placement,
                  notes: list[str]) -> dict:
    return {"id": member.key, "member_id": member.id, "name": member.name, "kind": member.kind,
            "country": cluster.country, "cluster_id": cluster.id, "node_id": cluster.node_id,
            "city": member.city, "status": member.status, "audience": member.audience, "stages": stages,
            "sub_cluster": placement.sub_cluster, "rule": placement.rule, "reason": placement.reason,
            "notes": notes}


def form_metaclusters(clusters: Sequence[Cluster], registry: Registry) -> list[dict]:
    """One assessment per value chain, formed or not, in value-chain order. A rule that raises is a
    :class:`~federation.errors.PluginError` naming the rule, its plugin and the chain."""
    out = []
    for _id, chain in sorted(registry.value_chains.items()):
        try:
            out.append(assess_value_chain(chain, clusters, registry))
        except Exception as exc:
            failure = rule_failure(exc, registry.rules_of(chain.id), registry.origins, registry.pm, chain.id)
            if failure is None:
                raise
            raise failure from exc
    return out
