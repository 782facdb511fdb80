"""Read again what the hub set aside once its plugins change.

A hub that lacks a node's plugin keeps the node's profile and sets aside the value chains and activity schemes it
does not know (``profile_versions.ignored``). Once the hub's catalogue changes (a plugin added or enabled), the
current version of each such node is read again from the bytes the hub keeps, with the current taxonomies and value
chains: no network, and the verification record stays as it is (those bytes and their signature were verified when
fetched). Each node's cluster view, member rows and set-aside record are rewritten in one transaction, through the
store step's own code (:meth:`HarvestStore.write_view`); a version that no longer reads (a plugin changed so that
the profile is invalid) keeps its rows, and the failure is reported. The caller forms the chains touched.

Run by ``medmci hub reform`` and at the start of every harvest run; a version is due when the catalogue it was read
with (``profile_versions.ignored_catalogue``) is not the hub's current one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..errors import ValidationError
from ..profile import read_profile
from ..profile.knowledge import profile_kind
from ..registry import Registry
from . import audit
from .models import ClusterView, MetaClusterPart, MetaClusterRow, NodeRecord, PlacementRow, ProfileVersion
from .results import printable

if TYPE_CHECKING:  # the store imports this module (catalogue_fingerprint)
    from .store import HarvestStore

log = logging.getLogger(__name__)


def catalogue_fingerprint(registry: Registry) -> str:
    """A hash of what decides which parts of a profile the hub sets aside: its value chain ids and scheme ids."""
    catalogue = {"value_chains": sorted(registry.value_chains), "schemes": sorted(registry.taxonomies.by_scheme)}
    return hashlib.sha256(json.dumps(catalogue, separators=(",", ":")).encode("utf-8")).hexdigest()


@dataclass
class Reread:
    """What a pass did: the nodes whose current version was read again, the value chains that bears on (to form),
    and the nodes whose version no longer reads (node id -> why; their rows are kept)."""

    nodes: list[str] = field(default_factory=list)
    chains: set[str] = field(default_factory=set)
    failures: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"nodes": sorted(self.nodes),
                "failures": [{"node_id": n, "reason": r} for n, r in sorted(self.failures.items())]}


def due(store: HarvestStore) -> list[str]:
    """The nodes whose current version has parts set aside under another catalogue than the hub's current one."""
    fingerprint = catalogue_fingerprint(store.registry)
    with store.db.session() as session:
        rows = session.execute(
            select(ClusterView.node_id, ProfileVersion.ignored)
            .join(ProfileVersion, ProfileVersion.id == ClusterView.version_id)
            .where(ProfileVersion.ignored.is_not(None),
                   or_(ProfileVersion.ignored_catalogue.is_(None), ProfileVersion.ignored_catalogue != fingerprint))
            .order_by(ClusterView.node_id))
        # (A JSON null passes ``is_not(None)``: what was read whole has no parts to read again.)
        return [node_id for node_id, ignored in rows if ignored]


def reread_set_aside(store: HarvestStore) -> Reread:
    """Read again the current version of every node :func:`due` lists, each in its own transaction."""
    result = Reread()
    for node_id in due(store):
        try:
            chains = reread_version(store, node_id)
        except ValidationError as exc:
            result.failures[node_id] = printable(f"its current version no longer reads: {exc.message}") or ""
        except SQLAlchemyError as exc:
            log.exception("reading node %s's current version again failed", printable(node_id, 200))
            error = getattr(exc, "orig", None) or exc
            reason = f"the hub could not store it: {type(error).__name__}: {error}"
            result.failures[node_id] = printable(reason, 300) or ""
        else:
            if chains is not None:
                result.nodes.append(node_id)
                result.chains |= chains
    for node_id, reason in result.failures.items():
        log.warning("node %s keeps the rows of its current version as they were: %s", printable(node_id, 200), reason)
    if result.nodes:
        log.info("read again the current version of %d node(s) with the hub's plugins: %s", len(result.nodes),
                 ", ".join(printable(n, 200) or "" for n in result.nodes))
    return result


def reread_version(store: HarvestStore, node_id: str) -> set[str] | None:
    """Read the node's current version again from its stored bytes and rewrite what the hub keeps of it, in one
    transaction (a version that no longer reads raises :class:`ValidationError` and changes nothing). Returns the
    value chains to form again; None when there was nothing to do any more (another process did it)."""
    registry = store.registry
    fingerprint = catalogue_fingerprint(registry)
    with store.db.session() as session:
        # The node's lock, as the store step takes it: a harvest storing a new version waits, or is waited on.
        if session.get(NodeRecord, node_id, with_for_update=True) is None:
            return None
        session.execute(update(NodeRecord).where(NodeRecord.id == node_id).values(last_outcome=NodeRecord.last_outcome))
        view = session.get(ClusterView, node_id, populate_existing=True)
        version = session.get(ProfileVersion, view.version_id) if view is not None else None
        if view is None or version is None or not version.ignored or version.ignored_catalogue == fingerprint:
            return None
        ignored: dict = {}
        profile = read_profile(version.body, registry.taxonomies, registry.value_chains,
                               max_unknown_bytes=store.limits.max_unknown_bytes, ignored=ignored)
        placed = set(session.scalars(
            select(MetaClusterRow.value_chain).join(PlacementRow, PlacementRow.metacluster_id == MetaClusterRow.id)
            .where(PlacementRow.node_id == node_id).distinct()))
        _members, touched = store.write_view(session, node_id, version.id, profile, view, view.updated_at)
        # Formation tells a node's stored part from its current one by version id, which a re-read keeps: the
        # node's parts and placements go, so the chains formed next write them from the rows just written.
        session.execute(delete(PlacementRow).where(PlacementRow.node_id == node_id))
        session.execute(delete(MetaClusterPart).where(MetaClusterPart.node_id == node_id))
        audit.record(session, "version.reread", "system", node_id, version_id=version.id,
                     ignored_before=version.ignored, ignored=ignored or None)
        version.ignored, version.ignored_catalogue = ignored or None, fingerprint if ignored else None
        version_id = version.id
    store.aggregator.remember(node_id, version_id, profile["cluster"], profile["members"], profile_kind(profile))
    return touched | placed
