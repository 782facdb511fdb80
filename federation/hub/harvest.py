"""Harvest: fetch every active node's profile over HTTP, validate it, keep it as an append-only version.

Fetching and validation run in a bounded thread pool (the embedded default); each result is stored by the calling
thread in its own transaction, so one node's failure never touches another's data. A failure is recorded with its
reason, backs the node off, marks its last good version stale, and never replaces it.

Each run and each node fetch is a job row with a lease: a process killed mid-harvest leaves rows that the sweeper
(run at the start of every harvest) fails once their lease has expired, so nothing stays "running" for ever.

With a broker configured (``harvest.broker_url``), the fetches are queued as tasks for worker processes
(:mod:`federation.hub.workers`) instead: each worker claims its fetch row, fetches, validates and stores; the run
waits on the rows, then forms the value chains they touched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import timedelta
from datetime import datetime, timezone
from typing import Callable, Iterable, Protocol
from urllib.parse import urljoin

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connectors.http_fetch import NodeClient, NodeFetchError

from ..db import Database
from ..errors import NotFound, SignatureError, ValidationError
from ..gc_policy import batch
from ..plugin_manager import notify
from ..profile import SUPPORTED_VERSIONS, read_profile
from ..profile.reader import first_message, parse_version
from ..registry import Registry
from ..signing import ParsedDocument, parse_bounded, signature_kid, verify_signatures
from ..text import stored
from . import audit, keyring, versioning, withdrawals
from .limits import HarvestLimits
from .aggregation import Aggregator, chains_touched
from .health import HealthPolicy
from .models import (ClusterView, FetchAttempt, HarvestRun, MemberTombstone, MemberView, NodeKey, NodeRecord,
                     ProfileVersion)

log = logging.getLogger(__name__)

NEW_VERSION, NOT_MODIFIED, UNCHANGED, FAILED = "new_version", "not_modified", "unchanged", "failed"
OUTCOMES = (NEW_VERSION, NOT_MODIFIED, UNCHANGED, FAILED)
QUEUED, RUNNING = "queued", "running"  # a fetch not finished yet: waiting for a worker, or being done
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


def now() -> datetime:
    return datetime.now(timezone.utc)


class _AlreadyCurrent(Exception):
    """The fetched bytes are already the node's current version (stored by a concurrent harvest)."""


class _Superseded(_AlreadyCurrent):
    """A concurrent fetch stored a higher sequence while this one was under way: nothing new to keep."""


class IdentityError(ValidationError):
    """A document that claims another identity than the node's registration."""


def printable(text: str | None, limit: int = 2000) -> str | None:
    """Untrusted text (a node's error message, a field name it sent) as the hub stores and shows it: escaped as
    federation.text escapes for a terminal, at most ``limit`` characters."""
    return stored(text, limit)


@dataclass(frozen=True)
class NodeSnapshot:
    """What a fetch needs to know of a node, read before the pool starts (no session crosses threads)."""

    id: str
    url: str
    profile_url: str | None
    etag: str | None
    last_modified: str | None
    last_sha256: str | None
    cluster_id: str | None = None
    country: str | None = None
    keys: dict = field(default_factory=dict)  # kid -> public key the hub trusts now
    retired: dict = field(default_factory=dict)  # kid -> why that known key is refused
    may_refresh_keys: bool = True
    sequence: int | None = None  # the current version's
    sequence_reset: bool = False  # the operator accepted that the node restarted its sequence
    # Fetch the profile at profile_url without reading the discovery document first (it was read recently, and
    # the node has not pushed since): a moved profile or an unknown key sends the fetch back to the discovery.
    skip_discovery: bool = False


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
    signature: str | None = None
    kid: str | None = None
    sub: str | None = None  # the cluster the verified signature was made for
    refused: bool = False  # a signature or identity refusal: recorded in the audit log
    key_refresh: tuple | None = None  # (discovery, signatures) when the node's keys were refreshed
    refresh_attempted: bool = False
    refresh_refused: bool = False  # an unknown key, but the node's keys were refreshed too recently
    attempt_id: int | None = None
    chains: set[str] = field(default_factory=set)  # the value chains a new version bears on
    discovered: bool = False  # the node's discovery document was read by this fetch


class Harvester:
    def __init__(self, db: Database, registry: Registry, client: NodeClient, workers: int = 8,
                 signature_max_age_s: int = 300, key_grace: timedelta = timedelta(days=7),
                 key_refresh_interval: timedelta = timedelta(minutes=5), health: HealthPolicy | None = None,
                 run_lease: timedelta = timedelta(minutes=15), interval: timedelta = timedelta(minutes=15),
                 dispatcher: Dispatcher | None = None, poll_s: float = 0.1,
                 discovery_max_age: timedelta = timedelta(0), limits: HarvestLimits | None = None):
        self.limits = limits or HarvestLimits()
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

    @batch
    def harvest(self, node_ids: Iterable[str] | None = None, progress: Callable[[Outcome], None] | None = None,
                due_only: bool = False, on_start: Callable[[int], None] | None = None) -> dict:
        """Harvest the given nodes (default: every active node; ``due_only``: those whose backoff has passed or
        that asked to be fetched), then form again the meta-clusters that changed nodes touch. Returns the run's
        report."""
        self.sweep()
        snapshots = self._snapshots(node_ids, due_only)
        if on_start is not None:
            on_start(len(snapshots))
        run_id, attempt_ids = self._open_run(snapshots)
        try:
            if self.dispatcher is None:
                results = self._harvest_here(run_id, snapshots, attempt_ids, progress)
            else:
                results = self._harvest_on_workers(run_id, attempt_ids, progress)
        except BaseException as exc:
            self._abort_run(run_id, exc)  # no fetch of this run stays "running" until its lease ends
            raise
        touched = set().union(*(r.chains for r in results)) if results else set()
        changed = any(r.outcome == NEW_VERSION for r in results)
        reform = touched | self.aggregator.outdated()
        if reform:
            self.aggregator.run(reform)
        counts = {name: sum(1 for r in results if r.outcome == name) for name in OUTCOMES}
        with self.db.session() as session:
            run = session.get(HarvestRun, run_id)
            if run.status == "running":  # unless a sweeper failed it meanwhile (it outlived its lease)
                run.status = "finished"
            run.finished_at = now()
            run.counts = counts
            run.aggregated = changed
            finished_at = run.finished_at
            started_at = run.started_at
        report = {"run_id": run_id, "started_at": started_at.isoformat(), "finished_at": finished_at.isoformat(),
                  "counts": counts, "aggregated": changed,
                  "nodes": [{"node_id": r.node_id, "outcome": r.outcome, "http_status": r.http_status,
                             "reason": r.reason} for r in sorted(results, key=lambda r: r.node_id)]}
        notify(self.registry.pm, "medmci_on_harvest_completed", report=report)
        return report

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

    def _abort_run(self, run_id: int, exc: BaseException) -> None:
        """The run stopped on an error of the hub's own: fail it, and every fetch of it not recorded yet."""
        log.error("harvest run %s stopped: %s: %s", run_id, type(exc).__name__, exc)
        reason = printable(f"the harvest run stopped before this fetch was recorded: {type(exc).__name__}: {exc}")
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
        """Fetch in a bounded thread pool; store each result in this thread, one transaction per node (outcomes
        with nothing to store but the bookkeeping are recorded together, QUIET_BATCH at a time)."""
        results: list[Outcome] = []
        quiet: list[Outcome] = []
        renewed = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(self.workers, max(1, len(snapshots))),
                                thread_name_prefix="harvest") as pool:
            futures = [pool.submit(self.fetch_node, snapshot) for snapshot in snapshots]
            for done, future in enumerate(as_completed(futures), 1):
                outcome = future.result()
                outcome.attempt_id = attempt_ids[outcome.node_id]
                if self._is_quiet(outcome):
                    quiet.append(outcome)
                    if len(quiet) >= QUIET_BATCH or done == len(futures):
                        self._record_quiet(run_id, quiet)
                        quiet = []
                else:
                    self.store(run_id, outcome)
                outcome.profile = outcome.body = None  # stored: the run needs only the outcome from here on
                results.append(outcome)
                renewed = self._renew_run(run_id, renewed)
                if progress is not None:
                    progress(outcome)
            if quiet:
                self._record_quiet(run_id, quiet)
        return results

    @staticmethod
    def _is_quiet(outcome: Outcome) -> bool:
        """Nothing to store but the bookkeeping: not modified or unchanged, and no key or audit business."""
        return outcome.outcome in (NOT_MODIFIED, UNCHANGED) and outcome.key_refresh is None \
            and not (outcome.refresh_attempted or outcome.refresh_refused or outcome.refused)

    def _record_quiet(self, run_id: int, outcomes: list[Outcome]) -> None:
        """Record many quiet outcomes in one transaction; if that transaction fails, each on its own (one node's
        bad value must not lose the others' outcomes)."""
        try:
            self._record_quiet_together(run_id, outcomes)
        except SQLAlchemyError:
            log.exception("recording %d quiet outcomes together failed; recording them one by one", len(outcomes))
            for outcome in outcomes:
                self.store(run_id, outcome)

    def _record_quiet_together(self, run_id: int, outcomes: list[Outcome]) -> None:
        """Record many quiet outcomes in one transaction: the rows they touch are read in three queries."""
        node_ids = [o.node_id for o in outcomes]
        with self.db.session() as session:
            nodes = {n.id: n for n in session.scalars(select(NodeRecord).where(NodeRecord.id.in_(node_ids)))}
            # Loaded into the session, and held here (its identity map keeps only weak references), so
            # _record_attempt's session.get() finds them without a query and a flush each.
            held = (session.scalars(select(FetchAttempt).where(FetchAttempt.id.in_([o.attempt_id for o in outcomes])))
                    .all(), session.scalars(select(ClusterView).where(ClusterView.node_id.in_(node_ids))).all())
            for outcome in outcomes:
                if outcome.node_id in nodes:  # (a node deleted meanwhile has no row left to record on)
                    self._record_attempt(session, run_id, outcome, nodes[outcome.node_id], None)
            del held

    def _harvest_on_workers(self, run_id: int, attempt_ids: dict[str, int],
                            progress: Callable[[Outcome], None] | None) -> list[Outcome]:
        """Queue every fetch for the workers, then follow their rows until none is queued or running. A worker
        lost mid-fetch leaves its row running: the sweep fails it when its lease ends, so the run always ends."""
        for attempt_id in attempt_ids.values():
            self.dispatcher.send(attempt_id)
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
                                  chains=set(attempt.chains or ()))
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
            claimed = session.execute(
                update(FetchAttempt)
                .where(FetchAttempt.id == attempt_id,
                       or_(FetchAttempt.outcome == QUEUED,  # or a claim whose worker died: its lease ran out
                           and_(FetchAttempt.outcome == RUNNING, FetchAttempt.lease_until < at)))
                .values(outcome=RUNNING, started_at=at, lease_until=at + self.fetch_lease,
                        worker=worker or process_name())).rowcount
            attempt = session.get(FetchAttempt, attempt_id) if claimed else None
            run_id, node_id = (attempt.run_id, attempt.node_id) if attempt else (None, None)
        if not claimed:
            return None
        try:
            snapshot = self._snapshots([node_id])[0]
        except (NotFound, ValidationError) as exc:  # removed, or no longer approved, since it was queued
            with self.db.session() as session:
                session.execute(update(FetchAttempt).where(FetchAttempt.id == attempt_id).values(
                    outcome=FAILED, finished_at=now(), lease_until=None, reason=f"not fetched: {exc.message}"))
            return Outcome(node_id, FAILED, at, now(), reason=f"not fetched: {exc.message}")
        outcome = self.fetch_node(snapshot)
        outcome.attempt_id = attempt_id
        self.store(run_id, outcome, remember=False)
        outcome.profile = outcome.body = None
        return outcome

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
            return {"runs": runs.rowcount, "fetches": fetches.rowcount + queued.rowcount}

    def _snapshots(self, node_ids: Iterable[str] | None, due_only: bool = False) -> list[NodeSnapshot]:
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

    # -- one node, in a worker thread: network and validation, no database ----------------------------------------

    def fetch_node(self, node: NodeSnapshot) -> Outcome:
        outcome = Outcome(node.id, FAILED, now())
        try:
            self._fetch_into(node, outcome)
        except NodeFetchError as exc:
            outcome.outcome, outcome.reason, outcome.http_status = FAILED, exc.message, exc.http_status
            outcome.refused = exc.http_status == 401  # the node refused the hub's signature: audited
        except (SignatureError, IdentityError, versioning.SequenceError, keyring.TooManyKeys) as exc:
            outcome.outcome, outcome.details, outcome.refused = FAILED, exc.errors, True
            kind = ("signature" if isinstance(exc, SignatureError) else "identity" if isinstance(exc, IdentityError)
                    else "keys" if isinstance(exc, keyring.TooManyKeys) else "sequence")
            outcome.reason = f"refused ({kind}): {exc.message}"
        except ValidationError as exc:
            outcome.outcome, outcome.details = FAILED, exc.errors
            # The first field error with its path ("members.3.name: ..."), unless the message says it already.
            detail = first_message(exc.errors) if exc.errors else ""
            said = detail and first_message(exc.errors, with_path=False) in exc.message
            outcome.reason = f"invalid profile: {exc.message}" + (f" ({detail})" if detail and not said else "")
        except Exception as exc:  # noqa: BLE001 - one broken node must not stop the harvest
            log.exception("unexpected error harvesting %s", node.id)
            outcome.outcome, outcome.reason = FAILED, f"unexpected error: {type(exc).__name__}: {exc}"
        outcome.finished_at = now()
        return outcome

    def _fetch_into(self, node: NodeSnapshot, outcome: Outcome) -> None:
        discovery = discovery_signatures = None
        if node.skip_discovery:
            profile_url = node.profile_url
            try:
                result = self.client.fetch(profile_url, node.etag, node.last_modified, signed=True)
            except NodeFetchError as exc:
                if exc.http_status not in (404, 410):
                    raise
                # The profile moved (or went): the node's discovery document says where it is now.
                node = replace(node, skip_discovery=False)
                return self._fetch_into(node, outcome)
        else:
            discovery, discovery_signatures, discovery_url = self.client.discover(node.url)
            outcome.discovered = True
            profile_url = urljoin(discovery_url, self._choose_profile(discovery))
            same_url = profile_url == node.profile_url and node.last_sha256 is not None
            result = self.client.fetch(profile_url, node.etag if same_url else None,
                                       node.last_modified if same_url else None, signed=True)
        outcome.profile_url = profile_url
        outcome.http_status = result.status
        outcome.etag, outcome.last_modified = result.etag, result.last_modified
        if result.status == 304:
            outcome.outcome = NOT_MODIFIED
            return
        outcome.sha256 = hashlib.sha256(result.body).hexdigest()
        outcome.content_type = result.content_type
        # The cheapest checks first (the size cap was the client's): a bounded parse, the counts, the signature, the
        # identity and the sequence; the schema and the taxonomies only for a document that passed all of them.
        parsed = self._parse(result.body)
        same = outcome.sha256 == node.last_sha256
        self._verify(node, profile_url, result, outcome, discovery, discovery_signatures, parsed)
        if same:
            # A node that ignores validators: caught by the content hash, healthy only with a valid signature.
            outcome.outcome = UNCHANGED
            return
        self._check_identity(node, parsed.document)
        self._check_sub(node, outcome)
        withdrawals.check_audience(parsed.document)  # signed for the audience the hub asked for, or refused
        versioning.check_sequence(node.sequence, parsed.document.get("sequence"), node.sequence_reset)
        outcome.profile = read_profile(parsed.document, self.registry.taxonomies, self.registry.value_chains,
                                       max_unknown_bytes=self.limits.max_unknown_bytes)
        outcome.body = result.body
        outcome.outcome = NEW_VERSION

    def _parse(self, body: bytes) -> ParsedDocument:
        """The body as strict JSON within the limits, refused with the limit's setting; a profile listing more
        members than limits.max_members_per_profile is refused before its signature is checked."""
        try:
            parsed = parse_bounded(body, self.limits.json)
        except ValueError as exc:
            raise ValidationError(str(exc), {"_schema": [str(exc)]}) from exc
        if type(parsed.document) is not dict:
            raise ValidationError("profile must be a JSON object", {"_schema": ["must be a JSON object"]})
        members = parsed.document.get("members")
        if type(members) is list and len(members) > self.limits.max_members:
            message = (f"the profile lists {len(members)} members, over the limit of {self.limits.max_members} "
                       f"(limits.max_members_per_profile)")
            raise ValidationError(message, {"members": [message]})
        return parsed

    def _verify(self, node: NodeSnapshot, profile_url: str, result, outcome: Outcome, discovery: dict | None,
                discovery_signatures: str | None, parsed: ParsedDocument) -> None:
        """Check the node's signature (bounded: trust.max_signatures, one canonicalisation, trust.verify_budget_s
        for the whole check, the key refresh included); on an unknown key, refresh the node's keys (rate-limited)
        and retry once. The ``sub`` claim is checked after the identity (:meth:`_check_sub`)."""
        outcome.signature = result.signature
        trust = self.limits.trust
        deadline = trust.deadline()

        def verify(keys):
            header, jws = verify_signatures(parsed, result.signature, keys, max_signatures=trust.max_signatures,
                                            deadline=deadline, budget_s=trust.verify_budget_s,
                                            max_age_s=self.signature_max_age_s, expected_htu=profile_url)
            outcome.signature = jws  # the one that verified: what `hub verify` checks again
            return header

        try:
            header = verify(node.keys)
        except SignatureError as exc:
            kid = signature_kid(result.signature.split(",")[0] if result.signature else None)
            if kid in node.retired:
                raise SignatureError(node.retired[kid], {"signature": [node.retired[kid]]}) from exc
            if not kid or kid in node.keys:
                raise
            if not node.may_refresh_keys:
                reason = (f"{exc.message}; the hub last read this node's keys (or tried to) less than "
                          f"{int(self.key_refresh_interval.total_seconds())} s ago (trust.key_refresh_interval_s)")
                outcome.refresh_refused = True
                raise SignatureError(reason, {"signature": [reason]}) from exc
            outcome.refresh_attempted = True
            if discovery is None:  # fetched without it: the node's discovery document publishes its keys
                discovery, discovery_signatures, _url = self.client.discover(node.url)
                outcome.discovered = True
            vouched = keyring.vouched_keys(discovery, discovery_signatures, node.keys, self.signature_max_age_s,
                                           trust, deadline)
            header = verify({**node.keys, **vouched})
            outcome.key_refresh = (discovery, discovery_signatures)
        outcome.kid, outcome.sub = header["kid"], header.get("sub")

    @staticmethod
    def _check_sub(node: NodeSnapshot, outcome: Outcome) -> None:
        """The signature names the cluster it was made for: the node's own (checked after the identity, whose
        refusal says more)."""
        if node.cluster_id is not None and outcome.sub != node.cluster_id:
            reason = f"signed for {printable(repr(outcome.sub), 100)}, expected {node.cluster_id!r}"
            raise SignatureError(f"signed for another cluster: {reason}", {"signature": ["signed for another cluster"]})

    @staticmethod
    def _check_identity(node: NodeSnapshot, document: dict) -> None:
        """Country and cluster id come from the registration, never from a document (read before validation:
        anything but the registered values is refused here)."""
        cluster = document.get("cluster")
        cluster = cluster if type(cluster) is dict else {}
        cluster_id, country = cluster.get("id"), cluster.get("country")
        if node.cluster_id and cluster_id != node.cluster_id:
            raise IdentityError(f"the document claims cluster {printable(repr(cluster_id), 100)}; node {node.id!r} "
                                f"is registered for {node.cluster_id!r}",
                                {"cluster": {"id": ["not this node's cluster"]}})
        if node.country and country != node.country:
            raise IdentityError(f"the document says country {printable(str(country), 100)}; node {node.id!r} is "
                                f"registered in {node.country}",
                                {"cluster": {"country": ["not the registered country"]}})

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

    def store(self, run_id: int, outcome: Outcome, remember: bool = True) -> set[str]:
        """Record one node's outcome; returns the value chains a new version touches (to form them again).
        ``remember``: keep a new version's cluster for formation in this process (not on a worker, which never
        forms). A database error while storing it (a value one database refuses) is that node's failed fetch: its
        transaction is rolled back and the failure recorded in a fresh one; the run goes on."""
        try:
            return self._store(run_id, outcome, remember)
        except SQLAlchemyError as exc:
            log.exception("storing the outcome of node %s failed", outcome.node_id)
            error = getattr(exc, "orig", None) or exc
            outcome.outcome, outcome.chains, outcome.details = FAILED, set(), None
            outcome.key_refresh, outcome.refresh_attempted, outcome.refresh_refused = None, False, False
            outcome.profile_url, outcome.discovered, outcome.refused = None, False, False
            outcome.reason = f"the hub could not store this fetch: {type(error).__name__}: {str(error)[:300]}"
            with self.db.session() as session:
                node = session.get(NodeRecord, outcome.node_id)
                if node is not None:
                    self._record_attempt(session, run_id, outcome, node, None)
            return set()

    def _store(self, run_id: int, outcome: Outcome, remember: bool) -> set[str]:
        if outcome.key_refresh is not None:
            self._apply_key_refresh(outcome)
        if outcome.outcome == NEW_VERSION:
            try:
                with self.db.session() as session:
                    return self._store_version(session, run_id, outcome, remember)
            except versioning.SequenceError as exc:  # seen under the node's lock (a fork, or a race)
                outcome.outcome, outcome.reason, outcome.details = FAILED, f"refused (sequence): {exc.message}", \
                    exc.errors
                outcome.chains, outcome.refused = set(), True
            except ValidationError as exc:
                outcome.outcome, outcome.reason, outcome.details = FAILED, f"refused: {exc.message}", exc.errors
                outcome.chains = set()
            except (IntegrityError, _AlreadyCurrent) as exc:
                # Another harvest stored these exact bytes, or a later version, first: nothing new.
                outcome.outcome, outcome.chains = UNCHANGED, set()
                outcome.reason = str(exc) if isinstance(exc, _Superseded) else None
        with self.db.session() as session:
            node = session.get(NodeRecord, outcome.node_id)
            if outcome.refresh_refused:
                audit.record(session, "key.refresh_refused", "system", node.id,
                             kid=signature_kid(outcome.signature))
            if outcome.refused:
                audit.record(session, "document.refused", "system", node.id, reason=outcome.reason,
                             sha256=outcome.sha256, errors=outcome.details)
            self._record_attempt(session, run_id, outcome, node, None)
        return set()

    def _apply_key_refresh(self, outcome: Outcome) -> None:
        """Trust the keys the node's discovery document published, vouched for by a key already trusted."""
        discovery, signatures = outcome.key_refresh
        try:
            with self.db.session() as session:
                keyring.apply_discovery(session, outcome.node_id, discovery, signatures, self.key_grace,
                                        self.signature_max_age_s, self.limits.trust)
        except SignatureError as exc:  # checked in the worker already; only a race could land here
            outcome.outcome, outcome.reason, outcome.refused = FAILED, f"refused (signature): {exc.message}", True

    def _store_version(self, session, run_id: int, outcome: Outcome, remember: bool = True) -> set[str]:
        profile = outcome.profile
        cluster = profile["cluster"]
        node = session.get(NodeRecord, outcome.node_id, with_for_update=True)
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
        fetched_at = outcome.finished_at or now()
        # A node that goes back to bytes it served before (A, B, then A) makes that kept version current again:
        # the history stays append-only and holds each distinct body once.
        version = session.scalar(select(ProfileVersion).where(ProfileVersion.node_id == node.id,
                                                              ProfileVersion.sha256 == outcome.sha256))
        current = session.get(ClusterView, node.id)
        if version is not None and current is not None and current.version_id == version.id:
            raise _AlreadyCurrent()  # a concurrent harvest stored these bytes first
        if current is not None:  # checked again here, under the node's lock: the fetch's check raced other fetches
            sequence, published_at = session.execute(select(ProfileVersion.sequence, ProfileVersion.published_at)
                                                     .where(ProfileVersion.id == current.version_id)).one()
            if profile["sequence"] < sequence and current.updated_at >= outcome.started_at \
                    and node.sequence_reset_at is None:
                raise _Superseded(f"superseded: a concurrent fetch stored sequence {sequence} while this one (sequence "
                                  f"{profile['sequence']}) was under way")
            versioning.check_sequence(sequence, profile["sequence"], node.sequence_reset_at is not None,
                                      None if published_at is None else published_at == profile["published_at"])
        if node.sequence_reset_at is not None:
            audit.record(session, "sequence.reset_applied", "system", node.id, sequence=profile["sequence"],
                         accepted_at=node.sequence_reset_at.isoformat())
            node.sequence_reset_at = None
        if version is None:
            version = ProfileVersion(node_id=node.id, sequence=profile["sequence"],
                                     schema_version=profile["version"], sha256=outcome.sha256, body=outcome.body,
                                     content_type=outcome.content_type, etag=outcome.etag,
                                     last_modified=outcome.last_modified, fetched_at=fetched_at,
                                     published_at=profile["published_at"],
                                     signature=outcome.signature, kid=outcome.kid)
            session.add(version)
            session.flush()
        elif version.redacted_at is not None:
            # The node publishes those exact bytes again, withdrawn members included: they are its to share.
            version.body, version.redacted_at, version.redactions = outcome.body, None, None
            version.signature, version.kid = outcome.signature, outcome.kid
        previous = list(session.scalars(select(MemberView).where(MemberView.node_id == node.id)))
        previous_ids = {m.member_id for m in previous}
        touched = chains_touched(self.registry, current.value_chains if current else (), previous) | \
            chains_touched(self.registry, cluster.get("value_chains", []), profile["members"])
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
                 "last_active": m.get("last_active"), "audience": m.get("audience", "public"),
                 "contact": m.get("contact")} for m in profile["members"]]
        if rows:
            session.execute(insert(MemberView.__table__), rows)  # Core executemany: no ORM work per member
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
        outcome.chains = touched
        self._record_attempt(session, run_id, outcome, node, version.id)
        versioning.prune(session, node.id, version.id, self.limits.max_stored_bytes)
        if remember:
            # Once committed, formation has this version's cluster without reading its members back.
            stored = (node.id, version.id, cluster, profile["members"])
            session.info.setdefault("after_commit", []).append(lambda: self.aggregator.remember(*stored))
        return touched

    def _record_attempt(self, session, run_id: int, outcome: Outcome, node: NodeRecord,
                        version_id: int | None) -> None:
        outcome.reason = printable(outcome.reason)  # a node's words, kept and shown: never raw control characters
        values = dict(started_at=outcome.started_at, finished_at=outcome.finished_at or now(),
                      outcome=outcome.outcome, http_status=outcome.http_status, reason=outcome.reason,
                      details=outcome.details, version_id=version_id, lease_until=None,
                      chains=sorted(outcome.chains) or None)
        attempt = session.get(FetchAttempt, outcome.attempt_id) if outcome.attempt_id else None
        if attempt is None:
            session.add(FetchAttempt(run_id=run_id, node_id=outcome.node_id, **values))
        else:
            for name, value in values.items():
                setattr(attempt, name, value)
        at = outcome.finished_at or now()
        node.last_attempt_at = at
        node.last_outcome = outcome.outcome
        if outcome.refresh_attempted:
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
            return
        self.health.record_success(node, at, self.interval)
        if view is not None:
            view.stale_since = None
        node.last_success_at = at
        node.last_error = None
        if outcome.profile_url:
            node.profile_url = outcome.profile_url
        if outcome.discovered:
            node.discovered_at = at  # the profile URL above is the one that discovery named
        # Keep the validators of the version we hold: a 304 may omit them.
        if outcome.outcome in (NEW_VERSION, UNCHANGED):
            node.etag, node.last_modified = outcome.etag, outcome.last_modified


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

