"""What a cluster is benchmarked on: :class:`ClusterFacts`, the plain facts the hub builds from federated data, and
:class:`Indicator`, one figure computed from them (hook ``medmci_benchmark_indicators``).

Facts are what the reader may see: an anonymous reader's facts hold the public members only and no pilots. An
indicator answers ``None`` when it does not apply (no member gives a size, a figure the reader may not see).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import pluggy

from ..domain import KNOWLEDGE_KINDS, LANGUAGES
from ..errors import PluginError
from ..plugin_calls import collect
from ..plugin_manager import plugin_error
from ..settings import Settings

HOOK = "medmci_benchmark_indicators"
#: Longest indicator name (it is a column name, a query value and a chart label).
MAX_NAME = 64


@dataclass(frozen=True)
class MemberFacts:
    """One member as the benchmark sees it: its ``codes`` are ``scheme:code`` texts of its activities."""

    kind: str
    size: str | None = None
    status: str = "active"
    last_active: date | None = None
    export_markets: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()

    @property
    def is_knowledge(self) -> bool:
        return self.kind in KNOWLEDGE_KINDS


@dataclass(frozen=True)
class ClusterFacts:
    """A cluster as federated data shows it to one reader, on the day ``today``.

    ``versions``: when the hub accepted each kept profile version (oldest first); ``chains``: the value chains it
    claims or joined, each with the ids of its stages; ``stages_covered``: per chain, the stages its members' codes
    fall in; ``metaclusters``: the formed meta-clusters it takes part in; ``pilots``: the pilots it accepted or
    takes part in, ``None`` when the reader may not see pilots; ``knowledge_entities``: the knowledge entities of
    its own country serving the meta-clusters it is in; ``partner_countries_met``: the countries of partners its
    members met through matchmaking (empty until meetings are recorded)."""

    node_id: str
    cluster_id: str
    name: str
    country: str
    today: date
    members: tuple[MemberFacts, ...] = ()
    versions: tuple[datetime, ...] = ()
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stages_covered: dict[str, tuple[str, ...]] = field(default_factory=dict)
    metaclusters: tuple[str, ...] = ()
    pilots: tuple[str, ...] | None = None
    knowledge_entities: int = 0
    partner_countries_met: frozenset[str] = frozenset()

    @property
    def last_version_at(self) -> datetime | None:
        return self.versions[-1] if self.versions else None

    def share(self, test: Callable[[MemberFacts], bool], among: Callable[[MemberFacts], bool] | None = None
              ) -> float | None:
        """The share (0..1) of members (or of those ``among`` picks) that pass ``test``; None without any."""
        pool = [m for m in self.members if among is None or among(m)]
        if not pool:
            return None
        return sum(1 for m in pool if test(m)) / len(pool)

    def median_days_since(self, days: Iterable[date | None]) -> float | None:
        known = [(self.today - d).days for d in days if d is not None]
        return float(statistics.median(known)) if known else None


@dataclass(frozen=True)
class Indicator:
    """One benchmark figure: ``compute(facts)`` gives a number, or ``None`` when it does not apply to a cluster.

    ``labels``: the name people read, per language (``en`` required; ``fr``, ``ar``); ``unit``: what the number
    counts (``members``, ``share``, ``days``, ``countries``...); ``higher_is_better``: True, False, or None when
    neither is (a mix, a size)."""

    name: str
    labels: dict[str, str]
    unit: str
    higher_is_better: bool | None
    compute: Callable[[ClusterFacts], float | None]
    description: str = ""

    def label(self, language: str = "en") -> str:
        return self.labels.get(language) or self.labels["en"]


def check_indicator(item: object) -> str | None:
    """Why a returned item is not a usable indicator (``None``: it is)."""
    if not isinstance(item, Indicator):
        return f"returned {type(item).__name__}, not a federation.Indicator"
    if not isinstance(item.name, str) or not item.name.strip() or len(item.name) > MAX_NAME \
            or any(c.isspace() or c == "," for c in item.name):
        return f"an indicator needs a name of 1 to {MAX_NAME} characters without spaces or commas, not {item.name!r}"
    if not isinstance(item.labels, dict) or not isinstance(item.labels.get("en"), str) or not item.labels["en"]:
        return f"indicator {item.name!r} has no English label (labels['en'])"
    if unknown := sorted(set(item.labels) - set(LANGUAGES)):
        return f"indicator {item.name!r} has labels in {', '.join(unknown)}: the languages are {', '.join(LANGUAGES)}"
    if item.higher_is_better not in (True, False, None):
        return f"indicator {item.name!r}: higher_is_better must be true, false or null"
    if not callable(item.compute):
        return f"indicator {item.name!r}: compute is not callable"
    return None


@dataclass(frozen=True)
class Indicators:
    """The loaded indicators in order, with the plugin that provided each (to name a culprit)."""

    items: tuple[Indicator, ...]
    plugins: dict[str, str]
    pm: pluggy.PluginManager | None = None

    def value(self, indicator: Indicator, facts: ClusterFacts) -> float | None:
        """``indicator.compute(facts)`` as a float; an indicator that raises or answers something other than a
        number is a :class:`PluginError` naming its plugin."""
        try:
            value = indicator.compute(facts)
        except Exception as exc:
            raise self._error(indicator, f"indicator {indicator.name!r} raised {type(exc).__name__}: {exc}") from exc
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._error(indicator, f"indicator {indicator.name!r} answered {value!r}, not a finite number")
        return float(value)

    def _error(self, indicator: Indicator, cause: str) -> PluginError:
        name = self.plugins.get(indicator.name, "?")
        if self.pm is None:
            return PluginError(name, None, HOOK, cause)
        return plugin_error(self.pm, name, HOOK, cause)


def load_indicators(pm: pluggy.PluginManager, settings: Settings) -> Indicators:
    """Every plugin's indicators (hook ``medmci_benchmark_indicators``), plugin by plugin in the order they answer,
    each plugin's in its own order. Refused (a :class:`PluginError` naming the plugin): an item that is not an
    :class:`Indicator`, one without a name or an English label, a name another indicator has."""
    provided = collect(pm, HOOK, None, check_indicator, settings=settings)
    seen: dict[str, str] = {}
    for p in provided:
        if p.item.name in seen:
            raise plugin_error(pm, p.plugin, HOOK, f"indicator {p.item.name!r} is provided twice (first by "
                                                   f"{seen[p.item.name]!r})")
        seen[p.item.name] = p.plugin
    return Indicators(tuple(p.item for p in provided), seen, pm)
