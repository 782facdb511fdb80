"""What the loaded plugins provide, collected once per app: taxonomies, value chains and rules."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pluggy

from .domain import ValueChain
from .errors import ConfigurationError
from .plugin_manager import get_plugin_manager
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
    def build(cls, settings: Settings, pm: pluggy.PluginManager | None = None) -> "Registry":
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


def _flatten(results: list) -> list:
    """Hook results are one list per plugin; ``None`` means the plugin had nothing to add."""
    return [item for result in results if result for item in result]
