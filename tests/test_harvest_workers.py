"""Harvest on Celery workers over a real Redis broker (127.0.0.1:6379), on both databases.

The workers are real ``medmci hub worker`` processes over the hub's instance folder; the nodes are real HTTP servers
on loopback. What is checked: the fetches run on the workers and the hub forms the same meta-clusters as an
in-process harvest; a task delivered twice is done once; two harvests of the same node at once store one version;
a worker killed mid-fetch leaves nothing running; without workers the run ends with a clear reason; a worker
refuses to start without the hub's keys or a broker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from federation.cli import main
from federation.hub.models import FetchAttempt, HarvestRun
from federation.hub.workers import CeleryDispatcher
from federation.settings import deep_merge
from tests.support.builders import AGRI_CODES, cluster_doc, load_node, member_doc, profile_bytes
from tests.support.environment import TEST_SETTINGS
from tests.support.fake_node import FakeHandler, serve_json
from tests.support.hub_state import by_node, version_count as versions_per_node
from tests.support.waiting import wait_until

REDIS_URL = os.environ.get("MEDMCI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent
WORKER = "from federation.cli import main; main()"


@pytest.fixture(scope="session")
def redis_available() -> bool:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return True
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required under CI and not reachable at {REDIS_URL}")
        return False


@pytest.fixture
def broker(redis_available):
    """A broker URL and a queue of this test's own; the queue's keys are removed afterwards."""
    if not redis_available:
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    import redis

    queue = f"medmci-test-{uuid.uuid4().hex[:10]}"
    yield {"broker_url": REDIS_URL, "queue": queue}
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{queue}*"):
        client.delete(key)
    client.close()


class Worker:
    """A ``medmci hub worker`` process; ``ready()`` waits for Celery's "ready." line."""

    def __init__(self, instance: Path, name: str, pool: str = "threads", concurrency: int = 2, env: dict | None = None):
        self.name = f"{name}@test"
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, "hub", "--instance", str(instance), "worker", "--pool", pool,
             "--concurrency", str(concurrency), "--name", self.name],
            cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if " ready." in line:
                self._ready.set()

    def ready(self, timeout: float = 60) -> "Worker":
        if not self._ready.wait(timeout):
            self.stop()
            raise AssertionError(f"worker {self.name} did not start:\n{''.join(self.lines)}")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(5)
        self.proc.stdout.close()
        return self.proc.returncode


@pytest.fixture
def workers():
    """``workers(instance, name, pool=..., concurrency=...)`` -> a started :class:`Worker`, stopped after the test."""
    started: list[Worker] = []

    def start(instance: Path, name: str, **kwargs) -> Worker:
        worker = Worker(instance, name, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def worker_hub(make_hub, database_url, broker):
    """``worker_hub(overrides)`` -> a hub whose harvests go to the broker; its settings are written to the instance
    folder's medmci.yaml, as an operator would, so the workers read the same."""

    def make(overrides: dict | None = None, name: str = "hub"):
        settings = deep_merge({"database_url": database_url(name), **TEST_SETTINGS},
                              deep_merge({"harvest": broker}, overrides or {}))
        hub = make_hub(name, settings)
        (Path(hub.settings.instance_path) / "medmci.yaml").write_text(yaml.safe_dump(settings))
        return hub

    return make


def agri_node(make_node, serve, cluster_id: str, country: str, members: int = 4):
    app = make_node(cluster_id)
    load_node(app, cluster_doc(cluster_id, country, ("agri-food",)),
              [member_doc(f"{cluster_id}-{i}", AGRI_CODES[i % len(AGRI_CODES)]) for i in range(members)])
    return app, serve(app).url


NODES = (("qoot", "LB"), ("menara", "MA"), ("atlas", "TN"), ("sahel", "MA"))


def attempts_of(hub, run_id: int) -> list[FetchAttempt]:
    with hub.db.session() as session:
        return list(session.scalars(select(FetchAttempt).where(FetchAttempt.run_id == run_id)
                                    .order_by(FetchAttempt.node_id)))


def formed(hub) -> dict[str, tuple]:
    """Each meta-cluster as the hub serves it: formed or not, its clusters, its members."""
    documents = {mc: hub.queries.metacluster(mc) for mc in (f"mc-{c}" for c in sorted(hub.registry.value_chains))}
    return {mc: (d["formed"], sorted(c["id"] for c in d["clusters"]), sorted(m["id"] for m in d["members"]))
            for mc, d in documents.items()}


def unfinished(hub) -> tuple[list, list]:
    with hub.db.session() as session:
        runs = list(session.scalars(select(HarvestRun.id).where(HarvestRun.status == "running")))
        fetches = list(session.scalars(select(FetchAttempt.id).where(FetchAttempt.outcome.in_(("queued",
                                                                                               "running")))))
        return runs, fetches


# -- the harvest on workers ----------------------------------------------------------------------------------------

def test_fetches_run_on_the_workers_and_the_hub_forms_what_an_in_process_harvest_forms(
        backend, make_node, make_hub, serve, worker_hub, workers):
    hub = worker_hub()
    embedded = make_hub("embedded")
    urls = {}
    for cluster_id, country in NODES:
        app, urls[cluster_id] = agri_node(make_node, serve, cluster_id, country)
        app.extensions["medmci"].hubs.trust("http://embedded.test", embedded.keys.published())  # and the hub's
        hub.nodes.register(cluster_id, urls[cluster_id])
        embedded.nodes.register(cluster_id, urls[cluster_id])
    instance = Path(hub.settings.instance_path)
    # one prefork worker (the hub is built in each child, after the fork) and one with threads
    first = workers(instance, "w1", pool="prefork", concurrency=2)
    second = workers(instance, "w2", pool="threads", concurrency=2)
    first.ready(), second.ready()

    progress = []
    report = hub.harvester.harvest(progress=progress.append)
    assert report["counts"] == {"new_version": 4, "not_modified": 0, "unchanged": 0, "failed": 0}, report
    assert sorted(o.node_id for o in progress) == sorted(n for n, _ in NODES)
    attempts = attempts_of(hub, report["run_id"])
    # every fetch was claimed and done by a worker, none by the hub's own process
    assert {a.worker.split("/")[0] for a in attempts} <= {first.name, second.name}
    assert all(a.outcome == "new_version" and a.version_id is not None for a in attempts)
    assert all("agri-food" in a.chains for a in attempts)
    assert versions_per_node(hub) == {n: 1 for n, _ in NODES}

    assert embedded.harvester.harvest()["counts"]["new_version"] == 4
    assert formed(hub) == formed(embedded)
    assert formed(hub)["mc-agri-food"][:2] == (True, sorted(n for n, _ in NODES))
    assert len(formed(hub)["mc-agri-food"][2]) == 16

    # the CLI harvests through the workers too: nothing changed, every node not modified
    result = CliRunner().invoke(main, ["hub", "--instance", str(instance), "harvest", "--json"],
                                env={"DATABASE_URL": hub.settings.database_url})
    assert result.exit_code == 0, result.output
    again = json.loads(result.output)
    assert again["counts"] == {"new_version": 0, "not_modified": 4, "unchanged": 0, "failed": 0}
    assert {a.worker.split("/")[0] for a in attempts_of(hub, again["run_id"])} <= {first.name, second.name}
    assert unfinished(hub) == ([], [])


def test_a_fetch_task_delivered_twice_is_done_once(backend, make_node, serve, worker_hub, workers, fake_node):
    hub = worker_hub()
    body = profile_bytes("menara", "MA")
    fake = fake_node(serve_json(body, etag='"menara-1"'))
    hub.nodes.register("menara", fake.url)
    _app, qoot_url = agri_node(make_node, serve, "qoot", "LB")
    hub.nodes.register("qoot", qoot_url)
    instance = Path(hub.settings.instance_path)
    workers(instance, "w1").ready(), workers(instance, "w2").ready()

    sent = []
    dispatcher = hub.harvester.dispatcher

    class Twice(CeleryDispatcher):
        def send(self, attempt_id: int) -> None:  # a broker redelivery, or a duplicate send
            sent.append(attempt_id)
            dispatcher.send(attempt_id)
            dispatcher.send(attempt_id)

    hub.harvester.dispatcher = Twice(dispatcher.celery)
    report = hub.harvester.harvest()
    assert report["counts"]["new_version"] == 2, report
    assert len(sent) == 2
    profile_gets = [path for path, _headers in fake.requests if path.startswith("/api/v1/profile")]
    assert len(profile_gets) == 1  # the second delivery found the fetch claimed and did nothing
    assert versions_per_node(hub) == {"menara": 1, "qoot": 1}
    assert [a.outcome for a in attempts_of(hub, report["run_id"])] == ["new_version", "new_version"]
    assert unfinished(hub) == ([], [])


def test_two_harvests_of_the_same_node_at_once_store_one_version(backend, make_node, serve, worker_hub, workers,
                                                                  fake_node):
    hub = worker_hub()
    release = threading.Event()
    body = profile_bytes("menara", "MA")

    def held(h: FakeHandler) -> None:  # both fetches get the same bytes, at the same moment
        release.wait(10)
        h.send_body(200, body, "application/json", {"ETag": '"menara-1"'})

    fake = fake_node(held)
    hub.nodes.register("menara", fake.url)
    instance = Path(hub.settings.instance_path)
    workers(instance, "w1").ready(), workers(instance, "w2").ready()

    reports = []
    harvests = [threading.Thread(target=lambda: reports.append(hub.harvester.harvest())) for _ in range(2)]
    for thread in harvests:
        thread.start()
    wait_until(lambda: sum(1 for path, _ in fake.requests if path.startswith("/api/v1/profile")) >= 2, timeout=20,
               what="the two fetches to reach the node together")
    release.set()
    for thread in harvests:
        thread.join(30)
    outcomes = sorted(by_node(r)["menara"]["outcome"] for r in reports)
    assert outcomes == ["new_version", "unchanged"], reports
    assert versions_per_node(hub) == {"menara": 1}
    workers_used = {a.worker.split("/")[0] for r in reports for a in attempts_of(hub, r["run_id"])}
    assert workers_used <= {"w1@test", "w2@test"}
    assert unfinished(hub) == ([], [])


# -- failures ------------------------------------------------------------------------------------------------------

def test_a_worker_killed_mid_fetch_leaves_nothing_running_and_the_next_harvest_gets_the_node(
        backend, worker_hub, workers, fake_node):
    # fetch lease: 2 x (connect 0.5 + read 1) + 5 = 8 s
    hub = worker_hub({"harvest": {"timeout_s": 1, "connect_timeout_s": 0.5}})
    asked = threading.Event()
    body = profile_bytes("menara", "MA")

    def hang_once(h: FakeHandler) -> None:
        if not asked.is_set():
            asked.set()
            h.server.stopping.wait(30)  # the worker dies before it gets an answer
            return
        h.send_body(200, body, "application/json", {"ETag": '"menara-1"'})

    fake = fake_node(hang_once)
    hub.nodes.register("menara", fake.url)
    instance = Path(hub.settings.instance_path)
    doomed = workers(instance, "doomed", pool="solo").ready()

    reports = []
    harvest = threading.Thread(target=lambda: reports.append(hub.harvester.harvest()))
    started = time.monotonic()
    harvest.start()
    assert asked.wait(20)
    with hub.db.session() as session:
        claimed = session.scalar(select(FetchAttempt).where(FetchAttempt.node_id == "menara"))
    assert (claimed.outcome, claimed.worker.split("/")[0]) == ("running", "doomed@test")
    assert doomed.stop(signal.SIGKILL) == -signal.SIGKILL
    harvest.join(30)
    assert not harvest.is_alive()
    # the run ended when the fetch's lease did, with the reason; nothing is left queued or running
    assert time.monotonic() - started < 25
    (report,) = reports
    assert by_node(report)["menara"]["outcome"] == "failed"
    assert "lease expired" in by_node(report)["menara"]["reason"]
    assert hub.queries.run(report["run_id"])["status"] == "finished"
    assert unfinished(hub) == ([], [])
    assert versions_per_node(hub) == {}

    workers(instance, "rescue").ready()
    again = hub.harvester.harvest()
    assert by_node(again)["menara"]["outcome"] == "new_version", again
    assert versions_per_node(hub) == {"menara": 1}


def test_without_workers_queued_fetches_fail_at_the_run_lease_with_a_clear_reason(backend, worker_hub, fake_node):
    hub = worker_hub({"jobs": {"run_lease_s": 1}})
    fake = fake_node(serve_json(profile_bytes("menara", "MA"), etag='"menara-1"'))
    hub.nodes.register("menara", fake.url)  # reads the node's discovery document
    asked_before = len(fake.requests)
    started = time.monotonic()
    report = hub.harvester.harvest()
    assert time.monotonic() - started < 10
    assert report["counts"]["failed"] == 1
    assert "no worker took the fetch" in by_node(report)["menara"]["reason"]
    assert len(fake.requests) == asked_before  # nobody fetched
    assert unfinished(hub) == ([], [])


def test_a_worker_needs_the_hubs_keys_and_a_broker(tmp_path, broker):
    runner = CliRunner()
    instance = tmp_path / "worker"
    instance.mkdir()
    (instance / "medmci.yaml").write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'hub.db'}",
                                                          "harvest": broker}))
    result = runner.invoke(main, ["hub", "--instance", str(instance), "worker"])
    assert result.exit_code == 1
    assert "no keys in" in result.output and "sign as" in result.output
    assert not (instance / "keys").exists()  # none was made: it would sign as a hub nobody knows

    hub_instance = tmp_path / "hub"
    assert runner.invoke(main, ["hub", "--instance", str(hub_instance), "init"]).exit_code == 0
    (hub_instance / "medmci.yaml").write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'hub.db'}"}))
    result = runner.invoke(main, ["hub", "--instance", str(hub_instance), "worker"])
    assert result.exit_code == 1
    assert "harvest.broker_url is not set" in result.output


@pytest.mark.parametrize("pool", ["threads", "prefork"])
def test_a_worker_process_closes_its_hub_on_shutdown(backend, make_node, serve, worker_hub, workers, pool):
    """The hub a worker process built for its fetches is closed when the process stops (SIGTERM: warm shutdown),
    by the process that built it: the prefork pool's child, or the worker itself with threads."""
    hub = worker_hub()
    _app, url = agri_node(make_node, serve, "qoot", "LB")
    hub.nodes.register("qoot", url)
    worker = workers(Path(hub.settings.instance_path), f"closing-{pool}", pool=pool, concurrency=1).ready()
    report = hub.harvester.harvest()
    assert report["counts"]["new_version"] == 1, report
    [attempt] = attempts_of(hub, report["run_id"])
    fetched_by = int(attempt.worker.split("/")[1])  # the pid of the process that built a hub and fetched
    assert worker.stop() == 0
    closed = [line for line in worker.lines if "closed its hub" in line]
    assert [f"harvest worker process {fetched_by} closed its hub" in line for line in closed] == [True], \
        "".join(worker.lines)
    assert versions_per_node(hub) == {"qoot": 1}
