"""Loading the match scorers plugins provide (hook ``medmci_match_scorers``), each checked and named."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pluggy

from ..domain import ValueChain
from ..errors import PluginError
from ..plugin_calls import collect
from ..plugin_manager import plugin_error
from ..settings import Settings
from ..taxonomy import TaxonomyIndex
from .scorers import Scorer

HOOK = "medmci_match_scorers"


def check_scorer(item: object) -> str | None:
    """Why a scorer is refused at load, or ``None``."""
    missing = [m for m in ("features", "explain") if not callable(getattr(item, m, None))]
    if missing:
        return (f"a match scorer needs the method(s) {', '.join(missing)} (subclass "
                f"federation.matching.Scorer), not {type(item).__name__}")
    name = getattr(item, "name", None)
    if not isinstance(name, str) or not name.strip():
        return f"a match scorer needs a name (a non-empty string): reasons quote it ({type(item).__name__})"
    weight = getattr(item, "weight", None)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
        return f"match scorer {name!r}: its weight must be a number of at least 0, not {weight!r}"
    return None


@dataclass(frozen=True)
class ScorerSet:
    """The loaded scorers, the plugin each came from (to name it when it fails), and their weights."""

    scorers: tuple[Scorer, ...]
    plugins: Mapping[str, str] = field(default_factory=dict)  # scorer name -> plugin name

    @property
    def weights(self) -> dict[str, float]:
        return {s.name: float(s.weight) for s in self.scorers}


def load_scorers(pm: pluggy.PluginManager, settings: Settings, taxonomies: TaxonomyIndex,
                 value_chains: Mapping[str, ValueChain], problems: list[PluginError] | None = None) -> ScorerSet:
    """Call ``medmci_match_scorers`` of every plugin. Refused (a :class:`PluginError` naming the plugin; raised,
    or appended to ``problems``): what :func:`check_scorer` refuses, and a name another scorer has already."""
    provided = collect(pm, HOOK, problems, check_scorer, settings=settings, taxonomies=taxonomies,
                       value_chains=dict(value_chains))
    order = {name: position for position, (name, _plugin) in enumerate(pm.list_name_plugin())}
    scorers: list[Scorer] = []
    plugins: dict[str, str] = {}
    for p in sorted(provided, key=lambda p: order.get(p.plugin, len(order))):  # the first registered keeps a name
        name = p.item.name
        if name in plugins:
            error = plugin_error(pm, p.plugin, HOOK, f"two match scorers are named {name!r}: plugin "
                                                     f"{plugins[name]!r}'s and this one")
            if problems is None:
                raise error
            problems.append(error)
            continue
        plugins[name] = p.plugin
        scorers.append(p.item)
    return ScorerSet(tuple(scorers), plugins)
