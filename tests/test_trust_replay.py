"""Issue #8, C11: a hub's signed request is valid at one node, once.

Two real nodes on loopback trust the same real hub (they joined it over HTTP, which recorded each node's public
URL). The hub harvests them; its requests are captured as they leave its HTTP client. Replayed at the other node
(with that node's Host header, or with the first node's) they are refused with 401 and an audit line, and no
federation member leaks; replayed at the node they were meant for, they are refused as replays. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner

from federation.cli import main
from federation.hub.app import create_hub_app
from federation.node.app import create_node_app
from federation.node.join import join_hub
from federation.serving import BackgroundServer
from tests.support.builders import cluster_doc, load_node, member_doc

PROFILE_PATH = "/api/v1/profile"


def federation_node(make_node, serve, cluster_id: str, country: str):
    """A node with one public and one federation-only member, served on loopback."""
    app = make_node(cluster_id)
    load_node(app, cluster_doc(cluster_id, country), [
        member_doc(f"{cluster_id}-pub", "nace-rev2:11.02", visibility="public"),
        member_doc(f"{cluster_id}-fed", "nace-rev2:10.82", visibility="federation", name=f"Secret {cluster_id}")])
    return app, serve(app)


@pytest.fixture
def federation(backend, make_node, make_hub, serve):
    """Two nodes (A: qoot, B: menara) that asked to join the hub over HTTP and were approved."""
    hub = make_hub()
    hub_server = serve(create_hub_app(hub=hub))
    nodes = {}
    for node_id, country in (("qoot", "LB"), ("menara", "MA")):
        app, server = federation_node(make_node, serve, node_id, country)
        join_hub(app.extensions["medmci"], hub_server.url, server.url)  # records server.url as its public URL
        hub.nodes.decide(node_id, "approve")
        nodes[node_id] = (app, server)
    return hub, nodes


def capture(hub) -> list[requests.PreparedRequest]:
    """Record every request the hub's HTTP client sends (a copy, before it leaves)."""
    sent: list[requests.PreparedRequest] = []
    session = hub.harvester.client.session
    original = session.send

    def recording(request, **kwargs):
        sent.append(request.copy())
        return original(request, **kwargs)

    session.send = recording
    return sent


def replay(request: requests.PreparedRequest, url: str, host: str | None = None) -> requests.Response:
    """Send the captured request's method and headers again, to ``url`` (with ``host`` as its Host header)."""
    headers = {k: v for k, v in request.headers.items() if k.lower() in ("signature", "signature-input", "accept")}
    if host:
        headers["Host"] = host
    return requests.request(request.method, url, headers=headers, timeout=5)


def refusals(app) -> list[dict]:
    return app.extensions["medmci"].hubs.audit.events("request.refused")


def test_a_signed_request_for_one_node_is_refused_at_another_and_replays_are_refused(federation):
    hub, nodes = federation
    (a_app, a_server), (b_app, b_server) = nodes["qoot"], nodes["menara"]
    sent = capture(hub)
    report = hub.harvester.harvest()
    assert {n["node_id"]: n["outcome"] for n in report["nodes"]} == {"qoot": "new_version", "menara": "new_version"}
    # The hub read both nodes' federation members: its requests were signed, and the nodes accepted them.
    assert {m["id"] for m in hub.queries.cluster_members("qoot")} == {"qoot-pub", "qoot-fed"}
    to_a = next(r for r in sent if r.url == a_server.url + PROFILE_PATH)

    # Node A sends the request it received to node B, with a Host header naming A (the URL the hub signed): B
    # checks its own public URL, not the Host header, refuses, and says whom the request was for.
    a_host = a_server.url.removeprefix("http://")
    at_b_as_a = replay(to_a, b_server.url + PROFILE_PATH, host=a_host)
    assert at_b_as_a.status_code == 401, at_b_as_a.text
    assert at_b_as_a.json()["error"] == "signature_error"
    assert "signed for another target" in at_b_as_a.json()["message"]
    assert b"menara-fed" not in at_b_as_a.content and b"Secret" not in at_b_as_a.content
    # ... and with B's own Host header.
    at_b = replay(to_a, b_server.url + PROFILE_PATH)
    assert at_b.status_code == 401, at_b.text
    assert "signature does not match this node's URL" in at_b.json()["message"]
    assert b"menara-fed" not in at_b.content and b"Secret" not in at_b.content
    assert "nonce=" in to_a.headers["Signature-Input"]
    lines = refusals(b_app)
    assert len(lines) == 2
    assert all(line["details"]["target"] == PROFILE_PATH and line["actor"] == f"hub-key:{hub.keys.current[0]}"
               for line in lines)
    assert "signed for another target" in lines[1]["message"]

    # Node A: the very request the hub sent is a replay now (its nonce was seen).
    again = replay(to_a, a_server.url + PROFILE_PATH)
    assert again.status_code == 401, again.text
    assert "request replayed" in again.json()["message"]
    assert b"qoot-fed" not in again.content
    assert "request replayed" in refusals(a_app)[0]["message"]

    # The hub itself, signing each request anew, still reads both nodes.
    sent.clear()
    a_app.extensions["medmci"].service.create_member(member_doc("qoot-new", "nace-rev2:10.41",
                                                                visibility="federation"))
    report = hub.harvester.harvest()
    assert {n["node_id"]: n["outcome"] for n in report["nodes"]} == {"qoot": "new_version",
                                                                      "menara": "not_modified"}
    assert "qoot-new" in {m["id"] for m in hub.queries.cluster_members("qoot")}


def test_a_node_without_a_public_url_refuses_signed_requests_and_signs_no_host_header_urls(backend, make_node,
                                                                                          make_hub, request):
    app = make_node("qoot")  # it trusts the hub's key (see make_node), but has no public URL
    load_node(app, cluster_doc("qoot", "LB"), [member_doc("qoot-fed", "nace-rev2:10.82", visibility="federation")])
    server = BackgroundServer(app).start()  # not serve(): it would record the public URL
    request.addfinalizer(server.stop)
    hub = make_hub()
    prepared = requests.Request("GET", server.url + PROFILE_PATH).prepare()
    hub.harvester.client.auth(prepared)
    response = replay(prepared, server.url + PROFILE_PATH)
    assert response.status_code == 401
    assert "no public URL" in response.json()["message"] and b"qoot-fed" not in response.content

    # Discovery names no URL taken from the client's Host header: relative URLs, until the public URL is known.
    forged = requests.get(server.url + "/.well-known/med-mci", headers={"Host": "evil.example"}, timeout=5).json()
    assert forged["profiles"][0]["url"] == PROFILE_PATH
    assert "evil.example" not in repr(forged)
    app.extensions["medmci"].hubs.set_public_url(server.url)
    forged = requests.get(server.url + "/.well-known/med-mci", headers={"Host": "evil.example"}, timeout=5).json()
    assert forged["profiles"][0]["url"] == server.url + PROFILE_PATH and "evil.example" not in repr(forged)


def test_the_nonce_memory_is_bounded_by_a_setting(backend, make_node, make_hub, serve):
    """trust.max_nonces: a node remembers that many nonces at most; beyond, signed requests get 429 (the one error
    shape, audited) until old ones expire, never an unbounded table."""
    app = make_node("qoot", {"trust": {"max_nonces": 2}})
    load_node(app, cluster_doc("qoot", "LB"), [member_doc("qoot-fed", "nace-rev2:10.82", visibility="federation")])
    server = serve(app)
    hub = make_hub()
    url = server.url + PROFILE_PATH
    answers = [requests.get(url, auth=hub.harvester.client.auth, timeout=5) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"] == "too_many_requests" and "trust.max_nonces" in answers[2].json()["message"]
    assert b"qoot-fed" not in answers[2].content and b"qoot-fed" in answers[0].content
    assert "trust.max_nonces" in refusals(app)[0]["message"]
    assert requests.get(url, timeout=5).status_code == 200  # anonymous readers are not affected


def test_node_init_records_the_public_url_and_join_must_agree_with_the_setting(backend, make_node, runner_env,
                                                                                tmp_path):
    instance = tmp_path / "cli-node"
    result = CliRunner().invoke(main, ["node", "--instance", str(instance), "init", "--public-url",
                                       "https://qoot.example.org/"], env=runner_env)
    assert result.exit_code == 0, result.output
    assert "public URL: https://qoot.example.org" in result.output
    app = create_node_app(instance, {"database_url": runner_env["DATABASE_URL"], "node": {"notify_hubs": False}})
    try:
        app.extensions["medmci"].service.put_cluster(cluster_doc("qoot", "LB"))
        document = app.test_client().get("/.well-known/med-mci", headers={"Host": "evil.example"}).get_json()
        assert document["profiles"][0]["url"] == "https://qoot.example.org/api/v1/profile"
    finally:
        app.extensions["medmci"].db.dispose()

    configured = make_node("configured", {"node": {"public_url": "https://configured.example.org"}})
    with pytest.raises(Exception, match="node.public_url"):
        join_hub(configured.extensions["medmci"], "http://127.0.0.1:9", "https://elsewhere.example.org")


@pytest.fixture
def runner_env(backend, database_url) -> dict:
    """The CLI's database: the test's backend."""
    return {"DATABASE_URL": database_url("cli-node"), "MEDMCI_NODE__NOTIFY_HUBS": "false"}
