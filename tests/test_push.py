"""Push: a node tells the hubs it trusts that its profile changed; the hub schedules a fetch (never fetches inline).

Everything talks real HTTP on 127.0.0.1: node servers (``make_node`` + ``serve``), the hub app served with
``serve(create_hub_app(hub=hub))``, nodes joining with :func:`join_hub` and signing their notifications with their own
key (:class:`HubNotifier`, or :func:`sign_request` by hand). Both database backends.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import func, select

from federation.hub.app import create_hub_app
from federation.hub.models import FetchAttempt, ProfileVersion
from federation.node.join import join_hub
from federation.node.notify import HubNotifier
from federation.signing import sign_request
from tests.support.builders import cluster_doc, load_node, member_doc
from tests.support.waiting import wait_until

AGRI_CODES = ("nace-rev2:11.02", "nace-rev2:10.82", "nace-rev2:10.41")


# -- helpers -------------------------------------------------------------------------------------------------------

def node_app(make_node, serve, cluster_id: str, country: str, notify: bool = False, members: int = 3):
    """A real node server with a cluster and ``members`` agri-food members: ``(app, server)``."""
    app = make_node(cluster_id, {"node": {"notify_hubs": notify}})
    load_node(app, cluster_doc(cluster_id, country),
              [member_doc(f"{cluster_id}-{i}", AGRI_CODES[i % len(AGRI_CODES)]) for i in range(members)])
    return app, serve(app)


def joined(hub, hub_url: str, app, server, approve: bool = True) -> str:
    """The node asks to join (signed with its key, then trusts the hub); the operator approves it."""
    answer = join_hub(app.extensions["medmci"], hub_url, server.url)
    assert answer["status"] == "pending"
    if approve:
        hub.nodes.decide(answer["id"], "approve")
    return answer["id"]


def add_member(app, member_id: str) -> None:
    app.extensions["medmci"].service.create_member(member_doc(member_id, "nace-rev2:11.02"))


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def notify_url(hub_url: str, node_id: str) -> str:
    return f"{hub_url}/api/v1/nodes/{node_id}/notify"


def signed_notify(hub_url: str, node_id: str, app) -> requests.Response:
    """POST a notification for ``node_id`` signed (RFC 9421) with ``app``'s current node key."""
    kid, key = app.extensions["medmci"].keys.current
    prepared = requests.Request("POST", notify_url(hub_url, node_id)).prepare()
    sign_request(prepared, key, kid)
    with session() as s:
        return s.send(prepared, timeout=10, allow_redirects=False)


def token_notify(hub_url: str, node_id: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with session() as s:
        return s.post(notify_url(hub_url, node_id), headers=headers, timeout=10)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def requested_at(hub, node_id: str) -> datetime | None:
    return hub.nodes.get(node_id)["fetch_requested_at"]


def attempts_of(hub, node_id: str, run_id: int | None = None) -> list[FetchAttempt]:
    with hub.db.session() as s:
        query = select(FetchAttempt).where(FetchAttempt.node_id == node_id)
        if run_id is not None:
            query = query.where(FetchAttempt.run_id == run_id)
        return list(s.scalars(query.order_by(FetchAttempt.id)))


def version_count(hub, node_id: str) -> int:
    with hub.db.session() as s:
        return s.scalar(select(func.count()).select_from(ProfileVersion).where(ProfileVersion.node_id == node_id))


def by_node(report: dict) -> dict[str, dict]:
    return {n["node_id"]: n for n in report["nodes"]}


@pytest.fixture
def hub_server(make_hub, serve):
    """``hub_server(overrides)`` -> ``(hub, url)``: a hub whose web app is served on loopback."""

    def start(overrides: dict | None = None):
        hub = make_hub(overrides=overrides)
        return hub, serve(create_hub_app(hub=hub)).url

    return start


# -- push end to end -----------------------------------------------------------------------------------------------

def test_change_at_node_pushes_and_due_harvest_fetches_only_that_node(backend, hub_server, make_node, serve):
    hub, hub_url = hub_server()
    qoot, qoot_server = node_app(make_node, serve, "qoot", "LB", notify=True)
    assert joined(hub, hub_url, qoot, qoot_server) == "qoot"
    # A second node, registered by the operator, that is failing (backing off): not due.
    _menara, menara_server = node_app(make_node, serve, "menara", "MA")
    hub.nodes.register("menara", menara_server.url)

    first = hub.harvester.harvest()
    assert {n: r["outcome"] for n, r in by_node(first).items()} == {"qoot": "new_version", "menara": "new_version"}
    menara_server.stop()
    second = hub.harvester.harvest()
    assert by_node(second)["menara"]["outcome"] == "failed"
    menara = hub.nodes.get("menara")
    assert menara["consecutive_failures"] == 1 and menara["next_attempt_at"] > datetime.now(timezone.utc)
    assert requested_at(hub, "qoot") is None
    versions_before = version_count(hub, "qoot")

    before = datetime.now(timezone.utc)
    add_member(qoot, "qoot-new")  # committed: the node notifies its hubs from a background thread
    pushed = wait_until(lambda: requested_at(hub, "qoot"), what="the node's push to set fetch_requested_at")
    assert before - timedelta(seconds=1) <= pushed <= datetime.now(timezone.utc)
    # A push never fetches inline: nothing new is stored until a harvest.
    assert version_count(hub, "qoot") == versions_before

    report = hub.harvester.harvest(due_only=True)
    assert [(n["node_id"], n["outcome"]) for n in report["nodes"]] == [("qoot", "new_version")]
    assert [a.node_id for a in attempts_of(hub, "menara", report["run_id"])] == []
    assert len(attempts_of(hub, "qoot", report["run_id"])) == 1
    assert version_count(hub, "qoot") == versions_before + 1
    assert "qoot-new" in {m["id"] for m in hub.queries.cluster_members("qoot")}
    assert requested_at(hub, "qoot") is None
    assert hub.nodes.get("menara")["consecutive_failures"] == 1  # not probed: not due, no push


def test_no_push_without_notify_hubs(backend, hub_server, make_node, serve, monkeypatch):
    """notify_hubs off (the tests' default): a change at the node sends nothing."""
    hub, hub_url = hub_server()
    qoot, qoot_server = node_app(make_node, serve, "qoot", "LB", notify=False)
    joined(hub, hub_url, qoot, qoot_server)
    hub.harvester.harvest()
    # A push starts in the publishing call (HubNotifier.__call__ starts its thread): none started, none is on its way.
    pushes = []
    monkeypatch.setattr(HubNotifier, "__call__", lambda notifier: pushes.append(notifier))
    add_member(qoot, "qoot-quiet")
    assert pushes == []
    assert requested_at(hub, "qoot") is None


# -- authentication and status ---------------------------------------------------------------------------------------

def test_notify_authentication_and_status(backend, hub_server, make_node, serve):
    hub, hub_url = hub_server()
    qoot, qoot_server = node_app(make_node, serve, "qoot", "LB")
    joined(hub, hub_url, qoot, qoot_server)
    # Registered by the operator under another id than its cluster's.
    menara, menara_server = node_app(make_node, serve, "menara", "MA")
    hub.nodes.register("node-ma", menara_server.url)
    # Asked to join, never approved.
    sahel, sahel_server = node_app(make_node, serve, "sahel", "TN")
    joined(hub, hub_url, sahel, sahel_server, approve=False)

    # Signed by the node's own key: accepted, a fetch is scheduled.
    response = signed_notify(hub_url, "qoot", qoot)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["id"] == "qoot" and body["status"] == "active"
    assert parse_time(body["fetch_requested_at"]) == requested_at(hub, "qoot")

    # The node knows its cluster id only: the hub resolves it to its own node id.
    response = signed_notify(hub_url, "menara", menara)
    assert response.status_code == 202, response.text
    assert response.json()["id"] == "node-ma"
    assert requested_at(hub, "node-ma") is not None
    assert signed_notify(hub_url, "node-ma", menara).status_code == 202

    # Neither signature nor token.
    response = token_notify(hub_url, "qoot", None)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert "push:write" in response.json()["message"]

    # Signed, but by a key the hub trusts for another node.
    response = signed_notify(hub_url, "qoot", menara)
    assert response.status_code == 401
    assert response.json()["error"] == "signature_error"
    assert "unknown key id" in response.json()["message"]
    assert menara.extensions["medmci"].keys.current[0] in response.json()["message"]

    # A garbled signature.
    kid, key = qoot.extensions["medmci"].keys.current
    prepared = requests.Request("POST", notify_url(hub_url, "qoot")).prepare()
    sign_request(prepared, key, kid)
    prepared.headers["Signature"] = "sig1=:AAAA:"
    with session() as s:
        response = s.send(prepared, timeout=10)
    assert response.status_code == 401 and response.json()["message"]

    # A signature made for another node's URL is not valid for this one.
    prepared = requests.Request("POST", notify_url(hub_url, "node-ma")).prepare()
    sign_request(prepared, key, kid)
    with session() as s:
        response = s.send(requests.Request("POST", notify_url(hub_url, "qoot"),
                                           headers=dict(prepared.headers)).prepare(), timeout=10)
    assert response.status_code == 401

    # Tokens.
    _r, qoot_operator = hub.tokens.create("qoot-op", "node_operator", node_id="qoot")
    _r, ma_operator = hub.tokens.create("ma-op", "node_operator", node_id="node-ma")
    _r, member = hub.tokens.create("reader", "knowledge_member", entity_key="hosted:uni")
    _r, operator = hub.tokens.create("op", "operator")
    response = token_notify(hub_url, "qoot", qoot_operator)
    assert response.status_code == 202 and response.json()["id"] == "qoot"
    response = token_notify(hub_url, "qoot", ma_operator)
    assert response.status_code == 403
    assert "bound to node 'node-ma'" in response.json()["message"]
    response = token_notify(hub_url, "qoot", member)
    assert response.status_code == 403 and "push:write" in response.json()["message"]
    response = token_notify(hub_url, "qoot", operator)  # the operator harvests; it does not push
    assert response.status_code == 403 and "push:write" in response.json()["message"]
    assert token_notify(hub_url, "qoot", "mmci_nope_nope").status_code == 401

    # Unknown node; a pending node (its key is known, but it is not active).
    response = signed_notify(hub_url, "nowhere", qoot)
    assert response.status_code == 404 and "nowhere" in response.json()["message"]
    response = signed_notify(hub_url, "sahel", sahel)
    assert response.status_code == 409, response.text
    assert "pending" in response.json()["message"]
    assert requested_at(hub, "sahel") is None


def test_node_operator_token_may_notify_by_cluster_id(backend, hub_server, make_node, serve):
    """The endpoint takes the hub's node id or the cluster id; a token bound to the node works with either."""
    hub, hub_url = hub_server()
    _menara, menara_server = node_app(make_node, serve, "menara", "MA")
    hub.nodes.register("node-ma", menara_server.url)
    _r, token = hub.tokens.create("ma-op", "node_operator", node_id="node-ma")
    assert token_notify(hub_url, "node-ma", token).status_code == 202
    response = token_notify(hub_url, "menara", token)
    assert response.status_code == 202, response.text
    assert response.json()["id"] == "node-ma"


# -- idempotence -------------------------------------------------------------------------------------------------------

def test_many_notifications_cause_one_fetch(backend, hub_server, make_node, serve):
    hub, hub_url = hub_server()
    qoot, qoot_server = node_app(make_node, serve, "qoot", "LB")
    joined(hub, hub_url, qoot, qoot_server)
    hub.harvester.harvest()
    notifier = HubNotifier(qoot.extensions["medmci"])

    # Ten in a row: the first request time is kept.
    add_member(qoot, "qoot-a")
    assert notifier.notify([hub_url]) == {hub_url: 202}
    first = requested_at(hub, "qoot")
    assert first is not None
    for _ in range(9):
        assert notifier.notify([hub_url]) == {hub_url: 202}
    assert requested_at(hub, "qoot") == first
    versions = version_count(hub, "qoot")
    report = hub.harvester.harvest(due_only=True)
    assert len(attempts_of(hub, "qoot", report["run_id"])) == 1
    assert by_node(report)["qoot"]["outcome"] == "new_version"
    assert version_count(hub, "qoot") == versions + 1
    assert requested_at(hub, "qoot") is None

    # Ten at once, from five threads.
    add_member(qoot, "qoot-b")
    results: list = []
    barrier = threading.Barrier(5)

    def burst():
        own = HubNotifier(qoot.extensions["medmci"])
        barrier.wait()
        for _ in range(2):
            results.append(own.notify([hub_url])[hub_url])

    threads = [threading.Thread(target=burst) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [202] * 10
    burst_first = requested_at(hub, "qoot")
    assert burst_first is not None
    # Once set, later notifications leave it alone.
    assert notifier.notify([hub_url]) == {hub_url: 202}
    assert requested_at(hub, "qoot") == burst_first
    versions = version_count(hub, "qoot")
    report = hub.harvester.harvest(due_only=True)
    assert len(attempts_of(hub, "qoot", report["run_id"])) == 1
    assert version_count(hub, "qoot") == versions + 1
    assert requested_at(hub, "qoot") is None
    # Nothing pushed since and its next scheduled fetch is an interval away: a due harvest leaves it alone.
    report = hub.harvester.harvest(due_only=True)
    assert "qoot" not in by_node(report)
    assert version_count(hub, "qoot") == versions + 1


def test_concurrent_first_notifications_agree_on_the_time(backend, hub_server, make_node, serve):
    """Every answer to a burst of first notifications reports the one stored request time (the first kept)."""
    hub, hub_url = hub_server()
    qoot, qoot_server = node_app(make_node, serve, "qoot", "LB")
    joined(hub, hub_url, qoot, qoot_server)
    hub.harvester.harvest()
    answers: list = []
    barrier = threading.Barrier(5)

    def burst():
        barrier.wait()
        for _ in range(2):
            answers.append(signed_notify(hub_url, "qoot", qoot))

    threads = [threading.Thread(target=burst) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [a.status_code for a in answers] == [202] * 10
    stored = requested_at(hub, "qoot")
    assert {parse_time(a.json()["fetch_requested_at"]) for a in answers} == {stored}


# -- failure state -----------------------------------------------------------------------------------------------------

def test_push_never_clears_failure_state_but_brings_an_early_probe(backend, hub_server, make_node, serve):
    hub, hub_url = hub_server()
    qoot, qoot_server = node_app(make_node, serve, "qoot", "LB")
    hub.nodes.register("node-lb", qoot_server.url)  # another id than the cluster's: the push names the cluster
    hub.harvester.harvest()
    qoot_server.stop()
    report = hub.harvester.harvest()
    assert by_node(report)["node-lb"]["outcome"] == "failed"
    failing = hub.nodes.get("node-lb")
    assert failing["consecutive_failures"] == 1 and failing["health"] == "degraded"
    assert failing["next_attempt_at"] > datetime.now(timezone.utc)

    # Not due: a due harvest skips it.
    report = hub.harvester.harvest(due_only=True)
    assert "node-lb" not in by_node(report)

    response = signed_notify(hub_url, "qoot", qoot)
    assert response.status_code == 202, response.text
    after = hub.nodes.get("node-lb")
    for field in ("consecutive_failures", "health", "next_attempt_at", "first_failure_at", "last_error",
                  "last_outcome"):
        assert after[field] == failing[field], field
    assert after["fetch_requested_at"] is not None
    assert response.json()["health"] == "degraded" and response.json()["consecutive_failures"] == 1

    # The push makes it due before its backoff has passed: an early probe, which fails again here.
    report = hub.harvester.harvest(due_only=True)
    assert by_node(report)["node-lb"]["outcome"] == "failed"
    assert len(attempts_of(hub, "node-lb", report["run_id"])) == 1
    probed = hub.nodes.get("node-lb")
    assert probed["consecutive_failures"] == 2 and probed["health"] == "degraded"
    assert probed["fetch_requested_at"] is None
    assert probed["first_failure_at"] == failing["first_failure_at"]
    report = hub.harvester.harvest(due_only=True)
    assert "node-lb" not in by_node(report)

    # A token push is the same: the failure state stays until a good fetch.
    _r, token = hub.tokens.create("lb-op", "node_operator", node_id="node-lb")
    assert token_notify(hub_url, "node-lb", token).status_code == 202
    assert hub.nodes.get("node-lb")["consecutive_failures"] == 2


def test_push_during_a_probe_is_not_lost(backend, hub_server, make_node, serve):
    """A node that comes back while the hub's probe of it is failing pushes again: that push must stay pending."""
    hub, hub_url = hub_server()
    qoot, qoot_server = node_app(make_node, serve, "qoot", "LB")
    hub.nodes.register("qoot", qoot_server.url)
    hub.harvester.harvest()
    qoot_server.stop()
    hub.harvester.harvest()
    assert signed_notify(hub_url, "qoot", qoot).status_code == 202  # push 1: an early probe
    client = hub.harvester.client
    original = client.discover
    late: list = []

    def discover_then_push(url, *args, **kwargs):
        try:
            return original(url, *args, **kwargs)
        finally:  # the probe has started (and failed): the node pushes again meanwhile
            late.append(signed_notify(hub_url, "qoot", qoot).status_code)

    client.discover = discover_then_push
    try:
        report = hub.harvester.harvest(due_only=True)
    finally:
        client.discover = original
    assert by_node(report)["qoot"]["outcome"] == "failed" and late == [202]
    assert requested_at(hub, "qoot") is not None  # push 2 asks for another probe


def test_push_to_paused_or_suspended_node_is_refused(backend, hub_server, make_node, serve):
    hub, hub_url = hub_server()
    qoot, qoot_server = node_app(make_node, serve, "qoot", "LB")
    joined(hub, hub_url, qoot, qoot_server)
    hub.nodes.set_status("qoot", "paused")
    response = signed_notify(hub_url, "qoot", qoot)
    assert response.status_code == 409 and "paused" in response.json()["message"]
    hub.nodes.decide("qoot", "suspend")
    assert signed_notify(hub_url, "qoot", qoot).status_code == 409
    assert requested_at(hub, "qoot") is None


# -- rate limit --------------------------------------------------------------------------------------------------------

def test_push_rate_limit(backend, hub_server, make_node, serve):
    hub, hub_url = hub_server({"rate_limits": {"push": "3 per minute"}})
    qoot, qoot_server = node_app(make_node, serve, "qoot", "LB")
    joined(hub, hub_url, qoot, qoot_server)
    assert [signed_notify(hub_url, "qoot", qoot).status_code for _ in range(3)] == [202, 202, 202]
    response = signed_notify(hub_url, "qoot", qoot)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"] == "rate_limited"
    # Other endpoints are not limited by it.
    with session() as s:
        assert s.get(f"{hub_url}/api/v1/metaclusters", timeout=10).status_code == 200


# -- the scheduler -----------------------------------------------------------------------------------------------------

@pytest.fixture
def scheduled(hub_server):
    """A served hub whose scheduler runs (interval one hour: only pushes wake it); stopped after the test."""
    started = []

    def start():
        hub, hub_url = hub_server({"harvest": {"interval_s": 3600}})
        started.append(hub)
        return hub, hub_url

    yield start
    for hub in started:
        if hub.scheduler is not None:
            hub.scheduler.stop()


class SchedulerWatch:
    """Counts a scheduler's wake-ups and the harvests it runs, so that a test can wait until every wake-up so far was
    served (a harvest that started after it has finished) instead of sleeping."""

    def __init__(self, hub, monkeypatch):
        self._lock = threading.Lock()
        self._monkeypatch = monkeypatch
        self.started = threading.Event()
        self.wakes = 0
        self.running = 0
        self.served = 0  # wake-ups counted when the latest finished harvest started
        harvest = hub.harvester.harvest

        def watched_harvest(*args, **kwargs):
            with self._lock:
                seen = self.wakes
                self.running += 1
            self.started.set()
            try:
                return harvest(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1
                    self.served = max(self.served, seen)

        monkeypatch.setattr(hub.harvester, "harvest", watched_harvest)

    def count_wakes(self, scheduler) -> None:
        wake = scheduler.wake

        def counted_wake():
            wake()
            with self._lock:  # counted once set: a harvest starting after this serves it
                self.wakes += 1

        self._monkeypatch.setattr(scheduler, "wake", counted_wake)

    def settled(self) -> bool:
        with self._lock:
            return self.running == 0 and self.served >= self.wakes


def test_push_wakes_the_scheduler_and_a_burst_causes_few_runs(backend, scheduled, make_node, serve, monkeypatch):
    hub, hub_url = scheduled()
    qoot, qoot_server = node_app(make_node, serve, "qoot", "LB", notify=True)
    joined(hub, hub_url, qoot, qoot_server)
    watch = SchedulerWatch(hub, monkeypatch)
    scheduler = hub.start_scheduler()
    watch.count_wakes(scheduler)
    assert scheduler.interval_s == 3600
    assert not watch.started.wait(0.3), "the scheduler harvested at once, without a push"
    assert scheduler.runs == 0 and attempts_of(hub, "qoot") == []

    # A change at the node: its push wakes the scheduler, which harvests within seconds (not in an hour).
    add_member(qoot, "qoot-pushed")
    done = wait_until(lambda: [a for a in attempts_of(hub, "qoot") if a.outcome != "running"],
                    what="the scheduler's harvest after a push")
    assert done[0].outcome == "new_version"
    wait_until(lambda: scheduler.runs >= 1 and requested_at(hub, "qoot") is None, what="the run to finish")
    assert "qoot-pushed" in {m["id"] for m in hub.queries.cluster_members("qoot")}

    # A burst of ten pushes: a run or two, not ten.
    wait_until(watch.settled, what="the scheduler to serve the first push")
    runs_before = scheduler.runs
    prepared = []
    kid, key = qoot.extensions["medmci"].keys.current
    for _ in range(10):
        request = requests.Request("POST", notify_url(hub_url, "qoot")).prepare()
        sign_request(request, key, kid)
        prepared.append(request)
    statuses: list = []
    barrier = threading.Barrier(len(prepared))

    def send(request):
        with session() as s:
            barrier.wait()
            statuses.append(s.send(request, timeout=10).status_code)

    threads = [threading.Thread(target=send, args=(r,)) for r in prepared]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [202] * 10
    wait_until(lambda: scheduler.runs > runs_before and requested_at(hub, "qoot") is None,
             what="the scheduler to serve the burst")
    wait_until(watch.settled, what="the scheduler to serve every push of the burst")  # a second run, if any
    assert 1 <= scheduler.runs - runs_before <= 2
    assert requested_at(hub, "qoot") is None


def test_scheduler_stops(backend, scheduled):
    hub, _url = scheduled()
    scheduler = hub.start_scheduler()
    assert hub.scheduler is scheduler
    started = time.monotonic()
    scheduler.stop()
    assert time.monotonic() - started < 5
    assert not scheduler._thread.is_alive()


def test_closing_the_node_lets_a_notification_under_way_finish_and_keeps_the_hubs_answer():
    """A command (``node import-members``) ends right after publishing: closing the node waits for the
    notification thread (each hub at most its timeout), so what the hub answered is recorded, not lost."""
    import json as json_module
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from types import SimpleNamespace

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    class SlowHub(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            threading.Event().wait(0.5)  # a hub that takes its time to answer
            body = json_module.dumps({"ignored": {"value_chains": ["seafood"]}}).encode()
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorded = []
    hub_url = f"http://127.0.0.1:{server.server_address[1]}"
    context = SimpleNamespace(hubs=SimpleNamespace(list=lambda: [{"hub_url": hub_url}]),
                              service=SimpleNamespace(get_cluster=lambda: {"id": "qoot"}),
                              keys=SimpleNamespace(current=("k1", Ed25519PrivateKey.generate())),
                              catalogs=SimpleNamespace(record_ignored=lambda url, ignored: recorded.append((url,
                                                                                                         ignored))))
    try:
        notifier = HubNotifier(context)
        notifier()
        notifier.close()
        assert recorded == [(hub_url, {"value_chains": ["seafood"]})]
    finally:
        server.shutdown()
        server.server_close()
