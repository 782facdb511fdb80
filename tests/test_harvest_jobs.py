"""Harvest jobs and node health over real HTTP on 127.0.0.1, on both databases: backoff with jitter and a cap,
ok / degraded / unavailable, due nodes (backoff, push, operator reset), stale clusters, member tombstones,
incremental formation, leases and the sweeper, and a harvest process killed with SIGKILL.

Well-behaved nodes are real node apps (``make_node`` + ``serve``); switchable nodes are the :class:`FakeNode` of
``test_harvest`` (signed discovery and profiles, behaviour changed while it runs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select, update

from federation.hub.app import Hub
from federation.hub.models import ClusterView, FetchAttempt, HarvestRun, MetaClusterRow, NodeRecord, ProfileVersion
from federation.settings import deep_merge
from tests.support.builders import AGRI_CODES, cluster_doc, load_node, member_doc, profile_bytes
from tests.support.environment import TEST_SETTINGS
from tests.support.fake_node import FakeHandler, send, serve_json
from tests.support.hub_state import by_node, metacluster_state, versions
from tests.support.waiting import wait_until

#: Short, countable backoff: 10 s, 20 s, then capped at 30 s, each +/- 20 %.
BASE, JITTER, CAP = 10, 0.2, 30
HEALTH = {"health": {"backoff_base_s": BASE, "backoff_jitter": JITTER, "backoff_cap_s": CAP}}
TEXTILE_CODES = ("nace-rev2:13.96", "nace-rev2:14.13", "nace-rev2:15.12")
ALL_CHAINS = {"mc-agri-food", "mc-bioeconomy-waste", "mc-electronics", "mc-food-cosmetics", "mc-textile-apparel"}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def seconds_until(moment: datetime) -> float:
    return max(0.0, (moment - utcnow()).total_seconds())


def set_node(hub, node_id: str, **values) -> None:
    with hub.db.session() as session:
        session.execute(update(NodeRecord).where(NodeRecord.id == node_id).values(**values))


def stale_since(hub) -> dict:
    return {c["node_id"]: c["stale_since"] for c in hub.queries.clusters()}


def computed_at(hub) -> dict:
    with hub.db.session() as session:
        return dict(session.execute(select(MetaClusterRow.id, MetaClusterRow.computed_at)).all())


def reformed(before: dict, after: dict) -> set:
    """The meta-clusters formed again between two ``computed_at`` readings."""
    assert set(before) == set(after) == ALL_CHAINS
    return {mc for mc in after if after[mc] != before[mc]}


def interval_s(hub) -> float:
    """harvest.interval_s: a good fetch schedules the node's next attempt this long after it."""
    return float(hub.settings.get("harvest.interval_s"))


def assert_scheduled(hub, node: dict) -> None:
    """A healthy node: next attempt one scheduling interval after its last (good) one."""
    assert node["next_attempt_at"] == node["last_attempt_at"] + timedelta(seconds=interval_s(hub)), node


def set_due(hub, *node_ids: str) -> None:
    """Bring the nodes' next attempt time into the past, as if their backoff or interval had passed."""
    for node_id in node_ids:
        set_node(hub, node_id, next_attempt_at=utcnow() - timedelta(seconds=1))


def assert_delay(node: dict, expected_s: float) -> None:
    """The node's next attempt comes ``expected_s`` (+/- the jitter) after its last one."""
    delay = (node["next_attempt_at"] - node["last_attempt_at"]).total_seconds()
    assert expected_s * (1 - JITTER) - 0.001 <= delay <= expected_s * (1 + JITTER) + 0.001, (delay, expected_s)


def running_jobs(hub) -> tuple[list, list]:
    with hub.db.session() as session:
        runs = list(session.scalars(select(HarvestRun.id).where(HarvestRun.status == "running")))
        fetches = list(session.scalars(select(FetchAttempt.id).where(FetchAttempt.outcome == "running")))
        return runs, fetches


def running_run(hub) -> HarvestRun | None:
    """The oldest run still marked running."""
    with hub.db.session() as session:
        return session.scalar(select(HarvestRun).where(HarvestRun.status == "running").order_by(HarvestRun.id))


def run_lease_over(hub) -> bool:
    """Whether the oldest running run's lease has expired (the sweeper may fail it now)."""
    run = running_run(hub)
    return run is not None and run.lease_until is not None and run.lease_until < utcnow()


def running_run_started_at(hub) -> datetime | None:
    run = running_run(hub)
    return run.started_at if run is not None else None


def fake_federation(make_hub, fake_node, node_ids=("menara",), overrides: dict | None = None):
    """A hub with one switchable fake node per id ("menara" in MA, the others in TN), each harvested once."""
    hub = make_hub(overrides=overrides)
    fakes, bodies = {}, {}
    for node_id in node_ids:
        country = "MA" if node_id == "menara" else "TN"
        bodies[node_id] = profile_bytes(node_id, country)
        fakes[node_id] = fake_node(serve_json(bodies[node_id], etag=f'"{node_id}-1"'), node_id, country)
        hub.nodes.register(node_id, fakes[node_id].url)
    report = hub.harvester.harvest()
    assert report["counts"]["new_version"] == len(node_ids)
    return hub, fakes, bodies


def real_node(make_node, serve, cluster_id: str, country: str, members: list[dict], value_chains=("agri-food",)):
    app = make_node(cluster_id)
    load_node(app, cluster_doc(cluster_id, country, value_chains), members)
    return app, serve(app).url


# -- backoff and health ------------------------------------------------------------------------------------------

def test_backoff_doubles_up_to_the_cap_health_degrades_then_unavailable_and_success_resets(backend, make_hub,
                                                                                          fake_node):
    hub, fakes, body = fake_federation(make_hub, fake_node, overrides=HEALTH)
    fake = fakes["menara"]
    fresh = hub.nodes.get("menara")
    assert (fresh["health"], fresh["consecutive_failures"], fresh["first_failure_at"]) == ("ok", 0, None)
    assert_scheduled(hub, fresh)

    fake.profile = send(500, b'{"error": "boom"}')
    first_failure_at = None
    for n, expected in enumerate([BASE, 2 * BASE, CAP, CAP, CAP], start=1):  # 10, 20, then 40 and 80 capped at 30
        before = utcnow()
        report = hub.harvester.harvest()
        assert by_node(report)["menara"]["outcome"] == "failed"
        node = hub.nodes.get("menara")
        assert node["consecutive_failures"] == n
        assert node["health"] == "degraded"
        assert before <= node["last_attempt_at"] <= utcnow()
        assert node["next_attempt_at"] > utcnow()
        assert_delay(node, expected)
        first_failure_at = first_failure_at or node["last_attempt_at"]
        assert node["first_failure_at"] == first_failure_at  # the failure streak started at the first one

    # failing for longer than health.unavailable_after_days (7 by default): unavailable
    assert hub.settings.get("health.unavailable_after_days") == 7
    long_ago = utcnow() - timedelta(days=7, minutes=1)
    set_node(hub, "menara", first_failure_at=long_ago)
    hub.harvester.harvest()
    node = hub.nodes.get("menara")
    assert (node["health"], node["consecutive_failures"]) == ("unavailable", 6)
    assert node["first_failure_at"] == long_ago
    assert_delay(node, CAP)

    # one good fetch (a 304 here) clears it all
    fake.profile = serve_json(body["menara"], etag='"menara-1"')
    report = hub.harvester.harvest()
    assert by_node(report)["menara"]["outcome"] == "not_modified"
    node = hub.nodes.get("menara")
    assert (node["health"], node["consecutive_failures"], node["first_failure_at"], node["last_error"],
            node["last_outcome"]) == ("ok", 0, None, None, "not_modified")
    assert_scheduled(hub, node)  # back on the regular schedule, no more backoff
    assert stale_since(hub) == {"menara": None}

    # a new failure starts a new streak from the base delay, degraded again (not unavailable)
    fake.profile = send(503, b"{}")
    hub.harvester.harvest()
    node = hub.nodes.get("menara")
    assert (node["health"], node["consecutive_failures"]) == ("degraded", 1)
    assert node["first_failure_at"] == node["last_attempt_at"]
    assert_delay(node, BASE)


def test_unavailable_after_a_tiny_number_of_days(backend, make_hub, fake_node):
    """health.unavailable_after_days applies from the first failure of the streak."""
    hub, fakes, _ = fake_federation(make_hub, fake_node,
                                    overrides=deep_merge(HEALTH, {"health": {"unavailable_after_days": 0.3 / 86400}}))
    fakes["menara"].profile = send(500, b"{}")
    hub.harvester.harvest()
    assert hub.nodes.get("menara")["health"] == "degraded"  # the first failure: 0 s into the streak
    streak_start = hub.nodes.get("menara")["first_failure_at"]
    wait_until(lambda: utcnow() - streak_start > timedelta(seconds=0.3), what="0.3 s into the failure streak")
    hub.harvester.harvest()
    node = hub.nodes.get("menara")
    assert (node["health"], node["consecutive_failures"]) == ("unavailable", 2)


def test_403_404_and_410_are_failures(backend, make_hub, fake_node):
    nodes = {"gone-403": 403, "gone-404": 404, "gone-410": 410}
    hub, fakes, _ = fake_federation(make_hub, fake_node, list(nodes), overrides=HEALTH)
    good = {node_id: hub.nodes.get(node_id) for node_id in nodes}
    members = {node_id: hub.queries.cluster_members(node_id) for node_id in nodes}
    for node_id, status in nodes.items():
        fakes[node_id].profile = send(status, b'{"error": "not for you"}')

    before = utcnow()
    report = hub.harvester.harvest()
    assert report["counts"] == {"new_version": 0, "not_modified": 0, "unchanged": 0, "failed": 3}
    assert report["aggregated"] is False
    stale = stale_since(hub)
    for node_id, status in nodes.items():
        outcome = by_node(report)[node_id]
        assert (outcome["outcome"], outcome["http_status"]) == ("failed", status)
        assert f"HTTP {status}" in outcome["reason"]
        node = hub.nodes.get(node_id)
        assert (node["last_outcome"], node["consecutive_failures"], node["health"]) == ("failed", 1, "degraded")
        assert node["last_success_at"] == good[node_id]["last_success_at"]  # not a success
        assert_delay(node, BASE)
        assert stale[node_id] == node["last_attempt_at"] and stale[node_id] >= before
        # the last good version and its members stay; nothing is taken as withdrawn
        assert len(versions(hub, node_id)) == 1
        assert hub.queries.cluster_members(node_id) == members[node_id]
        assert hub.queries.tombstones(node_id) == []


# -- due nodes -----------------------------------------------------------------------------------------------------

def test_due_only_skips_backing_off_nodes_until_due_pushed_or_reset(backend, make_hub, fake_node):
    hub, fakes, body = fake_federation(make_hub, fake_node, ("atlas", "menara"), overrides=HEALTH)
    menara = fakes["menara"]

    def due_run() -> dict:
        return {n: r["outcome"] for n, r in by_node(hub.harvester.harvest(due_only=True)).items()}

    # just harvested: healthy nodes wait for the next interval
    for node_id in ("atlas", "menara"):
        assert_scheduled(hub, hub.nodes.get(node_id))
    assert due_run() == {}

    menara.profile = send(500, b"{}")
    set_due(hub, "atlas", "menara")
    assert due_run() == {"atlas": "not_modified", "menara": "failed"}
    node = hub.nodes.get("menara")
    assert node["next_attempt_at"] > utcnow()
    assert_delay(node, BASE)
    assert_scheduled(hub, hub.nodes.get("atlas"))

    # backing off: skipped, not even asked
    asked = len(menara.requests)
    set_due(hub, "atlas")
    assert due_run() == {"atlas": "not_modified"}
    assert len(menara.requests) == asked
    assert hub.nodes.get("menara")["consecutive_failures"] == 1

    # its next attempt time has passed: due again (and backs off longer)
    set_due(hub, "menara")
    assert due_run() == {"menara": "failed"}
    node = hub.nodes.get("menara")
    assert node["consecutive_failures"] == 2
    assert_delay(node, 2 * BASE)
    assert due_run() == {}

    # a push asks for a fetch: due at the next pass, without clearing the failure state
    pushed = hub.nodes.request_fetch("menara")
    assert pushed["fetch_requested_at"] is not None
    assert (pushed["health"], pushed["consecutive_failures"]) == ("degraded", 2)
    assert pushed["next_attempt_at"] > utcnow()
    assert due_run() == {"menara": "failed"}
    node = hub.nodes.get("menara")
    assert node["fetch_requested_at"] is None  # served
    assert node["consecutive_failures"] == 3
    assert_delay(node, CAP)
    assert due_run() == {}  # one push, one fetch

    # the operator's reset: healthy and due at once
    reset = hub.nodes.reset("menara")
    assert (reset["health"], reset["consecutive_failures"], reset["next_attempt_at"],
            reset["first_failure_at"]) == ("ok", 0, None, None)
    assert [e["node_id"] for e in hub.audit.events("node.reset")] == ["menara"]
    menara.profile = serve_json(body["menara"], etag='"menara-1"')
    assert due_run() == {"menara": "not_modified"}
    node = hub.nodes.get("menara")
    assert (node["health"], node["consecutive_failures"]) == ("ok", 0)
    assert_scheduled(hub, node)
    assert stale_since(hub) == {"atlas": None, "menara": None}
    assert due_run() == {}


# -- stale clusters ------------------------------------------------------------------------------------------------

def test_stale_since_is_set_on_failure_kept_on_further_failures_and_cleared_on_success(backend, make_hub,
                                                                                      fake_node):
    hub, fakes, body = fake_federation(make_hub, fake_node, ("atlas", "menara"), overrides=HEALTH)
    fake = fakes["menara"]
    assert stale_since(hub) == {"atlas": None, "menara": None}
    good = versions(hub, "menara")
    members = hub.queries.cluster_members("menara")
    clusters = hub.queries.clusters()
    metaclusters = metacluster_state(hub)

    fake.profile = send(502, b"{}")
    hub.harvester.harvest()
    first = hub.nodes.get("menara")["last_attempt_at"]
    assert stale_since(hub) == {"atlas": None, "menara": first}

    fake.discovery = lambda h: h.send_body(503, b"{}")  # another kind of failure: its discovery fails
    hub.harvester.harvest()
    node = hub.nodes.get("menara")
    assert node["last_attempt_at"] > first
    assert node["consecutive_failures"] == 2
    assert stale_since(hub) == {"atlas": None, "menara": first}  # since the first failure, not moved
    # the last good version and its members stay, and nothing is formed again
    assert [(v.id, v.sha256) for v in versions(hub, "menara")] == [(v.id, v.sha256) for v in good]
    assert hub.queries.cluster_members("menara") == members
    assert [{k: v for k, v in c.items() if k not in ("stale_since", "freshness")} for c in hub.queries.clusters()] \
        == [{k: v for k, v in c.items() if k not in ("stale_since", "freshness")} for c in clusters]
    assert metacluster_state(hub) == metaclusters

    # a good answer (a 304) clears it
    fake.discovery = None
    fake.profile = serve_json(body["menara"], etag='"menara-1"')
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "not_modified"
    assert stale_since(hub) == {"atlas": None, "menara": None}

    # stale again from a later failure, and a new version clears it too
    fake.profile = send(500, b"{}")
    hub.harvester.harvest()
    again = hub.nodes.get("menara")["last_attempt_at"]
    assert again > first
    assert stale_since(hub) == {"atlas": None, "menara": again}
    fake.profile = serve_json(profile_bytes("menara", "MA", sequence=2), etag='"menara-2"')
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version", hub.nodes.get("menara")["last_error"]
    assert stale_since(hub) == {"atlas": None, "menara": None}
    assert len(versions(hub, "menara")) == 2


# -- tombstones ----------------------------------------------------------------------------------------------------

def test_a_removed_member_becomes_a_tombstone_until_it_comes_back(backend, make_node, make_hub, serve):
    members = [member_doc(f"qoot-{i}", code) for i, code in enumerate(AGRI_CODES)]
    app, url = real_node(make_node, serve, "qoot", "LB", members)
    service = app.extensions["medmci"].service
    hub = make_hub()
    hub.nodes.register("qoot", url)
    hub.harvester.harvest()
    assert hub.queries.tombstones("qoot") == []
    kept = hub.queries.cluster_members("qoot")

    service.delete_member("qoot-1")
    report = hub.harvester.harvest()
    assert by_node(report)["qoot"]["outcome"] == "new_version"
    latest = versions(hub, "qoot")[-1]
    assert hub.queries.tombstones("qoot") == [{"member_id": "qoot-1", "removed_at": latest.fetched_at,
                                               "version_id": latest.id}]
    assert hub.queries.run(report["run_id"])["attempts"][0]["version_id"] == latest.id
    assert [m["id"] for m in hub.queries.cluster_members("qoot")] == ["qoot-0", "qoot-2"]
    assert "qoot-1" not in {m["member_id"] for m in hub.queries.metacluster("mc-agri-food")["members"]}

    service.create_member(members[1])  # back, with the node's same id
    report = hub.harvester.harvest()
    assert by_node(report)["qoot"]["outcome"] == "new_version"
    assert hub.queries.tombstones("qoot") == []
    assert hub.queries.cluster_members("qoot") == kept
    assert len(versions(hub, "qoot")) == 3


def test_a_failed_fetch_never_creates_tombstones(backend, make_hub, fake_node):
    hub, fakes, _ = fake_federation(make_hub, fake_node, overrides=HEALTH)
    fake = fakes["menara"]
    members = hub.queries.cluster_members("menara")
    assert [m["id"] for m in members] == ["menara-0", "menara-1", "menara-2"]
    fewer = profile_bytes("menara", "MA", members=[member_doc("menara-0", AGRI_CODES[0])], sequence=2)

    def cut_off(h: FakeHandler) -> None:  # a partial answer of the smaller document
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(fewer)))
        h.end_headers()
        h.wfile.write(fewer[:len(fewer) // 2])
        h.close_connection = True

    for bad in (cut_off, lambda h: h.send_body(200, fewer, signature=None), send(410, b"{}")):
        fake.profile = bad
        report = hub.harvester.harvest()
        assert by_node(report)["menara"]["outcome"] == "failed"
        assert hub.queries.tombstones("menara") == []
        assert hub.queries.cluster_members("menara") == members

    # the same smaller document, complete and signed: now the two members are gone
    fake.profile = serve_json(fewer, etag='"menara-2"')
    report = hub.harvester.harvest()
    assert by_node(report)["menara"]["outcome"] == "new_version"
    latest = versions(hub, "menara")[-1]
    assert hub.queries.tombstones("menara") == [
        {"member_id": m, "removed_at": latest.fetched_at, "version_id": latest.id} for m in ("menara-1", "menara-2")]
    assert [m["id"] for m in hub.queries.cluster_members("menara")] == ["menara-0"]


# -- incremental formation -----------------------------------------------------------------------------------------

def test_a_new_version_forms_again_only_the_chains_it_touches(backend, make_node, make_hub, serve):
    agri = [member_doc(f"m{i}", code) for i, code in enumerate(AGRI_CODES)]
    qoot, qoot_url = real_node(make_node, serve, "qoot", "LB",
                               [{**m, "id": f"qoot-{m['id']}"} for m in agri]
                               + [member_doc("qoot-tx", TEXTILE_CODES[0])])
    _menara, menara_url = real_node(make_node, serve, "menara", "MA",
                                    [{**m, "id": f"menara-{m['id']}"} for m in agri]
                                    + [member_doc(f"menara-tx{i}", c) for i, c in enumerate(TEXTILE_CODES)],
                                    value_chains=("agri-food", "textile-apparel"))
    tex, tex_url = real_node(make_node, serve, "tex", "TN",
                             [member_doc(f"tex-{i}", c) for i, c in enumerate(TEXTILE_CODES)],
                             value_chains=("textile-apparel",))
    hub = make_hub()
    for node_id, url in (("qoot", qoot_url), ("menara", menara_url), ("tex", tex_url)):
        hub.nodes.register(node_id, url)
    assert hub.harvester.harvest()["counts"]["new_version"] == 3
    assert hub.queries.metacluster("mc-agri-food")["countries"] == ["LB", "MA"]
    assert hub.queries.metacluster("mc-textile-apparel")["countries"] == ["MA", "TN"]
    start = computed_at(hub)
    state = {row[0]: row for row in metacluster_state(hub)}

    # only the textile node changes: only the textile chain is formed again
    tex.extensions["medmci"].service.create_member(member_doc("tex-3", "nace-rev2:14.13", name="New Knitwear"))
    report = hub.harvester.harvest()
    assert {n: r["outcome"] for n, r in by_node(report).items()} == {
        "menara": "not_modified", "qoot": "not_modified", "tex": "new_version"}
    assert report["aggregated"] is True
    after_tex = computed_at(hub)
    assert reformed(start, after_tex) == {"mc-textile-apparel"}
    assert "tex-3" in {m["member_id"] for m in hub.queries.metacluster("mc-textile-apparel")["members"]}
    for row in metacluster_state(hub):
        if row[0] != "mc-textile-apparel":
            assert row == state[row[0]]  # same document, same computed_at

    # nothing changed anywhere (304s): nothing is formed again
    frozen = metacluster_state(hub)
    report = hub.harvester.harvest()
    assert report["counts"] == {"new_version": 0, "not_modified": 3, "unchanged": 0, "failed": 0}
    assert report["aggregated"] is False
    assert metacluster_state(hub) == frozen

    # a chain only the old version touched is formed again too: qoot drops its one textile member
    qoot.extensions["medmci"].service.delete_member("qoot-tx")
    report = hub.harvester.harvest()
    assert by_node(report)["qoot"]["outcome"] == "new_version"
    after_qoot = computed_at(hub)
    assert reformed(after_tex, after_qoot) == {"mc-agri-food", "mc-food-cosmetics", "mc-textile-apparel"}
    textile = hub.queries.metacluster("mc-textile-apparel")
    assert "qoot-tx" not in {m["member_id"] for m in textile["members"]}


# -- leases and the sweeper ----------------------------------------------------------------------------------------

def test_the_sweeper_fails_runs_and_fetches_whose_lease_expired_and_leaves_live_ones(backend, make_hub, fake_node):
    hub, _fakes, _ = fake_federation(make_hub, fake_node)
    at = utcnow()
    with hub.db.session() as session:
        dead = HarvestRun(started_at=at - timedelta(hours=2), lease_until=at - timedelta(hours=1), status="running",
                          counts={}, aggregated=False)
        live = HarvestRun(started_at=at, lease_until=at + timedelta(hours=1), status="running", counts={},
                          aggregated=False)
        session.add_all([dead, live])
        session.flush()
        dead_fetch = FetchAttempt(run_id=dead.id, node_id="menara", started_at=dead.started_at, outcome="running",
                                  lease_until=at - timedelta(hours=1))
        # a fetch past its lease in a run that is still within its own
        stuck_fetch = FetchAttempt(run_id=live.id, node_id="menara", started_at=at, outcome="running",
                                   lease_until=at - timedelta(seconds=1))
        live_fetch = FetchAttempt(run_id=live.id, node_id="menara", started_at=at, outcome="running",
                                  lease_until=at + timedelta(hours=1))
        session.add_all([dead_fetch, stuck_fetch, live_fetch])
        session.flush()
        ids = dead.id, live.id, dead_fetch.id, stuck_fetch.id, live_fetch.id
    dead_id, live_id, dead_fetch_id, stuck_fetch_id, live_fetch_id = ids

    report = hub.harvester.harvest()
    assert report["counts"]["not_modified"] == 1
    runs = {r["id"]: r for r in hub.queries.runs()}
    assert {r["status"] for r in runs.values()} == {"finished", "failed", "running"}
    assert runs[report["run_id"]]["status"] == "finished" and runs[report["run_id"]]["error"] is None
    assert runs[live_id]["status"] == "running"
    assert runs[dead_id]["status"] == "failed"
    assert "lease" in runs[dead_id]["error"]
    assert runs[dead_id]["finished_at"] is not None
    attempts = hub.queries.run(dead_id)["attempts"]
    assert [(a["outcome"], "lease" in a["reason"]) for a in attempts] == [("failed", True)]
    assert attempts[0]["finished_at"] is not None
    with hub.db.session() as session:
        outcomes = {a.id: (a.outcome, a.reason) for a in session.scalars(select(FetchAttempt))}
    assert outcomes[stuck_fetch_id][0] == "failed" and "lease" in outcomes[stuck_fetch_id][1]
    assert outcomes[live_fetch_id] == ("running", None)
    assert running_jobs(hub) == ([live_id], [live_fetch_id])

    assert hub.harvester.sweep() == {"runs": 0, "fetches": 0}  # live leases are respected
    with hub.db.session() as session:
        session.execute(update(HarvestRun).where(HarvestRun.id == live_id).values(lease_until=utcnow()
                                                                                  - timedelta(seconds=1)))
        session.execute(update(FetchAttempt).where(FetchAttempt.id == live_fetch_id).values(
            lease_until=utcnow() - timedelta(seconds=1)))
    assert hub.harvester.sweep() == {"runs": 1, "fetches": 1}
    assert running_jobs(hub) == ([], [])


def test_a_run_outliving_its_lease_is_failed_by_the_next_harvest(backend, make_hub, fake_node):
    """A tiny jobs.run_lease_s against a slow node: a harvest started meanwhile fails the first run (its lease
    expired) but leaves its fetch alone (the fetch's own lease still runs); the slow fetch then completes."""
    hub, fakes, body = fake_federation(make_hub, fake_node, ("atlas", "menara"),
                                       overrides={"jobs": {"run_lease_s": 0.2}})
    asked = threading.Event()
    new_body = profile_bytes("menara", "MA", sequence=2)

    def slow(h: FakeHandler) -> None:
        asked.set()
        if not h.server.stopping.wait(1.2):
            h.send_body(200, new_body, "application/json", {"ETag": '"menara-2"'})

    fakes["menara"].profile = slow
    reports = []
    worker = threading.Thread(target=lambda: reports.append(hub.harvester.harvest(["menara"])))
    worker.start()
    try:
        assert asked.wait(5)
        wait_until(lambda: run_lease_over(hub), what="the end of the slow run's lease")
        other = hub.harvester.harvest(["atlas"])
        runs = {r["id"]: r for r in hub.queries.runs()}
        slow_run = min(r for r in runs if r != other["run_id"] and runs[r]["status"] != "finished")
        assert runs[slow_run]["status"] == "failed" and "lease" in runs[slow_run]["error"]
        assert [a["outcome"] for a in hub.queries.run(slow_run)["attempts"]] == ["running"]  # its lease runs
        assert runs[other["run_id"]]["status"] == "finished"
    finally:
        worker.join(10)
    assert by_node(reports[0])["menara"]["outcome"] == "new_version", reports[0]
    run = hub.queries.run(reports[0]["run_id"])
    assert run["status"] == "failed"  # the sweeper's verdict stands; the fetch's own outcome is recorded
    assert [(a["outcome"], a["version_id"] is not None) for a in run["attempts"]] == [("new_version", True)]
    assert running_jobs(hub) == ([], [])


def test_a_live_run_renews_its_lease_so_a_concurrent_sweep_leaves_it_alone(backend, make_hub, fake_node):
    """A run of 2 s lease whose nodes take 0.8 s each, one at a time (3.2 s in all): it renews its lease as results
    come in, so a harvest started after its first lease ended does not fail it."""
    ids = ("menara", "atlas", "sahel", "tell")
    hub, fakes, bodies = fake_federation(make_hub, fake_node, ids,
                                         overrides={"jobs": {"run_lease_s": 2}, "harvest": {"concurrency": 1}})

    def slow(node_id):
        def behaviour(h: FakeHandler) -> None:
            h.server.stopping.wait(0.8)  # a slow node, not a wait for something
            h.send_body(200, bodies[node_id], "application/json", {"ETag": f'"{node_id}-1"'})
        return behaviour

    for node_id in ids:
        fakes[node_id].profile = slow(node_id)
    reports = []
    worker = threading.Thread(target=lambda: reports.append(hub.harvester.harvest()))
    worker.start()
    try:
        # past the first lease (2 s from the run's start) with a margin, before the run ends (3.2 s)
        run_started = wait_until(lambda: running_run_started_at(hub), what="the run to start")
        wait_until(lambda: utcnow() > run_started + timedelta(seconds=2.4), timeout=5,
                   what="the end of the run's first lease")
        assert worker.is_alive()
        swept = hub.harvester.sweep()
        assert swept == {"runs": 0, "fetches": 0}
    finally:
        worker.join(20)
    (report,) = reports
    assert report["counts"]["unchanged"] == 4, report  # the same bytes again, without validators
    run = hub.queries.run(report["run_id"])
    assert (run["status"], run["error"]) == ("finished", None)
    assert running_jobs(hub) == ([], [])


# -- a harvest process killed with SIGKILL -------------------------------------------------------------------------

KILLED_HARVEST = """
import json, sys
from federation.hub.app import Hub
hub = Hub.build(sys.argv[1], json.loads(sys.argv[2]))
print("harvesting", flush=True)
hub.harvester.harvest()
print("finished", flush=True)
"""


def test_a_harvest_killed_mid_run_loses_nothing_and_is_swept(backend, make_node, make_hub, serve, fake_node,
                                                             database_url, registry):
    url = database_url("shared-hub")
    overrides = {"database_url": url, "jobs": {"run_lease_s": 1},
                 "harvest": {**TEST_SETTINGS["harvest"], "timeout_s": 2, "connect_timeout_s": 0.5}}
    qoot, qoot_url = real_node(make_node, serve, "qoot", "LB",
                               [member_doc(f"qoot-{i}", c) for i, c in enumerate(AGRI_CODES)])
    slow_body = profile_bytes("menara", "MA")
    fake = fake_node(serve_json(slow_body, etag='"menara-1"'))
    hub = make_hub("hub", overrides)
    instance = Path(hub.settings.instance_path)
    hub.nodes.register("qoot", qoot_url)
    hub.nodes.register("menara", fake.url)
    assert hub.harvester.harvest()["counts"]["new_version"] == 2
    first = {n: [v.id for v in versions(hub, n)] for n in ("qoot", "menara")}
    last_run = max(r["id"] for r in hub.queries.runs())

    # qoot has a new version to give; menara hangs until released
    qoot.extensions["medmci"].service.create_member(member_doc("qoot-new", "nace-rev2:10.51"))
    asked, release = threading.Event(), threading.Event()

    def hang(h: FakeHandler) -> None:
        asked.set()
        release.wait(30)

    fake.profile = hang
    env = {**os.environ, "DATABASE_URL": url}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_HARVEST, str(instance), json.dumps(overrides)],
                            cwd=Path(__file__).resolve().parent.parent, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        def at_the_slow_node() -> bool:
            assert proc.poll() is None, proc.communicate()
            with hub.db.session() as session:
                attempts = {a.node_id: a.outcome for a in session.scalars(
                    select(FetchAttempt).where(FetchAttempt.run_id > last_run))}
            return attempts == {"qoot": "new_version", "menara": "running"} and asked.is_set()

        wait_until(at_the_slow_node, timeout=30, what="the harvest to get to the slow node")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()

    # what the killed process left: its run and menara's fetch "running", qoot's new version committed
    with hub.db.session() as session:
        killed = session.scalar(select(HarvestRun).where(HarvestRun.id > last_run))
        killed_attempts = {a.node_id: a for a in session.scalars(select(FetchAttempt)
                                                                .where(FetchAttempt.run_id == killed.id))}
    assert killed.status == "running"
    assert killed_attempts["menara"].outcome == "running"
    committed = killed_attempts["qoot"].version_id
    assert committed is not None and committed not in first["qoot"]
    fetch_lease = killed_attempts["menara"].lease_until
    assert fetch_lease > utcnow()

    # the node answers again, with a new version; the hub is built again on the same database and instance
    release.set()
    new_body = profile_bytes("menara", "MA", sequence=2)
    fake.profile = serve_json(new_body, etag='"menara-2"')
    rebuilt = Hub.build(instance, deep_merge(TEST_SETTINGS, overrides), registry=registry)
    try:
        wait_until(lambda: utcnow() > killed.lease_until + timedelta(seconds=0.05), what="the end of the run's lease",
                   timeout=seconds_until(killed.lease_until) + 5)
        report = rebuilt.harvester.harvest()
        assert {n: r["outcome"] for n, r in by_node(report).items()} == {"qoot": "not_modified",
                                                                         "menara": "new_version"}
        # the run's lease (1 s) is over: failed; the fetch's own lease still runs: left alone for now
        assert rebuilt.queries.run(killed.id)["status"] == "failed"
        assert "lease" in rebuilt.queries.run(killed.id)["error"]
        assert running_jobs(rebuilt) == ([], [killed_attempts["menara"].id])

        wait_until(lambda: utcnow() > fetch_lease + timedelta(seconds=0.05), what="the end of the fetch's lease",
                   timeout=seconds_until(fetch_lease) + 5)
        report = rebuilt.harvester.harvest()
        assert report["counts"] == {"new_version": 0, "not_modified": 2, "unchanged": 0, "failed": 0}
        assert running_jobs(rebuilt) == ([], [])
        run = rebuilt.queries.run(killed.id)
        assert run["status"] == "failed"
        attempts = {a["node_id"]: a for a in run["attempts"]}
        assert (attempts["qoot"]["outcome"], attempts["qoot"]["version_id"]) == ("new_version", committed)
        assert attempts["menara"]["outcome"] == "failed" and "lease" in attempts["menara"]["reason"]

        # no accepted version lost, none stored twice
        kept = {n: [v.id for v in versions(rebuilt, n)] for n in ("qoot", "menara")}
        assert kept["qoot"] == first["qoot"] + [committed]
        assert kept["menara"][:1] == first["menara"] and len(kept["menara"]) == 2
        with rebuilt.db.session() as session:
            per_hash = session.execute(select(ProfileVersion.node_id, ProfileVersion.sha256, func.count())
                                       .group_by(ProfileVersion.node_id, ProfileVersion.sha256)).all()
            current = dict(session.execute(select(ClusterView.node_id, ClusterView.version_id)).all())
        assert sorted(count for _n, _s, count in per_hash) == [1, 1, 1, 1]
        assert current == {"qoot": committed, "menara": kept["menara"][1]}
        assert versions(rebuilt, "menara")[1].body == new_body
        assert "qoot-new" in {m["id"] for m in rebuilt.queries.cluster_members("qoot")}
        assert stale_since(rebuilt) == {"qoot": None, "menara": None}
    finally:
        rebuilt.harvester.client.close()
        rebuilt.db.dispose()
