"""Harvest: fetch every active node's profile over HTTP, validate it, keep it as an append-only version.

Fetching and validation run in a bounded thread pool (the embedded default); each result is stored by the calling
thread in its own transaction, so one node's failure never touches another's data. A failure is recorded with its
reason and never replaces the last good version.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from connectors.http_fetch import NodeClient, NodeFetchError

from ..db import Database
from ..errors import NotFound, ValidationError
from ..plugin_manager import notify
from ..profile import SUPPORTED_VERSIONS, read_profile
from ..profile.reader import first_message, parse_version
from ..registry import Registry
from .aggregation import Aggregator
from .models import ClusterView, FetchAttempt, HarvestRun, MemberView, NodeRecord, ProfileVersion

log = logging.getLogger(__name__)

NEW_VERSION, NOT_MODIFIED, UNCHANGED, FAILED = "new_version", "not_modified", "unchanged", "failed"
OUTCOMES = (NEW_VERSION, NOT_MODIFIED, UNCHANGED, FAILED)


def now() -> datetime:
    return datetime.now(timezone.utc)


class _AlreadyCurrent(Exception):
    """The fetched bytes are already the node's current version (stored by a concurrent harvest)."""


@dataclass(frozen=True)
class NodeSnapshot:
    """What a fetch needs to know of a node, read before the pool starts (no session crosses threads)."""

    id: str
    url: str
    profile_url: str | None
    etag: str | None
    last_modified: str | None
    last_sha256: str | None


@dataclass
class Outcome:
    node_id: str
    outcome: str
    started_at: datetime
    finished_at: datetime | None = None
    http_status: int | None = None
    reason: str | None = None
    details: dict | None = None
    profile_url: str | None = None
    body: bytes | None = None
    sha256: str | None = None
    profile: dict | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None


class Harvester:
    def __init__(self, db: Database, registry: Registry, client: NodeClient, workers: int = 8):
        self.db = db
        self.registry = registry
        self.client = client
        self.workers = max(1, int(workers))
        self.aggregator = Aggregator(db, registry)

    def harvest(self, node_ids: Iterable[str] | None = None,
                progress: Callable[[Outcome], None] | None = None) -> dict:
        """Harvest the given nodes (default: every active node), then form the meta-clusters again if anything
        changed. Returns the run's report."""
        snapshots = self._snapshots(node_ids)
        with self.db.session() as session:
            run = HarvestRun(started_at=now(), counts={}, aggregated=False)
            session.add(run)
            session.flush()
            run_id, started_at = run.id, run.started_at
        results: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(snapshots))),
                                thread_name_prefix="harvest") as pool:
            futures = [pool.submit(self.fetch_node, snapshot) for snapshot in snapshots]
            for future in as_completed(futures):
                outcome = future.result()
                self.store(run_id, outcome)
                results.append(outcome)
                if progress is not None:
                    progress(outcome)
        changed = any(r.outcome == NEW_VERSION for r in results)
        if changed or not self.aggregator.has_results():
            self.aggregator.run()
        counts = {name: sum(1 for r in results if r.outcome == name) for name in OUTCOMES}
        with self.db.session() as session:
            run = session.get(HarvestRun, run_id)
            run.finished_at = now()
            run.counts = counts
            run.aggregated = changed
            finished_at = run.finished_at
        report = {"run_id": run_id, "started_at": started_at.isoformat(), "finished_at": finished_at.isoformat(),
                  "counts": counts, "aggregated": changed,
                  "nodes": [{"node_id": r.node_id, "outcome": r.outcome, "http_status": r.http_status,
                             "reason": r.reason} for r in sorted(results, key=lambda r: r.node_id)]}
        notify(self.registry.pm, "medmci_on_harvest_completed", report=report)
        return report

    def _snapshots(self, node_ids: Iterable[str] | None) -> list[NodeSnapshot]:
        with self.db.session() as session:
            query = select(NodeRecord)
            if node_ids is None:
                query = query.where(NodeRecord.status == "active")
            else:
                wanted = list(node_ids)
                query = query.where(NodeRecord.id.in_(wanted))
            nodes = list(session.scalars(query.order_by(NodeRecord.id)))
            if node_ids is not None:
                missing = sorted(set(wanted) - {n.id for n in nodes})
                if missing:
                    raise NotFound(f"no node registered as {', '.join(missing)}")
            last = dict(session.execute(
                select(ClusterView.node_id, ProfileVersion.sha256)
                .join(ProfileVersion, ProfileVersion.id == ClusterView.version_id)).all())
            return [NodeSnapshot(n.id, n.url, n.profile_url, n.etag, n.last_modified, last.get(n.id))
                    for n in nodes]

    # -- one node, in a worker thread: network and validation, no database ----------------------------------------

    def fetch_node(self, node: NodeSnapshot) -> Outcome:
        outcome = Outcome(node.id, FAILED, now())
        try:
            self._fetch_into(node, outcome)
        except NodeFetchError as exc:
            outcome.outcome, outcome.reason, outcome.http_status = FAILED, exc.message, exc.http_status
        except ValidationError as exc:
            outcome.outcome, outcome.details = FAILED, exc.errors
            detail = first_message(exc.errors) if exc.errors else ""
            outcome.reason = f"invalid profile: {exc.message}" + (f" ({detail})" if detail and detail not in exc.message
                                                                  else "")
        except Exception as exc:  # noqa: BLE001 - one broken node must not stop the harvest
            log.exception("unexpected error harvesting %s", node.id)
            outcome.outcome, outcome.reason = FAILED, f"unexpected error: {type(exc).__name__}: {exc}"
        outcome.finished_at = now()
        return outcome

    def _fetch_into(self, node: NodeSnapshot, outcome: Outcome) -> None:
        discovery = self.client.discover(node.url)
        profile_url = self._choose_profile(discovery)
        outcome.profile_url = profile_url
        same_url = profile_url == node.profile_url and node.last_sha256 is not None
        result = self.client.fetch(profile_url, node.etag if same_url else None,
                                   node.last_modified if same_url else None)
        outcome.http_status = result.status
        outcome.etag, outcome.last_modified = result.etag, result.last_modified
        if result.status == 304:
            outcome.outcome = NOT_MODIFIED
            return
        outcome.sha256 = hashlib.sha256(result.body).hexdigest()
        outcome.content_type = result.content_type
        if outcome.sha256 == node.last_sha256:
            outcome.outcome = UNCHANGED  # a node that ignores validators: caught by the content hash
            return
        outcome.profile = read_profile(result.body, self.registry.taxonomies, self.registry.value_chains)
        outcome.body = result.body
        outcome.outcome = NEW_VERSION

    @staticmethod
    def _choose_profile(discovery: dict) -> str:
        """The URL of the highest profile version this hub reads."""
        readable = []
        for entry in discovery["profiles"]:
            try:
                major, minor = parse_version(entry["version"])
            except ValidationError:
                continue
            if major in SUPPORTED_VERSIONS:
                readable.append(((major, minor), entry["url"]))
        if not readable:
            served = ", ".join(str(p.get("version")) for p in discovery["profiles"]) or "none"
            supported = ", ".join(f"{m}.x" for m in SUPPORTED_VERSIONS)
            raise NodeFetchError(f"the node serves profile version(s) {served}; this hub reads {supported}", 200)
        return max(readable)[1]

    # -- storing, in the calling thread ------------------------------------------------------------------------

    def store(self, run_id: int, outcome: Outcome) -> None:
        if outcome.outcome == NEW_VERSION:
            try:
                with self.db.session() as session:
                    self._store_version(session, run_id, outcome)
                return
            except ValidationError as exc:
                outcome.outcome, outcome.reason, outcome.details = FAILED, f"refused: {exc.message}", exc.errors
            except (IntegrityError, _AlreadyCurrent):
                # Another harvest stored these exact bytes first: nothing new.
                outcome.outcome = UNCHANGED
        with self.db.session() as session:
            node = session.get(NodeRecord, outcome.node_id)
            self._record_attempt(session, run_id, outcome, node, None)

    def _store_version(self, session, run_id: int, outcome: Outcome) -> None:
        profile = outcome.profile
        cluster = profile["cluster"]
        node = session.get(NodeRecord, outcome.node_id, with_for_update=True)
        owner = session.scalar(select(ClusterView.node_id).where(ClusterView.cluster_id == cluster["id"],
                                                                 ClusterView.node_id != node.id))
        if owner is not None:
            raise ValidationError(f"cluster id {cluster['id']!r} is already published by node {owner!r}",
                                  {"cluster": {"id": ["belongs to another node"]}})
        fetched_at = outcome.finished_at or now()
        # A node that goes back to bytes it served before (A, B, then A) makes that kept version current again:
        # the history stays append-only and holds each distinct body once.
        version = session.scalar(select(ProfileVersion).where(ProfileVersion.node_id == node.id,
                                                              ProfileVersion.sha256 == outcome.sha256))
        current = session.get(ClusterView, node.id)
        if version is not None and current is not None and current.version_id == version.id:
            raise _AlreadyCurrent()  # a concurrent harvest stored these bytes first
        if version is None:
            version = ProfileVersion(node_id=node.id, sequence=profile["sequence"],
                                     schema_version=profile["version"], sha256=outcome.sha256, body=outcome.body,
                                     content_type=outcome.content_type, etag=outcome.etag,
                                     last_modified=outcome.last_modified, fetched_at=fetched_at)
            session.add(version)
            session.flush()
        view = current or ClusterView(node_id=node.id)
        view.cluster_id, view.names, view.country = cluster["id"], cluster["names"], cluster["country"]
        view.website, view.value_chains = cluster.get("website"), cluster.get("value_chains", [])
        view.description, view.version_id, view.updated_at = cluster.get("description", {}), version.id, fetched_at
        session.merge(view)
        session.execute(delete(MemberView).where(MemberView.node_id == node.id))
        rows = [{"node_id": node.id, "member_id": m["id"], "kind": m["kind"], "name": m["name"],
                 "city": m.get("city"), "size": m.get("size"), "activities": m.get("activities", []),
                 "offers": m.get("offers", []), "needs": m.get("needs", []),
                 "export_markets": m.get("export_markets", []), "status": m.get("status", "active"),
                 "last_active": m.get("last_active")} for m in profile["members"]]
        if rows:
            session.execute(insert(MemberView), rows)
        self._record_attempt(session, run_id, outcome, node, version.id)

    @staticmethod
    def _record_attempt(session, run_id: int, outcome: Outcome, node: NodeRecord, version_id: int | None) -> None:
        session.add(FetchAttempt(run_id=run_id, node_id=outcome.node_id, started_at=outcome.started_at,
                                 finished_at=outcome.finished_at or now(), outcome=outcome.outcome,
                                 http_status=outcome.http_status, reason=outcome.reason, details=outcome.details,
                                 version_id=version_id))
        node.last_attempt_at = outcome.finished_at or now()
        node.last_outcome = outcome.outcome
        if outcome.outcome == FAILED:
            node.last_error = outcome.reason
            node.consecutive_failures = (node.consecutive_failures or 0) + 1
            return
        node.last_success_at = node.last_attempt_at
        node.last_error = None
        node.consecutive_failures = 0
        if outcome.profile_url:
            node.profile_url = outcome.profile_url
        # Keep the validators of the version we hold: a 304 may omit them.
        if outcome.outcome in (NEW_VERSION, UNCHANGED):
            node.etag, node.last_modified = outcome.etag, outcome.last_modified
