"""``medmci hub harvest | health | reset | jobs`` through click's CliRunner, and the harvest progress bar.

The hub lives in an instance folder under tmp_path with DATABASE_URL unset (SQLite); its nodes are real node
servers (``make_node`` + ``serve``) registered with ``hub register``. A node "fails" by having its server stopped.
"""

from __future__ import annotations

import io
import json
import re
import socket
import sys
import types
from datetime import datetime, timedelta, timezone

import click
import pytest

from federation.cli import harvests as cli  # the harvest commands and their progress bar
from federation.cli import main
from federation.hub.app import Hub
from federation.hub.harvest import Outcome
from federation.hub.models import FetchAttempt, HarvestRun, NodeRecord
from tests.support.builders import cluster_doc, load_node, member_doc

NODES = {
    "node-lb": ("qoot", "LB", [member_doc("qoot-wine", "nace-rev2:11.02"), member_doc("qoot-oil", "nace-rev2:10.41"),
                               member_doc("qoot-biscuits", "nace-rev2:10.82")]),
    "node-ma": ("menara", "MA", [member_doc("menara-wine", "nace-rev2:11.02"),
                                 member_doc("menara-oil", "nace-rev2:10.41"),
                                 member_doc("menara-biscuits", "nace-rev2:10.82")]),
}
HEALTH_KEYS = {"id", "status", "health", "consecutive_failures", "next_attempt_at", "last_success_at", "last_error"}


@pytest.fixture
def backend() -> str:
    """The CLI's hub runs on SQLite (DATABASE_URL unset); its nodes too, so each test runs once."""
    return "sqlite"


def make_due(hub, node_id: str) -> None:
    """A healthy node is due one interval after its last fetch: make that moment now."""
    with hub.db.session() as session:
        session.get(NodeRecord, node_id).next_attempt_at = datetime.now(timezone.utc) - timedelta(seconds=1)


def run(runner, hub_instance, *args, code: int = 0):
    result = runner.invoke(main, ["hub", "--instance", str(hub_instance), *[str(a) for a in args]])
    assert result.exit_code == code, f"{args}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    assert "Traceback" not in result.output
    return result


def rows_of(output: str, first_cell: str) -> list[list[str]]:
    rows = [re.split(r"\s{2,}", line.strip()) for line in output.splitlines()]
    return [r for r in rows if r and r[0] == first_cell]


def health_json(runner, hub_instance) -> dict[str, dict]:
    listed = json.loads(run(runner, hub_instance, "health", "--json").output)
    assert all(set(n) == HEALTH_KEYS for n in listed)
    return {n["id"]: n for n in listed}


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def federation(runner, hub_instance, make_node, serve):
    """Two node servers registered with ``hub register`` and harvested once: ``{node_id: server}``."""
    servers = {}
    for node_id, (cluster_id, country, members) in NODES.items():
        app = make_node(node_id)
        load_node(app, cluster_doc(cluster_id, country), members)
        servers[node_id] = serve(app)
        result = run(runner, hub_instance, "register", node_id, servers[node_id].url)
        assert result.output.strip() == f"registered node {node_id} ({cluster_id}, {country}) at {servers[node_id].url}"
    result = run(runner, hub_instance, "harvest")
    assert rows_of(result.output, "node-lb") == [["node-lb", "new_version", "200"]]
    assert rows_of(result.output, "node-ma") == [["node-ma", "new_version", "200"]]
    return servers


def fail_node_ma(runner, hub_instance, federation):
    """Stop node-ma's server and harvest: it fails (exit 1) and backs off."""
    federation["node-ma"].stop()
    return run(runner, hub_instance, "harvest", code=1)


# -- harvest ---------------------------------------------------------------------------------------------------------

def test_harvest_prints_the_summary_and_exits_1_when_a_node_failed(runner, hub_instance, federation, monkeypatch):
    # Not a TTY (CliRunner): no progress bar.
    monkeypatch.setattr(cli, "_harvest_with_progress", lambda *a, **k: pytest.fail("progress bar off a TTY"))
    result = fail_node_ma(runner, hub_instance, federation)
    lines = result.output.splitlines()
    assert lines[0].split() == ["NODE", "OUTCOME", "HTTP", "REASON"]
    assert rows_of(result.output, "node-lb") == [["node-lb", "not_modified", "304"]]
    failed, = rows_of(result.output, "node-ma")
    assert failed[:3] == ["node-ma", "failed", "-"]
    assert "cannot connect" in failed[3]
    assert re.search(r"^run 2: 0 new version, 1 not modified, 0 unchanged, 1 failed in [\d.]+ s$", result.output,
                     re.MULTILINE), result.output
    assert "meta-clusters formed again" not in result.output

    # --json: the run's report, same exit status.
    result = run(runner, hub_instance, "harvest", "--json", "--node", "node-ma", code=1)
    report = json.loads(result.output)
    assert report["counts"]["failed"] == 1 and [n["node_id"] for n in report["nodes"]] == ["node-ma"]

    # A harvest where nothing failed exits 0.
    result = run(runner, hub_instance, "harvest", "--node", "node-lb")
    assert re.search(r"run 4: 0 new version, 1 not modified, 0 unchanged, 0 failed", result.output)


def test_harvest_due_skips_a_backing_off_node(runner, hub_instance, federation):
    fail_node_ma(runner, hub_instance, federation)
    # node-lb's next scheduled fetch (an interval after its success) is now; node-ma backs off.
    make_due(Hub.build(hub_instance), "node-lb")
    before = health_json(runner, hub_instance)["node-ma"]
    assert before["consecutive_failures"] == 1

    result = run(runner, hub_instance, "harvest", "--due")
    assert rows_of(result.output, "node-lb") == [["node-lb", "not_modified", "304"]]
    assert rows_of(result.output, "node-ma") == []
    assert re.search(r"run 3: 0 new version, 1 not modified, 0 unchanged, 0 failed", result.output)
    assert health_json(runner, hub_instance)["node-ma"] == before  # not attempted

    # Without --due it is attempted (and fails again).
    run(runner, hub_instance, "harvest", code=1)
    assert health_json(runner, hub_instance)["node-ma"]["consecutive_failures"] == 2


# -- health and reset ------------------------------------------------------------------------------------------------

def test_health_lists_failures_and_next_attempt(runner, hub_instance, federation):
    result = run(runner, hub_instance, "health")
    assert result.output.splitlines()[0].split() == ["NODE", "STATUS", "HEALTH", "FAILURES", "NEXT", "ATTEMPT",
                                                     "LAST", "SUCCESS", "LAST", "ERROR"]
    ok, = rows_of(result.output, "node-ma")
    assert ok[:4] == ["node-ma", "active", "ok", "0"]
    assert when(ok[4]) > datetime.now(timezone.utc)  # healthy: next scheduled fetch an interval from its success

    failed_at = datetime.now(timezone.utc)
    fail_node_ma(runner, hub_instance, federation)
    result = run(runner, hub_instance, "health")
    lb, = rows_of(result.output, "node-lb")
    assert lb[:4] == ["node-lb", "active", "ok", "0"]
    assert when(lb[4]) > datetime.now(timezone.utc) + timedelta(seconds=800)  # harvest.interval_s (900) away
    when(lb[5])  # last success: an ISO timestamp
    ma, = rows_of(result.output, "node-ma")
    assert ma[:4] == ["node-ma", "active", "degraded", "1"]
    next_attempt = when(ma[4])
    # Backoff: 60 s +/- 20 % after the failure (to the second).
    assert failed_at + timedelta(seconds=45) <= next_attempt <= datetime.now(timezone.utc) + timedelta(seconds=75)
    when(ma[5])  # its last success is kept
    assert "cannot connect" in ma[6]

    listed = health_json(runner, hub_instance)
    assert listed["node-lb"]["health"] == "ok" and when(listed["node-lb"]["next_attempt_at"]) > failed_at
    assert listed["node-lb"]["last_error"] is None
    node_ma = listed["node-ma"]
    assert (node_ma["status"], node_ma["health"], node_ma["consecutive_failures"]) == ("active", "degraded", 1)
    assert when(node_ma["next_attempt_at"]).replace(microsecond=0) == next_attempt
    assert "cannot connect" in node_ma["last_error"]
    assert node_ma["last_success_at"] is not None


def test_reset_sets_health_ok(runner, hub_instance, federation):
    fail_node_ma(runner, hub_instance, federation)
    run(runner, hub_instance, "harvest", "--node", "node-ma", code=1)
    assert health_json(runner, hub_instance)["node-ma"]["consecutive_failures"] == 2

    result = run(runner, hub_instance, "reset", "node-ma")
    assert result.output.strip() == "node node-ma: health reset"
    node_ma = health_json(runner, hub_instance)["node-ma"]
    assert (node_ma["health"], node_ma["consecutive_failures"], node_ma["next_attempt_at"]) == ("ok", 0, None)
    ma, = rows_of(run(runner, hub_instance, "health").output, "node-ma")
    assert ma[:5] == ["node-ma", "active", "ok", "0", "-"]
    # The reset is audited, and the node is due again.
    events = json.loads(run(runner, hub_instance, "audit", "--action", "node.reset", "--json").output)
    assert [(e["actor"], e["node_id"]) for e in events] == [("cli", "node-ma")]
    result = run(runner, hub_instance, "harvest", "--due", code=1)
    assert rows_of(result.output, "node-ma")[0][:2] == ["node-ma", "failed"]

    result = run(runner, hub_instance, "reset", "nope", code=1)
    assert "no node 'nope'" in result.output


# -- jobs --------------------------------------------------------------------------------------------------------

def test_jobs_lists_runs(runner, hub_instance, federation):
    fail_node_ma(runner, hub_instance, federation)
    result = run(runner, hub_instance, "jobs")
    assert result.output.splitlines()[0].split() == ["RUN", "STATUS", "STARTED", "FINISHED", "COUNTS", "ERROR"]
    first, = rows_of(result.output, "1")
    second, = rows_of(result.output, "2")
    assert first[1] == "finished" and first[4] == "new_version=2"
    assert second[1] == "finished" and second[4] == "not_modified=1 failed=1"
    when(first[2]), when(first[3])
    # Newest first; --limit.
    assert [line.split()[0] for line in result.output.splitlines()[2:]] == ["2", "1"]
    result = run(runner, hub_instance, "jobs", "--limit", "1")
    assert rows_of(result.output, "1") == [] and len(rows_of(result.output, "2")) == 1


def test_jobs_run_shows_each_fetch_with_its_worker_chains_and_reason(runner, hub_instance, federation):
    fail_node_ma(runner, hub_instance, federation)
    first = run(runner, hub_instance, "jobs", "--run", "1")
    assert first.output.splitlines()[0].startswith("run 1: finished, started ")
    assert first.output.splitlines()[1].split() == ["NODE", "OUTCOME", "HTTP", "WORKER", "CHAINS", "REASON"]
    (lb,) = rows_of(first.output, "node-lb")
    assert lb[1:3] == ["new_version", "200"]
    host, pid = lb[3].split("/")
    assert host == socket.gethostname() and pid.isdigit()  # the harvest ran in the CLI's own process
    assert "agri-food" in lb[4].split(",")
    second = run(runner, hub_instance, "jobs", "--run", "2")
    (ma,) = rows_of(second.output, "node-ma")
    assert ma[1:3] == ["failed", "-"] and ma[4] == "-" and "connect" in ma[5].lower()
    (lb,) = rows_of(second.output, "node-lb")
    assert lb[1:3] == ["not_modified", "304"] and lb[4] == "-"
    result = run(runner, hub_instance, "jobs", "--run", "99", code=1)
    assert "no harvest run 99" in result.output


def test_jobs_sweep_fails_expired_leases(runner, hub_instance, federation):
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    hub = Hub.build(hub_instance)
    try:
        with hub.db.session() as session:
            dead = HarvestRun(started_at=past, counts={}, aggregated=False, status="running", lease_until=past)
            alive = HarvestRun(started_at=past, counts={}, aggregated=False, status="running", lease_until=future)
            session.add_all([dead, alive])
            session.flush()
            session.add(FetchAttempt(run_id=dead.id, node_id="node-lb", started_at=past, outcome="running",
                                     lease_until=past))
            session.add(FetchAttempt(run_id=alive.id, node_id="node-ma", started_at=past, outcome="running",
                                     lease_until=future))
            dead_id, alive_id = dead.id, alive.id
    finally:
        hub.harvester.client.close()
        hub.db.dispose()

    listed = run(runner, hub_instance, "jobs")  # without --sweep, nothing changes
    assert rows_of(listed.output, str(dead_id))[0][1] == "running"

    result = run(runner, hub_instance, "jobs", "--sweep")
    assert result.output.splitlines()[0] == "swept 1 run(s) and 1 fetch(es) whose lease had expired"
    swept, = rows_of(result.output, str(dead_id))
    assert swept[1] == "failed"
    assert "lease expired" in swept[-1]
    assert rows_of(result.output, str(alive_id))[0][1] == "running"
    assert rows_of(result.output, "1")[0][1] == "finished"

    hub = Hub.build(hub_instance)
    try:
        run_ = hub.queries.run(dead_id)
        assert run_["status"] == "failed" and run_["finished_at"] is not None
        assert [(a["node_id"], a["outcome"]) for a in run_["attempts"]] == [("node-lb", "failed")]
        assert "lease expired" in run_["attempts"][0]["reason"]
        assert [a["outcome"] for a in hub.queries.run(alive_id)["attempts"]] == ["running"]
    finally:
        hub.harvester.client.close()
        hub.db.dispose()

    result = run(runner, hub_instance, "jobs", "--sweep")
    assert result.output.splitlines()[0] == "swept 0 run(s) and 0 fetch(es) whose lease had expired"


# -- the progress bar ------------------------------------------------------------------------------------------------

class RecordingBar:
    """Stands in for click.progressbar: records its arguments, updates and lifecycle."""

    instances: list["RecordingBar"] = []

    def __init__(self, length=None, label=None, file=None, item_show_func=None, **kwargs):
        self.length, self.label, self.file, self.item_show_func = length, label, file, item_show_func
        self.updates: list = []
        self.shown: list[str] = []
        self.entered = self.exited = False
        RecordingBar.instances.append(self)

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, *exc):
        self.exited = True

    def update(self, steps, item=None):
        self.updates.append((steps, item))
        self.shown.append(self.item_show_func(item))


@pytest.fixture
def recording_bar(monkeypatch):
    RecordingBar.instances = []
    monkeypatch.setattr(click, "progressbar", RecordingBar)
    return RecordingBar.instances


@pytest.fixture
def harvested_hub(make_hub, make_node, serve):
    """A hub (built directly) with both nodes registered and harvested once; node-ma's server: ``servers``."""
    hub = make_hub()
    servers = {}
    for node_id, (cluster_id, country, members) in NODES.items():
        app = make_node(node_id)
        load_node(app, cluster_doc(cluster_id, country), members)
        servers[node_id] = serve(app)
        hub.nodes.register(node_id, servers[node_id].url)
    hub.harvester.harvest()
    return hub, servers


def spy_harvest(monkeypatch, harvester) -> list:
    calls = []
    original = harvester.harvest

    def spy(*args, **kwargs):
        report = original(*args, **kwargs)
        calls.append((args, kwargs, report))
        return report

    monkeypatch.setattr(harvester, "harvest", spy)
    return calls


def test_harvest_with_progress_reports_each_node(harvested_hub, recording_bar, monkeypatch):
    hub, servers = harvested_hub
    servers["node-ma"].stop()
    calls = spy_harvest(monkeypatch, hub.harvester)

    report = cli._harvest_with_progress(hub.harvester, None, False)

    (args, kwargs, returned), = calls
    assert report is returned  # the harvester's own report, unchanged
    assert kwargs["due_only"] is False and args == (None,)
    assert report["counts"] == {"new_version": 0, "not_modified": 1, "unchanged": 0, "failed": 1}
    stored = hub.queries.run(report["run_id"])
    assert report["run_id"] == hub.queries.runs(1)[0]["id"] and stored["status"] == "finished"
    assert [(a["node_id"], a["outcome"]) for a in stored["attempts"]] == \
        [(n["node_id"], n["outcome"]) for n in report["nodes"]]
    bar, = recording_bar
    assert (bar.length, bar.label, bar.file) == (2, "harvesting", sys.stderr)
    assert bar.entered and bar.exited
    assert [steps for steps, _ in bar.updates] == [1, 1]
    assert all(isinstance(item, Outcome) for _, item in bar.updates)
    assert sorted(item.node_id for _, item in bar.updates) == ["node-lb", "node-ma"]
    assert {item.node_id: item.outcome for _, item in bar.updates} == \
        {n["node_id"]: n["outcome"] for n in report["nodes"]}
    # The counts shown grow with each node done (in the order the fetches finish).
    assert bar.shown[0] in ("0 new, 1 not modified, 0 failed", "0 new, 0 not modified, 1 failed")
    assert bar.shown[-1] == "0 new, 1 not modified, 1 failed"


def test_harvest_with_progress_due_and_named_nodes(harvested_hub, recording_bar, monkeypatch):
    hub, servers = harvested_hub
    servers["node-ma"].stop()
    hub.harvester.harvest()  # node-ma fails and backs off
    make_due(hub, "node-lb")  # node-lb's scheduled fetch is now
    calls = spy_harvest(monkeypatch, hub.harvester)

    report = cli._harvest_with_progress(hub.harvester, None, True)
    assert calls[-1][1]["due_only"] is True and calls[-1][2] is report
    assert [n["node_id"] for n in report["nodes"]] == ["node-lb"]
    bar = recording_bar[-1]
    assert bar.length == 1 and [item.node_id for _, item in bar.updates] == ["node-lb"]

    report = cli._harvest_with_progress(hub.harvester, ["node-ma"], False)
    assert [n["node_id"] for n in report["nodes"]] == ["node-ma"]
    bar = recording_bar[-1]
    assert bar.length == 1 and bar.shown == ["0 new, 0 not modified, 1 failed"] and bar.exited

    # No node at all: the bar still has a length, and is closed.
    hub.nodes.set_status("node-lb", "paused")
    report = cli._harvest_with_progress(hub.harvester, None, True)
    assert report["nodes"] == []
    bar = recording_bar[-1]
    assert bar.length == 1 and bar.updates == [] and bar.entered and bar.exited


def test_harvest_with_progress_closes_the_bar_on_error(harvested_hub, recording_bar, monkeypatch):
    hub, _servers = harvested_hub

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    # every outcome is recorded through _record_attempt (one at a time, or not-modified ones in batches)
    monkeypatch.setattr(hub.harvester.storage, "_record_attempt", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        cli._harvest_with_progress(hub.harvester, None, False)
    bar, = recording_bar
    assert bar.entered and bar.exited


def test_harvest_with_progress_draws_a_real_bar(harvested_hub):
    hub, _servers = harvested_hub

    class TTY(io.StringIO):
        def isatty(self):
            return True

    stream = TTY()
    original = sys.stderr
    sys.stderr = stream
    try:
        report = cli._harvest_with_progress(hub.harvester, None, False)
    finally:
        sys.stderr = original
    drawn = stream.getvalue()
    assert "harvesting" in drawn
    assert "2 not modified" in drawn and "100%" in drawn
    assert report["counts"]["not_modified"] == 2


def test_hub_harvest_on_a_tty_uses_the_progress_bar(runner, hub_instance, federation, monkeypatch):
    """On a TTY, `hub harvest` draws the bar on stderr and prints the same summary on stdout."""
    used = []
    real = cli._harvest_with_progress

    def tracking(harvester, node_ids, due):
        used.append((node_ids, due))
        return real(harvester, node_ids, due)

    class TTY(io.StringIO):
        def isatty(self):
            return True

    fake_sys = types.SimpleNamespace(stderr=TTY(), exit=sys.exit)
    monkeypatch.setattr(cli, "sys", fake_sys)
    monkeypatch.setattr(cli, "_harvest_with_progress", tracking)
    federation["node-ma"].stop()
    hub = Hub.build(hub_instance)
    make_due(hub, "node-lb")
    make_due(hub, "node-ma")
    result = run(runner, hub_instance, "harvest", "--due", code=1)
    assert used == [(None, True)]
    assert rows_of(result.output, "node-lb") == [["node-lb", "not_modified", "304"]]
    assert rows_of(result.output, "node-ma")[0][:2] == ["node-ma", "failed"]
    assert "harvesting" in fake_sys.stderr.getvalue()
    assert "harvesting" not in result.output
