"""What the loaded plugins provide, collected once per app: taxonomies, value chains and rules."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cached_property

import pluggy

from .domain import ValueChain
from .errors import PluginError
from .plugin_calls import Provided, collect
from .plugin_checks import (
    SubclusterRuleCheck,
    ValueChainCheck,
    check_crosswalk_targets,
    check_formation_rule,
    check_taxonomy_shape,
)
from .plugin_manager import describe_plugins, get_plugin_manager, plugin_error
from .rules import FormationRule, SubclusterRule
from .settings import Settings
from .taxonomy import TaxonomyIndex

log = logging.getLogger(__name__)


@dataclass
class Registry:
    pm: pluggy.PluginManager
    settings: Settings
    taxonomies: TaxonomyIndex
    value_chains: dict[str, ValueChain]
    formation_rules: list[FormationRule]
    subcluster_rules: dict[str, list[SubclusterRule]]
    #: id() of each taxonomy, value chain and rule -> the plugin and hook that provided it (to name a culprit).
    origins: dict[int, Provided] = field(default_factory=dict, repr=False)
    #: What the load warned about (logged too): see :mod:`federation.plugin_checks`.
    warnings: list[str] = field(default_factory=list, repr=False)

    @classmethod
    def build(cls, settings: Settings, pm: pluggy.PluginManager | None = None,
              problems: list[PluginError] | None = None) -> Registry:
        """Call every registration hook and check what each plugin provides (:mod:`federation.plugin_checks`).

        A plugin whose hook raises or whose contribution is refused is a :class:`PluginError` naming it: raised,
        or, when ``problems`` is a list (``medmci plugins``), appended to it and that contribution left out."""
        pm = pm or get_plugin_manager(settings, strict=problems is None)
        warnings: list[str] = []
        origins: dict[int, Provided] = {}

        def keep(provided: list[Provided]) -> list:
            for p in provided:
                origins[id(p.item)] = p
            return [p.item for p in provided]

        def refuse(provided: Provided, reason: str) -> None:
            error = plugin_error(pm, provided.plugin, provided.hook, reason)
            if problems is None:
                raise error
            problems.append(error)

        provided = collect(pm, "medmci_register_taxonomies", problems, check_taxonomy_shape, settings=settings)
        by_scheme = _first_registered(pm, provided, lambda taxonomy: taxonomy.scheme)
        for p in provided:
            if (first := by_scheme[p.item.scheme]) is not p:
                refuse(p, f"two plugins provide the taxonomy {p.item.scheme!r}: {first.plugin!r} and this one")
        accepted = []
        for p in by_scheme.values():
            reason = check_crosswalk_targets(p.item, {s: q.item for s, q in by_scheme.items()}, warnings)
            if reason is None:
                accepted.append(p)
            else:
                refuse(p, reason)
        taxonomies = TaxonomyIndex(keep(accepted), pivot=settings.get("pivot_scheme") or "")
        provided = collect(pm, "medmci_register_value_chains", problems,
                           ValueChainCheck(taxonomies, settings.get("ecosystem_scheme"), warnings),
                           settings=settings, taxonomies=taxonomies)
        by_id = _first_registered(pm, provided, lambda chain: chain.id)
        value_chains: dict[str, ValueChain] = {}
        for p in provided:
            if (first := by_id[p.item.id]) is not p:
                refuse(p, f"two plugins provide the value chain {p.item.id!r}: {first.plugin!r} and this one")
            else:
                value_chains[p.item.id] = keep([p])[0]
        formation_rules = keep(collect(pm, "medmci_register_formation_rules", problems, check_formation_rule,
                                       settings=settings, taxonomies=taxonomies, value_chains=value_chains))
        grouped: dict[str, list[SubclusterRule]] = defaultdict(list)
        for rule in keep(collect(pm, "medmci_register_subcluster_rules", problems,
                                 SubclusterRuleCheck(taxonomies, value_chains),
                                 settings=settings, taxonomies=taxonomies, value_chains=value_chains)):
            grouped[rule.value_chain].append(rule)
        # Stable sort: equal priorities keep registration order.
        ordered = {chain: sorted(rules, key=lambda r: r.priority) for chain, rules in grouped.items()}
        if problems is None:  # (otherwise the caller, who asked for the lists, shows them)
            for warning in warnings:
                log.warning("%s", warning)
        return cls(pm=pm, settings=settings, taxonomies=taxonomies, value_chains=value_chains,
                   formation_rules=formation_rules, subcluster_rules=ordered, origins=origins,
                   warnings=list(getattr(pm, "warnings", ())) + warnings)

    def rules_of(self, chain_id: str) -> list:
        """Every rule that judges ``chain_id``: the formation rules, then the chain's sub-clustering rules."""
        return [*self.formation_rules, *self.subcluster_rules.get(chain_id, ())]

    @cached_property
    def fingerprint(self) -> str:
        """A hash of what formation depends on: the value chains, the rules with their settings, the plugins with
        their versions. Stored with each formed chain, so results formed under other rules are formed again whole
        rather than patched node by node."""
        described = {
            "pivot": self.settings.get("pivot_scheme"),
            "plugins": [(p["name"], p["distribution"], p["version"]) for p in describe_plugins(self.pm)],
            "value_chains": _canonical(self.value_chains),
            "formation_rules": _canonical(self.formation_rules),
            "subcluster_rules": _canonical(self.subcluster_rules),
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _first_registered(pm: pluggy.PluginManager, provided: list[Provided], key) -> dict:
    """``{key: the Provided of the plugin registered first}``: of two plugins providing the same id, the one
    loaded later (a third-party plugin after the built-ins) is the one refused."""
    order = {name: position for position, (name, _plugin) in enumerate(pm.list_name_plugin())}
    first: dict = {}
    for p in sorted(provided, key=lambda p: order.get(p.plugin, len(order))):  # stable: same plugin, same order
        first.setdefault(key(p.item), p)
    return first


def _canonical(value):
    """A JSON-able form of rules and chains that is the same in every process (sets sorted, objects by their class
    and public attributes)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda item: str(item[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, re.Pattern):
        return ["re", value.pattern, value.flags]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if is_dataclass(value):
        return [kind, {f.name: _canonical(getattr(value, f.name)) for f in fields(value)}]
    if hasattr(value, "__dict__"):
        return [kind, {k: _canonical(v) for k, v in vars(value).items() if not k.startswith("_")}]
    return [kind, repr(value)]
