"""Harvest over real HTTP on 127.0.0.1: versions, conditional fetches, failure modes, trust (signatures, identity,
key rotation and refresh, withdrawal, SSRF), pausing and concurrency.

Well-behaved nodes are real node apps (``make_node`` + ``serve``). Misbehaving nodes are the small servers of
tests/support/fake_node.py (``fake_node``, ``silent_node``), whose profile behaviours for each failure are defined
here.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zlib
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text

from connectors.http_fetch import DISCOVERY_PATH, SIGNATURE_HEADER
from federation.errors import Conflict, NotFound, ValidationError
from federation.hub.models import FetchAttempt, HarvestRun, MetaClusterRow, NodeKey, NodeRecord, ProfileVersion
from federation.hub.verify import verify_versions
from federation.signing import public_jwk, signature_kid, thumbprint, verify_document
from tests.support.builders import AGRI_CODES, big_profile_bytes, cluster_doc, load_node, member_doc, profile_bytes
from tests.support.environment import TEST_SETTINGS, harvest_settings
from tests.support.fake_node import FakeHandler, FakeNode, send, serve_json
from tests.support.hub_state import by_node, cluster_entry, metacluster_state, version_count, versions
from tests.support.nodes import real_node
from tests.support.servers import closed_port_url
from tests.support.waiting import poll_until, wait_until

TIMEOUT_S = TEST_SETTINGS["harvest"]["timeout_s"]
#: A failing fetch must end within the harvest timeout plus this much (set-up, validation, storing).
MARGIN_S = 2.5


def gzip_bomb(megabytes: int = 50) -> bytes:
    """``megabytes`` MB of zeros, gzip-compressed (about a thousand times smaller)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(megabytes)]
    parts.append(compressor.flush())
    return b"".join(parts)


def registered_then_vanished(hub, node_id: str, url: str) -> None:
    """A node the hub registered while it answered, which has since gone away (no key needed: it never answers)."""
    with hub.db.session() as session:
        session.add(NodeRecord(id=node_id, url=url, status="active", registered_at=datetime.now(timezone.utc),
                               consecutive_failures=0, cluster_id=node_id, country="LB"))


# -- profile behaviours ------------------------------------------------------------------------------------------

def serve_with_changing_etag(body: bytes) -> Callable[[FakeHandler], None]:
    """Ignores If-None-Match and sends a new ETag every time, with the same body."""
    counter = iter(range(1, 10_000))

    def behaviour(h: FakeHandler) -> None:
        h.send_body(200, body, "application/json", {"ETag": f'"e{next(counter)}"'})

    return behaviour


def hang(h: FakeHandler) -> None:
    h.server.stopping.wait(30)


def slow_drip(chunked: bool) -> Callable[[FakeHandler], None]:
    """A valid profile sent 40 bytes every 0.1 s, so that the whole body takes three times the timeout: every read
    gets data well within the read timeout, only the deadline of the whole fetch can stop it."""
    step, pause = 40, 0.1
    body = big_profile_bytes(int(3 * TIMEOUT_S / pause) * step)

    def behaviour(h: FakeHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for start in range(0, len(body), step):
            if h.server.stopping.wait(pause):
                return
            piece = body[start:start + step]
            h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            h.wfile.write(b"0\r\n\r\n")

    return behaviour


def truncated(h: FakeHandler) -> None:
    body = profile_bytes()
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body) + 5000))
    h.end_headers()
    h.wfile.write(body[:200])
    h.close_connection = True


def chunked(body: bytes, size: int = 1000) -> Callable[[FakeHandler], None]:
    def behaviour(h: FakeHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for start in range(0, len(body), size):
            piece = body[start:start + size]
            h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        h.wfile.write(b"0\r\n\r\n")

    return behaviour


def gzip_body(body: bytes) -> Callable[[FakeHandler], None]:
    return lambda h: h.send_body(200, body, "application/json", {"Content-Encoding": "gzip"})


def with_version(version: str) -> bytes:
    document = json.loads(profile_bytes(sequence=2))
    document["version"] = version
    return json.dumps(document).encode()


# -- helpers -----------------------------------------------------------------------------------------------------

class Federation:
    """A hub with a real node ("qoot", LB) and a switchable fake node ("menara", MA), harvested once."""

    def __init__(self, make_node, make_hub, serve, fake_node, hub_overrides: dict | None = None):
        self.node_app, self.node_url = real_node(make_node, serve)
        self.good_body = profile_bytes()
        self.fake = fake_node(serve_json(self.good_body, etag='"menara-1"'))
        self.hub = make_hub(overrides=hub_overrides)
        self.hub.nodes.register("qoot", self.node_url)
        self.hub.nodes.register("menara", self.fake.url)
        report = self.hub.harvester.harvest()
        assert {n: r["outcome"] for n, r in by_node(report).items()} == {"qoot": "new_version",
                                                                         "menara": "new_version"}
        assert self.hub.queries.metacluster("mc-agri-food")["formed"] is True

    def snapshot(self) -> dict:
        return {"versions": version_count(self.hub),
                "menara_members": self.hub.queries.cluster_members("menara"),
                "qoot_members": self.hub.queries.cluster_members("qoot"),
                "clusters": [{k: v for k, v in c.items()} for c in self.hub.queries.clusters()],
                "metaclusters": metacluster_state(self.hub)}


# -- versions and conditional fetches ----------------------------------------------------------------------------

def test_first_harvest_stores_exact_bytes_then_304_is_not_modified(backend, make_node, make_hub, serve):
    qoot, qoot_url = real_node(make_node, serve, "qoot", "LB")
    menara, menara_url = real_node(make_node, serve, "menara", "MA")
    hub = make_hub()
    hub.nodes.register("qoot", qoot_url)
    hub.nodes.register("menara", menara_url)

    report = hub.harvester.harvest()
    assert report["counts"] == {"new_version": 2, "not_modified": 0, "unchanged": 0, "failed": 0}
    assert report["aggregated"] is True
    for node_id, app, url in (("qoot", qoot, qoot_url), ("menara", menara, menara_url)):
        served = requests.get(url + "/api/v1/profile", timeout=5, auth=hub.harvester.client.auth)  # as the hub
        assert served.status_code == 200
        assert served.content == app.extensions["medmci"].service.publication("federation").body
        stored = versions(hub, node_id)
        assert len(stored) == 1
        assert stored[0].body == served.content
        assert stored[0].sha256 == hashlib.sha256(served.content).hexdigest()
        assert stored[0].etag == served.headers["ETag"]
        assert stored[0].sequence == json.loads(served.content)["sequence"]
        assert hub.queries.version_body(node_id, stored[0].id) == (served.content, stored[0].sha256)
        # kept with the node's detached JWS, which still verifies the stored bytes (hub verify)
        keys = app.extensions["medmci"].keys
        assert stored[0].kid == keys.current[0] == signature_kid(served.headers[SIGNATURE_HEADER])
        header = verify_document(stored[0].body, stored[0].signature, keys.public_keys(), max_age_s=None,
                                 expected_htu=url + "/api/v1/profile", expected_sub=node_id)
        assert header["kid"] == stored[0].kid
    assert [r["status"] for r in verify_versions(hub.db)] == ["ok", "ok"]
    assert hub.queries.metacluster("mc-agri-food")["countries"] == ["LB", "MA"]
    before = metacluster_state(hub)

    again = hub.harvester.harvest()
    assert again["counts"] == {"new_version": 0, "not_modified": 2, "unchanged": 0, "failed": 0}
    assert all(n["http_status"] == 304 for n in again["nodes"])
    assert again["aggregated"] is False
    assert version_count(hub) == {"qoot": 1, "menara": 1}
    assert metacluster_state(hub) == before  # not formed again: same documents, same computed_at
    run = hub.queries.run(again["run_id"])
    assert run["aggregated"] is False
    assert {a["node_id"]: (a["outcome"], a["version_id"]) for a in run["attempts"]} == {
        "qoot": ("not_modified", None), "menara": ("not_modified", None)}


@pytest.mark.parametrize("behaviour", ["no_etag", "changing_etag"])
def test_node_ignoring_validators_is_unchanged_by_content_hash(backend, behaviour, make_node, make_hub, serve,
                                                                fake_node):
    _app, qoot_url = real_node(make_node, serve)
    body = profile_bytes()
    fake = fake_node(serve_json(body) if behaviour == "no_etag" else serve_with_changing_etag(body))
    hub = make_hub()
    hub.nodes.register("qoot", qoot_url)
    hub.nodes.register("menara", fake.url)
    assert hub.harvester.harvest()["counts"]["new_version"] == 2
    before = metacluster_state(hub)

    report = hub.harvester.harvest()
    menara = by_node(report)["menara"]
    assert menara["outcome"] == "unchanged"
    assert menara["http_status"] == 200
    assert by_node(report)["qoot"]["outcome"] == "not_modified"
    assert report["aggregated"] is False
    assert version_count(hub) == {"qoot": 1, "menara": 1}
    assert versions(hub, "menara")[0].body == body
    assert metacluster_state(hub) == before
    profile_requests = [headers for path, headers in fake.requests if path == FakeNode.PROFILE_PATH]
    assert len(profile_requests) == 2
    if behaviour == "changing_etag":
        assert profile_requests[1].get("If-None-Match") == '"e1"'  # the hub asked; the node ignored it
    node = hub.nodes.get("menara")
    assert node["last_outcome"] == "unchanged" and node["consecutive_failures"] == 0


def test_change_at_node_yields_new_version_and_new_metaclusters(backend, make_node, make_hub, serve):
    qoot, qoot_url = real_node(make_node, serve, "qoot", "LB")
    _menara, menara_url = real_node(make_node, serve, "menara", "MA")
    hub = make_hub()
    hub.nodes.register("qoot", qoot_url)
    hub.nodes.register("menara", menara_url)
    hub.harvester.harvest()
    assert cluster_entry(hub, "agri-food", "qoot")["members_on_chain"] == 3
    first = versions(hub, "qoot")[0]

    qoot.extensions["medmci"].service.create_member(member_doc("qoot-new", "nace-rev2:10.51", name="New Dairy"))
    report = hub.harvester.harvest()
    assert by_node(report)["qoot"]["outcome"] == "new_version"
    assert by_node(report)["qoot"]["http_status"] == 200
    assert by_node(report)["menara"]["outcome"] == "not_modified"
    assert report["aggregated"] is True

    listed = hub.queries.versions("qoot")
    assert len(listed) == 2
    assert listed[0]["id"] == first.id
    assert listed[1]["sequence"] > listed[0]["sequence"]
    assert listed[1]["sha256"] != listed[0]["sha256"]
    latest = versions(hub, "qoot")[1]
    assert latest.body == qoot.extensions["medmci"].service.publication("federation").body
    assert versions(hub, "qoot")[0].body == first.body  # append-only: the old version is untouched
    assert len(hub.queries.versions("menara")) == 1
    assert "qoot-new" in {m["id"] for m in hub.queries.cluster_members("qoot")}
    assert cluster_entry(hub, "agri-food", "qoot")["members_on_chain"] == 4
    mc = hub.queries.metacluster("mc-agri-food")
    assert "qoot-new" in {m["member_id"] for m in mc["members"]}


# -- failure modes: each keeps the last good version --------------------------------------------------------------

CAP = 5000
#: A new, valid body for the switchable node (the good one has sequence 1), and the same body altered after signing.
NEXT_BODY = profile_bytes(sequence=2)
TAMPERED_BODY = NEXT_BODY.replace(b'"Member menara-0"', b'"Member menara-X"')
assert TAMPERED_BODY != NEXT_BODY
#: A key no node publishes.
_stranger = Ed25519PrivateKey.generate()
STRANGER = (thumbprint(_stranger), _stranger)


def nested(depth: int):
    value: object = "bottom"
    for _ in range(depth - 1):
        value = [value]
    return value


def nested_discovery(depth: int = 100) -> Callable[[FakeHandler], None]:
    """A discovery document that is otherwise valid, with a member nested ``depth`` levels deep."""

    def behaviour(h: FakeHandler) -> None:
        document = {**h.server.discovery_document(), "extensions": nested(depth)}
        h.send_body(200, json.dumps(document).encode())

    return behaviour


FAILURES = {
    # name: (how the node turns bad, words of the reason, hub overrides, http_status)
    "down": ("stop", ["cannot connect", "connection refused"], None, None),
    "hangs": (hang, ["did not answer within 2 s"], None, None),
    "slow_drip": (slow_drip(chunked=False), ["longer than 2 s"], None, 200),
    "slow_drip_chunked": (slow_drip(chunked=True), ["longer than 2 s"], None, 200),
    "html": (send(200, b"<html><body>Maintenance</body></html>", "text/html; charset=utf-8"),
             ["text/html", "not JSON"], None, 200),
    "http_500": (send(500, b'{"error": "boom"}'), ["HTTP 500"], None, 500),
    "http_404": (send(404, b'{"error": "no profile"}'), ["HTTP 404"], None, 404),
    "malformed_json": (send(200, b'{"schema": "med-mci/profile", "version": "1.0", "members": [}'),
                       ["invalid profile", "not valid JSON"], None, 200),
    "truncated": (truncated, ["cut off"], None, 200),
    "over_cap": (lambda h: h.send_body(200, big_profile_bytes(3 * CAP)), ["over the cap of 5000"],
                 harvest_settings(max_bytes=CAP), 200),
    "over_cap_chunked": (lambda h: chunked(big_profile_bytes(3 * CAP))(h), ["over the cap of 5000"],
                         harvest_settings(max_bytes=CAP), 200),
    "gzip_bomb": (None, ["over the cap of 1000000"], harvest_settings(max_decompressed_bytes=1_000_000), 200),
    "major_version_2": (send(200, with_version("2.0")), ["2.0", "not supported", "unsupported"], None, 200),
    "discovery_lists_only_2": ("discovery-2.0", ["2.0", "this hub reads 1.x"], None, 200),
    "unknown_activity_code": (send(200, profile_bytes(sequence=2, members=[
        member_doc("menara-0", AGRI_CODES[0]), member_doc("menara-x", "nace-rev2:99.99")])),
                              ["unknown codes", "menara-x", "99.99"], None, 200),
    "http_403_with_message": (send(403, b'{"code": "forbidden", "message": "this hub is not trusted here"}'),
                              ["HTTP 403", "this hub is not trusted here"], None, 403),
    "discovery_nested_100_deep": ("discovery-nested", ["nests deeper than"], None, 200),
    # identity: country and cluster id come from the registration, never from a document
    "cluster_of_another_node": (send(200, profile_bytes("qoot", "MA", sequence=2)),
                                ["refused (identity)", "claims cluster 'qoot'", "registered for 'menara'"], None,
                                200),
    "country_of_another_node": (send(200, profile_bytes("menara", "LB", sequence=2)),
                                ["refused (identity)", "says country LB", "registered in MA"], None, 200),
    # trust: every new document must carry a fresh detached JWS by a key the hub trusts for the node
    "unsigned": (lambda h: h.send_body(200, NEXT_BODY, signature=None), ["refused (signature)", "unsigned"], None,
                 200),
    "tampered": (lambda h: h.send_body(200, TAMPERED_BODY, signature=h.server.signature_for(NEXT_BODY)),
                 ["refused (signature)", "signature does not match"], None, 200),
    "replayed": (lambda h: h.send_body(200, NEXT_BODY, signature=h.server.signature_for(
        NEXT_BODY, created=int(time.time()) - 3600)), ["refused (signature)", "signature too old", "replayed?"],
                 None, 200),
    "wrong_key": (lambda h: h.send_body(200, NEXT_BODY, signature=h.server.signature_for(NEXT_BODY, key=STRANGER)),
                  ["refused (signature)", f"unknown key id {STRANGER[0]}"], None, 200),
    "forged_under_the_nodes_kid": (lambda h: h.send_body(200, NEXT_BODY, signature=h.server.signature_for(
        NEXT_BODY, key=(h.server.keys.current[0], STRANGER[1]))), ["refused (signature)", "signature does not match"],
                                   None, 200),
    "signed_for_another_url": (lambda h: h.send_body(200, NEXT_BODY, signature=h.server.signature_for(
        NEXT_BODY, htu=h.server.url + "/api/v1/another-profile")), ["refused (signature)", "signed for another URL"],
                               None, 200),
    "signed_for_another_cluster": (lambda h: h.send_body(200, NEXT_BODY, signature=h.server.signature_for(
        NEXT_BODY, sub="qoot")), ["refused (signature)", "signed for another cluster"], None, 200),
}


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(50)


@pytest.mark.parametrize("failure", list(FAILURES))
def test_failure_is_recorded_and_last_good_version_kept(backend, failure, make_node, make_hub, serve, fake_node,
                                                       bomb):
    turn_bad, words, overrides, status = FAILURES[failure]
    fed = Federation(make_node, make_hub, serve, fake_node, overrides)
    if failure == "gzip_bomb":
        assert len(bomb) < 1_000_000  # small on the wire; 50 MB once inflated
        turn_bad = gzip_body(bomb)
    before = fed.snapshot()
    good_version = versions(fed.hub, "menara")[0]

    if turn_bad == "stop":
        fed.fake.stop()
    elif turn_bad == "discovery-2.0":
        fed.fake.discovery_versions = ["2.0"]
    elif turn_bad == "discovery-nested":
        fed.fake.discovery = nested_discovery(100)
    else:
        fed.fake.profile = turn_bad
    started = time.monotonic()
    failed_from = datetime.now(timezone.utc)
    report = fed.hub.harvester.harvest()
    failed_until = datetime.now(timezone.utc)
    elapsed = time.monotonic() - started

    assert elapsed < TIMEOUT_S + MARGIN_S, f"harvest took {elapsed:.1f} s"
    outcomes = by_node(report)
    menara = outcomes["menara"]
    assert menara["outcome"] == "failed", menara
    for word in words:
        assert word in menara["reason"], (word, menara["reason"])
    if status is not None:
        assert menara["http_status"] == status
    assert report["counts"]["failed"] == 1
    # the other node in the same run is unaffected
    assert outcomes["qoot"]["outcome"] == "not_modified"
    assert outcomes["qoot"]["reason"] is None
    # the last good version is kept: same versions, same current view, same meta-clusters (not formed again);
    # the failing node's cluster is only marked stale, from the time of the failure
    assert report["aggregated"] is False
    after = fed.snapshot()
    assert [c["stale_since"] for c in before["clusters"]] == [None, None]
    stale = {c["node_id"]: c.pop("stale_since") for c in after["clusters"]}
    # Freshness moves with the fetch: its last successful fetch, and the failing node ageing (failing for 0 days).
    freshness = {c["node_id"]: c.pop("freshness") for c in after["clusters"]}
    for c in before["clusters"]:
        del c["stale_since"], c["freshness"]
    assert after == before
    assert freshness["menara"]["state"] == "ageing" and freshness["qoot"]["state"] == "fresh"
    assert stale["qoot"] is None
    assert stale["menara"] is not None and failed_from <= stale["menara"] <= failed_until
    kept = versions(fed.hub, "menara")
    assert [(v.id, v.body, v.sha256) for v in kept] == [(good_version.id, fed.good_body, good_version.sha256)]
    assert fed.hub.queries.metacluster("mc-agri-food")["countries"] == ["LB", "MA"]
    node = fed.hub.nodes.get("menara")
    assert node["last_outcome"] == "failed"
    assert node["last_error"] == menara["reason"]
    assert node["consecutive_failures"] == 1
    assert node["last_success_at"] is not None
    run = fed.hub.queries.run(report["run_id"])
    attempt = next(a for a in run["attempts"] if a["node_id"] == "menara")
    assert (attempt["outcome"], attempt["reason"], attempt["version_id"]) == ("failed", menara["reason"], None)
    # stale since the failure itself: the attempt's end, which is also the node's last attempt
    assert stale["menara"] == attempt["finished_at"] == node["last_attempt_at"]
    # health: degraded after one failure, retried after the base delay, spread by the jitter
    base = fed.hub.settings.get("health.backoff_base_s")
    jitter = fed.hub.settings.get("health.backoff_jitter")
    assert node["health"] == "degraded"
    assert node["first_failure_at"] == node["last_attempt_at"]
    assert node["next_attempt_at"] > failed_until
    delay = (node["next_attempt_at"] - node["last_attempt_at"]).total_seconds()
    assert base * (1 - jitter) - 0.001 <= delay <= base * (1 + jitter) + 0.001, delay
    # the other node is healthy: its next attempt one scheduling interval after this good one
    qoot = fed.hub.nodes.get("qoot")
    assert (qoot["health"], qoot["consecutive_failures"]) == ("ok", 0)
    assert qoot["next_attempt_at"] == qoot["last_attempt_at"] + timedelta(
        seconds=fed.hub.settings.get("harvest.interval_s"))
    # Documents refused for their signature or identity are in the audit log, with the hash of what was served.
    refused = fed.hub.audit.events("document.refused")
    if menara["reason"].startswith("refused ("):
        assert [(e["node_id"], e["details"]["reason"]) for e in refused] == [("menara", menara["reason"])]
        assert len(refused[0]["details"]["sha256"]) == 64
        assert refused[0]["details"]["sha256"] not in (good_version.sha256, None)
        assert refused[0]["details"]["errors"] == attempt["details"]
    else:
        assert refused == []
    if menara["reason"].startswith("refused (signature)"):
        assert list(attempt["details"]) == ["signature"]
    if failure == "cluster_of_another_node":
        assert attempt["details"] == {"cluster": {"id": ["not this node's cluster"]}}
        assert fed.hub.queries.cluster_members("qoot") == before["qoot_members"]
    if failure == "country_of_another_node":
        assert attempt["details"] == {"cluster": {"country": ["not the registered country"]}}


def test_failure_in_a_run_where_another_node_changes(backend, make_node, make_hub, serve, fake_node):
    """A failing node keeps its members in the meta-cluster formed again because another node changed."""
    fed = Federation(make_node, make_hub, serve, fake_node)
    menara_members = fed.hub.queries.cluster_members("menara")
    fed.fake.profile = send(500, b"{}")
    fed.node_app.extensions["medmci"].service.create_member(member_doc("qoot-new", "nace-rev2:10.51"))

    report = fed.hub.harvester.harvest()
    assert {n: r["outcome"] for n, r in by_node(report).items()} == {"qoot": "new_version", "menara": "failed"}
    assert report["aggregated"] is True
    assert version_count(fed.hub) == {"qoot": 2, "menara": 1}
    assert fed.hub.queries.cluster_members("menara") == menara_members
    assert cluster_entry(fed.hub, "agri-food", "menara")["members_on_chain"] == 3
    assert cluster_entry(fed.hub, "agri-food", "qoot")["members_on_chain"] == 4


def test_node_recovers_after_failures(backend, make_node, make_hub, serve, fake_node):
    fed = Federation(make_node, make_hub, serve, fake_node)
    fed.fake.profile = send(503, b"{}")
    fed.hub.harvester.harvest()
    fed.hub.harvester.harvest()
    assert fed.hub.nodes.get("menara")["consecutive_failures"] == 2

    fed.fake.profile = serve_json(fed.good_body, etag='"menara-1"')
    report = fed.hub.harvester.harvest()
    assert by_node(report)["menara"]["outcome"] == "not_modified"
    node = fed.hub.nodes.get("menara")
    assert (node["last_outcome"], node["last_error"], node["consecutive_failures"]) == ("not_modified", None, 0)
    assert version_count(fed.hub) == {"qoot": 1, "menara": 1}


def test_unreachable_nodes_fail_within_the_timeout_and_others_are_harvested(backend, make_node, make_hub, serve,
                                                                            silent_node):
    _app, qoot_url = real_node(make_node, serve)
    silent = silent_node()
    down_url = closed_port_url()
    hub = make_hub()
    hub.nodes.register("qoot", qoot_url)
    for node_id, url in (("down", down_url), ("silent", silent.url)):
        with pytest.raises(ValidationError, match="cannot read the node's discovery document"):
            hub.nodes.register(node_id, url)  # registration itself needs the node's signed discovery
        registered_then_vanished(hub, node_id, url)

    started = time.monotonic()
    report = hub.harvester.harvest()
    elapsed = time.monotonic() - started

    assert elapsed < TIMEOUT_S + MARGIN_S, f"harvest took {elapsed:.1f} s"
    outcomes = by_node(report)
    assert outcomes["qoot"]["outcome"] == "new_version"
    assert outcomes["down"]["outcome"] == "failed"
    assert "cannot connect" in outcomes["down"]["reason"]
    assert "connection refused" in outcomes["down"]["reason"]
    assert down_url in outcomes["down"]["reason"]
    assert outcomes["silent"]["outcome"] == "failed"
    assert "did not answer within 2 s" in outcomes["silent"]["reason"]
    assert silent.accepted, "the silent node should have accepted the connection"
    assert report["counts"] == {"new_version": 1, "not_modified": 0, "unchanged": 0, "failed": 2}
    assert version_count(hub) == {"qoot": 1}
    for node_id in ("down", "silent"):
        assert hub.queries.versions(node_id) == []
        node = hub.nodes.get(node_id)
        assert (node["last_outcome"], node["consecutive_failures"], node["last_success_at"]) == ("failed", 1, None)
    assert [c["id"] for c in hub.queries.clusters()] == ["qoot"]


def test_a_new_node_cannot_take_a_published_cluster_id(backend, make_node, make_hub, serve, fake_node):
    _app, qoot_url = real_node(make_node, serve)
    claims_qoot = fake_node(serve_json(profile_bytes("qoot", "MA")), "qoot", "MA")
    impostor = fake_node(serve_json(profile_bytes("qoot", "MA")), "impostor", "MA")
    hub = make_hub()
    hub.nodes.register("qoot", qoot_url)
    hub.harvester.harvest()
    qoot_members = hub.queries.cluster_members("qoot")
    with pytest.raises(Conflict, match="cluster 'qoot' has a node already"):
        hub.nodes.register("qoot-2", claims_qoot.url)
    hub.nodes.register("impostor", impostor.url)  # registered as cluster "impostor", then serves qoot's profile

    report = hub.harvester.harvest()
    outcome = by_node(report)["impostor"]
    assert outcome["outcome"] == "failed"
    assert outcome["reason"] == ("refused (identity): the document claims cluster 'qoot'; node 'impostor' is "
                                 "registered for 'impostor'")
    assert [e["details"]["reason"] for e in hub.audit.events("document.refused", "impostor")] == [outcome["reason"]]
    assert by_node(report)["qoot"]["outcome"] == "not_modified"
    assert version_count(hub) == {"qoot": 1}
    assert hub.queries.cluster_members("qoot") == qoot_members
    assert [(c["id"], c["node_id"], c["country"]) for c in hub.queries.clusters()] == [("qoot", "qoot", "LB")]


# -- registration binds the node's identity ----------------------------------------------------------------------

def test_registration_reads_the_nodes_signed_discovery(backend, make_node, make_hub, serve, fake_node):
    """A node is registered with the cluster, country and keys of its own signed discovery document."""
    bare = make_node("bare")  # no cluster yet: nothing to bind
    bare_url = serve(bare).url
    unsigned = fake_node(serve_json(profile_bytes()), "menara", "MA")
    unsigned.sign_discovery = False
    node = fake_node(serve_json(profile_bytes()), "menara", "MA")
    hub = make_hub()

    with pytest.raises(ValidationError, match="publishes no cluster yet"):
        hub.nodes.register("bare", bare_url)
    with pytest.raises(ValidationError) as info:  # the node's document is at fault: 422, not 401
        hub.nodes.register("menara", unsigned.url)
    assert type(info.value) is ValidationError
    assert info.value.message.startswith("the node's discovery document is not signed by its own keys")
    assert info.value.message.endswith("unsigned")
    with pytest.raises(ValidationError, match="the node says its cluster is in MA, not LB"):
        hub.nodes.register("menara", node.url, country="LB")
    assert hub.nodes.list() == []

    registered = hub.nodes.register("menara", node.url, country="MA")
    assert (registered["cluster_id"], registered["country"], registered["status"]) == ("menara", "MA", "active")
    kid = node.keys.current[0]
    with hub.db.session() as session:
        assert [(k.kid, k.status, k.not_after) for k in session.scalars(select(NodeKey))] == [(kid, "active", None)]
    event, = hub.audit.events("node.registered", "menara")
    assert event["details"]["keys"] == [kid] and event["details"]["cluster_id"] == "menara"
    assert [e["details"]["kid"] for e in hub.audit.events("key.added", "menara")] == [kid]
    report = hub.harvester.harvest()
    assert by_node(report)["menara"]["outcome"] == "new_version"
    stored, = versions(hub, "menara")
    assert stored.kid == kid and signature_kid(stored.signature) == kid


def test_a_relative_profile_url_in_discovery_is_resolved(backend, make_hub, fake_node):
    """Discovery may name the profile relative to itself; the hub fetches (and checks the signature for) the
    absolute URL."""
    fake = fake_node(serve_json(profile_bytes()))
    fake.relative_profile_url = True
    hub = make_hub()
    hub.nodes.register("menara", fake.url)
    report = hub.harvester.harvest()
    assert by_node(report)["menara"]["outcome"] == "new_version", by_node(report)["menara"]["reason"]
    assert hub.nodes.get("menara")["profile_url"] == fake.profile_url


def test_the_hub_reads_federation_members_only_from_a_node_that_trusts_it(backend, make_node, make_hub, serve):
    """A node serves its federation members (and the contact fields shared with the federation) to a request the
    hub signed with a key the node trusts; private members and private contact fields never leave the node."""
    app = make_node("qoot", trust_hub=False)
    contact = {"email": "info@qoot-0.example.org", "phone": "+961 1 234 567", "person": "Rima"}
    load_node(app, cluster_doc("qoot", "LB"), [
        member_doc("qoot-0", AGRI_CODES[0], visibility="public", contact=contact,
                   contact_visibility={"email": "public", "phone": "federation", "person": "private"}),
        member_doc("qoot-1", AGRI_CODES[1], visibility="federation"),
        member_doc("qoot-2", AGRI_CODES[2], visibility="private", contact={"email": "secret@example.org"},
                   contact_visibility={"email": "public"})])
    hub = make_hub()
    hub.nodes.register("qoot", serve(app).url)

    # The node does not know the hub's key yet: it refuses the signed request, naming the key (it no longer answers
    # with the public document, which the hub would take for the whole federation audience).
    failed = by_node(hub.harvester.harvest())["qoot"]
    assert (failed["outcome"], failed["http_status"]) == ("failed", 401)
    assert f"unknown key id {hub.keys.current[0]}" in failed["reason"]
    assert versions(hub, "qoot") == []

    app.extensions["medmci"].hubs.trust("http://hub.example.org", hub.keys.published())
    report = hub.harvester.harvest()
    assert by_node(report)["qoot"]["outcome"] == "new_version"
    shared = hub.queries.cluster_members("qoot")
    assert [(m["id"], m["audience"]) for m in shared] == [("qoot-0", "public"), ("qoot-1", "federation")]
    assert shared[0]["contact"]["phone"] == contact["phone"] and not shared[0]["contact"].get("person")
    assert [m["id"] for m in hub.queries.cluster_members("qoot", federation=False)] == ["qoot-0"]
    assert versions(hub, "qoot")[-1].body == app.extensions["medmci"].service.publication("federation").body
    for version in versions(hub, "qoot"):
        assert b"qoot-2" not in version.body and b"secret@" not in version.body and b"Rima" not in version.body


# -- trust: keys, rotation, refresh ------------------------------------------------------------------------------

def node_keys(hub, node_id: str) -> dict[str, tuple[str, datetime | None]]:
    with hub.db.session() as session:
        return {k.kid: (k.status, k.not_after)
                for k in session.scalars(select(NodeKey).where(NodeKey.node_id == node_id))}


def keys_refreshed_at(hub, node_id: str) -> datetime | None:
    with hub.db.session() as session:
        return session.get(NodeRecord, node_id).keys_refreshed_at


def test_key_rotation_at_a_real_node_is_learned_from_its_signed_discovery(backend, make_node, make_hub, serve):
    app, url = real_node(make_node, serve)
    node = app.extensions["medmci"]
    hub = make_hub()
    hub.nodes.register("qoot", url)
    old_kid = node.keys.current[0]
    assert by_node(hub.harvester.harvest())["qoot"]["outcome"] == "new_version"

    new_kid = node.keys.rotate()
    assert new_kid != old_kid
    node.service.create_member(member_doc("qoot-new", "nace-rev2:10.51"))
    before = datetime.now(timezone.utc)
    report = hub.harvester.harvest()
    after = datetime.now(timezone.utc)

    assert by_node(report)["qoot"]["outcome"] == "new_version", by_node(report)["qoot"]["reason"]
    first, second = versions(hub, "qoot")
    assert (first.kid, second.kid) == (old_kid, new_kid)
    assert signature_kid(second.signature) == new_kid
    assert "qoot-new" in {m["id"] for m in hub.queries.cluster_members("qoot")}
    # the new key came from the discovery document the old key signed; the old one retires after the grace period
    assert [(e["details"]["kid"], e["actor"]) for e in hub.audit.events("key.added", "qoot")] == [
        (new_kid, "node:qoot"), (old_kid, "operator")]
    retiring, = hub.audit.events("key.retiring", "qoot")
    assert retiring["details"]["kid"] == old_kid
    keys = node_keys(hub, "qoot")
    assert keys[new_kid] == ("active", None)
    status, not_after = keys[old_kid]
    assert status == "retiring"
    assert before + timedelta(days=7) <= not_after <= after + timedelta(days=7)  # trust.key_grace_days default
    assert hub.audit.events("document.refused") == []
    assert [(r["kid"], r["status"]) for r in verify_versions(hub.db, "qoot")] == [(old_kid, "ok"), (new_kid, "ok")]

    # the new key is trusted now: the next version needs no refresh
    refreshed = keys_refreshed_at(hub, "qoot")
    assert refreshed is not None
    node.service.create_member(member_doc("qoot-newer", "nace-rev2:10.51"))
    assert by_node(hub.harvester.harvest())["qoot"]["outcome"] == "new_version"
    assert versions(hub, "qoot")[-1].kid == new_kid
    assert keys_refreshed_at(hub, "qoot") == refreshed


def test_a_retired_key_is_accepted_during_its_grace_period_then_refused(backend, make_hub, fake_node):
    """A node that still signs with its rotated-out key: accepted while the key is retiring (trust.key_grace_days),
    refused once the grace period has ended; the last good version is kept."""
    fake = fake_node(serve_json(profile_bytes(sequence=1)))
    grace_days = 0.0001  # 8.64 s
    hub = make_hub(overrides={"trust": {"key_grace_days": grace_days}})
    hub.nodes.register("menara", fake.url)
    old_kid = fake.keys.current[0]
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version"

    new_kid = fake.keys.rotate()
    fake.profile = serve_json(profile_bytes(sequence=2))
    before = datetime.now(timezone.utc)
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version"
    after = datetime.now(timezone.utc)
    status, not_after = node_keys(hub, "menara")[old_kid]
    assert status == "retiring"
    grace = timedelta(days=grace_days)  # the hub's setting
    assert before + grace <= not_after <= after + grace

    fake.signing_kid = old_kid  # still within the grace period
    fake.profile = serve_json(profile_bytes(sequence=3))
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version"
    assert [v.kid for v in versions(hub, "menara")] == [old_kid, new_kid, old_kid]

    with hub.db.session() as session:  # the grace period ends
        session.get(NodeKey, ("menara", old_kid)).not_after = datetime.now(timezone.utc) - timedelta(seconds=1)
    fake.profile = serve_json(profile_bytes(sequence=4))
    report = hub.harvester.harvest()
    menara = by_node(report)["menara"]
    assert menara["outcome"] == "failed"
    assert menara["reason"].startswith(f"refused (signature): key {old_kid} was retired; its grace period ended")
    assert [v.sequence for v in versions(hub, "menara")] == [1, 2, 3]
    assert hub.queries.clusters()[0]["version_id"] == versions(hub, "menara")[-1].id
    refused, = hub.audit.events("document.refused", "menara")
    assert refused["details"]["reason"] == menara["reason"]
    assert keys_refreshed_at(hub, "menara") is not None  # set by the rotation, not touched by a retired key

    fake.signing_kid = None  # the current key still works
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version"
    assert [v.kid for v in versions(hub, "menara")][-1] == new_kid


def test_unknown_keys_refresh_the_nodes_keys_at_most_once_per_interval(backend, make_hub, fake_node):
    """A storm of documents signed with an unknown key costs one discovery-based refresh per interval."""
    fake = fake_node(serve_json(profile_bytes(sequence=1)))
    hub = make_hub(overrides={"trust": {"key_refresh_interval_s": 60}})
    hub.nodes.register("menara", fake.url)
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version"
    assert keys_refreshed_at(hub, "menara") is None
    known = node_keys(hub, "menara")

    fake.signing_key = STRANGER  # a key the node does not publish (yet)
    fake.profile = serve_json(profile_bytes(sequence=2))
    first = by_node(hub.harvester.harvest())["menara"]
    assert (first["outcome"], first["reason"]) == ("failed", f"refused (signature): unknown key id {STRANGER[0]}")
    refreshed = keys_refreshed_at(hub, "menara")
    assert refreshed is not None

    # The node now publishes the key, but within the interval the hub does not look again.
    fake.extra_keys = [public_jwk(STRANGER[1].public_key(), status="current")]
    second = by_node(hub.harvester.harvest())["menara"]
    assert second["outcome"] == "failed"
    assert second["reason"] == (f"refused (signature): unknown key id {STRANGER[0]}; the hub last read this node's "
                                f"keys (or tried to) less than 60 s ago (trust.key_refresh_interval_s)")
    assert keys_refreshed_at(hub, "menara") == refreshed
    assert node_keys(hub, "menara") == known
    assert len(hub.audit.events("document.refused", "menara")) == 2

    with hub.db.session() as session:  # the interval has passed
        session.get(NodeRecord, "menara").keys_refreshed_at = refreshed - timedelta(seconds=61)
    third = by_node(hub.harvester.harvest())["menara"]
    assert third["outcome"] == "new_version", third["reason"]
    assert keys_refreshed_at(hub, "menara") > refreshed
    assert versions(hub, "menara")[-1].kid == STRANGER[0]
    assert node_keys(hub, "menara")[STRANGER[0]] == ("active", None)
    assert hub.audit.events("key.added", "menara")[0]["details"]["kid"] == STRANGER[0]


# -- withdrawal: the node owns its data ---------------------------------------------------------------------------

def test_withdrawn_members_are_purged_from_views_metaclusters_and_every_stored_version(backend, make_node, make_hub,
                                                                                       serve):
    qoot, qoot_url = real_node(make_node, serve, "qoot", "LB", members=4)
    _menara, menara_url = real_node(make_node, serve, "menara", "MA")
    service = qoot.extensions["medmci"].service
    hub = make_hub()
    hub.nodes.register("qoot", qoot_url)
    hub.nodes.register("menara", menara_url)
    hub.harvester.harvest()
    service.update_member("qoot-3", {**member_doc("qoot-3", AGRI_CODES[0], name="Renamed"), "visibility": "public"})
    hub.harvester.harvest()  # a second version, still with every member
    assert len(versions(hub, "qoot")) == 2
    withdrawn = {"qoot-1", "qoot-2"}
    mc = hub.queries.metacluster("mc-agri-food")
    assert withdrawn <= {m["id"] for m in hub.queries.cluster_members("qoot")}
    assert withdrawn <= {m["member_id"] for m in mc["members"]}

    service.update_member("qoot-1", {**member_doc("qoot-1", AGRI_CODES[1]), "visibility": "private"})
    service.delete_member("qoot-2")
    report = hub.harvester.harvest()

    assert by_node(report)["qoot"]["outcome"] == "new_version"
    assert {m["id"] for m in hub.queries.cluster_members("qoot")} == {"qoot-0", "qoot-3"}
    for metacluster in hub.queries.metaclusters(formed=None):
        assert not withdrawn & {m["member_id"] for m in metacluster["members"]}
        assert not withdrawn & {m for s in metacluster["sub_clusters"] for m in s["members"]}
        assert not withdrawn & {k["id"] for k in metacluster["knowledge_members"]}
        assert not any(member in json.dumps(metacluster) for member in withdrawn)
    with pytest.raises(NotFound):
        hub.queries.why("qoot", "qoot-1")
    stored = versions(hub, "qoot")
    assert len(stored) == 3
    for version in stored:
        body, sha256 = hub.queries.version_body("qoot", version.id)
        document = json.loads(body)  # still a document
        assert not withdrawn & {m["id"] for m in document["members"]}, version.id
        assert b"Member qoot-1" not in body and b"Member qoot-2" not in body, version.id
        assert b"qoot-0" in body
    first, second, current = stored
    for purged in (first, second):
        assert purged.redacted_at is not None and purged.redactions == ["qoot-1", "qoot-2"]
        assert purged.signature is not None  # kept as received
    assert current.redacted_at is None
    assert current.body == service.publication("federation").body
    # The node's signed document names what it withdrew (ids only): that is why the hub purged them.
    assert json.loads(current.body)["withdrawn"] == ["qoot-1", "qoot-2"]
    purge, = hub.audit.events("member.purged", "qoot")
    assert purge["details"] == {"member_ids": ["qoot-1", "qoot-2"], "versions": 2}
    assert hub.audit.events("member.purged", "menara") == []

    # hub verify: intact versions are ok, purged ones redacted, a body altered in the database fails
    assert {(r["node_id"], r["version_id"]): r["status"] for r in verify_versions(hub.db)} == {
        ("qoot", first.id): "redacted", ("qoot", second.id): "redacted", ("qoot", current.id): "ok",
        ("menara", versions(hub, "menara")[0].id): "ok"}
    with hub.db.session() as session:
        row = session.get(ProfileVersion, current.id)
        row.body = row.body.replace(b'"Member qoot-0"', b'"Member qoot-X"')
    rows = {r["version_id"]: r for r in verify_versions(hub.db, "qoot")}
    assert rows[current.id]["status"] == "failed"
    assert "signature does not match" in rows[current.id]["reason"]
    assert [rows[v.id]["status"] for v in (first, second)] == ["redacted", "redacted"]


# -- the hub reaches only the networks it is allowed to -----------------------------------------------------------

def redirect_to(location: str) -> Callable[[FakeHandler], None]:
    return lambda h: h.send_body(302, b"", None, {"Location": location})


def test_the_hub_refuses_internal_addresses_for_registration_and_harvest(backend, make_hub, fake_node):
    """With harvest.allow_networks ["127.0.0.2/32"], a node at 127.0.0.1 (however spelt), a private address or a
    metadata endpoint is never contacted, nor through a redirect from an allowed node."""
    target = fake_node(serve_json(profile_bytes("target", "LB")), "target", "LB")  # would register fine
    allowed = fake_node(serve_json(profile_bytes("qoot", "LB")), "qoot", "LB", host="127.0.0.2")
    hub = make_hub(overrides=harvest_settings(allow_networks=["127.0.0.2/32"]))
    port = target.server_address[1]
    refused = {
        f"http://127.0.0.1:{port}": "127.0.0.1 is loopback",
        f"http://2130706433:{port}": "resolves to 127.0.0.1, which is loopback",
        f"http://[::ffff:127.0.0.1]:{port}": "IPv4-mapped IPv6 address of 127.0.0.1, which is loopback",
        "http://10.0.0.1": "10.0.0.1 is private",
        "http://169.254.169.254": "169.254.169.254 is a cloud metadata endpoint",
    }
    for i, (url, reason) in enumerate(refused.items()):
        with pytest.raises(ValidationError) as info:
            hub.nodes.register(f"internal-{i}", url)
        assert info.value.message.startswith("cannot read the node's discovery document: refused to fetch")
        assert "unsafe address: " in info.value.message and reason in info.value.message, info.value.message
    assert target.requests == []
    assert hub.nodes.list() == []

    hub.nodes.register("qoot", allowed.url)  # the allow-listed network is reached
    for i, url in enumerate(refused):  # nodes that were registered before they moved
        registered_then_vanished(hub, f"internal-{i}", url)
    report = hub.harvester.harvest()
    outcomes = by_node(report)
    assert outcomes["qoot"]["outcome"] == "new_version"
    for i, reason in enumerate(refused.values()):
        outcome = outcomes[f"internal-{i}"]
        assert outcome["outcome"] == "failed" and "unsafe address" in outcome["reason"], outcome
        assert reason in outcome["reason"]
    assert target.requests == []

    # An allowed node that redirects the hub to 127.0.0.1: refused at the redirect, never connected.
    allowed.profile = redirect_to(target.profile_url)
    outcome = by_node(hub.harvester.harvest(["qoot"]))["qoot"]
    assert outcome["outcome"] == "failed"
    assert "unsafe address" in outcome["reason"] and "127.0.0.1 is loopback" in outcome["reason"], outcome
    assert len(versions(hub, "qoot")) == 1
    redirecting = fake_node(serve_json(profile_bytes("byblos", "LB")), "byblos", "LB", host="127.0.0.2")
    redirecting.discovery = redirect_to(target.url + DISCOVERY_PATH)
    with pytest.raises(ValidationError, match="127.0.0.1 is loopback"):
        hub.nodes.register("byblos", redirecting.url)
    assert [path for path, _headers in redirecting.requests] == [DISCOVERY_PATH]
    assert target.requests == []
    # the target was there all along: a hub allowed to reach loopback registers it
    make_hub("open-hub").nodes.register("target", f"http://127.0.0.1:{port}")
    assert [path for path, _headers in target.requests] == [DISCOVERY_PATH]


def test_a_deeply_nested_discovery_document_is_refused(backend, make_hub, fake_node):
    fake = fake_node(serve_json(profile_bytes()))
    fake.discovery = nested_discovery(100)
    hub = make_hub()
    with pytest.raises(ValidationError, match="nests deeper than"):
        hub.nodes.register("menara", fake.url)
    assert hub.nodes.list() == []
    # (a registered node whose discovery turns hostile: the "discovery_nested_100_deep" failure mode above)


# -- which nodes are harvested -----------------------------------------------------------------------------------

def test_paused_node_is_not_harvested_and_unknown_node_is_not_found(backend, make_node, make_hub, serve):
    _qoot, qoot_url = real_node(make_node, serve, "qoot", "LB")
    _menara, menara_url = real_node(make_node, serve, "menara", "MA")
    hub = make_hub()
    hub.nodes.register("qoot", qoot_url)
    hub.nodes.register("menara", menara_url)
    hub.nodes.set_status("menara", "paused")

    report = hub.harvester.harvest()
    assert [n["node_id"] for n in report["nodes"]] == ["qoot"]
    assert hub.queries.versions("menara") == []
    with hub.db.session() as session:
        assert session.scalar(select(func.count()).select_from(FetchAttempt)
                              .where(FetchAttempt.node_id == "menara")) == 0
        assert session.get(NodeRecord, "menara").last_attempt_at is None
    assert "menara" not in {c["node_id"] for c in hub.queries.clusters()}

    runs = len(hub.queries.runs())
    with pytest.raises(NotFound, match="unknown"):
        hub.harvester.harvest(node_ids=["unknown"])
    with pytest.raises(NotFound, match="unknown"):
        hub.harvester.harvest(node_ids=["qoot", "unknown"])
    assert len(hub.queries.runs()) == runs  # nothing was started


# -- concurrency -------------------------------------------------------------------------------------------------

def concurrent_harvests(hub, count: int = 2) -> list[dict]:
    """``count`` harvests of the same hub started at the same moment in threads; every one must succeed."""
    barrier = threading.Barrier(count)
    reports: list[dict] = []
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait(timeout=5)
            reports.append(hub.harvester.harvest())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert errors == [], errors
    assert len(reports) == count
    return reports


def test_concurrent_harvests_store_each_body_once(backend, make_node, make_hub, serve, fake_node):
    qoot, qoot_url = real_node(make_node, serve, "qoot", "LB")
    _menara, menara_url = real_node(make_node, serve, "menara", "MA")
    # no ETag: every fetch returns the body
    fixed = fake_node(serve_json(profile_bytes("byblos", "LB")), "byblos", "LB")
    hub = make_hub()
    for node_id, url in (("qoot", qoot_url), ("menara", menara_url), ("byblos", fixed.url)):
        hub.nodes.register(node_id, url)

    def harvest_twice_at_once() -> list[dict]:
        return concurrent_harvests(hub)

    def check(reports: list[dict], expected_new: set[str]) -> None:
        for node_id in ("qoot", "menara", "byblos"):
            outcomes = sorted(by_node(r)[node_id]["outcome"] for r in reports)
            if node_id in expected_new:
                assert outcomes[0] == "new_version" and outcomes[1] in ("not_modified", "unchanged"), \
                    (node_id, outcomes)
            else:
                assert set(outcomes) <= {"not_modified", "unchanged"}, (node_id, outcomes)
        with hub.db.session() as session:
            rows = session.execute(select(ProfileVersion.node_id, ProfileVersion.sha256)).all()
        assert len(rows) == len(set(rows))  # one row per distinct body per node

    check(harvest_twice_at_once(), {"qoot", "menara", "byblos"})
    assert version_count(hub) == {"qoot": 1, "menara": 1, "byblos": 1}

    qoot.extensions["medmci"].service.create_member(member_doc("qoot-new", "nace-rev2:10.51"))
    check(harvest_twice_at_once(), {"qoot"})
    assert version_count(hub) == {"qoot": 2, "menara": 1, "byblos": 1}
    assert versions(hub, "qoot")[-1].body == qoot.extensions["medmci"].service.publication("federation").body
    assert cluster_entry(hub, "agri-food", "qoot")["members_on_chain"] == 4
    with hub.db.session() as session:
        assert session.scalar(select(func.count()).select_from(HarvestRun)) == 4
        assert all(r.finished_at is not None for r in session.scalars(select(HarvestRun)))


def test_concurrent_harvests_that_both_form_metaclusters(backend, make_node, make_hub, serve, fake_node):
    """A node that publishes a new sequence on every fetch gives each of two simultaneous harvests a new version,
    so both form the meta-clusters again at the same time."""
    _app, qoot_url = real_node(make_node, serve, "qoot", "LB")
    sequences = iter(range(1, 10_000))
    lock = threading.Lock()
    members = [member_doc(f"menara-{i}", AGRI_CODES[i % 3], "nace-rev2:01.30") for i in range(40)]

    def busy(h: FakeHandler) -> None:
        with lock:
            sequence = next(sequences)
        h.send_body(200, profile_bytes("menara", "MA", members=members, sequence=sequence))

    fake = fake_node(busy)
    hub = make_hub()
    hub.nodes.register("qoot", qoot_url)
    hub.nodes.register("menara", fake.url)
    rounds = 5
    new = 0
    for _ in range(rounds):
        reports = concurrent_harvests(hub, 3)
        # Versions move forward only: a fetch whose sequence a concurrent one overtook keeps nothing (unchanged,
        # superseded); every other one is a new version, and its run forms the meta-clusters again.
        menara = [by_node(r)["menara"] for r in reports]
        assert {m["outcome"] for m in menara} <= {"new_version", "unchanged"}, menara
        assert all(m["reason"].startswith("superseded: a concurrent fetch stored sequence")
                   for m in menara if m["outcome"] == "unchanged")
        assert all(r["aggregated"] for r in reports if by_node(r)["menara"]["outcome"] == "new_version")
        new += sum(m["outcome"] == "new_version" for m in menara)
    stored = versions(hub, "menara")
    assert rounds <= len(stored) == new
    assert len({v.sha256 for v in stored}) == len(stored)
    assert [v.sequence for v in stored] == sorted(v.sequence for v in stored)  # never a step back
    assert version_count(hub)["qoot"] == 1
    with hub.db.session() as session:
        rows = session.execute(select(MetaClusterRow.id, MetaClusterRow.value_chain)).all()
    assert sorted(chain for _id, chain in rows) == sorted(hub.registry.value_chains)
    assert hub.queries.metacluster("mc-agri-food")["countries"] == ["LB", "MA"]


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_first_metacluster_formation_by_two_overlapping_harvests(backend, make_node, make_hub, serve):
    """PostgreSQL: two first harvests reach the formation of the meta-clusters at the same time (held at the same
    point by a table lock another session takes and then releases); both must succeed."""
    _qoot, qoot_url = real_node(make_node, serve, "qoot", "LB")
    _menara, menara_url = real_node(make_node, serve, "menara", "MA")
    hub = make_hub()
    hub.nodes.register("qoot", qoot_url)
    hub.nodes.register("menara", menara_url)
    results: list[dict] = []
    errors: list[BaseException] = []

    def run():
        try:
            results.append(hub.harvester.harvest())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with hub.db.engine.connect() as gate:
        gate.execute(text("LOCK TABLE metaclusters IN EXCLUSIVE MODE"))
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()

        def waiting() -> int:
            return gate.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()"
                                     " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                                     )).scalar()

        poll_until(lambda: waiting() >= 1, timeout=10)
        assert waiting() >= 1, "a harvest should be waiting to form the meta-clusters"
        # Both harvests queue (the first behind the table lock, the second behind the first, in formation):
        # wait for that, so the release below lets two formations go on at once.
        wait_until(lambda: waiting() >= 2, timeout=10, what="the second harvest waiting to form the meta-clusters")
        assert all(thread.is_alive() for thread in threads)
        gate.commit()  # releases the lock: the waiting formations go on at once
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [], errors
    assert len(results) == 2
    assert version_count(hub) == {"qoot": 1, "menara": 1}
    assert hub.queries.metacluster("mc-agri-food")["countries"] == ["LB", "MA"]


def test_a_node_going_back_to_an_earlier_body_makes_it_current_again(make_node, make_hub, serve):
    """A, then B, then A again: the hub shows A's members again and keeps each distinct body once; the member only B
    had leaves the current view, but A does not list it as withdrawn, so B is kept as received (issue #8, C12)."""
    from federation.node.models import Publication

    node = make_node("qoot")
    load_node(node, cluster_doc("qoot", "LB"), [member_doc(f"q{i}", code) for i, code in enumerate(AGRI_CODES)])
    service = node.extensions["medmci"].service
    backup = {audience: service.publication(audience).body for audience in ("public", "federation")}
    body_a = backup["federation"]  # what the hub reads
    hub = make_hub()
    hub.nodes.register("qoot", serve(node).url)
    hub.harvester.harvest()
    service.create_member(member_doc("q-extra", "nace-rev2:11.02"))
    hub.harvester.harvest()
    assert len(hub.queries.cluster_members("qoot")) == 4

    with node.extensions["medmci"].db.session() as session:  # restore the node's publications from a backup
        for audience, body in backup.items():
            publication = session.get(Publication, audience)
            publication.body = body
            publication.etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
    refused = hub.harvester.harvest()["nodes"][0]
    assert refused["outcome"] == "failed"
    assert refused["reason"].startswith("refused (sequence): sequence 4 is lower than the current version's 5")
    assert len(hub.queries.cluster_members("qoot")) == 4  # B stays
    assert hub.harvester.accept_sequence_reset("qoot", "operator:test")["current_sequence"] == 5
    assert [e["action"] for e in hub.audit.events(node_id="qoot")][0] == "sequence.reset_accepted"
    report = hub.harvester.harvest()
    assert report["nodes"][0]["outcome"] == "new_version"
    assert len(hub.queries.cluster_members("qoot")) == 3
    listed = hub.queries.versions("qoot")
    assert [v["sha256"] for v in listed] == [hashlib.sha256(body_a).hexdigest(), listed[1]["sha256"]]
    version_a, version_b = versions(hub, "qoot")
    assert (version_a.body, version_a.redacted_at) == (body_a, None)  # current again, exactly as received
    assert hub.queries.clusters()[0]["version_id"] == version_a.id
    # q-extra left the current view, but the node's document does not say it withdrew it (the body is merely an
    # older one): the version that holds it is not rewritten.
    assert version_b.redactions is None and b"q-extra" in version_b.body
    assert [r["status"] for r in verify_versions(hub.db, "qoot")] == ["ok", "ok"]


def test_a_profile_claiming_a_value_chain_twice_is_refused_and_nothing_is_stored(backend, make_hub, fake_node):
    """The profile schema refuses the same value chain twice (as the node's API and CLI do): a failed fetch naming
    the duplicate; no version is stored."""
    fake = fake_node(serve_json(profile_bytes(value_chains=["agri-food", "food-cosmetics", "agri-food"])))
    hub = make_hub()
    hub.nodes.register("menara", fake.url)
    outcome = by_node(hub.harvester.harvest())["menara"]
    assert outcome["outcome"] == "failed"
    assert "value chain 'agri-food' is listed twice" in outcome["reason"]
    assert versions(hub, "menara") == []
    assert hub.queries.clusters() == []
