"""Benchmarking a cluster against its peers (``medmci hub benchmark``, ``GET /api/v1/clusters/{id}/benchmark``).

:class:`BenchmarkService` builds every cluster's :class:`~federation.benchmarking.indicators.ClusterFacts` from what
the hub holds of the federation (the current member views, the kept versions, the formed meta-clusters, pilots) as
one reader may see it, computes each indicator (hook ``medmci_benchmark_indicators``) for all of them, and places
the cluster among its peer groups (:mod:`federation.benchmarking.percentiles`):

- ``federation``: every other cluster (always given);
- ``large``: clusters with at least ``benchmark.large_cluster_members`` members;
- ``chain:<id>``: clusters that claim that value chain or take part in its meta-cluster;
- ``countries:<group>``: clusters of a country group: ``eu`` and ``mena`` (settings ``regions.*``) or a name of
  ``benchmark.country_groups``.

The cluster itself is never its own peer. Work is bounded by ``benchmark.max_clusters`` and
``benchmark.max_members`` (counted before anything is read) and ``benchmark.max_peer_groups``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from ..benchmarking.indicators import ClusterFacts, Indicators, MemberFacts
from ..benchmarking.percentiles import peer_stats
from ..db import Database
from ..domain import Activity
from ..errors import ConfigurationError, Conflict, NotFound, ValidationError
from ..formation import StageMatcher
from ..pilots.regions import regions
from ..registry import Registry
from ..settings import Settings
from .models import ClusterView, MemberView, MetaClusterPart, MetaClusterRow, NodeRecord, ProfileVersion
from .nodes import FORMING
from .pilot_tables import PilotParticipant

#: Per node id, the countries of the partners its members met through matchmaking, as one reader may see them:
#: ``(node_ids, federation) -> {node_id: countries}``.
PartnerCountries = Callable[[Sequence[str], bool], dict[str, set[str]]]
#: A pilot participant that is in the pilot.
JOINED = ("accepted", "taking_part")
FEDERATION = "federation"


def no_meetings(node_ids: Sequence[str], federation: bool) -> dict[str, set[str]]:
    """The default :data:`PartnerCountries`: no meeting recorded, so no partner country met."""
    return {}


@dataclass(frozen=True)
class BenchmarkLimits:
    """The ``benchmark.*`` settings the service needs."""

    min_peers: int
    large_cluster_members: int
    max_peer_groups: int
    max_clusters: int
    max_members: int

    @classmethod
    def from_settings(cls, settings: Settings) -> BenchmarkLimits:
        limits = cls(int(settings.get("benchmark.min_peers")), int(settings.get("benchmark.large_cluster_members")),
                     int(settings.get("benchmark.max_peer_groups")), int(settings.get("benchmark.max_clusters")),
                     int(settings.get("benchmark.max_members")))
        if limits.min_peers < 2:
            raise ConfigurationError("settings: benchmark.min_peers must be at least 2 (quartiles need two values)")
        return limits


def country_groups(settings: Settings) -> dict[str, frozenset[str]]:
    """The named country groups: ``eu`` and ``mena`` from ``regions.*``, then ``benchmark.country_groups``."""
    configured = regions(settings)
    groups = {"eu": configured.eu, "mena": configured.mena}
    extra = settings.get("benchmark.country_groups") or {}
    if not isinstance(extra, dict):
        raise ConfigurationError("settings: benchmark.country_groups must map a group's name to country codes")
    for name, codes in extra.items():
        if not isinstance(codes, list) or not all(isinstance(c, str) and len(c) == 2 for c in codes):
            raise ConfigurationError(f"settings: benchmark.country_groups.{name} must list two-letter country codes")
        groups[str(name)] = frozenset(c.upper() for c in codes)
    return groups


class BenchmarkService:
    def __init__(self, db: Database, registry: Registry, indicators: Indicators, limits: BenchmarkLimits,
                 groups: dict[str, frozenset[str]], partner_countries_met: PartnerCountries = no_meetings,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.db = db
        self.registry = registry
        self.indicators = indicators
        self.limits = limits
        self.groups = groups
        #: Filled by the matchmaking meetings once they are recorded; until then no partner country is met.
        self.partner_countries_met = partner_countries_met
        self.clock = clock

    # ------------------------------------------------------------------------------------------------ the answer

    def benchmark(self, cluster_id: str, peers: Sequence[str] = (), federation: bool = True) -> dict:
        """The cluster's indicators, each with its percentile, and the peers' median and quartiles, against the
        whole federation and each peer group of ``peers``."""
        wanted = self.parse_peers(peers)
        facts = self.facts(federation)
        me = next((f for f in facts if cluster_id in (f.cluster_id, f.node_id)), None)
        if me is None:
            raise NotFound(f"no cluster {cluster_id!r} at the hub to benchmark (by cluster id or node id; knowledge "
                           f"nodes are not benchmarked)")
        others = [f for f in facts if f.node_id != me.node_id]
        groups = {name: [f for f in others if self._in_group(name, f)] for name in wanted}
        values = {i.name: {f.node_id: self.indicators.value(i, f) for f in facts} for i in self.indicators.items}
        rows = []
        for indicator in self.indicators.items:
            by_node = values[indicator.name]
            rows.append({"name": indicator.name, "label": indicator.label(), "labels": dict(indicator.labels),
                         "unit": indicator.unit, "higher_is_better": indicator.higher_is_better,
                         "description": indicator.description, "value": _rounded(by_node[me.node_id]),
                         "peers": {name: peer_stats(by_node[me.node_id], [by_node[f.node_id] for f in group],
                                                    self.limits.min_peers).as_dict()
                                   for name, group in groups.items()}})
        return {"cluster": {"id": me.cluster_id, "node_id": me.node_id, "name": me.name, "country": me.country,
                            "members": len(me.members)},
                "as_of": me.today, "audience": FEDERATION if federation else "public",
                "min_peers": self.limits.min_peers,
                "peer_groups": [{"name": name, "label": self._label(name), "clusters": sorted(f.cluster_id for f in g)}
                                for name, g in groups.items()],
                "indicators": rows}

    def parse_peers(self, peers: Sequence[str]) -> list[str]:
        """``federation`` then each asked group once; an unknown group is a :class:`ValidationError` naming it."""
        asked = list(dict.fromkeys(p.strip() for p in peers if p.strip() and p.strip() != FEDERATION))
        if len(asked) > self.limits.max_peer_groups:
            raise ValidationError(f"{len(asked)} peer groups asked: at most benchmark.max_peer_groups "
                                  f"({self.limits.max_peer_groups})", {"peers": ["too many peer groups"]})
        for name in asked:
            kind, _, arg = name.partition(":")
            if name == "large" or (kind == "chain" and arg in self.registry.value_chains) \
                    or (kind == "countries" and arg in self.groups):
                continue
            chains = ", ".join(sorted(self.registry.value_chains))
            raise ValidationError(f"unknown peer group {name!r}: large, chain:<value chain> ({chains}) or "
                                  f"countries:<group> ({', '.join(sorted(self.groups))})",
                                  {"peers": [f"unknown: {name}"]})
        return [FEDERATION, *asked]

    def _in_group(self, name: str, facts: ClusterFacts) -> bool:
        kind, _, arg = name.partition(":")
        if name == FEDERATION:
            return True
        if name == "large":
            return len(facts.members) >= self.limits.large_cluster_members
        if kind == "chain":
            return arg in facts.chains
        return facts.country in self.groups[arg]

    def _label(self, name: str) -> str:
        kind, _, arg = name.partition(":")
        if name == FEDERATION:
            return "the whole federation"
        if name == "large":
            return f"clusters with {self.limits.large_cluster_members}+ members"
        if kind == "chain":
            return f"clusters on {self.registry.value_chains[arg].name}"
        return f"clusters of {arg.upper()} countries"

    # ------------------------------------------------------------------------------------------------- the facts

    def facts(self, federation: bool = True) -> list[ClusterFacts]:
        """Every cluster's facts as a reader may see them (``federation``: a federation reader; else public data
        only, and no pilots), bounded as the module says."""
        today = self.clock().date()
        with self.db.session() as session:
            clusters = (select(ClusterView).join(NodeRecord, NodeRecord.id == ClusterView.node_id)
                        .where(NodeRecord.status.in_(FORMING), ClusterView.kind == "cluster"))
            count = session.scalar(select(func.count()).select_from(clusters.subquery())) or 0
            if count > self.limits.max_clusters:
                raise Conflict(f"{count} clusters: a benchmark reads at most benchmark.max_clusters "
                               f"({self.limits.max_clusters})")
            views = list(session.scalars(clusters.order_by(ClusterView.node_id)))
            node_ids = [v.node_id for v in views]
            members = self._members(session, node_ids, federation)
            versions: dict[str, list[datetime]] = defaultdict(list)
            for node_id, fetched_at in session.execute(
                    select(ProfileVersion.node_id, ProfileVersion.fetched_at)
                    .where(ProfileVersion.node_id.in_(node_ids)).order_by(ProfileVersion.fetched_at)):
                versions[node_id].append(fetched_at)
            joined, knowledge = self._metaclusters(session, {v.node_id: v.country for v in views}, federation)
            pilots = self._pilots(session, node_ids) if federation else None
        met = self.partner_countries_met(node_ids, federation) or {}
        matchers = {chain_id: StageMatcher(chain, self.registry) for chain_id, chain in
                    self.registry.value_chains.items()}
        out = []
        for view in views:
            chain_ids = sorted((set(view.value_chains or ()) | {c for _m, c in joined.get(view.node_id, ())})
                               & set(self.registry.value_chains))
            listed, activities = members.get(view.node_id, ([], []))
            stages = {}
            for chain_id in chain_ids:
                found = {s for codes in activities for s in matchers[chain_id].stages(codes)}
                stages[chain_id] = tuple(s.id for s in self.registry.value_chains[chain_id].stages if s.id in found)
            out.append(ClusterFacts(
                node_id=view.node_id, cluster_id=view.cluster_id,
                name=view.names.get("en") or next(iter(view.names.values()), view.cluster_id), country=view.country,
                today=today, members=tuple(listed), versions=tuple(versions.get(view.node_id, ())),
                chains={c: tuple(s.id for s in self.registry.value_chains[c].stages) for c in chain_ids},
                stages_covered=stages, metaclusters=tuple(sorted(m for m, _c in joined.get(view.node_id, ()))),
                pilots=None if pilots is None else tuple(sorted(pilots.get(view.node_id, ()))),
                knowledge_entities=len(knowledge.get(view.node_id, ())),
                partner_countries_met=frozenset(c.upper() for c in met.get(view.node_id, ()))))
        return out

    def _members(self, session, node_ids: list[str], federation: bool
                 ) -> dict[str, tuple[list[MemberFacts], list[tuple[Activity, ...]]]]:
        where = [MemberView.node_id.in_(node_ids)] + ([] if federation else [MemberView.audience == "public"])
        count = session.scalar(select(func.count()).select_from(MemberView).where(*where)) or 0
        if count > self.limits.max_members:
            raise Conflict(f"{count} members: a benchmark reads at most benchmark.max_members "
                           f"({self.limits.max_members})")
        out: dict[str, tuple[list[MemberFacts], list[tuple[Activity, ...]]]] = {}
        for node_id, kind, size, status, last_active, markets, activities in session.execute(
                select(MemberView.node_id, MemberView.kind, MemberView.size, MemberView.status,
                       MemberView.last_active, MemberView.export_markets, MemberView.activities).where(*where)):
            codes = tuple(Activity(a["scheme"], a["code"]) for a in activities or ())
            listed, by_codes = out.setdefault(node_id, ([], []))
            listed.append(MemberFacts(kind, size, status, last_active, tuple(markets or ()),
                                      tuple(str(c) for c in codes)))
            by_codes.append(codes)
        return out

    @staticmethod
    def _metaclusters(session, countries: dict[str, str], federation: bool
                      ) -> tuple[dict[str, list[tuple[str, str]]], dict[str, set[str]]]:
        """Per node: the formed meta-clusters it takes part in (id, value chain), and the knowledge entities of its
        own country (as the reader may see them) that formation placed in those meta-clusters."""
        joined: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for mc_id, chain, document in session.execute(select(MetaClusterRow.id, MetaClusterRow.value_chain,
                                                             MetaClusterRow.document)
                                                      .where(MetaClusterRow.formed.is_(True))):
            for cluster in document.get("clusters", ()):
                if cluster.get("node_id") in countries:
                    joined[cluster["node_id"]].append((mc_id, chain))
        home: dict[tuple[str, str], set[str]] = defaultdict(set)  # (meta-cluster, country) -> entity keys
        for mc_id, entries in session.execute(
                select(MetaClusterPart.metacluster_id, MetaClusterPart.knowledge)
                .join(MetaClusterRow, MetaClusterRow.id == MetaClusterPart.metacluster_id)
                .where(MetaClusterRow.formed.is_(True))):
            for entry in entries or ():
                if federation or entry.get("audience", "public") == "public":
                    home[(mc_id, entry.get("country"))].add(entry.get("id"))
        knowledge = {node_id: {key for mc_id, _c in mcs for key in home.get((mc_id, countries[node_id]), ())}
                     for node_id, mcs in joined.items()}
        return joined, knowledge

    @staticmethod
    def _pilots(session, node_ids: list[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for key, pilot_id in session.execute(select(PilotParticipant.key, PilotParticipant.pilot_id).where(
                PilotParticipant.kind == "cluster", PilotParticipant.status.in_(JOINED),
                PilotParticipant.key.in_(node_ids))):
            out[key].add(pilot_id)
        return out


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
