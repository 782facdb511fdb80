"""Aggregation: the hub's current clusters and members, through the formation rules, into stored meta-clusters."""

from __future__ import annotations

import logging
import sys
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import cast, overload

from sqlalchemy import Table, bindparam, delete, false, insert, select, text, update

from ..db import Database
from ..domain import Activity, Cluster, Decision, Member, ValueChain
from ..errors import PluginError
from ..formation import ClusterPart, StageMatcher, cluster_part, combine, metacluster_id
from ..gc_policy import batch
from ..plugin_calls import rule_failure
from ..profile.member_fields import HUB_KEY, hub_row
from ..registry import Registry
from .models import ClusterView, MemberView, MetaClusterPart, MetaClusterRow, NodeRecord, PlacementRow
from .nodes import FORMING

log = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that serialises formation ("MCI" in ASCII).
AGGREGATION_LOCK = 0x4D4349

#: The tables formation writes with Core statements (a mapped class's ``__table__`` is typed as any FROM clause).
_PLACEMENT_TABLE = cast(Table, PlacementRow.__table__)
_PART_TABLE = cast(Table, MetaClusterPart.__table__)


#: The columns of the hub's members that formation reads (member_from_view): only these are loaded.
FORMED_COLUMNS = ("node_id", HUB_KEY, "kind", "name", "city", "activities", "offers", "status", "last_active",
                  "audience")

#: One Activity object per code (formation holds every member of every cluster: share what repeats).
_ACTIVITIES: dict[tuple[str, str], Activity] = {}


def _activity(scheme: str, code: str) -> Activity:
    key = (scheme, code)
    activity = _ACTIVITIES.get(key)
    if activity is None:
        activity = _ACTIVITIES.setdefault(key, Activity(sys.intern(scheme), sys.intern(code)))
    return activity


def _activities(items) -> tuple[Activity, ...]:
    return tuple(_activity(a["scheme"], a["code"]) for a in items or ())


@overload
def _shared(value: str) -> str: ...
@overload
def _shared(value: str | None) -> str | None: ...
def _shared(value: str | None) -> str | None:
    """Short strings of a small vocabulary (kinds, statuses, cities, countries), one copy each."""
    return sys.intern(value) if value is not None and len(value) <= 64 else value


def member_from_view(row: MemberView | SimpleNamespace, country: str) -> Member:
    offer_codes = tuple(_activity(c["scheme"], c["code"]) for offer in row.offers or () for c in offer.get("codes", ()))
    # Keyword rules read what a member is and offers; its needs say what it lacks, not what it is.
    text = " ".join([row.name] + [o["text"] for o in row.offers or ()])
    return Member(node_id=_shared(row.node_id), id=row.member_id, kind=_shared(row.kind), name=row.name,
                  country=_shared(country), activities=_activities(row.activities), offer_codes=offer_codes,
                  text=text.lower(), status=_shared(row.status), last_active=row.last_active,
                  city=_shared(row.city), audience=_shared(row.audience))


def member_from_profile(node_id: str, member: Mapping, country: str) -> Member:
    """:func:`member_from_view` of the row that storing ``member`` (a validated profile member) makes."""
    return member_from_view(SimpleNamespace(**hub_row(node_id, member)), country)


def _cluster(node_id: str, cluster_id: str, names: Mapping, country: str, value_chains, members) -> Cluster:
    return Cluster(node_id=node_id, id=cluster_id, name=names.get("en") or next(iter(names.values())),
                   country=country, value_chains=tuple(value_chains or ()), members=tuple(members))


def chains_touched(registry: Registry, claimed: Iterable[str], members: Iterable) -> set[str]:
    """The value chains a cluster's version bears on: those it claims, and those any of its members has an activity
    or offered code in (members as profile dicts or ``MemberView`` rows)."""
    touched = set(claimed or ()) & set(registry.value_chains)
    codes = set()
    for member in members:
        get = member.get if isinstance(member, Mapping) else (lambda name, m=member: getattr(m, name))
        codes |= {(a["scheme"], a["code"]) for a in get("activities") or ()}
        codes |= {(c["scheme"], c["code"]) for o in get("offers") or () for c in o.get("codes", ())}
    activities = [Activity(scheme, code) for scheme, code in codes]
    for chain_id, chain in registry.value_chains.items():
        if chain_id not in touched and StageMatcher(chain, registry).stages(activities):
            touched.add(chain_id)
    return touched


class Aggregator:
    def __init__(self, db: Database, registry: Registry):
        self.db = db
        self.registry = registry
        # node id -> (version id, Cluster): a node's members change only with a new version, so only nodes whose
        # current version differs are read again. Keyed by version, the cache is right even when another process
        # stored the version.
        self._cache: dict[str, tuple[int, Cluster]] = {}
        # (node id, chain id) -> (version id, its part in that chain, or None when it is no candidate).
        self._parts: dict[tuple[str, str], tuple[int, ClusterPart | None]] = {}
        self._cache_lock = threading.Lock()

    def load_clusters(self, session, with_versions: bool = False):
        # Only approved nodes take part: a suspended (or rejected) node's versions are kept, not formed. A knowledge
        # node is no cluster: neither a candidate nor an excluded cluster of any chain.
        views = {v.node_id: v for v in session.scalars(
            select(ClusterView).join(NodeRecord, NodeRecord.id == ClusterView.node_id)
            .where(NodeRecord.status.in_(FORMING), ClusterView.kind == "cluster"))}
        with self._cache_lock:
            stale = [node_id for node_id, v in views.items()
                     if self._cache.get(node_id, (None,))[0] != v.version_id]
            members: dict[str, list[Member]] = defaultdict(list)
            # Plain rows of the columns formation reads, not ORM objects, and only for the nodes that changed.
            columns = select(*(getattr(MemberView, name) for name in FORMED_COLUMNS))
            for chunk in (stale[i:i + 500] for i in range(0, len(stale), 500)):
                query = columns.where(MemberView.node_id.in_(chunk))
                for row in session.execute(query):
                    members[row.node_id].append(member_from_view(row, views[row.node_id].country))
            for node_id in stale:
                v = views[node_id]
                ordered = sorted(members[node_id], key=lambda m: m.id)  # code-point order, whatever the collation
                self._cache[node_id] = (v.version_id, _cluster(v.node_id, v.cluster_id, v.names, v.country,
                                                               v.value_chains, ordered))
            for node_id in set(self._cache) - set(views):
                del self._cache[node_id]
            clusters = [self._cache[node_id][1] for node_id in views]
            if with_versions:
                return clusters, {node_id: v.version_id for node_id, v in views.items()}
            return clusters

    def remember(self, node_id: str, version_id: int, cluster: Mapping, members: Iterable[Mapping],
                 kind: str = "cluster") -> None:
        """Keep the cluster of a version just stored, or just read again (call once committed): formation then need
        not read its members back from the database. The node's parts are computed again from it. A knowledge
        node (``kind`` "knowledge") is no cluster of formation: whatever was kept of it goes."""
        if kind != "cluster":
            with self._cache_lock:
                self._cache.pop(node_id, None)
                for chain_id in self.registry.value_chains:
                    self._parts.pop((node_id, chain_id), None)
            return
        country = cluster["country"]
        ordered = sorted(members, key=lambda m: m["id"])  # as load_clusters reads them
        entry = (version_id, _cluster(node_id, cluster["id"], cluster["names"], country,
                                      cluster.get("value_chains", []),
                                      [member_from_profile(node_id, m, country) for m in ordered]))
        with self._cache_lock:
            self._cache[node_id] = entry
            # (A part is kept per version id, which a re-read keeps: see hub/reread.py.)
            for chain_id in self.registry.value_chains:
                self._parts.pop((node_id, chain_id), None)

    def reform_node(self, node_id: str) -> list[dict]:
        """Form again the chains a node is placed in or would bear on: after an operator's decision moved it out
        of the meta-clusters (suspended) or back in (approved again)."""
        with self.db.session() as session:
            chains = set(session.scalars(
                select(MetaClusterRow.value_chain).join(PlacementRow, PlacementRow.metacluster_id == MetaClusterRow.id)
                .where(PlacementRow.node_id == node_id).distinct()))
            view = session.get(ClusterView, node_id)
            if view is not None:
                rows = session.execute(select(MemberView.activities, MemberView.offers)
                                       .where(MemberView.node_id == node_id))
                chains |= chains_touched(self.registry, view.value_chains,
                                         [{"activities": a, "offers": o} for a, o in rows])
        return self.run(chains) if chains else []

    def has_results(self) -> bool:
        with self.db.session() as session:
            return session.scalar(select(MetaClusterRow.id).limit(1)) is not None

    def outdated(self) -> set[str]:
        """The value chains never formed, or formed under other rules than the loaded ones (a rule or chain file
        changed, a plugin was upgraded, and the hub restarted): the next harvest forms them whether or not a node
        changed."""
        with self.db.session() as session:
            current = set(session.scalars(select(MetaClusterRow.value_chain)
                                          .where(MetaClusterRow.rules == self.registry.fingerprint)))
            # And chains still holding a node that no longer takes part (suspended or rejected by an older hub,
            # which changed the status without forming again).
            leftover = set(session.scalars(
                select(MetaClusterRow.value_chain).join(PlacementRow, PlacementRow.metacluster_id == MetaClusterRow.id)
                .join(NodeRecord, NodeRecord.id == PlacementRow.node_id)
                .where(NodeRecord.status.not_in(FORMING)).distinct()))
        return (set(self.registry.value_chains) - current) | (leftover & set(self.registry.value_chains))

    def retirable(self) -> set[str]:
        """Value chains with stored results that no loaded plugin provides any more (disabled or uninstalled): the
        next formation retires them."""
        with self.db.session() as session:
            return set(session.scalars(select(MetaClusterRow.value_chain).where(
                MetaClusterRow.value_chain.not_in(sorted(self.registry.value_chains)))))

    def run(self, chains: Iterable[str] | None = None, rebuild: bool = False) -> list[dict]:
        """:meth:`form`, returning only the summaries of the chains formed."""
        return self.form(chains, rebuild).summaries

    @batch
    def form(self, chains: Iterable[str] | None = None, rebuild: bool = False) -> Formation:
        """Form again the meta-clusters of ``chains`` (default: every value chain) in one transaction; the other
        chains' results stay as they are. Returns the summaries (assessments without member lists), the chains
        whose formation failed, and the chains retired.

        Incremental: each cluster's part in a chain is computed once per node version (and kept in memory); the
        stored rows of a node (placements, its part) are rewritten only when the version they were formed from is
        not the node's current one; the cluster rows of unchanged nodes only when the chain's verdict changed them.
        What is stored says which version each part came from, so this holds when other processes form too.
        ``rebuild`` drops the chains' stored results first and forms them from scratch (after a change of rules).

        Each chain is formed in a savepoint: a rule that raises fails that chain alone (a
        :class:`~federation.errors.PluginError` naming the rule and its plugin, in ``failures``), and its last
        meta-cluster is kept. Stored results of value chains no plugin provides any more are retired first.
        """
        with self.db.session() as session:
            if session.get_bind().dialect.name == "postgresql":
                # Two harvests finishing together must not both replace the results: the second waits, then
                # forms from what the first committed. (SQLite serialises writers by itself.)
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AGGREGATION_LOCK})
            else:
                # SQLite: a write first, so this transaction holds the write lock before it reads what it compares
                # (the stored parts): the second of two formations waits, then reads what the first committed.
                session.execute(delete(MetaClusterPart).where(false()))
            retired = self._retire(session)
            wanted = sorted(self.registry.value_chains if chains is None else
                            set(chains) & set(self.registry.value_chains))
            clusters, versions = self.load_clusters(session, with_versions=True)
            computed_at = datetime.now(UTC)
            formation = Formation([], {}, retired)
            for chain_id in wanted:
                chain = self.registry.value_chains[chain_id]
                try:
                    with session.begin_nested():
                        if rebuild:
                            _drop(session, [metacluster_id(chain_id)])
                        formation.summaries.append(self._form_chain(session, chain, clusters, versions,
                                                                    computed_at))
                except Exception as exc:
                    failure = rule_failure(exc, self.registry.rules_of(chain_id), self.registry.origins,
                                           self.registry.pm, chain_id)
                    if failure is None:
                        raise  # not a plugin's rule: the federation's own error
                    log.error("value chain %s not formed again (its last meta-cluster is kept): %s", chain_id,
                              failure.message, exc_info=exc)
                    formation.failures[chain_id] = failure
                    self._record_failure(session, chain, failure, computed_at)
            return formation

    def _retire(self, session) -> list[str]:
        """Drop the stored results of value chains no loaded plugin provides (see :meth:`retirable`)."""
        gone = dict(session.execute(select(MetaClusterRow.id, MetaClusterRow.value_chain).where(
            MetaClusterRow.value_chain.not_in(sorted(self.registry.value_chains)))).all())
        if not gone:
            return []
        _drop(session, list(gone))
        with self._cache_lock:
            for key in [k for k in self._parts if k[1] in gone.values()]:
                del self._parts[key]
        log.info("retired the meta-clusters of %s: no loaded plugin provides these value chains any more",
                 ", ".join(sorted(gone.values())))
        return sorted(gone.values())

    def _record_failure(self, session, chain: ValueChain, failure, computed_at: datetime) -> None:
        """A chain whose formation failed keeps its stored results, but loses its rules fingerprint, so the next
        harvest forms it again (see :meth:`outdated`). A chain never formed before is stored as not formed, with
        the failure as the reason."""
        mc = metacluster_id(chain.id)
        if session.get(MetaClusterRow, mc) is not None:
            session.execute(update(MetaClusterRow).where(MetaClusterRow.id == mc).values(rules=None))
            return
        # The chain's shape with no cluster and no rule (its rules are what failed).
        summary = combine(chain, [], cast(Registry, SimpleNamespace(formation_rules=(), subcluster_rules={})))
        summary["decisions"] = [Decision(False, "formation", failure.message).as_dict()]
        session.execute(insert(MetaClusterRow), [{"id": mc, "value_chain": chain.id, "formed": False,
                                                  "countries": [], "document": summary,
                                                  "computed_at": computed_at, "rules": None}])

    def _part(self, chain: ValueChain, cluster: Cluster, version_id: int, matcher: StageMatcher,
              entries: bool = False) -> ClusterPart | None:
        """The cluster's part in ``chain`` at ``version_id``, from memory unless it is of another version (or its
        entries are wanted and were dropped)."""
        key = (cluster.node_id, chain.id)
        with self._cache_lock:
            cached = self._parts.get(key)
        if cached is not None and cached[0] == version_id and cached[1] is not None and cached[1].cluster is cluster:
            if not entries or cached[1].members is not None:
                return cached[1]
        elif cached is not None and cached[0] == version_id and cached[1] is None:
            return None
        part = cluster_part(chain, cluster, self.registry, matcher)
        with self._cache_lock:
            self._parts[key] = (version_id, part)
        return part

    def _form_chain(self, session, chain: ValueChain, clusters: list[Cluster], versions: dict[str, int],
                    computed_at: datetime) -> dict:
        mc = metacluster_id(chain.id)
        matcher = StageMatcher(chain, self.registry)
        parts = {c.node_id: p for c in clusters
                 if (p := self._part(chain, c, versions[c.node_id], matcher)) is not None}
        summary = combine(chain, list(parts.values()), self.registry)
        row = session.get(MetaClusterRow, mc)
        # Formed before parts were stored, or under other rules (a changed chain or rule file, another plugin
        # version): the stored rows of unchanged nodes mean nothing now; replace the chain whole.
        legacy = row is None or "members" in row.document or row.rules != self.registry.fingerprint
        stored = {} if legacy else dict(session.execute(
            select(MetaClusterPart.node_id, MetaClusterPart.version_id)
            .where(MetaClusterPart.metacluster_id == mc)).all())
        values = {"value_chain": summary["value_chain"], "formed": summary["formed"],
                  "countries": summary["countries"], "document": summary, "computed_at": computed_at,
                  "rules": self.registry.fingerprint}
        if row is None:
            session.execute(insert(MetaClusterRow), [{"id": mc, **values}])
        else:
            old_verdict = (row.document["formed"], row.document["decisions"])
            session.execute(update(MetaClusterRow).where(MetaClusterRow.id == mc).values(**values))
        if legacy:
            session.execute(delete(PlacementRow).where(PlacementRow.metacluster_id == mc))
            session.execute(delete(MetaClusterPart).where(MetaClusterPart.metacluster_id == mc))
        # Nodes whose rows are gone or of another version (or that are no candidate any more): rewrite theirs.
        changed = [node_id for node_id in parts if stored.get(node_id) != versions[node_id]]
        gone = [node_id for node_id in stored if node_id not in parts]
        if not legacy:  # (legacy: all of the chain's rows went above; a first formation finds none)
            for chunk in _chunks(changed + gone):
                session.execute(delete(PlacementRow).where(PlacementRow.metacluster_id == mc,
                                                           PlacementRow.node_id.in_(chunk)))
                session.execute(delete(MetaClusterPart).where(MetaClusterPart.metacluster_id == mc,
                                                              MetaClusterPart.node_id.in_(chunk)))
        by_node = {c.node_id: c for c in clusters}
        for chunk in _chunks(changed, 50):
            placement_rows, part_rows = [], []
            for node_id in chunk:
                part = self._part(chain, by_node[node_id], versions[node_id], matcher, entries=True)
                if part is None:  # cannot be: the node is in ``parts``, formed from this same version
                    raise LookupError(f"node {node_id} has no part in {chain.id} at version {versions[node_id]}")
                placement_rows.extend(_placements(mc, summary, part))
                part_rows.append({"metacluster_id": mc, "node_id": node_id, "version_id": versions[node_id],
                                  "members": part.members, "knowledge": part.knowledge})
                part.members = part.knowledge = None  # stored: combining needs only counts and coverage
            session.execute(insert(_PLACEMENT_TABLE), placement_rows)  # Core executemany: no ORM per row
            session.execute(insert(_PART_TABLE), part_rows)
        if not legacy and old_verdict != (summary["formed"], summary["decisions"]):
            # The chain's verdict changed: the cluster rows of the admitted clusters say it, and every member row
            # follows whether the meta-cluster formed.
            fresh = set(changed)
            updates = [{"mc": mc, "node": node_id, "subj": "cluster",
                        **{f"v_{k}": v for k, v in _cluster_row(summary, part).items()}}
                       for node_id, part in parts.items() if part.admitted and node_id not in fresh]
            if updates:
                table = _PLACEMENT_TABLE
                session.connection().execute(
                    update(table).where(table.c.metacluster_id == bindparam("mc"), table.c.node_id == bindparam("node"),
                                        table.c.subject == bindparam("subj"))
                    .values(included=bindparam("v_included"),
                            reasons=bindparam("v_reasons", type_=table.c.reasons.type)), updates)
            if old_verdict[0] != summary["formed"]:
                session.execute(update(PlacementRow).where(PlacementRow.metacluster_id == mc,
                                                           PlacementRow.subject != "cluster")
                                .values(included=summary["formed"]))
        return summary


@dataclass
class Formation:
    """What :meth:`Aggregator.form` did: the summaries of the chains formed, the plugin error of each chain whose
    formation failed (its last meta-cluster kept), and the chains retired."""

    summaries: list[dict]
    failures: dict[str, PluginError]
    retired: list[str]

    def failures_list(self) -> list[dict]:
        """The failures as JSON-able entries: the value chain, then the error's plugin, hook, cause, message."""
        return [{"value_chain": chain, **error.as_dict(), "message": error.message}
                for chain, error in sorted(self.failures.items())]


def _drop(session, ids: list[str]) -> None:
    """Delete the stored results (placements, parts, rows) of the meta-clusters ``ids``."""
    session.execute(delete(PlacementRow).where(PlacementRow.metacluster_id.in_(ids)))
    session.execute(delete(MetaClusterPart).where(MetaClusterPart.metacluster_id.in_(ids)))
    session.execute(delete(MetaClusterRow).where(MetaClusterRow.id.in_(ids)))


def _chunks(items: list, size: int = 500):
    return (items[i:i + size] for i in range(0, len(items), size))


def _cluster_row(summary: dict, part: ClusterPart) -> dict:
    formed = summary["formed"]
    return {"included": part.admitted and formed,
            "reasons": part.entry["decisions"] + ([] if formed or not part.admitted else summary["decisions"])}


def _placements(mc: str, summary: dict, part: ClusterPart) -> list[dict]:
    """Index rows for "why" questions: the cluster judged, and (when it takes part) every member placed, every
    knowledge member."""
    formed = summary["formed"]
    members, knowledge = part.entries()
    rows = [{"metacluster_id": mc, "node_id": part.node_id, "subject": "cluster", "member_id": None,
             "sub_cluster": None, **_cluster_row(summary, part)}]
    for entry in members:
        rows.append({"metacluster_id": mc, "node_id": entry["node_id"], "subject": "member",
                     "member_id": entry["member_id"], "included": formed, "sub_cluster": entry["sub_cluster"],
                     "reasons": [{"passed": True, "rule": entry["rule"] or "other", "reason": entry["reason"]}]})
    for entry in knowledge:
        rows.append({"metacluster_id": mc, "node_id": entry["node_id"], "subject": "knowledge",
                     "member_id": entry["member_id"], "included": formed, "sub_cluster": None,
                     "reasons": [{"passed": True, "rule": "knowledge", "reason": entry["reason"]}]})
    return rows
