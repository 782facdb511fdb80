"""What the loaded plugins provide, collected once per app: taxonomies, value chains and rules."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, fields, is_dataclass
from functools import cached_property

import pluggy

from .domain import ValueChain
from .errors import ConfigurationError
from .plugin_manager import describe_plugins, get_plugin_manager
from .rules import FormationRule, SubclusterRule
from .settings import Settings
from .taxonomy import TaxonomyIndex


@dataclass
class Registry:
    pm: pluggy.PluginManager
    settings: Settings
    taxonomies: TaxonomyIndex
    value_chains: dict[str, ValueChain]
    formation_rules: list[FormationRule]
    subcluster_rules: dict[str, list[SubclusterRule]]

    @classmethod
    def build(cls, settings: Settings, pm: pluggy.PluginManager | None = None) -> Registry:
        pm = pm or get_plugin_manager(settings)
        hook = pm.hook
        taxonomies = TaxonomyIndex(_flatten(hook.medmci_register_taxonomies(settings=settings)),
                                   pivot=settings.get("pivot_scheme") or "")
        value_chains: dict[str, ValueChain] = {}
        for chain in _flatten(hook.medmci_register_value_chains(settings=settings, taxonomies=taxonomies)):
            if chain.id in value_chains:
                raise ConfigurationError(f"two plugins provide the value chain {chain.id!r}")
            value_chains[chain.id] = chain
        formation_rules = _flatten(hook.medmci_register_formation_rules(settings=settings))
        grouped: dict[str, list[SubclusterRule]] = defaultdict(list)
        for rule in _flatten(hook.medmci_register_subcluster_rules(
                settings=settings, taxonomies=taxonomies, value_chains=value_chains)):
            if rule.value_chain not in value_chains:
                raise ConfigurationError(
                    f"sub-cluster rule {rule.name!r} is for value chain {rule.value_chain!r}, which no plugin provides")
            grouped[rule.value_chain].append(rule)
        # Stable sort: equal priorities keep registration order.
        ordered = {chain: sorted(rules, key=lambda r: r.priority) for chain, rules in grouped.items()}
        return cls(pm=pm, settings=settings, taxonomies=taxonomies, value_chains=value_chains,
                   formation_rules=formation_rules, subcluster_rules=ordered)


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


def _flatten(results: list) -> list:
    """Hook results are one list per plugin; ``None`` means the plugin had nothing to add."""
    return [item for result in results if result for item in result]
