"""Harvest runs: fetch every active node's profile, keep each new one as an append-only version, then form again the
meta-clusters the changes touch.

A run is three steps, each in its own module: this one runs them (the run's job rows and their leases, the sweeper,
the thread pool or the Celery workers); :mod:`.fetch` fetches and verifies one node (network and cryptography, no
database) and returns a frozen :class:`~.fetch.Fetched`; :mod:`.store` records it in the calling thread, one
transaction per node, and returns the node's :class:`~.results.Outcome`. One node's failure never touches another's
data: it is recorded with its reason, backs the node off, marks its last good version stale, and never replaces it.

Each run and each node fetch is a job row with a lease: a process killed mid-harvest leaves rows that the sweeper
(run at the start of every harvest) fails once their lease has expired, so nothing stays "running" for ever.

With a broker configured (``harvest.broker_url``), the fetches are queued as tasks for worker processes
(:mod:`federation.hub.workers`) instead: each worker claims its fetch row, fetches, verifies and stores; the run
waits on the rows, then forms the value chains they touched.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, Result, and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from connectors.http_fetch import NodeClient

from ..db import Database
from ..errors import NotFound, ValidationError
from ..gc_policy import batch
from ..plugin_manager import notify
from ..registry import Registry
from ..settings import Settings
from . import keyring, versioning
from .aggregation import Aggregator
from .fetch import Fetched, Fetcher, IdentityError, KeyCheck, NodeSnapshot, Verified
from .health import HealthPolicy
from .limits import HarvestLimits
from .models import ClusterView, FetchAttempt, HarvestRun, NodeKey, NodeRecord, ProfileVersion
from .reread import Reread, reread_set_aside
from .results import FAILED, NEW_VERSION, NOT_MODIFIED, OUTCOMES, UNCHANGED, Outcome, now, printable
from .store import HarvestStore, Job, is_quiet, purge_members

# Names other modules and tests import from here (the harvest was one module before it was split).
__all__ = [
    "FAILED", "NEW_VERSION", "NOT_MODIFIED", "OUTCOMES", "PARTIAL", "QUEUED", "RUNNING", "UNCHANGED", "Dispatcher",
    "Fetched", "Fetcher", "HarvestStore", "Harvester", "IdentityError", "Job", "KeyCheck", "NodeSnapshot", "Outcome",
    "Verified", "now", "printable", "process_name", "purge_members",
]

log = logging.getLogger(__name__)

QUEUED, RUNNING = "queued", "running"  # a fetch not finished yet: waiting for a worker, or being done
#: A run whose fetches are all recorded but where a plugin's rule failed the formation of some value chain.
PARTIAL = "partial"
#: Not-modified outcomes recorded per transaction: a scheduled pass over hundreds of unchanged nodes is mostly
#: bookkeeping, and one commit per node made half of its time.
QUIET_BATCH = 50


def process_name() -> str:
    """Who does a fetch, as the operator sees it in the job list."""
    return f"{socket.gethostname()}/{os.getpid()}"


class Dispatcher(Protocol):
    """Sends a queued fetch to a worker (see :class:`federation.hub.workers.CeleryDispatcher`)."""

    def send(self, attempt_id: int) -> None: ...

    def close(self) -> None: ...


class Harvester:
    """Runs harvests: one run's job rows, its fetches (here or on the workers) through :class:`.fetch.Fetcher` and
    :class:`.store.HarvestStore`, then the formation of the value chains they touched."""

    # No setting has a default here: Hub.build passes each from the settings (config/settings.yaml holds them).
    def __init__(self, db: Database, registry: Registry, client: NodeClient, workers: int, *,
                 signature_max_age_s: int, key_grace: timedelta, key_refresh_interval: timedelta,
                 run_lease: timedelta, interval: timedelta, discovery_max_age: timedelta,
                 health: HealthPolicy | None = None, dispatcher: Dispatcher | None = None, poll_s: float = 0.1,
                 limits: HarvestLimits | None = None, settings: Settings | None = None):
        self.limits = limits or HarvestLimits()
        #: The hub's settings (its instance folder), for observers; a registry may be shared by several apps.
        self.settings = settings or registry.settings
        self.health = health or HealthPolicy()
        #: Read a node's discovery document again after this long (zero: before every fetch).
        self.discovery_max_age = discovery_max_age
        #: None: fetch in this process's thread pool; else queue each fetch for the workers and wait on the rows.
        self.dispatcher = dispatcher
        self.poll_s = poll_s
        self.run_lease = run_lease
        self.interval = interval
        # A fetch's own deadline: discovery and profile, each with its connect and read limits, the verification
        # budget, plus slack.
        self.fetch_lease = timedelta(seconds=2 * (client.connect_timeout_s + client.timeout_s)
                                     + self.limits.trust.verify_budget_s + 5)
        self.db = db
        self.registry = registry
        self.client = client
        self.workers = max(1, int(workers))
        self.signature_max_age_s = signature_max_age_s
        self.key_grace = key_grace
        self.key_refresh_interval = key_refresh_interval
        self.aggregator = Aggregator(db, registry)
        #: The two steps of one node's fetch: fetch and verify (no database), then store (in the calling thread).
        self.fetcher = Fetcher(client, registry, self.limits, signature_max_age_s, key_refresh_interval)
        self.storage = HarvestStore(db, registry, self.aggregator, self.health, interval, self.limits, key_grace,
                                    signature_max_age_s)
        #: Called (no argument) after each run's formation: what follows the current view (matchmaking's
        #: refresh, wired in Hub.build). Each must catch its own failures: the run is recorded already.
        self.after_formation: list[Callable[[], object]] = []

    @batch
    def harvest(self, node_ids: Iterable[str] | None = None, progress: Callable[[Outcome], None] | None = None,
                due_only: bool = False, on_start: Callable[[int], None] | None = None) -> dict:
        """Harvest the given nodes (default: every active node; ``due_only``: those whose backoff has passed or
        that asked to be fetched), then form again the meta-clusters that changed nodes touch. Returns the run's
        report."""
        began = time.monotonic()
        self.sweep()
        # Parts set aside under another plugin set are read again first (hub/reread.py): a node answering 304 has
        # no new version to bring them back.
        rereads = self.reread()
        snapshots = self._snapshots(node_ids, due_only)
        if on_start is not None:
            on_start(len(snapshots))
        run_id, attempt_ids = self._open_run(snapshots)
        log.info("harvest run %s started: %d node(s), %s", run_id, len(snapshots),
                 "on the workers" if self.dispatcher is not None else f"{self.workers} fetch thread(s)")
        try:
            if self.dispatcher is None:
                results = self._harvest_here(run_id, snapshots, attempt_ids, progress)
            else:
                results = self._harvest_on_workers(self.dispatcher, run_id, attempt_ids, progress)
        except BaseException as exc:
            self._abort_run(run_id, exc)  # no fetch of this run stays "running" until its lease ends
            raise
        touched = set().union(*(r.chains for r in results)) if results else set()
        touched |= rereads.chains
        changed = any(r.outcome == NEW_VERSION for r in results)
        reform = touched | self.aggregator.outdated()
        try:
            # (Chains no plugin provides any more are retired by any formation.)
            formation = self.aggregator.form(reform) if reform or self.aggregator.retirable() else None
        except BaseException as exc:
            # The fetches are recorded; the run must not stay "running".
            self._abort_run(run_id, exc, "while forming the meta-clusters")
            raise
        for follower in self.after_formation:
            follower()
        failures = formation.failures_list() if formation is not None else []
        counts = {name: sum(1 for r in results if r.outcome == name) for name in OUTCOMES}
        with self.db.session() as session:
            run = session.get(HarvestRun, run_id)
            if run is None:  # the run's row was opened by this method
                raise NotFound(f"harvest run {run_id} is gone")
            if run.status == "running":  # unless a sweeper failed it meanwhile (it outlived its lease)
                # Partial: every fetch is recorded, but a plugin's rule failed some value chain's formation.
                run.status = PARTIAL if failures else "finished"
            if failures:
                run.error = printable("; ".join(f["message"] for f in failures))
            run.finished_at = now()
            run.counts = counts
            run.aggregated = changed
            finished_at = run.finished_at
            started_at = run.started_at
        log.info("harvest run %s finished in %.1f s: %d new, %d not modified, %d unchanged, %d failed; %d value "
                 "chain(s) formed again", run_id, time.monotonic() - began, counts[NEW_VERSION], counts[NOT_MODIFIED],
                 counts[UNCHANGED], counts[FAILED], len(reform))
        report = {"run_id": run_id, "started_at": started_at.isoformat(), "finished_at": finished_at.isoformat(),
                  "counts": counts, "aggregated": changed,
                  "nodes": [{"node_id": r.node_id, "outcome": r.outcome, "http_status": r.http_status,
                             "reason": r.reason} for r in sorted(results, key=lambda r: r.node_id)],
                  "formation_failures": failures,
                  "retired_value_chains": formation.retired if formation is not None else [],
                  "reread": rereads.as_dict()}
        notify(self.registry.pm, "medmci_on_harvest_completed", report=report, settings=self.settings,
               instance_path=self.settings.instance_path)
        return report

    def reread(self) -> Reread:
        """Read again, from its stored bytes, each node's current version with parts set aside under another
        catalogue than this hub's (a plugin was added since): see :mod:`.reread`. The caller forms the chains."""
        return reread_set_aside(self.storage)

    def _open_run(self, snapshots: list[NodeSnapshot]) -> tuple[int, dict[str, int]]:
        """The run's row and one fetch row per node, before any fetch starts."""
        started = now()
        with self.db.session() as session:
            run = HarvestRun(started_at=started, counts={}, aggregated=False, status=RUNNING,
                             lease_until=started + self.run_lease)
            session.add(run)
            session.flush()
            attempts = {}
            for position, snapshot in enumerate(snapshots):
                if self.dispatcher is None:
                    # The pool takes the nodes in order, `workers` at a time: a fetch's lease counts from when its
                    # turn can come, so fetches waiting in the pool are not taken for dead.
                    lease = started + self.fetch_lease * (1 + position // self.workers)
                    attempt = FetchAttempt(run_id=run.id, node_id=snapshot.id, started_at=started, outcome=RUNNING,
                                           lease_until=lease, worker=process_name())
                else:
                    # Queued for the workers: failed if none has claimed it within the run's first lease.
                    attempt = FetchAttempt(run_id=run.id, node_id=snapshot.id, started_at=started, outcome=QUEUED,
                                           lease_until=started + self.run_lease)
                session.add(attempt)
                attempts[snapshot.id] = attempt
            session.flush()
            return run.id, {node_id: a.id for node_id, a in attempts.items()}

    def _abort_run(self, run_id: int, exc: BaseException, when: str = "before this fetch was recorded") -> None:
        """The run stopped on an error of the hub's own: fail it, and every fetch of it not recorded yet."""
        log.error("harvest run %s stopped: %s: %s", run_id, type(exc).__name__, exc, exc_info=exc)
        reason = printable(f"the harvest run stopped {when}: {type(exc).__name__}: {exc}")
        try:
            with self.db.session() as session:
                at = now()
                session.execute(update(FetchAttempt).where(FetchAttempt.run_id == run_id,
                                                           FetchAttempt.outcome.in_((QUEUED, RUNNING)))
                                .values(outcome=FAILED, finished_at=at, lease_until=None, reason=reason))
                session.execute(update(HarvestRun).where(HarvestRun.id == run_id)
                                .values(status="failed", finished_at=at, error=reason))
        except SQLAlchemyError:  # the database itself is gone: the sweeper fails them when their lease ends
            log.exception("could not record the end of harvest run %s", run_id)

    def _renew_run(self, run_id: int, renewed: float) -> float:
        """Extend a live run's lease once half of it has gone (returns when it was last renewed)."""
        if time.monotonic() - renewed < self.run_lease.total_seconds() / 2:
            return renewed
        with self.db.session() as session:
            session.execute(update(HarvestRun).where(HarvestRun.id == run_id, HarvestRun.status == RUNNING)
                            .values(lease_until=now() + self.run_lease))
        return time.monotonic()

    def _harvest_here(self, run_id: int, snapshots: list[NodeSnapshot], attempt_ids: dict[str, int],
                      progress: Callable[[Outcome], None] | None) -> list[Outcome]:
        """Fetch in a bounded thread pool; store each result in this thread, one transaction per node (fetches
        with nothing to store but the bookkeeping are recorded together, QUIET_BATCH at a time)."""
        results: list[Outcome] = []
        quiet: list[tuple[int, Fetched]] = []
        renewed = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(snapshots))),
                                thread_name_prefix="harvest") as pool:
            # Only as_completed holds the futures, and it lets each go once yielded: a stored fetch's document is
            # freed before the run ends (the run keeps each node's small Outcome).
            completed = as_completed([pool.submit(self.fetch_node, snapshot) for snapshot in snapshots])
            for done, future in enumerate(completed, 1):
                fetched = future.result()
                attempt_id = attempt_ids[fetched.node_id]
                if is_quiet(fetched):
                    quiet.append((attempt_id, fetched))
                    outcome = fetched.reported()  # the report takes the outcome as recorded, below
                    if len(quiet) >= QUIET_BATCH or done == len(snapshots):
                        results.extend(self.storage.record_quiet(run_id, quiet))
                        quiet = []
                else:
                    outcome = self.storage.record(Job(run_id, attempt_id), fetched)
                    results.append(outcome)
                renewed = self._renew_run(run_id, renewed)
                if progress is not None:
                    progress(outcome)
            if quiet:
                results.extend(self.storage.record_quiet(run_id, quiet))
        return results

    def _harvest_on_workers(self, dispatcher: Dispatcher, run_id: int, attempt_ids: dict[str, int],
                            progress: Callable[[Outcome], None] | None) -> list[Outcome]:
        """Queue every fetch for the workers, then follow their rows until none is queued or running. A worker
        lost mid-fetch leaves its row running: the sweep fails it when its lease ends, so the run always ends."""
        for attempt_id in attempt_ids.values():
            dispatcher.send(attempt_id)
        pending = set(attempt_ids.values())
        results: list[Outcome] = []
        renewed = time.monotonic()
        while pending:
            time.sleep(self.poll_s)
            self.sweep()
            with self.db.session() as session:
                done = session.scalars(select(FetchAttempt).where(FetchAttempt.run_id == run_id,
                                                                  FetchAttempt.outcome.not_in((QUEUED, RUNNING))))
                finished = [a for a in done if a.id in pending]
            for attempt in finished:
                pending.discard(attempt.id)
                outcome = Outcome(attempt.node_id, attempt.outcome, attempt.started_at, attempt.finished_at,
                                  attempt.http_status, attempt.reason, attempt.details,
                                  frozenset(attempt.chains or ()))
                results.append(outcome)
                if progress is not None:
                    progress(outcome)
            renewed = self._renew_run(run_id, renewed)
        return results

    def accept_sequence_reset(self, node_id: str, actor: str = "operator") -> dict:
        """The operator's audited acceptance that a node restarted its sequence (see :mod:`.versioning`)."""
        return versioning.accept_sequence_reset(self.db, node_id, actor)

    def execute(self, attempt_id: int, worker: str | None = None) -> Outcome | None:
        """Do one queued fetch (on a worker): claim its row, fetch, validate, store. Returns None when the row is
        not this worker's to do: already claimed, done, or swept (a task delivered twice is done once)."""
        at = now()
        with self.db.session() as session:
            claimed = _rowcount(session.execute(
                update(FetchAttempt)
                .where(FetchAttempt.id == attempt_id,
                       or_(FetchAttempt.outcome == QUEUED,  # or a claim whose worker died: its lease ran out
                           and_(FetchAttempt.outcome == RUNNING, FetchAttempt.lease_until < at)))
                .values(outcome=RUNNING, started_at=at, lease_until=at + self.fetch_lease,
                        worker=worker or process_name())))
            attempt = session.get(FetchAttempt, attempt_id) if claimed else None
            if attempt is None:
                return None
            run_id, node_id = attempt.run_id, attempt.node_id
        try:
            snapshot = self._snapshots([node_id])[0]
        except (NotFound, ValidationError) as exc:  # removed, or no longer approved, since it was queued
            with self.db.session() as session:
                session.execute(update(FetchAttempt).where(FetchAttempt.id == attempt_id).values(
                    outcome=FAILED, finished_at=now(), lease_until=None, reason=f"not fetched: {exc.message}"))
            return Outcome(node_id, FAILED, at, now(), reason=f"not fetched: {exc.message}")
        return self.storage.record(Job(run_id, attempt_id), self.fetch_node(snapshot), remember=False)

    def fetch_node(self, node: NodeSnapshot) -> Fetched:
        """Fetch and verify one node (no database: safe in a worker thread); see :class:`.fetch.Fetcher`."""
        return self.fetcher.fetch(node)

    def store(self, run_id: int, fetched: Fetched, remember: bool = True) -> Outcome:
        """Record one fetch in run ``run_id`` on a fetch row of its own; returns the node's outcome as recorded
        (its ``chains``: the value chains a new version touches). See :meth:`.store.HarvestStore.record`."""
        return self.storage.record(Job(run_id), fetched, remember)

    def sweep(self) -> dict:
        """Fail the runs and fetches whose lease has expired: their process died (or hangs past any deadline)."""
        at = now()
        with self.db.session() as session:
            runs = session.execute(update(HarvestRun).where(HarvestRun.status == RUNNING,
                                                            HarvestRun.lease_until < at)
                                   .values(status="failed", finished_at=at,
                                           error="lease expired: the harvest stopped before finishing"))
            fetches = session.execute(update(FetchAttempt).where(FetchAttempt.outcome == RUNNING,
                                                                 FetchAttempt.lease_until < at)
                                      .values(outcome=FAILED, finished_at=at,
                                              reason="lease expired: the fetch never finished (worker stopped)"))
            queued = session.execute(update(FetchAttempt).where(FetchAttempt.outcome == QUEUED,
                                                                FetchAttempt.lease_until < at)
                                     .values(outcome=FAILED, finished_at=at,
                                             reason="lease expired: no worker took the fetch (are workers running "
                                                    "on the broker?)"))
            return {"runs": _rowcount(runs), "fetches": _rowcount(fetches) + _rowcount(queued)}

    def _snapshots(self, node_ids: Iterable[str] | None, due_only: bool = False) -> list[NodeSnapshot]:
        """What each fetch needs to know of its node (every active one, the due ones, or those named), read in
        this thread before any fetch starts."""
        with self.db.session() as session:
            query = select(NodeRecord)
            if node_ids is None:
                query = query.where(NodeRecord.status == "active")
                if due_only:
                    at = now()
                    query = query.where(or_(NodeRecord.next_attempt_at.is_(None), NodeRecord.next_attempt_at <= at,
                                            NodeRecord.fetch_requested_at.is_not(None)))
            else:
                wanted = list(node_ids)
                query = query.where(NodeRecord.id.in_(wanted))
            nodes = list(session.scalars(query.order_by(NodeRecord.id)))
            if node_ids is not None:
                missing = sorted(set(wanted) - {n.id for n in nodes})
                if missing:
                    raise NotFound(f"no node registered as {', '.join(missing)}")
                # The operator may harvest a paused node by name; never one that is not approved.
                unapproved = [f"{n.id} ({n.status})" for n in nodes if n.status not in ("active", "paused")]
                if unapproved:
                    raise ValidationError(f"not approved for harvest: {', '.join(unapproved)}",
                                          {"nodes": ["only active or paused nodes are harvested"]})
            current = select(ClusterView.node_id, ProfileVersion.sha256, ProfileVersion.sequence).join(
                ProfileVersion, ProfileVersion.id == ClusterView.version_id)
            if node_ids is not None:  # (a worker's fetch asks for one node: not every node's row)
                current = current.where(ClusterView.node_id.in_([n.id for n in nodes]))
            last = {node_id: (sha256, sequence) for node_id, sha256, sequence in session.execute(current)}
            keys: dict[str, list[NodeKey]] = {}
            for key in session.scalars(select(NodeKey).where(NodeKey.node_id.in_([n.id for n in nodes]))):
                keys.setdefault(key.node_id, []).append(key)
            at = now()
            snapshots = []
            for n in nodes:
                trusted, refused = keyring.split_keys(keys.get(n.id, ()), at)
                may_refresh = n.keys_refreshed_at is None or at - n.keys_refreshed_at >= self.key_refresh_interval
                sha256, sequence = last.get(n.id, (None, None))
                skip = bool(self.discovery_max_age and n.profile_url and sha256 and n.discovered_at
                            and at - n.discovered_at < self.discovery_max_age and n.fetch_requested_at is None)
                snapshots.append(NodeSnapshot(n.id, n.url, n.profile_url, n.etag, n.last_modified, sha256,
                                              n.cluster_id, n.country, trusted, refused, may_refresh,
                                              sequence, n.sequence_reset_at is not None, skip))
            return snapshots


def _rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE matched (Session.execute is typed as returning a Result; for an UPDATE it is a
    CursorResult, which has the count)."""
    return cast(CursorResult[Any], result).rowcount
