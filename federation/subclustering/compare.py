"""Two sub-clustering rule sets applied to the same meta-cluster, side by side (pure: no database, no web).

Each rule set places the meta-cluster's chain members with formation's own function
(:func:`federation.formation.place_member`, on a copy of the registry holding that set's rules), so a comparison
shows exactly what adopting the set would do. Knowledge members are not placed by formation; here each is counted
in the sub-cluster the set's rules would place it in (its codes, offered codes and words), to show which
sub-clusters have research support.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Sequence

from ..domain import Member, ValueChain
from ..formation import OTHER, place_member
from ..registry import Registry
from .rule_sets import RuleSet

#: A difference of balance (normalised entropy) smaller than this is not worth a sentence.
BALANCE_NOTICED = 0.05


def placements(members: Sequence[Member], chain: ValueChain, rule_set: RuleSet, registry: Registry) -> dict:
    """``{member key: Placement}`` of ``members`` under ``rule_set``, by formation's own placement."""
    with_rules = dataclasses.replace(registry, subcluster_rules={**registry.subcluster_rules,
                                                                 chain.id: list(rule_set.rules)})
    return {m.key: place_member(m, chain, with_rules) for m in members}


def balance(sizes: Sequence[int], defined: int) -> dict:
    """How evenly members spread over the sub-clusters a rule set defines (``sizes``: members of each named
    sub-cluster; members left in "other" are not in it: they are counted apart).

    - ``entropy``: normalised Shannon entropy, ``-sum(p * ln p) / ln(defined)`` with ``p`` each sub-cluster's share
      of the placed members: 1 when every defined sub-cluster has as many members, 0 when one holds them all (or
      no member is placed, or the set defines one sub-cluster). An empty sub-cluster lowers it.
    - ``effective_sub_clusters``: ``exp`` of the (unnormalised) entropy: how many sub-clusters of equal size
      would spread members as evenly (4.0: like four equal sub-clusters, whatever their number).
    """
    placed = sum(sizes)
    if placed == 0:
        return {"entropy": 0.0, "effective_sub_clusters": 0.0}
    entropy = -sum(n / placed * math.log(n / placed) for n in sizes if n)
    return {"entropy": round(entropy / math.log(defined), 3) if defined > 1 else 0.0,
            "effective_sub_clusters": round(math.exp(entropy), 2)}


def describe(rule_set: RuleSet, label: str, members: Sequence[Member], knowledge: Sequence[Member],
             placed: dict, knowledge_placed: dict) -> dict:
    """One side of the comparison: each sub-cluster's size, countries, clusters and knowledge members."""
    by_sub: dict[str, list[Member]] = defaultdict(list)
    for member in members:
        by_sub[placed[member.key].sub_cluster].append(member)
    knowledge_by_sub = Counter(knowledge_placed[k.key].sub_cluster for k in knowledge)
    defined = rule_set.sub_clusters
    names = rule_set.names
    total = len(members)
    rows: list[dict] = []
    for name in defined + ([OTHER] if by_sub.get(OTHER) else []):
        group = by_sub.get(name, [])
        countries = Counter(m.country for m in group)
        rows.append({"name": name, "names": names.get(name, {"en": "Other"}), "members": len(group),
                     "share": round(len(group) / total, 3) if total else 0.0,
                     "countries": dict(sorted(countries.items())), "clusters": len({m.node_id for m in group}),
                     "knowledge_members": knowledge_by_sub.get(name, 0), "cross_border": len(countries) >= 2})
    named = [row for row in rows if row["name"] != OTHER]
    largest = max(named, key=lambda row: row["members"], default=None)
    return {"label": label, "name": rule_set.name, "source": rule_set.source, "defined": len(defined),
            "sub_clusters": rows, "other": len(by_sub.get(OTHER, [])),
            "balance": {**balance([row["members"] for row in named], len(defined)),
                        "largest": largest["name"] if largest and largest["members"] else None,
                        "largest_share": largest["share"] if largest else 0.0},
            "cross_border_sub_clusters": sum(1 for row in named if row["cross_border"])}


def compare(chain: ValueChain, members: Sequence[Member], knowledge: Sequence[Member], a: RuleSet, b: RuleSet,
            registry: Registry, max_movers: int) -> dict:
    """Rule sets ``a`` and ``b`` applied to ``chain``'s chain ``members`` (and ``knowledge`` members): each side,
    the ``transitions`` (how many members go from each sub-cluster of A to each of B), the members that change
    sub-cluster (``moved``; the first ``max_movers`` by key in ``movers``, with B's reason), and ``findings``:
    plain-language gains and losses of B against A."""
    members = sorted(members, key=lambda m: m.key)
    sides = []
    placed = []
    for label, rule_set in (("A", a), ("B", b)):
        chain_placed = placements(members, chain, rule_set, registry)
        placed.append(chain_placed)
        sides.append(describe(rule_set, label, members, knowledge, chain_placed,
                              placements(knowledge, chain, rule_set, registry)))
    pairs = Counter((placed[0][m.key].sub_cluster, placed[1][m.key].sub_cluster) for m in members)
    movers = [m for m in members if placed[0][m.key].sub_cluster != placed[1][m.key].sub_cluster]
    return {"value_chain": chain.id, "members": len(members), "knowledge_members": len(knowledge),
            "rule_sets": sides,
            "transitions": [{"from": f, "to": t, "members": n}
                            for (f, t), n in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))],
            "moved": len(movers),
            "movers": [{"id": m.key, "name": m.name, "country": m.country, "node_id": m.node_id,
                        "from": placed[0][m.key].sub_cluster, "to": placed[1][m.key].sub_cluster,
                        "reason": placed[1][m.key].reason} for m in movers[:max_movers]],
            "findings": findings(sides[0], sides[1], len(movers), len(members))}


def findings(a: dict, b: dict, moved: int, total: int) -> list[str]:
    """What B gains and loses against A, in sentences, from the figures of both sides."""
    na, nb = f"A ({a['name']})", f"B ({b['name']})"
    out = []
    if b["other"] != a["other"]:
        fewer = b["other"] < a["other"]
        out.append(f"{nb} leaves {abs(a['other'] - b['other'])} {'fewer' if fewer else 'more'} members in other "
                   f"than {na} ({b['other']} against {a['other']})")
    out.append(f"{moved} of {total} members change sub-cluster from A to B")
    ea, eb = a["balance"]["entropy"], b["balance"]["entropy"]
    if abs(ea - eb) >= BALANCE_NOTICED:
        more = "more" if eb > ea else "less"
        out.append(f"{nb} spreads its members {more} evenly over its {b['defined']} sub-clusters than {na} over its "
                   f"{a['defined']} (balance {eb} against {ea})")
    for side, name in ((a, na), (b, nb)):
        if side["balance"]["largest"] and side["balance"]["largest_share"] >= 0.5:
            out.append(f"{name}'s {side['balance']['largest']} sub-cluster holds "
                       f"{round(100 * side['balance']['largest_share'])} % of the members")
    if a["cross_border_sub_clusters"] != b["cross_border_sub_clusters"]:
        out.append(f"{nb} has {b['cross_border_sub_clusters']} cross-border sub-clusters (members from two "
                   f"countries or more), {na} {a['cross_border_sub_clusters']}")
    for side, name in ((a, na), (b, nb)):
        named = [row for row in side["sub_clusters"] if row["name"] != OTHER]
        for row in named:
            if len(row["countries"]) == 1:
                out.append(f"{name}'s {row['name']} sub-cluster has only one country ({next(iter(row['countries']))})")
        empty = [row["name"] for row in named if not row["members"]]
        if empty:
            out.append(f"{name} leaves {', '.join(empty)} empty")
        unsupported = [row["name"] for row in named if row["members"] and not row["knowledge_members"]]
        if unsupported:
            out.append(f"{name}: no knowledge member in {', '.join(unsupported)}")
    return out
