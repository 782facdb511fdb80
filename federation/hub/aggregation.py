"""Aggregation: the hub's current clusters and members, through the formation rules, into stored meta-clusters."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime, timezone
from typing import Iterable, Mapping

from sqlalchemy import delete, insert, select, text

from ..db import Database
from ..domain import Activity, Cluster, Member
from ..formation import StageMatcher, assess_value_chain
from ..registry import Registry
from .models import ClusterView, MemberView, MetaClusterRow, PlacementRow


#: Key of the PostgreSQL advisory lock that serialises formation ("MCI" in ASCII).
AGGREGATION_LOCK = 0x4D4349


def _activities(items) -> tuple[Activity, ...]:
    return tuple(Activity(a["scheme"], a["code"]) for a in items or ())


def member_from_view(row: MemberView, country: str) -> Member:
    offer_codes = tuple(Activity(c["scheme"], c["code"]) for offer in row.offers or () for c in offer.get("codes", ()))
    # Keyword rules read what a member is and offers; its needs say what it lacks, not what it is.
    text = " ".join([row.name] + [o["text"] for o in row.offers or ()])
    return Member(node_id=row.node_id, id=row.member_id, kind=row.kind, name=row.name, country=country,
                  activities=_activities(row.activities), offer_codes=offer_codes, text=text.lower(),
                  status=row.status, last_active=row.last_active, city=row.city, audience=row.audience)


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
        self._cache_lock = threading.Lock()

    def load_clusters(self, session) -> list[Cluster]:
        views = {v.node_id: v for v in session.scalars(select(ClusterView))}
        with self._cache_lock:
            stale = [node_id for node_id, v in views.items()
                     if self._cache.get(node_id, (None,))[0] != v.version_id]
            members: dict[str, list[Member]] = defaultdict(list)
            # Plain rows of the columns formation reads, not ORM objects, and only for the nodes that changed.
            columns = select(MemberView.node_id, MemberView.member_id, MemberView.kind, MemberView.name,
                             MemberView.city, MemberView.activities, MemberView.offers, MemberView.status,
                             MemberView.last_active, MemberView.audience)
            for chunk in (stale[i:i + 500] for i in range(0, len(stale), 500)):
                query = columns.where(MemberView.node_id.in_(chunk))
                for row in session.execute(query.order_by(MemberView.node_id, MemberView.member_id)):
                    members[row.node_id].append(member_from_view(row, views[row.node_id].country))
            for node_id in stale:
                v = views[node_id]
                self._cache[node_id] = (v.version_id, Cluster(
                    node_id=v.node_id, id=v.cluster_id, name=v.names.get("en") or next(iter(v.names.values())),
                    country=v.country, value_chains=tuple(v.value_chains or ()), members=tuple(members[node_id])))
            for node_id in set(self._cache) - set(views):
                del self._cache[node_id]
            return [self._cache[node_id][1] for node_id in views]

    def has_results(self) -> bool:
        with self.db.session() as session:
            return session.scalar(select(MetaClusterRow.id).limit(1)) is not None

    def run(self, chains: Iterable[str] | None = None) -> list[dict]:
        """Form again the meta-clusters of ``chains`` (default: every value chain) and replace their stored results
        in one transaction; the other chains' results stay as they are."""
        with self.db.session() as session:
            if session.bind.dialect.name == "postgresql":
                # Two harvests finishing together must not both replace the results: the second waits, then
                # forms from what the first committed. (SQLite serialises writers by itself.)
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AGGREGATION_LOCK})
            wanted = sorted(self.registry.value_chains if chains is None else
                            set(chains) & set(self.registry.value_chains))
            clusters = self.load_clusters(session)
            assessments = [assess_value_chain(self.registry.value_chains[c], clusters, self.registry)
                           for c in wanted]
            ids = [a["id"] for a in assessments]
            computed_at = datetime.now(timezone.utc)
            session.execute(delete(PlacementRow).where(PlacementRow.metacluster_id.in_(ids)))
            session.execute(delete(MetaClusterRow).where(MetaClusterRow.id.in_(ids)))
            session.execute(insert(MetaClusterRow), [
                {"id": a["id"], "value_chain": a["value_chain"], "formed": a["formed"], "countries": a["countries"],
                 "document": a, "computed_at": computed_at} for a in assessments])
            placements = [row for a in assessments for row in _placements(a)]
            if placements:
                session.execute(insert(PlacementRow), placements)
        return assessments


def _placements(assessment: dict) -> list[dict]:
    """Index rows for "why" questions: every cluster judged, every member placed, every knowledge member."""
    mc = assessment["id"]
    rows = []
    for entry, included in [(c, True) for c in assessment["clusters"]] + \
                           [(c, False) for c in assessment["excluded_clusters"]]:
        rows.append({"metacluster_id": mc, "node_id": entry["node_id"], "subject": "cluster", "member_id": None,
                     "included": included and assessment["formed"], "sub_cluster": None,
                     "reasons": entry["decisions"] + ([] if assessment["formed"] or not included
                                                      else assessment["decisions"])})
    for entry in assessment["members"]:
        rows.append({"metacluster_id": mc, "node_id": entry["node_id"], "subject": "member",
                     "member_id": entry["member_id"], "included": assessment["formed"],
                     "sub_cluster": entry["sub_cluster"],
                     "reasons": [{"passed": True, "rule": entry["rule"] or "other", "reason": entry["reason"]}]})
    for entry in assessment["knowledge_members"]:
        rows.append({"metacluster_id": mc, "node_id": entry["node_id"], "subject": "knowledge",
                     "member_id": entry["member_id"], "included": assessment["formed"], "sub_cluster": None,
                     "reasons": [{"passed": True, "rule": "knowledge", "reason": entry["reason"]}]})
    return rows
