"""Harvest on worker processes: node fetches as Celery tasks on a broker, so several machines share a harvest.

Used when ``harvest.broker_url`` is set (Redis, e.g. ``redis://127.0.0.1:6379/0``); without it the hub fetches in
its own thread pool. Every worker runs ``medmci hub worker`` over a copy of the hub's instance folder (settings and
the hub's keys: it signs its requests as the hub) and reaches the hub's database. The keys are read again whenever
``keys/keys.json`` changes (:class:`federation.hub.hubkeys.FreshKeyStore`): after ``hub rotate-key``, a worker whose
folder is kept in sync signs with the new key at its next fetch, without a restart.

The database, not the broker, is the source of truth. A task carries only the id of its fetch row; the worker claims
the row with a conditional update before it fetches, so a task delivered twice (a redelivery after a lost worker, a
duplicate send) is done once, and the (node, sha256) constraint keeps any version stored once even if two harvests
race for the same node. No result backend: the run that queued the fetches follows their rows.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from celery import Celery

    from ..settings import Settings
    from .app import Hub

log = logging.getLogger(__name__)

FETCH_TASK = "medmci.hub.fetch"


def make_celery(settings: "Settings") -> "Celery":
    """The Celery app of one hub instance (made per hub, like the plugin manager; nothing at import time)."""
    try:
        from celery import Celery
    except ImportError as exc:  # pragma: no cover - celery is an optional extra
        raise ConfigurationError("harvest.broker_url is set but Celery is not installed: "
                                 "pip install 'medmci-federation[workers]'") from exc
    broker_url = settings.get("harvest.broker_url")
    if not broker_url:
        raise ConfigurationError("harvest.broker_url is not set: the harvest runs in the hub process")
    queue = settings.get("harvest.queue") or "medmci-harvest"
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
    app.conf.medmci_instance = str(Path(settings.instance_path).resolve())

    @app.task(name=FETCH_TASK, bind=True, ignore_result=True)
    def fetch(task, attempt_id: int) -> str | None:
        worker = f"{task.request.hostname or 'worker'}/{os.getpid()}"
        outcome = worker_hub(app).harvester.execute(int(attempt_id), worker)
        return outcome.outcome if outcome is not None else None

    return app


class CeleryDispatcher:
    """Sends each queued fetch of a harvest run to the workers."""

    def __init__(self, celery: "Celery"):
        self.celery = celery

    def send(self, attempt_id: int) -> None:
        self.celery.send_task(FETCH_TASK, args=[attempt_id])

    def close(self) -> None:
        self.celery.close()  # the broker connections of the producer pool


_hubs: dict[tuple[int, str], "Hub"] = {}
_hubs_lock = threading.Lock()


def worker_hub(app: "Celery") -> "Hub":
    """The hub a worker process fetches for, built once per process (after a prefork worker's fork, never before:
    database connections and sockets are not shared between processes)."""
    from .app import Hub

    key = (os.getpid(), app.conf.medmci_instance)
    with _hubs_lock:
        if key not in _hubs:
            _hubs[key] = Hub.build(app.conf.medmci_instance, worker=True)
        return _hubs[key]


def run_worker(settings: "Settings", concurrency: int, pool: str, loglevel: str = "INFO",
               hostname: str | None = None) -> None:
    """Run a Celery worker for this hub instance until it is stopped (SIGTERM: warm shutdown)."""
    app = make_celery(settings)
    argv = ["worker", f"--concurrency={concurrency}", f"--pool={pool}", f"--loglevel={loglevel}",
            f"--queues={app.conf.task_default_queue}", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)
