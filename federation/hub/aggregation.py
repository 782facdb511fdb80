"""Aggregation: the hub's current clusters and members, through the formation rules, into stored meta-clusters."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select, text

from ..db import Database
from ..domain import Activity, Cluster, Member
from ..formation import form_metaclusters
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


class Aggregator:
    def __init__(self, db: Database, registry: Registry):
        self.db = db
        self.registry = registry

    def load_clusters(self, session) -> list[Cluster]:
        views = {v.node_id: v for v in session.scalars(select(ClusterView))}
        members: dict[str, list[Member]] = defaultdict(list)
        for row in session.scalars(select(MemberView).order_by(MemberView.node_id, MemberView.member_id)):
            view = views.get(row.node_id)
            if view is not None:
                members[row.node_id].append(member_from_view(row, view.country))
        return [Cluster(node_id=v.node_id, id=v.cluster_id, name=v.names.get("en") or next(iter(v.names.values())),
                        country=v.country, value_chains=tuple(v.value_chains or ()),
                        members=tuple(members[v.node_id])) for v in views.values()]

    def has_results(self) -> bool:
        with self.db.session() as session:
            return session.scalar(select(MetaClusterRow.id).limit(1)) is not None

    def run(self) -> list[dict]:
        """Form every value chain's meta-cluster again and replace the stored results in one transaction."""
        with self.db.session() as session:
            if session.bind.dialect.name == "postgresql":
                # Two harvests finishing together must not both replace the results: the second waits, then
                # forms from what the first committed. (SQLite serialises writers by itself.)
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AGGREGATION_LOCK})
            assessments = form_metaclusters(self.load_clusters(session), self.registry)
            computed_at = datetime.now(timezone.utc)
            session.execute(delete(PlacementRow))
            session.execute(delete(MetaClusterRow))
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
