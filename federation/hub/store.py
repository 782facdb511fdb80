"""Store what a fetch came to, in the calling thread, one transaction per node: a new version (with its members,
tombstones and purges), a key refresh, the audit of a refusal, and the fetch row and node bookkeeping of every
outcome. A failure backs the node off and marks its last good version stale; it never replaces it."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..db import Database
from ..errors import NotFound, SignatureError, ValidationError
from ..profile.knowledge import profile_kind
from ..profile.member_fields import hub_row
from ..registry import Registry
from . import audit, keyring, versioning, withdrawals
from .aggregation import Aggregator, chains_touched
from .fetch import Fetched, KeyCheck
from .health import HealthPolicy
from .limits import HarvestLimits
from .models import ClusterView, FetchAttempt, MemberTombstone, MemberView, NodeRecord, ProfileVersion
from .reread import catalogue_fingerprint
from .results import FAILED, NEW_VERSION, NOT_MODIFIED, UNCHANGED, Outcome, now, printable

log = logging.getLogger(__name__)

#: The members' table, for Core inserts (a mapped class's ``__table__`` is typed as any FROM clause).
_MEMBER_TABLE = cast(Table, MemberView.__table__)


class _AlreadyCurrent(Exception):
    """The fetched bytes are already the node's current version (stored by a concurrent harvest)."""


class _Superseded(_AlreadyCurrent):
    """A concurrent fetch stored a higher sequence while this one was under way: nothing new to keep."""


@dataclass(frozen=True)
class Job:
    """Where one fetch is recorded: its run, and its fetch row (None: a row is added)."""

    run_id: int
    attempt_id: int | None = None


def is_quiet(fetched: Fetched) -> bool:
    """Nothing to store but the bookkeeping: not modified or unchanged, and no key or audit business."""
    keys = fetched.keys
    return fetched.outcome in (NOT_MODIFIED, UNCHANGED) and keys.refresh is None \
        and not (keys.attempted or keys.refused or fetched.refused)


class HarvestStore:
    """Records fetches (see the module docstring); shared by the threads of one process, it keeps no state of its
    own beyond its settings."""

    def __init__(self, db: Database, registry: Registry, aggregator: Aggregator, health: HealthPolicy,
                 interval: timedelta, limits: HarvestLimits, key_grace: timedelta, signature_max_age_s: int):
        self.db = db
        self.registry = registry
        self.aggregator = aggregator
        self.health = health
        self.interval = interval
        self.limits = limits
        self.key_grace = key_grace
        self.signature_max_age_s = signature_max_age_s

    def record(self, job: Job, fetched: Fetched, remember: bool = True) -> Outcome:
        """Record one node's fetch and return its outcome (with the value chains a new version touches).
        ``remember``: keep a new version's cluster for formation in this process (not on a worker, which never
        forms). A database error while storing it (a value one database refuses) is that node's failed fetch: its
        transaction is rolled back and the failure recorded in a fresh one; the run goes on."""
        try:
            outcome = self._record(job, fetched, remember)
        except SQLAlchemyError as exc:
            log.exception("storing the outcome of node %s failed", printable(fetched.node_id, 200))
            error = getattr(exc, "orig", None) or exc
            outcome = Outcome(fetched.node_id, FAILED, fetched.started_at, fetched.finished_at, fetched.http_status,
                              f"the hub could not store this fetch: {type(error).__name__}: {str(error)[:300]}")
            # Recorded as a bare failure: none of what the fetch learnt (keys, profile URL) is kept.
            failed = replace(fetched, keys=KeyCheck(), profile_url=None, discovered=False, refused=False)
            with self.db.session() as session:
                node = session.get(NodeRecord, fetched.node_id)
                if node is not None:
                    outcome = self._record_attempt(session, job, failed, outcome, node, None)
        if outcome.outcome == FAILED:
            # The reason is the node's words escaped (printable) or the hub's own; never a token or a key.
            log.warning("harvest of node %s failed: %s", printable(outcome.node_id, 200), printable(outcome.reason))
        return outcome

    def _record(self, job: Job, fetched: Fetched, remember: bool) -> Outcome:
        outcome = fetched.reported()
        refused = fetched.refused
        if fetched.keys.refresh is not None:
            try:
                self._apply_key_refresh(fetched)
            except SignatureError as exc:  # checked in the fetch already; only a race could land here
                outcome, refused = replace(outcome, outcome=FAILED, reason=f"refused (signature): {exc.message}"), True
        if outcome.outcome == NEW_VERSION:
            try:
                with self.db.session() as session:
                    stored, kept = self._store_version(session, job, fetched, remember)
            except versioning.SequenceError as exc:  # seen under the node's lock (a fork, or a race)
                outcome = replace(outcome, outcome=FAILED, reason=f"refused (sequence): {exc.message}",
                                  details=exc.errors)
                refused = True
            except ValidationError as exc:
                outcome = replace(outcome, outcome=FAILED, reason=f"refused: {exc.message}", details=exc.errors)
            except (IntegrityError, _AlreadyCurrent) as exc:
                # Another harvest stored these exact bytes, or a later version, first: nothing new.
                outcome = replace(outcome, outcome=UNCHANGED, reason=str(exc) if isinstance(exc, _Superseded) else None)
            else:
                # Runs after the commit only (a failed commit raised above): formation has this version's cluster
                # without reading its members back.
                if kept is not None:
                    self.aggregator.remember(*kept)
                return stored
        with self.db.session() as session:
            node = _registered(session.get(NodeRecord, fetched.node_id), fetched.node_id)
            if fetched.keys.refused:
                audit.record(session, "key.refresh_refused", "system", node.id, kid=fetched.keys.kid)
            if refused:
                audit.record(session, "document.refused", "system", node.id, reason=outcome.reason,
                             sha256=fetched.sha256, errors=outcome.details)
            return self._record_attempt(session, job, fetched, outcome, node, None)

    def _apply_key_refresh(self, fetched: Fetched) -> None:
        """Trust the keys the node's discovery document published, vouched for by a key already trusted."""
        if fetched.keys.refresh is None:
            return
        discovery, signatures = fetched.keys.refresh
        with self.db.session() as session:
            keyring.apply_discovery(session, fetched.node_id, discovery, signatures, self.key_grace,
                                    self.signature_max_age_s, self.limits.trust)

    def _store_version(self, session, job: Job, fetched: Fetched,
                       remember: bool = True) -> tuple[Outcome, tuple | None]:
        """Keep a new version as the node's current one, in ``session`` (not committed yet). Returns its outcome,
        and what formation keeps of it once committed (``remember``; else None)."""
        new = fetched.version
        if new is None:
            raise ValueError(f"a {fetched.outcome} fetch of node {fetched.node_id!r} carries no version to store")
        profile = new.profile
        cluster = profile["cluster"]
        node = _registered(session.get(NodeRecord, fetched.node_id, with_for_update=True), fetched.node_id)
        # SQLite ignores FOR UPDATE: a write takes its database lock, so what is read below (the current version, its
        # sequence) is what the last committed store left, and two stores of one node never interleave.
        session.execute(update(NodeRecord).where(NodeRecord.id == node.id)
                        .values(last_outcome=NodeRecord.last_outcome))
        session.refresh(node)
        owner = session.scalar(select(ClusterView.node_id).where(ClusterView.cluster_id == cluster["id"],
                                                                 ClusterView.node_id != node.id))
        if owner is not None:
            raise ValidationError(f"cluster id {cluster['id']!r} is already published by node {owner!r}",
                                  {"cluster": {"id": ["belongs to another node"]}})
        fetched_at = fetched.finished_at or now()
        # A node that goes back to bytes it served before (A, B, then A) makes that kept version current again:
        # the history stays append-only and holds each distinct body once.
        version = session.scalar(select(ProfileVersion).where(ProfileVersion.node_id == node.id,
                                                              ProfileVersion.sha256 == fetched.sha256))
        current = session.get(ClusterView, node.id)
        if version is not None and current is not None and current.version_id == version.id:
            raise _AlreadyCurrent()  # a concurrent harvest stored these bytes first
        if current is not None:  # checked again here, under the node's lock: the fetch's check raced other fetches
            sequence, published_at = session.execute(select(ProfileVersion.sequence, ProfileVersion.published_at)
                                                     .where(ProfileVersion.id == current.version_id)).one()
            if profile["sequence"] < sequence and current.updated_at >= fetched.started_at \
                    and node.sequence_reset_at is None:
                raise _Superseded(f"superseded: a concurrent fetch stored sequence {sequence} while this one (sequence "
                                  f"{profile['sequence']}) was under way")
            versioning.check_sequence(sequence, profile["sequence"], node.sequence_reset_at is not None,
                                      None if published_at is None else published_at == profile["published_at"])
        if node.sequence_reset_at is not None:
            audit.record(session, "sequence.reset_applied", "system", node.id, sequence=profile["sequence"],
                         accepted_at=node.sequence_reset_at.isoformat())
            node.sequence_reset_at = None
        # The catalogue the parts set aside (if any) were set aside under: see hub/reread.py.
        catalogue = catalogue_fingerprint(self.registry) if new.ignored else None
        if version is None:
            version = ProfileVersion(node_id=node.id, sequence=profile["sequence"],
                                     schema_version=profile["version"], sha256=fetched.sha256, body=new.body,
                                     content_type=new.content_type, etag=fetched.etag,
                                     last_modified=fetched.last_modified, fetched_at=fetched_at,
                                     published_at=profile["published_at"], signature=new.signature, kid=new.kid,
                                     ignored=new.ignored, ignored_catalogue=catalogue)
            session.add(version)
            session.flush()
        else:
            # Read again now: what this hub's plugins set aside today.
            version.ignored, version.ignored_catalogue = new.ignored, catalogue
        if version.redacted_at is not None:
            # The node publishes those exact bytes again, withdrawn members included: they are its to share.
            version.body, version.redacted_at, version.redactions = new.body, None, None
            version.signature, version.kid = new.signature, new.kid
        previous_ids, touched = self.write_view(session, node.id, version.id, profile, current, fetched_at)
        present = {m["id"] for m in profile["members"]}
        # History is rewritten only for members the node's signed document says it withdrew (1.2+).
        purge = withdrawals.to_purge(session, node.id, profile, previous_ids, present)
        if purge:
            purge_members(session, node.id, purge, keep_version=version.id)
        withdrawn = previous_ids - present  # gone from the current view, purged or not
        if withdrawn:
            session.execute(insert(MemberTombstone), [
                {"node_id": node.id, "member_id": member_id, "removed_at": fetched_at, "version_id": version.id}
                for member_id in sorted(withdrawn)])
        # A member that comes back keeps its id (the node's), and is no longer a tombstone.
        session.execute(delete(MemberTombstone).where(MemberTombstone.node_id == node.id,
                                                      MemberTombstone.member_id.in_(present)))
        outcome = replace(fetched.reported(), chains=frozenset(touched))
        outcome = self._record_attempt(session, job, fetched, outcome, node, version.id)
        versioning.prune(session, node.id, version.id, self.limits.max_stored_bytes)
        return outcome, ((node.id, version.id, cluster, profile["members"], profile_kind(profile)) if remember
                         else None)

    def write_view(self, session, node_id: str, version_id: int, profile: dict, current: ClusterView | None,
                   updated_at) -> tuple[set[str], set[str]]:
        """Make ``profile`` (read from version ``version_id``) the node's cluster view and member rows, in
        ``session``. Returns the ids of the members it had before, and the value chains the change bears on (the
        old rows' and the new ones')."""
        cluster = profile["cluster"]
        previous = list(session.scalars(select(MemberView).where(MemberView.node_id == node_id)))
        touched = chains_touched(self.registry, current.value_chains if current else (), previous) | \
            chains_touched(self.registry, cluster.get("value_chains", []), profile["members"])
        view = current or ClusterView(node_id=node_id)
        view.cluster_id, view.names, view.country = cluster["id"], cluster["names"], cluster["country"]
        view.website, view.value_chains = cluster.get("website"), cluster.get("value_chains", [])
        view.description, view.version_id, view.updated_at = cluster.get("description", {}), version_id, updated_at
        view.kind, view.knowledge = profile_kind(profile), profile.get("knowledge")
        view.cooperation = cluster.get("cooperation")
        session.merge(view)
        session.execute(delete(MemberView).where(MemberView.node_id == node_id))
        # The member's fields are defined once, in federation/profile/member_fields.py.
        rows = [hub_row(node_id, m) for m in profile["members"]]
        if rows:
            session.execute(insert(_MEMBER_TABLE), rows)  # Core executemany: no ORM work per member
        return {m.member_id for m in previous}, touched

    def record_quiet(self, run_id: int, quiet: list[tuple[int, Fetched]]) -> list[Outcome]:
        """Record many quiet fetches (:func:`is_quiet`; ``(attempt id, fetched)`` pairs) in one transaction; if
        that transaction fails, each on its own (one node's bad value must not lose the others' outcomes)."""
        try:
            return self._record_quiet_together(run_id, quiet)
        except SQLAlchemyError:
            log.exception("recording %d quiet outcomes together failed; recording them one by one", len(quiet))
            return [self.record(Job(run_id, attempt_id), fetched) for attempt_id, fetched in quiet]

    def _record_quiet_together(self, run_id: int, quiet: list[tuple[int, Fetched]]) -> list[Outcome]:
        """Record many quiet fetches in one transaction: the rows they touch are read in three queries."""
        node_ids = [fetched.node_id for _attempt_id, fetched in quiet]
        outcomes = []
        with self.db.session() as session:
            nodes = {n.id: n for n in session.scalars(select(NodeRecord).where(NodeRecord.id.in_(node_ids)))}
            # Loaded into the session, and held here (its identity map keeps only weak references), so
            # _record_attempt's session.get() finds them without a query and a flush each.
            held = (session.scalars(select(FetchAttempt).where(FetchAttempt.id.in_([a for a, _f in quiet]))).all(),
                    session.scalars(select(ClusterView).where(ClusterView.node_id.in_(node_ids))).all())
            for attempt_id, fetched in quiet:
                outcome = fetched.reported()
                if fetched.node_id in nodes:  # (a node deleted meanwhile has no row left to record on)
                    outcome = self._record_attempt(session, Job(run_id, attempt_id), fetched, outcome,
                                                   nodes[fetched.node_id], None)
                outcomes.append(outcome)
            del held
        return outcomes

    def _record_attempt(self, session, job: Job, fetched: Fetched, outcome: Outcome, node: NodeRecord,
                        version_id: int | None) -> Outcome:
        """Write the fetch row and the node's bookkeeping for ``outcome``; returns it as recorded."""
        if outcome.reason is not None:  # a node's words, kept and shown: never raw control characters
            outcome = replace(outcome, reason=printable(outcome.reason))
        values = {"started_at": outcome.started_at, "finished_at": outcome.finished_at or now(),
                  "outcome": outcome.outcome, "http_status": outcome.http_status, "reason": outcome.reason,
                  "details": outcome.details, "version_id": version_id, "lease_until": None,
                  "chains": sorted(outcome.chains) or None}
        attempt = session.get(FetchAttempt, job.attempt_id) if job.attempt_id else None
        if attempt is None:
            session.add(FetchAttempt(run_id=job.run_id, node_id=outcome.node_id, **values))
        else:
            for name, value in values.items():
                setattr(attempt, name, value)
        at = outcome.finished_at or now()
        node.last_attempt_at = at
        node.last_outcome = outcome.outcome
        if fetched.keys.attempted:
            node.keys_refreshed_at = at
        if node.fetch_requested_at is not None and (node.last_push_at or node.fetch_requested_at) <= \
                outcome.started_at:
            node.fetch_requested_at = None  # the pushes that asked for this fetch are served; a later one stays
        view = session.get(ClusterView, node.id)
        if outcome.outcome == FAILED:
            node.last_error = outcome.reason
            self.health.record_failure(node, at)
            if view is not None and view.stale_since is None:
                view.stale_since = at  # the last good version stays, marked stale from now
            return outcome
        self.health.record_success(node, at, self.interval)
        if view is not None:
            view.stale_since = None
        node.last_success_at = at
        node.last_error = None
        if fetched.profile_url:
            node.profile_url = fetched.profile_url
        if fetched.discovered:
            node.discovered_at = at  # the profile URL above is the one that discovery named
        # Keep the validators of the version we hold: a 304 may omit them.
        if outcome.outcome in (NEW_VERSION, UNCHANGED):
            node.etag, node.last_modified = fetched.etag, fetched.last_modified
        return outcome


def purge_members(session, node_id: str, member_ids: set[str], keep_version: int | None = None) -> int:
    """Remove withdrawn members from every kept version of the node (the node owns its data: the hub forgets).

    The purged versions keep their hash and signature as received, marked redacted: ``medmci hub verify`` reports
    them as such rather than as failures. Returns how many versions were rewritten.
    """
    rewritten = 0
    versions = session.scalars(select(ProfileVersion).where(ProfileVersion.node_id == node_id,
                                                            ProfileVersion.id != keep_version))
    for version in versions:
        document = json.loads(version.body)
        members = document.get("members", [])
        removed = {m.get("id") for m in members} & member_ids
        if not removed:
            continue
        document["members"] = [m for m in members if m.get("id") not in member_ids]
        version.body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        version.redacted_at = now()
        version.redactions = sorted(set(version.redactions or ()) | removed)
        rewritten += 1
    audit.record(session, "member.purged", "system", node_id, member_ids=sorted(member_ids), versions=rewritten)
    return rewritten


def _registered(node: NodeRecord | None, node_id: str) -> NodeRecord:
    """The node's row, read back to record its fetch (None: the node was deleted while it was being fetched)."""
    if node is None:
        raise NotFound(f"node {printable(node_id, 200)} was deleted while it was being fetched")
    return node
