"""Whom an announcement goes to: the node's members on a value chain or in a sub-cluster, placed exactly as the
hub's formation places them (``chain_members()``, ``knowledge_on_chain()`` and ``place_member()`` of
federation/formation.py, with the node's own plugins: its value chains and sub-clustering rules), or every member.

Private members are members too: an announcement is the cluster speaking to its own members, not a publication.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..domain import Cluster, ValueChain
from ..errors import ValidationError
from ..formation import OTHER, StageMatcher, chain_members, knowledge_on_chain, place_member
from ..plugin_calls import rule_failure
from ..registry import Registry
from .checks import formed_member


@dataclass(frozen=True)
class Audience:
    """Who an announcement is for: a value chain's members, a sub-cluster's (of one chain, or of every chain that
    has a sub-cluster of that name), or (neither) every member."""

    chain: str | None = None
    subcluster: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in (("chain", self.chain), ("subcluster", self.subcluster)) if v}

    def describe(self) -> str:
        if self.subcluster:
            return f"sub-cluster {self.subcluster}" + (f" of {self.chain}" if self.chain else "")
        return f"value chain {self.chain}" if self.chain else "every member"


def check_audience(audience: Audience, registry: Registry) -> list[ValueChain]:
    """The value chains ``audience`` reads, or a :class:`ValidationError` naming the unknown chain or sub-cluster
    with the ones there are."""
    chains = registry.value_chains
    if audience.chain is not None and audience.chain not in chains:
        raise ValidationError(f"no value chain {audience.chain!r} on this node",
                              {"chain": [f"unknown value chain; known: {', '.join(sorted(chains)) or 'none'}"]})
    candidates = [chains[audience.chain]] if audience.chain else [chains[c] for c in sorted(chains)]
    if audience.subcluster is None:
        return candidates if audience.chain else []
    having = [chain for chain in candidates
              if audience.subcluster == OTHER
              or any(rule.name == audience.subcluster for rule in registry.subcluster_rules.get(chain.id, ()))]
    if not having:
        names = sorted({rule.name for chain in candidates for rule in registry.subcluster_rules.get(chain.id, ())})
        where = f" of {audience.chain}" if audience.chain else ""
        raise ValidationError(f"no sub-cluster {audience.subcluster!r}{where}",
                              {"subcluster": [f"unknown sub-cluster{where}; known: {', '.join([*names, OTHER])}"]})
    return having


def select_recipients(audience: Audience, registry: Registry, cluster: dict, members: Iterable[dict]) -> dict[str, str]:
    """``{member id: why it is a recipient}`` in id order. ``cluster``: the node's cluster (``id``, ``names``,
    ``country``, ``value_chains``); ``members``: its members as the service gives them (codes, name, offers,
    status). A sub-clustering rule of a plugin that raises is a :class:`federation.PluginError` naming it."""
    chains = check_audience(audience, registry)
    data = list(members)
    if not chains:
        return {m["id"]: "a member of the cluster" for m in sorted(data, key=lambda m: m["id"])}
    names = cluster.get("names") or {}
    formed = Cluster(node_id="", id=cluster["id"], name=names.get("en") or next(iter(names.values()), cluster["id"]),
                     country=cluster["country"], value_chains=tuple(cluster.get("value_chains") or ()),
                     members=tuple(formed_member(m) for m in data))
    chosen: dict[str, str] = {}
    for chain in chains:
        matcher = StageMatcher(chain, registry)
        for member, stages in chain_members(chain, formed, matcher):
            if member.id in chosen:
                continue
            if audience.subcluster is None:
                chosen[member.id] = f"on {chain.id} (stage {', '.join(stages)})"
                continue
            try:
                placement = place_member(member, chain, registry)
            except Exception as exc:  # a plugin's rule: name it; the federation's own errors go up as they are
                failure = rule_failure(exc, registry.rules_of(chain.id), registry.origins, registry.pm, chain.id)
                if failure is None:
                    raise
                raise failure from exc
            if placement.sub_cluster == audience.subcluster:
                chosen[member.id] = f"sub-cluster {placement.sub_cluster} of {chain.id}: {placement.reason}"
        if audience.subcluster is None:  # a chain's knowledge members serve it (they are in no sub-cluster)
            for member, _stages, reason in knowledge_on_chain(chain, formed, matcher):
                chosen.setdefault(member.id, f"serves {chain.id}: {reason}")
    return dict(sorted(chosen.items()))
