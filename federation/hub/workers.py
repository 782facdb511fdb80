"""Harvest on worker processes: node fetches as Celery tasks on a broker, so several machines share a harvest.

Used when ``harvest.broker_url`` is set (Redis, e.g. ``redis://127.0.0.1:6379/0``); without it the hub fetches in
its own thread pool. Every worker runs ``medmci hub worker`` over a copy of the hub's instance folder (settings and
the hub's keys: it signs its requests as the hub) and reaches the hub's database. The composition root
(:meth:`federation.hub.app.Hub.build`, passed by ``medmci hub worker``) gives this module what it needs: it never
builds a hub itself. The keys are read again whenever ``keys/keys.json`` changes
(:class:`federation.hub.hubkeys.FreshKeyStore`): after ``hub rotate-key``, a worker whose folder is kept in sync signs
with the new key at its next fetch, without a restart.

The database, not the broker, is the source of truth. A task carries only the id of its fetch row; the worker claims
the row with a conditional update before it fetches, so a task delivered twice (a redelivery after a lost worker, a
duplicate send) is done once, and the (node, sha256) constraint keeps any version stored once even if two harvests
race for the same node. No result backend: the run that queued the fetches follows their rows.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from ..settings import packaged_settings

if TYPE_CHECKING:  # pragma: no cover
    from celery import Celery

    from ..settings import Settings
    from .app import Hub

log = logging.getLogger(__name__)

FETCH_TASK = "medmci.hub.fetch"


def make_celery(settings: Settings, worker_hub: WorkerHub | None = None) -> Celery:
    """The Celery app of one hub instance (made per hub, like the plugin manager; nothing at import time).

    :param worker_hub: what a worker runs its fetches on (:func:`run_worker`); ``None`` for the hub itself, which
        only sends fetches.
    """
    try:
        from celery import Celery
    except ImportError as exc:  # pragma: no cover - celery is an optional extra
        raise ConfigurationError("harvest.broker_url is set but Celery is not installed: "
                                 "pip install 'medmci-federation[workers]'") from exc
    broker_url = settings.get("harvest.broker_url")
    if not broker_url:
        raise ConfigurationError("harvest.broker_url is not set: the harvest runs in the hub process")
    queue = settings.get("harvest.queue") or packaged_settings().get("harvest.queue")  # empty: the default
    app = Celery("medmci-hub", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_ignore_result=True,  # outcomes are rows in the hub's database
        # Acknowledge after the task: a worker lost mid-fetch gives its task back to the broker; the claim on the
        # row makes the redelivery harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # fetches are long: one at a time per worker slot, so the load spreads
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_serializer="json",
        accept_content=["json"],
    )

    @app.task(name=FETCH_TASK, bind=True, ignore_result=True)
    def fetch(task, attempt_id: int) -> str | None:
        if worker_hub is None:
            raise ConfigurationError("this Celery app only sends fetches: run them with `medmci hub worker`")
        worker = f"{task.request.hostname or 'worker'}/{os.getpid()}"
        outcome = worker_hub.get().harvester.execute(int(attempt_id), worker)
        return outcome.outcome if outcome is not None else None

    return app


class CeleryDispatcher:
    """Sends each queued fetch of a harvest run to the workers."""

    def __init__(self, celery: Celery):
        self.celery = celery

    def send(self, attempt_id: int) -> None:
        self.celery.send_task(FETCH_TASK, args=[attempt_id])

    def close(self) -> None:
        self.celery.close()  # the broker connections of the producer pool


class WorkerHub:
    """The hub one worker process fetches for. ``build`` comes from the composition root (``medmci hub worker``
    passes ``Hub.build`` over the instance folder); the hub is built at the process's first task (after a prefork
    worker's fork, never before: database connections and sockets are not shared between processes) and closed
    when that process shuts down."""

    def __init__(self, build: Callable[[], Hub]):
        self._build = build
        self._hub: Hub | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def get(self) -> Hub:
        with self._lock:
            if self._hub is None or self._pid != os.getpid():
                # A hub inherited through a fork belongs to the parent: build this process's own.
                self._hub, self._pid = self._build(), os.getpid()
            return self._hub

    def close(self, sender=None, **_signal) -> None:
        """Close this process's hub (HTTP connections, the database's); a Celery signal receiver, so idempotent."""
        with self._lock:
            hub, self._hub = self._hub, None
            if hub is not None and self._pid == os.getpid():
                hub.close()
                log.info("harvest worker process %s closed its hub", os.getpid())


def run_worker(settings: Settings, build: Callable[[], Hub], concurrency: int, pool: str,
               loglevel: str = "INFO", hostname: str | None = None) -> None:
    """Run a Celery worker for this hub instance until it is stopped (SIGTERM: warm shutdown). ``build`` wires the
    hub each worker process fetches for (:class:`WorkerHub`); every process closes its own at shutdown."""
    from celery import signals

    hub = WorkerHub(build)
    app = make_celery(settings, hub)
    # A prefork pool's child runs its tasks and sends worker_process_shutdown; the solo and threads pools run them
    # in the main process, which sends worker_shutdown.
    signals.worker_process_shutdown.connect(hub.close, weak=False)
    signals.worker_shutdown.connect(hub.close, weak=False)
    argv = ["worker", f"--concurrency={concurrency}", f"--pool={pool}", f"--loglevel={loglevel}",
            f"--queues={app.conf.task_default_queue}", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    try:
        app.worker_main(argv)
    finally:
        hub.close()
        signals.worker_process_shutdown.disconnect(hub.close)
        signals.worker_shutdown.disconnect(hub.close)
