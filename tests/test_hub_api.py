"""The hub's REST API: registration through the test client, harvests of real node servers over HTTP.

The read-only tests share one harvested federation per backend (module scope: starting and stopping real servers
dominates the run time); tests that change the hub build their own.

The ``hub_client`` fixture's client and ``fed["client"]`` act as the operator; ``FlaskClient(app)`` is an anonymous
reader. Registration reads the node's signed discovery document, so every registered node is a real node server.
"""

from __future__ import annotations

import hashlib
import re

import pytest
import requests
import yaml
from flask import Flask, jsonify
from flask.testing import FlaskClient

from federation.hub.app import Hub, create_hub_app
from federation.node.app import create_node_app
from federation.node.join import trust_hub
from federation.serving import BackgroundServer
from federation.signing import KeyStore, sign_document, sign_request
from tests.support.assertions import assert_error
from tests.support.builders import (JOIN_LB_MEMBERS, LB_MA_NODES, cluster_doc, load_node,
                                    member_doc)
from tests.support.clients import operator_client
from tests.support.databases import Databases
from tests.support.environment import BUILTIN_PLUGIN_HOOKS as PLUGIN_HOOKS, POSTGRES_URL, TEST_SETTINGS
from tests.support.nodes import build_node
from tests.support.servers import closed_port_url

CHAINS = ["agri-food", "bioeconomy-waste", "electronics", "food-cosmetics", "textile-apparel"]

NODES = LB_MA_NODES


# -- helpers -------------------------------------------------------------------------------------------------------

def token_headers(hub, role: str, name: str | None = None, **kwargs) -> dict:
    if role == "knowledge_member":  # bound to a knowledge entity, as every knowledge_member token is
        kwargs.setdefault("entity_key", "hosted:partner")
    _record, token = hub.tokens.create(name or f"test-{role}", role, **kwargs)
    return {"Authorization": f"Bearer {token}"}


def trust(node_app, hub) -> None:
    """The node trusts the hub's key (what `medmci node trust-hub` does over HTTP), so harvests read its federation
    members."""
    node_app.extensions["medmci"].hubs.trust("http://hub.test", hub.keys.published())


def signed_profile(node_app, hub):
    """The node's profile as the hub reads it: a request signed with the hub's key (the federation audience)."""
    base = node_app.extensions["medmci"].hubs.public_url()  # a hub's signature names the node it is meant for
    prepared = requests.Request("GET", base + "/api/v1/profile").prepare()
    kid, key = hub.keys.current
    sign_request(prepared, key, kid)
    return FlaskClient(node_app).get("/api/v1/profile", headers=dict(prepared.headers))


def node_count(hub) -> int:
    return len(hub.nodes.list())


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fed(request, tmp_path_factory, registry):
    """Two real nodes (LB, MA) registered at a hub and harvested once through POST /api/v1/harvests."""
    if request.param == "postgres" and not request.getfixturevalue("postgres_available"):
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    tmp = tmp_path_factory.mktemp(f"fed-{request.param}")
    dbs = Databases(request.param, tmp)
    nodes, servers = {}, {}
    hub = None
    try:
        for node_id, (cluster_id, country, members) in NODES.items():
            app = create_node_app(tmp / node_id, {"database_url": dbs.url(node_id), **TEST_SETTINGS},
                                  registry=registry)
            load_node(app, cluster_doc(cluster_id, country), members)
            nodes[node_id] = app
            servers[node_id] = BackgroundServer(app).start()
        hub = Hub.build(tmp / "hub", {"database_url": dbs.url("hub"), **TEST_SETTINGS}, registry=registry)
        hub_app = create_hub_app(hub=hub)
        hub_app.testing = True
        client = operator_client(hub_app, hub)
        # Registered by the operator, the nodes trust the hub's published keys (`medmci node trust-hub`), so the
        # hub's signed requests read their federation members.
        hub_server = servers["hub"] = BackgroundServer(hub_app).start()
        for node_id, app in nodes.items():
            assert trust_hub(app.extensions["medmci"], hub_server.url, public_url=servers[node_id].url) == \
                [hub.keys.current[0]]
        for node_id in NODES:
            response = client.post("/api/v1/nodes", json={"id": node_id, "url": servers[node_id].url})
            assert response.status_code == 201, response.get_data(as_text=True)
        harvest = client.post("/api/v1/harvests", json={})
        assert harvest.status_code == 200, harvest.get_data(as_text=True)
        yield {"client": client, "anonymous": FlaskClient(hub_app), "app": hub_app, "hub": hub, "nodes": nodes,
               "servers": {k: v for k, v in servers.items() if k != "hub"}, "harvest": harvest.get_json()}
    finally:
        for server in servers.values():
            server.stop()
        if hub is not None:
            hub.harvester.client.close()
            hub.db.dispose()
        for app in nodes.values():
            app.extensions["medmci"].db.dispose()
        dbs.drop()


# -- registration --------------------------------------------------------------------------------------------------

@pytest.fixture
def node_urls(make_node, serve):
    """``node_urls("qoot")`` -> the URL of a node server made on first use:

    ``qoot`` (cluster qoot, LB), ``other`` (cluster byblos, LB), ``twin`` (another node that also says it is
    cluster qoot), ``empty`` (a node without a cluster yet), ``notnode`` (a web server that is no node),
    ``closed`` (a loopback port nobody listens on).
    """
    urls: dict[str, str] = {}

    def node_with(name, cluster):
        app = make_node(name)
        if cluster is not None:
            load_node(app, cluster, [member_doc(f"{name}-1", "nace-rev2:11.02")])
        return serve(app).url

    def not_a_node():
        app = Flask("not-a-node")
        app.add_url_rule("/", "index", lambda: jsonify({"hello": "world"}))
        return serve(app).url

    makers = {"qoot": lambda: node_with("qoot", cluster_doc("qoot", "LB")),
              "other": lambda: node_with("other", cluster_doc("byblos", "LB")),
              "twin": lambda: node_with("twin", cluster_doc("qoot", "LB")),
              "empty": lambda: node_with("empty", None),
              "notnode": not_a_node,
              "closed": closed_port_url}

    def get(name: str) -> str:
        if name not in urls:
            urls[name] = makers[name]()
        return urls[name]

    return get


def fill(value, node_urls):
    """``"{qoot}/"`` -> the qoot node's URL and a slash; other values as they are."""
    if not isinstance(value, str):
        return value
    for name in re.findall(r"\{(\w+)\}", value):
        value = value.replace("{" + name + "}", node_urls(name))
    return value


def test_register_and_list_nodes(hub_client, node_urls):
    hub, client = hub_client
    url = node_urls("qoot")
    response = client.post("/api/v1/nodes", json={"id": "qoot", "url": url + "/", "name": "QOOT"})
    assert response.status_code == 201, response.get_data(as_text=True)
    node = response.get_json()
    assert {k: node[k] for k in ("id", "url", "name", "status", "cluster_id", "country", "profile_url",
                                 "last_outcome", "last_error", "consecutive_failures")} == {
        "id": "qoot", "url": url, "name": "QOOT", "status": "active", "cluster_id": "qoot", "country": "LB",
        "profile_url": None, "last_outcome": None, "last_error": None, "consecutive_failures": 0}
    listed = client.get("/api/v1/nodes")
    assert listed.status_code == 200
    assert [n["id"] for n in listed.get_json()] == ["qoot"]
    assert listed.get_json()[0]["url"] == url
    assert client.get("/api/v1/nodes/qoot").get_json()["name"] == "QOOT"
    # Without a name, the cluster's English name; the country may be given as a check.
    other = client.post("/api/v1/nodes", json={"id": "other", "url": node_urls("other"), "country": "LB"})
    assert other.status_code == 201, other.get_data(as_text=True)
    assert (other.get_json()["name"], other.get_json()["cluster_id"]) == ("BYBLOS", "byblos")
    # The registration is in the audit log, with the operator who made it and the node's keys.
    [event] = hub.audit.events("node.registered", "qoot")
    assert event["actor"] == "operator:test-operator"
    assert event["details"]["cluster_id"] == "qoot" and event["details"]["country"] == "LB"
    assert len(event["details"]["keys"]) == 1
    assert [e["details"]["kid"] for e in hub.audit.events("key.added", "qoot")] == event["details"]["keys"]


def test_a_registered_node_reads_back_as_registered(hub_client, node_urls):
    """The node GET returns is the node POST returned (timestamps included, with their UTC offset)."""
    _hub, client = hub_client
    created = client.post("/api/v1/nodes", json={"id": "qoot", "url": node_urls("qoot")}).get_json()
    assert client.get("/api/v1/nodes/qoot").get_json() == created
    assert client.get("/api/v1/nodes").get_json() == [created]
    assert created["registered_at"].endswith("+00:00")


@pytest.mark.parametrize("body, status, error, field, in_message", [
    pytest.param({"id": "new"}, 422, "validation_error", "url", None, id="no-url"),
    pytest.param({"url": "{other}"}, 422, "validation_error", "id", None, id="no-id"),
    pytest.param({"id": "new", "url": "ftp://x"}, 422, "validation_error", "url", None, id="ftp-url"),
    pytest.param({"id": "new", "url": "not a url"}, 422, "validation_error", "url", None, id="not-a-url"),
    pytest.param({"id": "new", "url": "{other}/?q=1"}, 422, "validation_error", "url", None, id="url-with-query"),
    pytest.param({"id": "Bad Id", "url": "{other}"}, 422, "validation_error", "id", None, id="bad-id"),
    pytest.param({"id": "new", "url": 42}, 422, "validation_error", "url", None, id="url-wrong-type"),
    pytest.param({"id": "new", "url": "{other}", "country": "lb"}, 422, "validation_error", "country", None,
                 id="lower-case-country"),
    pytest.param({"id": "new", "url": "{other}", "country": "FR"}, 422, "validation_error", "country",
                 ["in LB, not FR"], id="country-differs-from-the-node"),
    pytest.param({"id": "new", "url": "{closed}"}, 422, "validation_error", "url",
                 ["cannot read the node's discovery document", "cannot connect"], id="unreachable"),
    pytest.param({"id": "new", "url": "{notnode}"}, 422, "validation_error", "url",
                 ["cannot read the node's discovery document", "404"], id="not-a-node"),
    pytest.param({"id": "new", "url": "{empty}"}, 422, "validation_error", "url", ["no cluster"],
                 id="node-without-cluster"),
    pytest.param({"id": "qoot", "url": "{other}"}, 409, "conflict", "id", ["'qoot'"], id="duplicate-id"),
    pytest.param({"id": "new", "url": "{qoot}"}, 409, "conflict", "url", None, id="duplicate-url"),
    pytest.param({"id": "new", "url": "{qoot}/"}, 409, "conflict", "url", None, id="duplicate-url-trailing-slash"),
    pytest.param({"id": "new", "url": "{twin}"}, 409, "conflict", "cluster_id", ["cluster 'qoot'"],
                 id="duplicate-cluster"),
])
def test_bad_registration_registers_nothing(hub_client, node_urls, body, status, error, field, in_message):
    hub, client = hub_client
    assert client.post("/api/v1/nodes", json={"id": "qoot", "url": node_urls("qoot")}).status_code == 201
    before = client.get("/api/v1/nodes").get_json()
    events = hub.audit.events()
    response = assert_error(client.post("/api/v1/nodes", json={k: fill(v, node_urls) for k, v in body.items()}),
                            status, error, field)
    for text in in_message or ():
        assert text in response["message"], response["message"]
    assert client.get("/api/v1/nodes").get_json() == before
    assert_error(client.get("/api/v1/nodes/new"), 404, "not_found")
    assert hub.audit.events() == events


def test_a_node_whose_discovery_is_not_signed_by_its_keys_is_refused(hub_client, serve, tmp_path):
    """A discovery document signed by a key it does not publish proves nothing: no registration."""
    hub, client = hub_client
    published, signer = (KeyStore.load_or_create(tmp_path / name) for name in ("published", "signer"))
    app = Flask("forged-node")

    @app.get("/.well-known/med-mci")
    def discovery():
        document = {"schema": "med-mci/discovery", "version": "1.0", "cluster_id": "forged",
                    "cluster": {"id": "forged", "country": "LB", "names": {"en": "Forged"}},
                    "keys": published.published(), "profiles": []}
        response = jsonify(document)
        response.headers["Med-MCI-Signature"] = sign_document(document, signer.current[1], published.current[0])
        return response

    url = serve(app).url
    body = assert_error(client.post("/api/v1/nodes", json={"id": "forged", "url": url}), 422, "validation_error",
                        "url")
    assert "signature" in body["message"]
    assert node_count(hub) == 0


@pytest.mark.parametrize("node_id, body, status, error, field", [
    ("qoot", {"status": "sleeping"}, 422, "validation_error", "status"),
    ("qoot", {}, 422, "validation_error", "status"),
    ("qoot", {"status": "suspended"}, 422, "validation_error", "status"),  # a decision, not a status change
    ("qoot", {"status": "pending"}, 422, "validation_error", "status"),
    ("ghost", {"status": "paused"}, 404, "not_found", None),
])
def test_bad_status_change_changes_nothing(hub_client, node_urls, node_id, body, status, error, field):
    _hub, client = hub_client
    assert client.post("/api/v1/nodes", json={"id": "qoot", "url": node_urls("qoot")}).status_code == 201
    assert_error(client.patch(f"/api/v1/nodes/{node_id}", json=body), status, error, field)
    assert client.get("/api/v1/nodes/qoot").get_json()["status"] == "active"


def test_harvest_of_unknown_node_is_404_and_records_no_run(hub_client):
    _hub, client = hub_client
    body = assert_error(client.post("/api/v1/harvests", json={"nodes": ["ghost"]}), 404, "not_found")
    assert "ghost" in body["message"]
    assert client.get("/api/v1/harvests").get_json() == []


def test_harvest_of_a_node_that_is_down_records_the_reason(hub_client, make_node, serve):
    _hub, client = hub_client
    server = serve(build_node(make_node, "node-lb"))
    url = server.url
    assert client.post("/api/v1/nodes", json={"id": "down", "url": url}).status_code == 201
    server.stop()  # registered while it answered; gone by the harvest
    report = client.post("/api/v1/harvests", json={}).get_json()
    assert report["counts"] == {"new_version": 0, "not_modified": 0, "unchanged": 0, "failed": 1}
    [outcome] = report["nodes"]
    assert outcome["node_id"] == "down" and outcome["outcome"] == "failed"
    assert "cannot connect" in outcome["reason"] and url.removeprefix("http://") in outcome["reason"]
    run = client.get(f"/api/v1/harvests/{report['run_id']}").get_json()
    assert [(a["node_id"], a["outcome"], a["reason"]) for a in run["attempts"]] == [
        ("down", "failed", outcome["reason"])]
    node = client.get("/api/v1/nodes/down").get_json()
    assert node["last_outcome"] == "failed"
    assert node["last_error"] == outcome["reason"]
    assert node["consecutive_failures"] == 1
    assert node["last_success_at"] is None
    assert client.get("/api/v1/nodes/down/versions").get_json() == []


def test_paused_node_is_skipped_by_harvests(make_node, make_hub, serve):
    hub = make_hub()
    servers = {}
    for node_id in NODES:
        app = build_node(make_node, node_id)
        trust(app, hub)
        servers[node_id] = serve(app)
    app = create_hub_app(hub=hub)
    client = operator_client(app, hub)
    for node_id, server in servers.items():
        assert client.post("/api/v1/nodes", json={"id": node_id, "url": server.url}).status_code == 201

    # Pausing is the operator's: anonymous 401, a reader's token 403.
    assert_error(FlaskClient(app).patch("/api/v1/nodes/node-lb", json={"status": "paused"}), 401, "unauthorized")
    assert_error(client.patch("/api/v1/nodes/node-lb", json={"status": "paused"},
                              headers=token_headers(hub, "knowledge_member")), 403, "forbidden")
    assert client.get("/api/v1/nodes/node-lb").get_json()["status"] == "active"

    paused = client.patch("/api/v1/nodes/node-lb", json={"status": "paused"})
    assert paused.status_code == 200
    assert paused.get_json()["status"] == "paused"
    assert client.get("/api/v1/nodes/node-lb").get_json()["status"] == "paused"
    assert [(e["action"], e["actor"]) for e in hub.audit.events("node.", "node-lb")] == [
        ("node.paused", "operator:test-operator"), ("node.registered", "operator:test-operator")]

    report = client.post("/api/v1/harvests", json={}).get_json()
    assert [n["node_id"] for n in report["nodes"]] == ["node-ma"]
    assert report["counts"]["new_version"] == 1
    lb = client.get("/api/v1/nodes/node-lb").get_json()
    assert lb["last_attempt_at"] is None and lb["last_outcome"] is None
    assert client.get("/api/v1/nodes/node-lb/versions").get_json() == []
    run = client.get(f"/api/v1/harvests/{report['run_id']}").get_json()
    assert [a["node_id"] for a in run["attempts"]] == ["node-ma"]
    # Only Morocco harvested: no meta-cluster, and the reason says so.
    assert client.get("/api/v1/metaclusters").get_json() == []
    agri = client.get("/api/v1/metaclusters/agri-food").get_json()
    assert agri["formed"] is False
    assert agri["countries"] == ["MA"]
    assert any(not d["passed"] and d["rule"] == "min-countries" for d in agri["decisions"])

    # Resumed, it is harvested again and the meta-cluster forms; the other node is not modified.
    assert client.patch("/api/v1/nodes/node-lb", json={"status": "active"}).get_json()["status"] == "active"
    report = client.post("/api/v1/harvests", json={}).get_json()
    assert {n["node_id"]: n["outcome"] for n in report["nodes"]} == {"node-lb": "new_version",
                                                                      "node-ma": "not_modified"}
    assert report["aggregated"] is True
    assert [m["id"] for m in client.get("/api/v1/metaclusters").get_json()] == ["mc-agri-food"]


# -- harvest and meta-clusters (shared federation) -----------------------------------------------------------------

def test_harvest_report(fed):
    report = fed["harvest"]
    assert report["counts"] == {"new_version": 2, "not_modified": 0, "unchanged": 0, "failed": 0}
    assert report["aggregated"] is True
    assert report["nodes"] == [
        {"node_id": "node-lb", "outcome": "new_version", "http_status": 200, "reason": None},
        {"node_id": "node-ma", "outcome": "new_version", "http_status": 200, "reason": None}]
    nodes = {n["id"]: n for n in fed["client"].get("/api/v1/nodes").get_json()}
    for node_id, server in fed["servers"].items():
        assert nodes[node_id]["last_outcome"] == "new_version"
        assert nodes[node_id]["profile_url"] == server.url + "/api/v1/profile"
        assert nodes[node_id]["last_success_at"] is not None


def test_metaclusters_form_agri_food_across_two_countries(fed):
    response = fed["client"].get("/api/v1/metaclusters")
    assert response.status_code == 200
    metaclusters = response.get_json()
    assert [m["id"] for m in metaclusters] == ["mc-agri-food"]
    mc = metaclusters[0]
    assert mc["value_chain"] == "agri-food"
    assert mc["formed"] is True
    assert mc["countries"] == ["LB", "MA"]
    assert [(c["id"], c["node_id"], c["country"], c["members_on_chain"]) for c in mc["clusters"]] == [
        ("qoot", "node-lb", "LB", 3), ("menara", "node-ma", "MA", 4)]
    assert all(d["passed"] for c in mc["clusters"] for d in c["decisions"])
    assert mc["excluded_clusters"] == []
    assert {s["name"]: s["members"] for s in mc["sub_clusters"]} == {
        "wine": ["node-lb/qoot-wine", "node-ma/menara-wine"],
        "snacks-confectionery": ["node-lb/qoot-biscuits", "node-ma/menara-biscuits"],
        "processing": ["node-lb/qoot-oil", "node-ma/menara-oil"],
        "parallel-services": ["node-ma/menara-cold"],
    }
    assert [(k["id"], k["kind"], k["country"], k["cluster_id"]) for k in mc["knowledge_members"]] == [
        ("node-lb/qoot-uni", "university", "LB", "qoot"),
        ("node-ma/menara-lab", "research_centre", "MA", "menara")]
    assert list(mc["stage_coverage"]) == ["inputs", "production", "processing", "packaging", "logistics", "market",
                                          "support-services"]
    assert mc["stage_coverage"]["processing"] == ["LB", "MA"]
    assert mc["stage_coverage"]["logistics"] == ["MA"]
    assert mc["stage_coverage"]["support-services"] == ["LB", "MA"]
    assert mc["gaps"] == ["inputs", "production", "packaging", "market"]
    assert mc["country_gaps"]["LB"] == ["inputs", "production", "packaging", "logistics", "market"]
    # Private members never leave their node.
    everything = response.get_data(as_text=True)
    assert "qoot-secret" not in everything and "Secret Winery" not in everything


def test_value_chains_that_did_not_form_are_listed_with_reasons(fed):
    client = fed["client"]
    not_formed = client.get("/api/v1/metaclusters?formed=false").get_json()
    assert [m["value_chain"] for m in not_formed] == [c for c in CHAINS if c != "agri-food"]
    for mc in not_formed:
        assert mc["formed"] is False
        failed = [d for d in mc["decisions"] if not d["passed"]]
        assert failed and all(d["reason"] for d in failed)
    cosmetics = next(m for m in not_formed if m["value_chain"] == "food-cosmetics")
    # Olive oil and biscuits are on this chain too, but two members per cluster are too few to take part.
    assert cosmetics["clusters"] == []
    assert [(c["id"], c["members_on_chain"]) for c in cosmetics["excluded_clusters"]] == [("qoot", 2), ("menara", 2)]
    for cluster in cosmetics["excluded_clusters"]:
        assert [(d["passed"], d["rule"]) for d in cluster["decisions"]] == [(False, "min-chain-members")]
        assert "2 active members on food-cosmetics < 3" in cluster["decisions"][0]["reason"]
    assert ("min-countries", "0 countries (none) < 2") in [(d["rule"], d["reason"]) for d in cosmetics["decisions"]]
    everything = client.get("/api/v1/metaclusters?formed=all").get_json()
    assert [m["value_chain"] for m in everything] == CHAINS
    assert_error(client.get("/api/v1/metaclusters?formed=maybe"), 422, "validation_error", "formed")


def test_one_metacluster_by_id_or_value_chain(fed):
    client = fed["client"]
    listed = client.get("/api/v1/metaclusters").get_json()[0]
    by_id = client.get("/api/v1/metaclusters/mc-agri-food")
    by_chain = client.get("/api/v1/metaclusters/agri-food")
    assert by_id.status_code == by_chain.status_code == 200
    assert by_id.get_json() == by_chain.get_json() == listed
    electronics = client.get("/api/v1/metaclusters/electronics").get_json()
    assert electronics["id"] == "mc-electronics" and electronics["formed"] is False


@pytest.mark.parametrize("metacluster_id", ["mc-space", "space", "MC-AGRI-FOOD"])
def test_unknown_metacluster_is_404(fed, metacluster_id):
    body = assert_error(fed["client"].get(f"/api/v1/metaclusters/{metacluster_id}"), 404, "not_found")
    assert metacluster_id in body["message"]


def test_clusters(fed):
    client = fed["client"]
    clusters = client.get("/api/v1/clusters").get_json()
    assert [(c["id"], c["node_id"], c["country"], c["members"]) for c in clusters] == [
        ("qoot", "node-lb", "LB", 4), ("menara", "node-ma", "MA", 5)]  # the private member is not at the hub
    qoot = clusters[0]
    assert qoot["names"] == cluster_doc("qoot")["names"]
    assert qoot["value_chains"] == ["agri-food"]
    assert qoot["website"] == "https://qoot.example.org"
    versions = client.get("/api/v1/nodes/node-lb/versions").get_json()
    assert qoot["version_id"] == versions[-1]["id"]


@pytest.mark.parametrize("cluster_ref", ["qoot", "node-lb"])
def test_cluster_why_explains_every_value_chain(fed, cluster_ref):
    response = fed["client"].get(f"/api/v1/clusters/{cluster_ref}/why")
    assert response.status_code == 200
    why = response.get_json()
    assert (why["cluster_id"], why["node_id"], why["country"], why["member_id"]) == ("qoot", "node-lb", "LB", None)
    by_chain = {p["value_chain"]: p for p in why["placements"]}
    assert sorted(by_chain) == CHAINS
    agri = by_chain["agri-food"]
    assert agri["included"] is True and agri["metacluster_formed"] is True and agri["subject"] == "cluster"
    assert [(r["passed"], r["rule"]) for r in agri["reasons"]] == [(True, "min-chain-members")]
    assert "3 active members on agri-food" in agri["reasons"][0]["reason"]
    for chain in CHAINS[1:]:
        placement = by_chain[chain]
        assert placement["included"] is False
        assert placement["reasons"] and not all(r["passed"] for r in placement["reasons"])
        assert all(r["reason"] for r in placement["reasons"])


def test_member_why_gives_sub_cluster_and_rule(fed):
    client = fed["client"]
    why = client.get("/api/v1/clusters/qoot/members/qoot-wine/why").get_json()
    assert why["member_id"] == "qoot-wine"
    [placement] = why["placements"]
    assert (placement["value_chain"], placement["subject"], placement["included"], placement["sub_cluster"]) == (
        "agri-food", "member", True, "wine")
    [reason] = placement["reasons"]
    assert reason["rule"] == "wine" and reason["passed"] is True and "11.02" in reason["reason"]

    cargo = client.get("/api/v1/clusters/menara/members/menara-cold/why").get_json()
    assert [(p["value_chain"], p["included"], p["sub_cluster"], p["reasons"][0]["rule"])
            for p in cargo["placements"]] == [("agri-food", True, "parallel-services", "parallel-services")]

    uni = client.get("/api/v1/clusters/qoot/members/qoot-uni/why").get_json()
    assert [(p["value_chain"], p["subject"], p["included"], p["reasons"][0]["rule"]) for p in uni["placements"]] == [
        ("agri-food", "knowledge", True, "knowledge")]
    assert uni["placements"][0]["reasons"][0]["passed"] is True and uni["placements"][0]["reasons"][0]["reason"]


@pytest.mark.parametrize("path", [
    "/api/v1/clusters/atlantis/why",
    "/api/v1/clusters/atlantis/members/qoot-wine/why",
    "/api/v1/clusters/qoot/members/no-such-member/why",
    "/api/v1/clusters/qoot/members/qoot-secret/why",  # private: the hub never saw it
])
def test_why_about_unknown_cluster_or_member_is_404(fed, path):
    assert_error(fed["client"].get(path), 404, "not_found")


def test_versions_keep_the_exact_bytes_the_node_served(fed):
    client = fed["client"]
    for node_id, app in fed["nodes"].items():
        # What the node serves the hub: the federation audience, for a request signed with the hub's key.
        served = signed_profile(app, fed["hub"])
        assert served.status_code == 200
        versions = client.get(f"/api/v1/nodes/{node_id}/versions")
        assert versions.status_code == 200
        [version] = versions.get_json()
        assert version["sequence"] == served.get_json()["sequence"]
        assert version["schema_version"] == "1.3"
        assert version["sha256"] == hashlib.sha256(served.data).hexdigest()
        assert version["size"] == len(served.data)
        # The hub asks for gzip and keeps the tag of what it received: the gzip representation's (the bytes it
        # keeps are the decompressed document, the same bytes as the identity representation's).
        assert version["etag"] == served.headers["ETag"][:-1] + '-gzip"'
        body = client.get(f"/api/v1/nodes/{node_id}/versions/{version['id']}")
        assert body.status_code == 200
        assert body.mimetype == "application/json"
        assert body.data == served.data
        assert body.headers["Digest-SHA256"] == version["sha256"]
    # node-lb shares a member with the federation only: the hub holds that audience's bytes, not the public ones.
    lb_public = FlaskClient(fed["nodes"]["node-lb"]).get("/api/v1/profile")
    [lb_version] = client.get("/api/v1/nodes/node-lb/versions").get_json()
    assert lb_version["sha256"] != hashlib.sha256(lb_public.data).hexdigest()
    assert "qoot-oil" not in {m["id"] for m in lb_public.get_json()["members"]}


def test_unknown_versions_are_404(fed):
    client = fed["client"]
    lb_version = client.get("/api/v1/nodes/node-lb/versions").get_json()[0]["id"]
    assert_error(client.get("/api/v1/nodes/ghost/versions"), 404, "not_found")
    assert_error(client.get(f"/api/v1/nodes/node-ma/versions/{lb_version}"), 404, "not_found")
    assert_error(client.get("/api/v1/nodes/node-lb/versions/99999"), 404, "not_found")


def test_harvest_runs_with_attempts(fed):
    client = fed["client"]
    runs = client.get("/api/v1/harvests").get_json()
    run_id = fed["harvest"]["run_id"]
    assert [r["id"] for r in runs] == [run_id]
    assert runs[0]["counts"] == fed["harvest"]["counts"]
    assert runs[0]["aggregated"] is True and runs[0]["finished_at"] is not None
    run = client.get(f"/api/v1/harvests/{run_id}").get_json()
    assert run["id"] == run_id
    versions = {node_id: client.get(f"/api/v1/nodes/{node_id}/versions").get_json()[0]["id"]
                for node_id in NODES}
    assert [(a["node_id"], a["outcome"], a["http_status"], a["reason"], a["version_id"]) for a in run["attempts"]] == [
        ("node-lb", "new_version", 200, None, versions["node-lb"]),
        ("node-ma", "new_version", 200, None, versions["node-ma"])]
    assert_error(client.get("/api/v1/harvests/99999"), 404, "not_found")


# -- anonymous readers and federation readers (shared federation) --------------------------------------------------

def test_anonymous_readers_do_not_see_federation_members(fed):
    operator, anonymous = fed["client"], fed["anonymous"]
    full = operator.get("/api/v1/metaclusters/agri-food").get_json()
    public = anonymous.get("/api/v1/metaclusters/agri-food").get_json()
    assert "node-lb/qoot-oil" in {m["id"] for m in full["members"]}
    assert "node-lb/qoot-oil" not in {m["id"] for m in public["members"]}
    assert {m["id"] for m in public["members"]} == {m["id"] for m in full["members"]} - {"node-lb/qoot-oil"}
    subs = {s["name"]: s["members"] for s in public["sub_clusters"]}
    assert subs["processing"] == ["node-ma/menara-oil"]
    assert subs == {**{s["name"]: s["members"] for s in full["sub_clusters"]}, "processing": ["node-ma/menara-oil"]}
    # The biscuits and the wine still cover processing in Lebanon: the recomputed coverage is the same.
    assert public["stage_coverage"] == full["stage_coverage"]
    assert public["gaps"] == full["gaps"] and public["country_gaps"] == full["country_gaps"]
    for path in ("/api/v1/metaclusters", "/api/v1/metaclusters?formed=all", "/api/v1/metaclusters/agri-food",
                 "/api/v1/metaclusters/food-cosmetics", "/api/v1/clusters", "/api/v1/clusters/qoot/why"):
        text = anonymous.get(path).get_data(as_text=True)
        assert "qoot-oil" not in text and "Qoot Olive Oil" not in text, path
        assert "Qoot Olive Oil" in operator.get("/api/v1/metaclusters?formed=all").get_data(as_text=True)
    # Listing and one meta-cluster agree for the anonymous reader too.
    assert anonymous.get("/api/v1/metaclusters").get_json() == [public]

    assert [(c["id"], c["members"]) for c in anonymous.get("/api/v1/clusters").get_json()] == [
        ("qoot", 3), ("menara", 5)]
    assert operator.get("/api/v1/clusters/qoot/members/qoot-oil/why").status_code == 200
    body = assert_error(anonymous.get("/api/v1/clusters/qoot/members/qoot-oil/why"), 404, "not_found")
    assert "qoot-oil" in body["message"]
    assert anonymous.get("/api/v1/clusters/qoot/members/qoot-wine/why").get_json() == \
        operator.get("/api/v1/clusters/qoot/members/qoot-wine/why").get_json()


def test_a_knowledge_member_token_reads_the_federation_view(fed):
    headers = token_headers(fed["hub"], "knowledge_member", "reader")
    anonymous, operator = fed["anonymous"], fed["client"]
    for path in ("/api/v1/metaclusters?formed=all", "/api/v1/clusters", "/api/v1/clusters/qoot/why",
                 "/api/v1/clusters/qoot/members/qoot-oil/why", "/api/v1/harvests"):
        assert anonymous.get(path, headers=headers).get_json() == operator.get(path).get_json(), path


@pytest.mark.parametrize("path", [
    "/api/v1/nodes/node-lb/versions",
    "/api/v1/nodes/node-lb/versions/{version}",
    "/api/v1/harvests",
    "/api/v1/harvests/{run}",
])
def test_history_needs_federation_read(fed, path):
    hub = fed["hub"]
    version = fed["client"].get("/api/v1/nodes/node-lb/versions").get_json()[0]["id"]
    path = path.format(version=version, run=fed["harvest"]["run_id"])
    response = fed["anonymous"].get(path)
    body = assert_error(response, 401, "unauthorized")
    assert "federation:read" in body["message"]
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="medmci"')
    for role, kwargs in (("knowledge_member", {}), ("node_operator", {"node_id": "node-ma"})):
        allowed = fed["anonymous"].get(path, headers=token_headers(hub, role, **kwargs))
        assert allowed.status_code == 200, (role, allowed.get_data(as_text=True))
        assert allowed.data == fed["client"].get(path).data
    narrowed = token_headers(hub, "operator", "no-reading", scopes=["nodes:write"])
    assert_error(fed["anonymous"].get(path, headers=narrowed), 403, "forbidden")


def test_a_bad_token_is_401_even_where_anonymous_readers_are_welcome(fed):
    response = fed["anonymous"].get("/api/v1/metaclusters", headers={"Authorization": "Bearer mmci_0000_nope"})
    body = assert_error(response, 401, "unauthorized")
    assert "unknown token" in body["message"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


# -- who may write ---------------------------------------------------------------------------------------------------

WRITES = [
    pytest.param("post", "/api/v1/nodes", {"id": "new", "url": "http://127.0.0.1:9"}, "nodes:write", id="register"),
    pytest.param("patch", "/api/v1/nodes/qoot", {"status": "paused"}, "nodes:write", id="pause"),
    pytest.param("post", "/api/v1/harvests", {}, "harvest:run", id="harvest"),
    pytest.param("post", "/api/v1/nodes/qoot/decision", {"decision": "suspend"}, "registrations:decide",
                 id="decide"),
    pytest.param("get", "/api/v1/tokens", None, "tokens:admin", id="list-tokens"),
    pytest.param("post", "/api/v1/tokens", {"name": "mine", "role": "operator"}, "tokens:admin", id="create-token"),
    pytest.param("delete", "/api/v1/tokens/{token}", None, "tokens:admin", id="revoke-token"),
    pytest.param("get", "/api/v1/audit", None, "audit:read", id="audit"),
]


@pytest.fixture
def registered(hub_client, node_urls):
    """The operator's hub with node "qoot" registered."""
    hub, client = hub_client
    assert client.post("/api/v1/nodes", json={"id": "qoot", "url": node_urls("qoot")}).status_code == 201
    return hub, client


def state(hub, client) -> tuple:
    """What an unauthorised write must leave as it was (a token's last use aside)."""
    tokens = [{k: v for k, v in t.items() if k != "last_used_at"} for t in hub.tokens.list()]
    return (client.get("/api/v1/nodes").get_json(), client.get("/api/v1/harvests").get_json(), tokens,
            hub.audit.events())


@pytest.mark.parametrize("method, path, body, scope", WRITES)
def test_writes_are_401_anonymously_and_403_without_the_scope(registered, method, path, body, scope):
    hub, client = registered
    token_id = hub.tokens.list()[0]["id"]
    before = state(hub, client)

    anonymous = FlaskClient(client.application)
    response = getattr(anonymous, method)(path.format(token=token_id), json=body)
    result = assert_error(response, 401, "unauthorized")
    assert f"scope '{scope}'" in result["message"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="medmci"'
    assert state(hub, client) == before

    headers = token_headers(hub, "knowledge_member", "reader")
    before = state(hub, client)
    response = getattr(client, method)(path.format(token=token_id), json=body, headers=headers)
    result = assert_error(response, 403, "forbidden")
    assert result["message"] == f"token 'reader' lacks scope '{scope}'"
    assert response.headers["WWW-Authenticate"] == \
        f'Bearer realm="medmci", error="insufficient_scope", scope="{scope}"'
    assert state(hub, client) == before


def test_a_node_operator_token_cannot_manage_nodes_its_own_or_another(registered, node_urls):
    hub, client = registered
    assert client.post("/api/v1/nodes", json={"id": "other", "url": node_urls("other")}).status_code == 201
    headers = token_headers(hub, "node_operator", "qoot-operator", node_id="qoot")
    before = state(hub, client)
    for node_id in ("other", "qoot"):
        body = assert_error(client.patch(f"/api/v1/nodes/{node_id}", json={"status": "paused"}, headers=headers),
                            403, "forbidden")
        assert "lacks scope 'nodes:write'" in body["message"]
        assert_error(client.post(f"/api/v1/nodes/{node_id}/decision", json={"decision": "suspend"},
                                 headers=headers), 403, "forbidden")
    assert_error(client.post("/api/v1/harvests", json={"nodes": ["qoot"]}, headers=headers), 403, "forbidden")
    assert state(hub, client) == before
    # It reads the federation like any federation reader.
    assert client.get("/api/v1/nodes/qoot/versions", headers=headers).status_code == 200


# -- tokens and the audit log ----------------------------------------------------------------------------------------

def test_tokens_are_shown_once_listed_without_secret_and_revoked_at_once(registered):
    hub, client = registered
    created = client.post("/api/v1/tokens", json={"name": "Knowledge partner", "role": "operator",
                                                  "scopes": ["federation:read"]})
    assert created.status_code == 201, created.get_data(as_text=True)
    record = created.get_json()
    plaintext = record.pop("token")
    assert re.fullmatch(rf"mmci_{record['id']}_[A-Za-z0-9_-]{{40,}}", plaintext)
    assert {k: record[k] for k in ("name", "role", "scopes", "node_id", "revoked_at", "last_used_at")} == {
        "name": "Knowledge partner", "role": "operator", "scopes": ["federation:read"], "node_id": None,
        "revoked_at": None, "last_used_at": None}
    secret = plaintext.split("_", 2)[2]

    listed = client.get("/api/v1/tokens")
    assert listed.status_code == 200
    assert [t["name"] for t in listed.get_json()] == ["test-operator", "Knowledge partner"]
    assert listed.get_json()[1] == record
    assert all(set(t) == set(record) for t in listed.get_json())  # no token, no secret, no hash
    assert secret not in listed.get_data(as_text=True)
    assert hashlib.sha256(secret.encode()).hexdigest() not in listed.get_data(as_text=True)

    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/harvests", headers=headers).status_code == 200
    assert_error(client.post("/api/v1/harvests", json={}, headers=headers), 403, "forbidden")
    used = {t["id"]: t for t in client.get("/api/v1/tokens").get_json()}[record["id"]]
    assert used["last_used_at"] is not None

    revoked = client.delete(f"/api/v1/tokens/{record['id']}")
    assert revoked.status_code == 200
    assert revoked.get_json()["revoked_at"] is not None and "token" not in revoked.get_json()
    body = assert_error(client.get("/api/v1/harvests", headers=headers), 401, "unauthorized")
    assert "revoked" in body["message"]
    assert 'error="invalid_token"' in client.get("/api/v1/harvests", headers=headers).headers["WWW-Authenticate"]
    # Still listed, as revoked; revoking again is 404 (there is no token to revoke) and keeps the first date.
    again = assert_error(client.delete(f"/api/v1/tokens/{record['id']}"), 404, "not_found")
    assert "revoked already" in again["message"]
    assert {t["id"]: t for t in client.get("/api/v1/tokens").get_json()}[record["id"]]["revoked_at"] == \
        revoked.get_json()["revoked_at"]

    audit = client.get("/api/v1/audit?action=token.")
    assert audit.status_code == 200
    events = audit.get_json()
    assert [(e["action"], e["actor"], e["details"]["token_id"]) for e in events] == [
        ("token.revoked", "operator:test-operator", record["id"]),
        ("token.created", "operator:test-operator", record["id"])]
    assert events[-1]["details"] == {"token_id": record["id"], "name": "Knowledge partner",
                                     "role": "operator", "scopes": ["federation:read"]}
    assert secret not in audit.get_data(as_text=True)


@pytest.mark.parametrize("body, status, error, field", [
    pytest.param({"name": "x", "role": "god"}, 422, "validation_error", "role", id="unknown-role"),
    pytest.param({"name": "x", "role": "node_admin"}, 422, "validation_error", "role", id="a-node-role"),
    pytest.param({"role": "operator"}, 422, "validation_error", "name", id="no-name"),
    pytest.param({"name": "x", "role": "knowledge_member", "scopes": ["nodes:write"]}, 422, "validation_error",
                 "scopes", id="scope-beyond-the-role"),
    pytest.param({"name": "x", "role": "operator", "scopes": ["root"]}, 422, "validation_error", "scopes",
                 id="unknown-scope"),
    pytest.param({"name": "x", "role": "node_operator"}, 422, "validation_error", "node_id",
                 id="node-operator-without-node"),
    pytest.param({"name": "x", "role": "knowledge_member", "node_id": "qoot"}, 422, "validation_error", "node_id",
                 id="bound-reader"),
    pytest.param({"name": "x", "role": "node_operator", "node_id": "ghost"}, 404, "not_found", None,
                 id="node-operator-of-an-unknown-node"),
])
def test_bad_token_requests_create_nothing(registered, body, status, error, field):
    hub, client = registered
    before = (hub.tokens.list(), hub.audit.events())
    assert_error(client.post("/api/v1/tokens", json=body), status, error, field)
    assert (hub.tokens.list(), hub.audit.events()) == before


def test_token_scopes_narrow_a_role_and_node_operators_are_bound(registered):
    hub, client = registered
    narrowed = client.post("/api/v1/tokens", json={"name": "harvester", "role": "operator",
                                                   "scopes": ["harvest:run"]}).get_json()
    assert narrowed["scopes"] == ["harvest:run"]
    headers = {"Authorization": f"Bearer {narrowed['token']}"}
    assert client.post("/api/v1/harvests", json={}, headers=headers).status_code == 200
    assert_error(client.get("/api/v1/harvests", headers=headers), 403, "forbidden")
    bound = client.post("/api/v1/tokens", json={"name": "qoot ops", "role": "node_operator", "node_id": "qoot"})
    assert bound.status_code == 201
    assert (bound.get_json()["node_id"], bound.get_json()["scopes"]) == ("qoot", ["federation:read", "push:write"])
    assert client.delete("/api/v1/tokens/0000deadbeef").status_code == 404


def test_audit_log_filters(registered):
    hub, client = registered
    client.patch("/api/v1/nodes/qoot", json={"status": "paused"})
    client.patch("/api/v1/nodes/qoot", json={"status": "active"})
    events = client.get("/api/v1/audit").get_json()
    assert [e["action"] for e in events] == ["node.resumed", "node.paused", "node.registered", "key.added"]
    assert [(e["action"], e["actor"]) for e in events[:2]] == [("node.resumed", "operator:test-operator"),
                                                               ("node.paused", "operator:test-operator")]
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)  # newest first
    assert [e["action"] for e in client.get("/api/v1/audit?action=node.&node_id=qoot").get_json()] == [
        "node.resumed", "node.paused", "node.registered"]
    assert [e["action"] for e in client.get("/api/v1/audit?limit=1").get_json()] == ["node.resumed"]
    assert client.get("/api/v1/audit?node_id=ghost").get_json() == []
    assert_error(client.get("/api/v1/audit?limit=0"), 422, "validation_error", "limit")


# -- joining: pending until the operator decides ------------------------------------------------------------------

def test_a_node_that_asks_to_join_is_not_harvested_until_approved(joining):
    hub, client, join = joining
    node_app, node_url, answer = join("node-lb", JOIN_LB_MEMBERS)
    assert {k: answer[k] for k in ("id", "url", "name", "status", "cluster_id", "country")} == {
        "id": "qoot", "url": node_url, "name": "node-lb node", "status": "pending", "cluster_id": "qoot",
        "country": "LB"}
    assert answer["hub_keys"] == hub.keys.published()
    # The node now trusts the hub's key.
    assert [k["kid"] for k in node_app.extensions["medmci"].hubs.list()] == [hub.keys.current[0]]
    [event] = client.get("/api/v1/audit?action=registration.").get_json()
    assert (event["action"], event["actor"], event["node_id"]) == ("registration.requested", "node:qoot", "qoot")

    # Pending: left out of harvests, refused by name, and not resumable by a status change.
    report = client.post("/api/v1/harvests", json={}).get_json()
    assert report["nodes"] == [] and report["counts"]["new_version"] == 0
    body = assert_error(client.post("/api/v1/harvests", json={"nodes": ["qoot"]}), 422, "validation_error", "nodes")
    assert "qoot (pending)" in body["message"]
    assert_error(client.patch("/api/v1/nodes/qoot", json={"status": "active"}), 409, "conflict", "status")
    assert client.get("/api/v1/nodes/qoot").get_json()["status"] == "pending"
    assert client.get("/api/v1/nodes/qoot/versions").get_json() == []
    assert client.get("/api/v1/clusters").get_json() == []

    # Only a token with registrations:decide approves, with a known decision.
    anonymous = FlaskClient(client.application)
    assert_error(anonymous.post("/api/v1/nodes/qoot/decision", json={"decision": "approve"}), 401, "unauthorized")
    assert_error(client.post("/api/v1/nodes/qoot/decision", json={"decision": "approve"},
                             headers=token_headers(hub, "knowledge_member")), 403, "forbidden")
    assert_error(client.post("/api/v1/nodes/qoot/decision", json={"decision": "maybe"}), 422, "validation_error",
                 "decision")
    assert_error(client.post("/api/v1/nodes/ghost/decision", json={"decision": "approve"}), 404, "not_found")
    assert client.get("/api/v1/nodes/qoot").get_json()["status"] == "pending"

    approved = client.post("/api/v1/nodes/qoot/decision", json={"decision": "approve", "reason": "checked by phone"})
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.get_json()["status"] == "active"
    [event] = client.get("/api/v1/audit?action=registration.approved").get_json()
    assert (event["actor"], event["node_id"], event["details"]) == ("operator:test-operator", "qoot",
                                                                    {"reason": "checked by phone",
                                                                     "previous": "pending"})
    report = client.post("/api/v1/harvests", json={}).get_json()
    assert [(n["node_id"], n["outcome"]) for n in report["nodes"]] == [("qoot", "new_version")]
    # It trusts the hub: the hub holds its federation member too.
    assert [(c["id"], c["members"]) for c in client.get("/api/v1/clusters").get_json()] == [("qoot", 4)]
    assert [(c["id"], c["members"]) for c in anonymous.get("/api/v1/clusters").get_json()] == [("qoot", 3)]

    # Suspended: no longer harvested, refused by name, not resumable by a status change; approve resumes it.
    suspended = client.post("/api/v1/nodes/qoot/decision", json={"decision": "suspend"})
    assert suspended.get_json()["status"] == "suspended"
    assert client.post("/api/v1/harvests", json={}).get_json()["nodes"] == []
    body = assert_error(client.post("/api/v1/harvests", json={"nodes": ["qoot"]}), 422, "validation_error")
    assert "qoot (suspended)" in body["message"]
    assert_error(client.patch("/api/v1/nodes/qoot", json={"status": "active"}), 409, "conflict")
    assert client.post("/api/v1/nodes/qoot/decision", json={"decision": "approve"}).get_json()["status"] == "active"
    assert [n["node_id"] for n in client.post("/api/v1/harvests", json={}).get_json()["nodes"]] == ["qoot"]


def test_a_rejected_node_is_never_harvested(joining):
    _hub, client, join = joining
    join("node-ma")
    rejected = client.post("/api/v1/nodes/menara/decision", json={"decision": "reject", "reason": "unknown to us"})
    assert rejected.get_json()["status"] == "rejected"
    assert client.post("/api/v1/harvests", json={}).get_json()["nodes"] == []
    body = assert_error(client.post("/api/v1/harvests", json={"nodes": ["menara"]}), 422, "validation_error")
    assert "menara (rejected)" in body["message"]
    assert_error(client.patch("/api/v1/nodes/menara", json={"status": "paused"}), 409, "conflict")
    assert client.get("/api/v1/nodes/menara").get_json()["status"] == "rejected"
    [event] = client.get("/api/v1/audit?action=registration.rejected").get_json()
    assert event["details"] == {"reason": "unknown to us", "previous": "pending"}


def test_a_join_request_must_be_signed_by_the_node(joining, make_node, serve):
    hub, client, _join = joining
    node_url = serve(build_node(make_node, "node-lb")).url
    response = FlaskClient(client.application).post("/api/v1/registrations", json={"node_url": node_url})
    assert_error(response, 401, "signature_error", "signature")
    assert node_count(hub) == 0


def test_anonymous_stage_coverage_leaves_out_federation_members(joining):
    hub, client, join = joining
    join("node-lb", JOIN_LB_MEMBERS)
    join("node-ma")
    for node_id in ("qoot", "menara"):
        assert client.post(f"/api/v1/nodes/{node_id}/decision", json={"decision": "approve"}).status_code == 200
    assert client.post("/api/v1/harvests", json={}).get_json()["counts"]["new_version"] == 2
    anonymous = FlaskClient(client.application)

    full = client.get("/api/v1/metaclusters/agri-food").get_json()
    public = anonymous.get("/api/v1/metaclusters/agri-food").get_json()
    assert full["formed"] is True and public["formed"] is True
    assert full["stage_coverage"]["logistics"] == ["LB", "MA"]
    assert public["stage_coverage"]["logistics"] == ["MA"]
    assert "logistics" not in full["country_gaps"]["LB"]
    assert "logistics" in public["country_gaps"]["LB"]
    assert {k: v for k, v in public["stage_coverage"].items() if k != "logistics"} == \
        {k: v for k, v in full["stage_coverage"].items() if k != "logistics"}
    # Joined nodes are named after their cluster.
    assert {s["name"]: s["members"] for s in full["sub_clusters"]}["parallel-services"] == [
        "menara/menara-cold", "qoot/qoot-cargo"]
    assert {s["name"]: s["members"] for s in public["sub_clusters"]}["parallel-services"] == ["menara/menara-cold"]
    assert "qoot/qoot-cargo" in {m["id"] for m in full["members"]}
    assert "qoot/qoot-cargo" not in {m["id"] for m in public["members"]}
    assert "qoot-cargo" not in anonymous.get("/api/v1/metaclusters?formed=all").get_data(as_text=True)
    assert_error(anonymous.get("/api/v1/clusters/qoot/members/qoot-cargo/why"), 404, "not_found")


# -- the hub's own discovery -----------------------------------------------------------------------------------------

def test_hub_discovery_publishes_its_keys(hub_client):
    hub, client = hub_client
    response = FlaskClient(client.application).get("/.well-known/med-mci-hub")
    assert response.status_code == 200
    document = response.get_json()
    assert document["schema"] == "med-mci/hub"
    assert document["keys"] == hub.keys.published()
    assert [k["kid"] for k in document["keys"]] == [hub.keys.current[0]]
    assert all("d" not in k for k in document["keys"])
    assert document["registrations_url"] == "http://localhost/api/v1/registrations"


# -- catalog -------------------------------------------------------------------------------------------------------

def test_plugins_list_builtins_with_their_hooks(hub_client):
    _hub, client = hub_client
    response = client.get("/api/v1/plugins")
    assert response.status_code == 200
    plugins = response.get_json()
    assert {p["name"]: p["hooks"] for p in plugins} == PLUGIN_HOOKS
    assert {p["name"]: p["module"] for p in plugins} == {name: f"plugins.{name}" for name in PLUGIN_HOOKS}


def test_value_chains_with_ordered_stages(hub_client, config_dir):
    _hub, client = hub_client
    chains = client.get("/api/v1/value-chains").get_json()
    assert [c["id"] for c in chains] == CHAINS
    for chain in chains:
        source = yaml.safe_load((config_dir / "value_chains" / f"{chain['id']}.yaml").read_text(encoding="utf-8"))
        assert [s["id"] for s in chain["stages"]] == [s["id"] for s in source["stages"]]
        assert [s["kind"] for s in chain["stages"]] == [s["kind"] for s in source["stages"]]
        assert chain["names"]["en"] == source["names"]["en"]
    agri = chains[0]
    assert [s["id"] for s in agri["stages"]] == ["inputs", "production", "processing", "packaging", "logistics",
                                                 "market", "support-services"]
    assert agri["sub_clusters"] == ["wine", "snacks-confectionery", "agri-fresh", "processing", "parallel-services"]


def test_hub_openapi_documents_the_api(hub_client):
    _hub, client = hub_client
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "Med-MCI hub"
    for path in ("/api/v1/nodes", "/api/v1/harvests", "/api/v1/metaclusters", "/api/v1/metaclusters/{metacluster_id}",
                 "/api/v1/clusters/{cluster_id}/why", "/api/v1/nodes/{node_id}/versions/{version_id}",
                 "/api/v1/nodes/{node_id}/decision", "/api/v1/registrations", "/api/v1/tokens",
                 "/api/v1/tokens/{token_id}", "/api/v1/audit"):
        assert path in spec["paths"], path
    # Guarded operations name their scope and document 401 and 403; open reads do not.
    for path, method, scope in (("/api/v1/nodes", "post", "nodes:write"), ("/api/v1/nodes/{node_id}", "patch",
                                                                            "nodes:write"),
                                ("/api/v1/harvests", "post", "harvest:run"), ("/api/v1/harvests", "get",
                                                                              "federation:read"),
                                ("/api/v1/nodes/{node_id}/decision", "post", "registrations:decide"),
                                ("/api/v1/tokens", "post", "tokens:admin"), ("/api/v1/audit", "get", "audit:read")):
        operation = spec["paths"][path][method]
        assert operation["x-medmci-scope"] == scope, (path, method)
        assert {"401", "403"} <= set(operation["responses"]), (path, method)
    for path in ("/api/v1/metaclusters", "/api/v1/clusters"):
        assert "x-medmci-scope" not in spec["paths"][path]["get"]


def test_the_node_list_is_for_federation_readers_only(hub_client, node_urls):
    """Node URLs, pending registrations and harvest errors are not for anonymous readers."""
    hub, client = hub_client
    assert client.post("/api/v1/nodes", json={"id": "lb", "url": node_urls("qoot")}).status_code == 201
    anonymous = FlaskClient(client.application)
    for path in ("/api/v1/nodes", "/api/v1/nodes/lb"):
        assert_error(anonymous.get(path), 401, "unauthorized")
    reader = token_headers(hub, "knowledge_member")
    assert [n["id"] for n in anonymous.get("/api/v1/nodes", headers=reader).json] == ["lb"]
