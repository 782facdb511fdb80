"""The hub's read side: meta-clusters, clusters, "why" answers, versions and harvest history."""

from __future__ import annotations

from sqlalchemy import func, select

from ..db import Database
from ..errors import NotFound
from ..formation import explain_member, full_assessment, stage_coverage
from ..profile.cooperation import opportunities_of
from ..profile.knowledge import public_rendering
from ..profile.member_fields import from_hub_row
from ..registry import Registry
from .aggregation import member_from_view
from .freshness import FreshnessPolicy, freshness_of
from .models import (
    AuditEvent,
    ClusterView,
    FetchAttempt,
    HarvestRun,
    MemberTombstone,
    MemberView,
    MetaClusterPart,
    MetaClusterRow,
    NodeRecord,
    PlacementRow,
    ProfileVersion,
)
from .nodes import FORMING, ignored_parts, node_dict

#: What ``why`` says of every chain for a node the operator suspended (its versions are kept, not formed).
SUSPENDED = "suspended by the operator"

#: Keys of the public meta-cluster shape (``medmci demo --json`` and ``hub metaclusters --json``), in this order.
EXPORT_KEYS = ("id", "value_chain", "value_chain_names", "ecosystem", "countries", "clusters", "sub_clusters",
               "knowledge_members", "stage_coverage", "gaps", "country_gaps", "excluded_clusters", "decisions")


def export_metacluster(document: dict) -> dict:
    out = {key: document[key] for key in EXPORT_KEYS}
    out["clusters"] = [{"id": c["id"], "node_id": c["node_id"], "name": c["name"], "country": c["country"],
                        "members_on_chain": c["members_on_chain"], "decisions": c["decisions"]}
                       for c in document["clusters"]]
    out["sub_clusters"] = [{"name": s["name"], "names": s["names"], "members": s["members"]}
                           for s in document["sub_clusters"]]
    out["knowledge_members"] = [{"id": k["id"], "name": k["name"], "kind": k["kind"], "country": k["country"],
                                 "cluster_id": k["cluster_id"], "reason": k["reason"]}
                                for k in document["knowledge_members"]]
    return out


def _page(session, query, offset: int, limit: int | None) -> tuple[int, list]:
    """``(total, rows of the window)`` of a select; a window past the end costs one COUNT (and a page number of
    any size never reaches the database as an OFFSET it cannot hold)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if offset >= total:
        return total, []
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return total, list(session.execute(query).all())


class HubQueries:
    """The read side. The ``*_page`` methods serve the API's paginated lists: each returns ``(total, items)`` for
    an ``offset`` and a ``limit`` (flask-smorest's page and page_size, X-Pagination header)."""

    def __init__(self, db: Database, registry: Registry, freshness: FreshnessPolicy | None = None):
        self.db = db
        self.registry = registry
        #: The thresholds of each cluster's ``freshness`` (None: clusters are served without it).
        self.freshness = freshness

    def _freshness(self, session, views: list[ClusterView], federation: bool) -> dict[str, dict]:
        return {} if self.freshness is None else freshness_of(session, views, federation, self.freshness)

    def nodes_page(self, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        with self.db.session() as session:
            total, rows = _page(session, select(NodeRecord).order_by(NodeRecord.id), offset, limit)
            ignored = ignored_parts(session, [r[0].id for r in rows])
            return total, [node_dict(r[0], ignored.get(r[0].id)) for r in rows]

    def audit_page(self, action: str | None = None, node_id: str | None = None, offset: int = 0,
                   limit: int | None = 200) -> tuple[int, list[dict]]:
        """The audit log, newest first; ``action`` is an action or its prefix (``registration.``)."""
        query = select(AuditEvent).order_by(AuditEvent.id.desc())
        if action:
            query = query.where(AuditEvent.action.startswith(action, autoescape=True))
        if node_id:
            query = query.where(AuditEvent.node_id == node_id)
        with self.db.session() as session:
            total, rows = _page(session, query, offset, limit)
            return total, [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "node_id": e.node_id,
                            "details": e.details} for (e,) in rows]

    def metaclusters_page(self, formed: bool | None, federation: bool, offset: int, limit: int,
                          embedded_members: int, complete=None) -> tuple[int, list[dict]]:
        """A page of meta-clusters for the API: member lists cut at ``embedded_members`` each (the whole lists
        are paginated at /metaclusters/<id>/members), with their totals. ``complete`` (the hub's knowledge
        figures) adds to the page's documents, as the reader may see them, before they are cut."""
        query = select(MetaClusterRow).order_by(MetaClusterRow.id)
        if formed is not None:
            query = query.where(MetaClusterRow.formed.is_(formed))
        with self.db.session() as session:
            total, rows = _page(session, query, offset, limit)
            documents = [full_document(session, r[0]) for r in rows]
        documents = [d if federation else public_view(d) for d in documents]
        if complete is not None:
            documents = complete(documents)
        return total, [embedded(d, embedded_members) for d in documents]

    def metacluster_members(self, metacluster_id: str, federation: bool, knowledge: bool, offset: int,
                            limit: int) -> tuple[int, list[dict]]:
        """One page of a meta-cluster's chain members (or knowledge members), in the order of its document."""
        document = self.metacluster(metacluster_id, federation)
        members = document["knowledge_members" if knowledge else "members"]
        return len(members), members[offset:offset + limit]

    def clusters_page(self, federation: bool, offset: int, limit: int) -> tuple[int, list[dict]]:
        with self.db.session() as session:
            # A rejected or suspended node's cluster is in no view (its versions are kept).
            total, rows = _page(session, select(ClusterView).join(NodeRecord, NodeRecord.id == ClusterView.node_id)
                                .where(NodeRecord.status.in_(FORMING))
                                .order_by(ClusterView.country, ClusterView.cluster_id), offset, limit)
            views = [r[0] for r in rows]
            query = select(MemberView.node_id, func.count()).where(
                MemberView.node_id.in_([v.node_id for v in views])).group_by(MemberView.node_id)
            if not federation:
                query = query.where(MemberView.audience == "public")
            counts = dict(session.execute(query).all()) if views else {}
            opportunities = None if federation else _public_opportunities(session, views)
            fresh = self._freshness(session, views, federation)
            return total, [_cluster_dict(v, counts, opportunities, fresh.get(v.node_id)) for v in views]

    def versions_page(self, node_id: str, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        with self.db.session() as session:
            self._node_with_data(session, node_id)
            total, rows = _page(session, select(
                ProfileVersion.id, ProfileVersion.sequence, ProfileVersion.schema_version, ProfileVersion.sha256,
                ProfileVersion.etag, ProfileVersion.fetched_at, func.length(ProfileVersion.body),
                ProfileVersion.ignored)
                .where(ProfileVersion.node_id == node_id).order_by(ProfileVersion.id), offset, limit)
            return total, [{"id": r[0], "sequence": r[1], "schema_version": r[2], "sha256": r[3], "etag": r[4],
                            "fetched_at": r[5], "size": r[6], "ignored": r[7]} for r in rows]

    def runs_page(self, offset: int = 0, limit: int | None = 50) -> tuple[int, list[dict]]:
        with self.db.session() as session:
            total, rows = _page(session, select(HarvestRun).order_by(HarvestRun.id.desc()), offset, limit)
            return total, [_run_dict(r[0]) for r in rows]

    def metaclusters(self, formed: bool | None = True, federation: bool = True) -> list[dict]:
        """Stored assessments (formed ones by default), as full documents; ``federation=False`` gives what an
        anonymous reader may see."""
        with self.db.session() as session:
            query = select(MetaClusterRow).order_by(MetaClusterRow.id)
            if formed is not None:
                query = query.where(MetaClusterRow.formed.is_(formed))
            documents = [full_document(session, row) for row in session.scalars(query)]
        return documents if federation else [public_view(d) for d in documents]

    def export(self, federation: bool = True) -> dict:
        """The formed meta-clusters (``medmci demo --json``, ``hub metaclusters --json``), and the value chains
        that formed none, with why."""
        return {"metaclusters": [export_metacluster(d) for d in self.metaclusters(True, federation)],
                "value_chains_not_formed": self.value_chains_not_formed()}

    def value_chains_not_formed(self) -> list[dict]:
        """Every loaded value chain without a formed meta-cluster, with the verdicts that refused it (or why it was
        never formed). Chain-level verdicts only: they name no member."""
        with self.db.session() as session:
            stored: dict[str, dict] = dict(session.execute(select(MetaClusterRow.value_chain, MetaClusterRow.document)
                                          .where(MetaClusterRow.formed.is_(False))).all())
            formed = set(session.scalars(select(MetaClusterRow.value_chain).where(MetaClusterRow.formed.is_(True))))
        out = []
        for chain_id, chain in sorted(self.registry.value_chains.items()):
            if chain_id in formed:
                continue
            document = stored.get(chain_id)
            why = ([d for d in document["decisions"] if not d["passed"]] if document is not None else
                   [{"passed": False, "rule": "formation",
                     "reason": "not formed yet: no formation since this value chain was loaded (the next harvest "
                               "forms it; `medmci hub reform` forms it now)"}])
            out.append({"value_chain": chain_id, "value_chain_names": dict(chain.names), "why": why})
        return out

    def metacluster(self, metacluster_id: str, federation: bool = True) -> dict:
        with self.db.session() as session:
            row = session.get(MetaClusterRow, metacluster_id)
            if row is None:
                row = session.scalar(select(MetaClusterRow).where(MetaClusterRow.value_chain == metacluster_id))
            if row is None:
                raise NotFound(f"no meta-cluster {metacluster_id!r} (see /api/v1/metaclusters?formed=all)")
            document = full_document(session, row)
        return document if federation else public_view(document)

    def clusters(self, federation: bool = True) -> list[dict]:
        with self.db.session() as session:
            query = select(MemberView.node_id, func.count()).group_by(MemberView.node_id)
            if not federation:
                query = query.where(MemberView.audience == "public")
            counts = dict(session.execute(query).all())
            views = list(session.scalars(select(ClusterView).join(NodeRecord, NodeRecord.id == ClusterView.node_id)
                                         .where(NodeRecord.status.in_(FORMING))
                                         .order_by(ClusterView.country, ClusterView.cluster_id)))
            opportunities = None if federation else _public_opportunities(session, views)
            fresh = self._freshness(session, views, federation)
            return [_cluster_dict(v, counts, opportunities, fresh.get(v.node_id)) for v in views]

    def cluster(self, cluster_id: str, federation: bool = True) -> dict:
        """One cluster (by cluster or node id) as its node's latest accepted profile says: its cooperation
        profile, and a knowledge node's block; an anonymous reader sees the public rendering of both."""
        with self.db.session() as session:
            view = self._cluster(session, cluster_id)
            query = select(func.count()).where(MemberView.node_id == view.node_id)
            if not federation:
                query = query.where(MemberView.audience == "public")
            counts = {view.node_id: session.scalar(query) or 0}
            opportunities = None if federation else _public_opportunities(session, [view])
            fresh = self._freshness(session, [view], federation)
            return _cluster_dict(view, counts, opportunities, fresh.get(view.node_id))

    def cluster_members(self, cluster_id: str, federation: bool = True) -> list[dict]:
        with self.db.session() as session:
            view = self._cluster(session, cluster_id)
            query = select(MemberView).where(MemberView.node_id == view.node_id)
            if not federation:
                query = query.where(MemberView.audience == "public")
            rows = session.scalars(query.order_by(MemberView.member_id))
            return [from_hub_row(m) for m in rows]

    def why(self, cluster_id: str, member_id: str | None = None, federation: bool = True) -> dict:
        """Every placement decision about a cluster (or one of its members), chain by chain.

        For a member, ``placements`` are the chains it was placed on, each with the ``stages`` it counts on and an
        ``explanation`` of its codes in its own scheme's words; ``not_placed`` says, for every other chain, why not
        (its codes, or its cluster's verdict)."""
        with self.db.session() as session:
            view = self._cluster(session, cluster_id, suspended=True)
            if self._status(session, view.node_id) == "suspended":
                return {"cluster_id": view.cluster_id, "node_id": view.node_id, "country": view.country,
                        "member_id": member_id, "placements": [
                            {"metacluster_id": f"mc-{chain}", "value_chain": chain, "subject": "cluster",
                             "metacluster_formed": None, "included": False, "sub_cluster": None,
                             "reasons": [{"passed": False, "rule": "operator", "reason": SUSPENDED}]}
                            for chain in sorted(self.registry.value_chains)], "not_placed": []}
            query = select(PlacementRow, MetaClusterRow.value_chain, MetaClusterRow.formed).join(
                MetaClusterRow, MetaClusterRow.id == PlacementRow.metacluster_id).where(
                PlacementRow.node_id == view.node_id)
            member = None
            if member_id is None:
                query = query.where(PlacementRow.subject == "cluster")
            else:
                row = session.get(MemberView, (view.node_id, member_id))
                if row is None or (not federation and row.audience != "public"):
                    raise NotFound(f"cluster {view.cluster_id!r} shares no member {member_id!r} with the hub")
                member = member_from_view(row, view.country)
                query = query.where((PlacementRow.member_id == member_id) | (PlacementRow.subject == "cluster"))
            rows = session.execute(query.order_by(PlacementRow.metacluster_id)).all()
        placements: list[dict] = [{"metacluster_id": p.metacluster_id, "value_chain": vc, "metacluster_formed": formed,
                       "subject": p.subject, "included": p.included, "sub_cluster": p.sub_cluster,
                       "reasons": p.reasons} for p, vc, formed in rows]
        answer: dict = {"cluster_id": view.cluster_id, "node_id": view.node_id, "country": view.country,
                  "member_id": member_id, "placements": placements, "not_placed": []}
        if member is not None:
            clusters = {p["value_chain"]: p for p in placements if p["subject"] == "cluster"}
            answer["placements"] = [p for p in placements if p["subject"] != "cluster"]
            answer["not_placed"] = self._explain_member(member, view.value_chains or (), answer["placements"],
                                                        clusters)
            return answer
        chains_seen = {p["value_chain"] for p in placements}
        for chain in sorted(set(self.registry.value_chains) - chains_seen):
            placements.append({"metacluster_id": f"mc-{chain}", "value_chain": chain, "subject": "cluster",
                               "metacluster_formed": None, "included": False, "sub_cluster": None,
                               "reasons": [{"passed": False, "rule": "core",
                                            "reason": "no member has an activity on this chain and the "
                                                      "cluster does not claim it"}]})
        return answer

    def _explain_member(self, member, claimed, placements: list[dict], clusters: dict[str, dict]) -> list[dict]:
        """Adds ``stages`` and ``explanation`` to the member's ``placements``; returns why it is on no other chain:
        its codes (in its own scheme's words), else its cluster's verdict there."""
        placed = {p["value_chain"]: p for p in placements}
        not_placed = []
        for chain_id, chain in sorted(self.registry.value_chains.items()):
            explained = explain_member(member, chain, self.registry, chain_id in claimed)
            if chain_id in placed:
                placed[chain_id].update(stages=explained["stages"], explanation=explained["explanation"])
                continue
            cluster = clusters.get(chain_id)
            if explained["excluded"]:
                reasons = [{"passed": False, "rule": "codes", "reason": r} for r in explained["excluded"]]
            elif cluster is not None and not cluster["included"]:
                reasons = [{"passed": False, "rule": "cluster", "reason": f"its cluster is not in {chain_id}'s "
                                                                          f"meta-cluster"}]
                reasons += [r for r in cluster["reasons"] if not r["passed"]]
            else:  # on the chain by its codes, yet not placed: formed before its cluster's current version
                reasons = [{"passed": False, "rule": "formation", "reason": f"{chain_id} has not been formed again "
                                                                            f"since this member's version arrived"}]
            not_placed.append({"metacluster_id": f"mc-{chain_id}", "value_chain": chain_id,
                               "metacluster_formed": cluster["metacluster_formed"] if cluster else None,
                               "subject": "knowledge" if member.is_knowledge else "member", "included": False,
                               "sub_cluster": None, "reasons": reasons, "stages": explained["stages"],
                               "explanation": explained["explanation"]})
        return not_placed

    def tombstones(self, cluster_id: str) -> list[dict]:
        """Members a complete fetch no longer listed (ids only; their data was purged)."""
        with self.db.session() as session:
            view = self._cluster(session, cluster_id)
            rows = session.scalars(select(MemberTombstone).where(MemberTombstone.node_id == view.node_id)
                                   .order_by(MemberTombstone.member_id))
            return [{"member_id": t.member_id, "removed_at": t.removed_at, "version_id": t.version_id} for t in rows]

    def versions(self, node_id: str) -> list[dict]:
        return self.versions_page(node_id)[1]

    def version_body(self, node_id: str, version_id: int) -> tuple[bytes, str]:
        with self.db.session() as session:
            self._node_with_data(session, node_id)
            version = session.get(ProfileVersion, version_id)
            if version is None or version.node_id != node_id:
                raise NotFound(f"node {node_id!r} has no version {version_id}")
            return version.body, version.sha256

    def runs(self, limit: int = 50) -> list[dict]:
        with self.db.session() as session:
            rows = session.scalars(select(HarvestRun).order_by(HarvestRun.id.desc()).limit(limit))
            return [_run_dict(r) for r in rows]

    def run(self, run_id: int) -> dict:
        with self.db.session() as session:
            run = session.get(HarvestRun, run_id)
            if run is None:
                raise NotFound(f"no harvest run {run_id}")
            attempts = session.scalars(select(FetchAttempt).where(FetchAttempt.run_id == run_id)
                                       .order_by(FetchAttempt.node_id))
            return {**_run_dict(run), "attempts": [
                {"node_id": a.node_id, "outcome": a.outcome, "http_status": a.http_status, "reason": a.reason,
                 "details": a.details, "version_id": a.version_id, "started_at": a.started_at,
                 "finished_at": a.finished_at, "worker": a.worker, "chains": a.chains} for a in attempts]}

    @staticmethod
    def _status(session, node_id: str) -> str | None:
        return session.scalar(select(NodeRecord.status).where(NodeRecord.id == node_id))

    @classmethod
    def _cluster(cls, session, cluster_id: str, suspended: bool = False) -> ClusterView:
        """A cluster whose node takes part (or is suspended, for ``why`` to explain it); never a rejected one's."""
        view = session.scalar(select(ClusterView).where(ClusterView.cluster_id == cluster_id)) \
            or session.get(ClusterView, cluster_id)
        shown = FORMING + (("suspended",) if suspended else ())
        if view is None or cls._status(session, view.node_id) not in shown:
            raise NotFound(f"no cluster {cluster_id!r} at the hub (by cluster id or node id)")
        return view

    @classmethod
    def _node_with_data(cls, session, node_id: str) -> None:
        """A node whose stored versions may be shown: not a rejected one (a pending node has none)."""
        status = cls._status(session, node_id)
        if status is None:
            raise NotFound(f"no node {node_id!r} is registered")
        if status == "rejected":
            raise NotFound(f"node {node_id!r} is {status}: the hub shows no data of it")


def _cluster_dict(v: ClusterView, counts: dict, public_opportunities: dict | None = None,
                  freshness: dict | None = None) -> dict:
    """A cluster view as the API serves it. ``public_opportunities`` (an anonymous reader's): per node id, the
    cooperation opportunities of its public members, in place of those the federation's document carried;
    ``freshness``: how fresh its data is (federation/hub/freshness.py)."""
    cooperation, knowledge = v.cooperation, v.knowledge
    if public_opportunities is not None and v.node_id in public_opportunities and cooperation is not None:
        cooperation = {**cooperation, "opportunities": public_opportunities[v.node_id]}
    if public_opportunities is not None and knowledge is not None:
        knowledge = public_rendering(knowledge)
    return {"id": v.cluster_id, "node_id": v.node_id, "kind": v.kind, "names": v.names, "country": v.country,
            "website": v.website, "value_chains": v.value_chains, "description": v.description,
            "cooperation": cooperation, "knowledge": knowledge, "members": counts.get(v.node_id, 0),
            "version_id": v.version_id, "updated_at": v.updated_at, "stale_since": v.stale_since,
            "freshness": freshness}


def _public_opportunities(session, views: list[ClusterView]) -> dict[str, dict]:
    """Per node id of ``views`` with a cooperation profile: the opportunities its public members make (the hub
    holds the federation's document, whose opportunities count federation members too)."""
    wanted = [v.node_id for v in views if v.cooperation is not None]
    if not wanted:
        return {}
    members: dict[str, list[dict]] = {node_id: [] for node_id in wanted}
    rows = session.execute(select(MemberView.node_id, MemberView.offers, MemberView.needs)
                           .where(MemberView.node_id.in_(wanted), MemberView.audience == "public"))
    for node_id, offers, needs in rows:
        members[node_id].append({"offers": offers, "needs": needs})
    return {node_id: opportunities_of(listed) for node_id, listed in members.items()}


def embedded(document: dict, limit: int) -> dict:
    """A meta-cluster with its member lists (and each sub-cluster's) cut at ``limit``; ``*_total`` give the
    whole counts, so a reader knows to page through /metaclusters/<id>/members for the rest."""
    return {**document,
            "members": document["members"][:limit], "members_total": len(document["members"]),
            "knowledge_members": document["knowledge_members"][:limit],
            "knowledge_members_total": len(document["knowledge_members"]),
            "sub_clusters": [{**s, "members": s["members"][:limit], "members_total": len(s["members"])}
                             for s in document["sub_clusters"]]}


def _run_dict(run: HarvestRun) -> dict:
    return {"id": run.id, "status": run.status, "error": run.error, "started_at": run.started_at,
            "finished_at": run.finished_at, "counts": run.counts, "aggregated": run.aggregated}


def full_document(session, row: MetaClusterRow) -> dict:
    """The stored summary of a meta-cluster with its member lists, from the parts of its clusters."""
    if "members" in row.document:
        return row.document  # formed before parts were stored: the document is whole
    members, knowledge = [], []
    for part_members, part_knowledge in session.execute(
            select(MetaClusterPart.members, MetaClusterPart.knowledge)
            .where(MetaClusterPart.metacluster_id == row.id)):
        members.extend(part_members)
        knowledge.extend(part_knowledge)
    return full_assessment(row.document, members, knowledge)


def public_view(document: dict) -> dict:
    """A meta-cluster as an anonymous reader may see it: public members only, coverage and gaps from them alone.

    Cluster entries stay (a cluster's profile is public), with their decisions, which cite member counts.
    """
    members = [m for m in document["members"] if m.get("audience", "public") == "public"]
    knowledge = [k for k in document["knowledge_members"] if k.get("audience", "public") == "public"]
    visible = {m["id"] for m in members}
    stage_ids = [s["id"] for s in document["stages"]]
    coverage = stage_coverage(stage_ids, members + knowledge)
    return {**document, "members": members, "knowledge_members": knowledge,
            "sub_clusters": [{**s, "members": [m for m in s["members"] if m in visible]}
                             for s in document["sub_clusters"] if any(m in visible for m in s["members"])],
            **coverage,
            "country_gaps": {c: [s for s in stage_ids if c not in coverage["stage_coverage"][s]]
                             for c in document["countries"]}}
