"""What a hub stored after harvests, read straight from its database or its queries."""

from __future__ import annotations

from sqlalchemy import func, select

from federation.hub.models import MetaClusterRow, ProfileVersion


def versions(hub, node_id: str) -> list[ProfileVersion]:
    """The node's stored profile versions, oldest first."""
    with hub.db.session() as session:
        return list(session.scalars(select(ProfileVersion).where(ProfileVersion.node_id == node_id)
                                    .order_by(ProfileVersion.id)))


def version_count(hub) -> dict[str, int]:
    """node id -> how many profile versions the hub stores (nodes without any left out)."""
    with hub.db.session() as session:
        return dict(session.execute(select(ProfileVersion.node_id, func.count())
                                    .group_by(ProfileVersion.node_id)).all())


def metacluster_state(hub) -> list[tuple]:
    """Every stored meta-cluster row as ``(id, formed, document, computed_at)``."""
    with hub.db.session() as session:
        return [(r.id, r.formed, r.document, r.computed_at)
                for r in session.scalars(select(MetaClusterRow).order_by(MetaClusterRow.id))]


def by_node(report: dict) -> dict[str, dict]:
    """A harvest report's node entries by node id."""
    return {n["node_id"]: n for n in report["nodes"]}


def cluster_entry(hub, chain: str, cluster_id: str) -> dict:
    """The cluster's entry in the meta-cluster of ``chain``."""
    document = hub.queries.metacluster(f"mc-{chain}")
    return next(c for c in document["clusters"] if c["id"] == cluster_id)
