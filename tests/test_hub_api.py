"""The hub's REST API: registration through the test client, harvests of real node servers over HTTP.

The read-only tests share one harvested federation per backend (module scope: starting and stopping real servers
dominates the run time); tests that change the hub build their own.
"""

from __future__ import annotations

import hashlib
import socket
import uuid
from http import HTTPStatus

import pytest
import sqlalchemy as sa
import yaml

from federation.hub.app import Hub, create_hub_app
from federation.node.app import create_node_app
from federation.serving import BackgroundServer
from tests.conftest import POSTGRES_URL, TEST_SETTINGS, cluster_doc, load_node, member_doc

ERROR_KEYS = {"code", "status", "error", "message", "errors"}
CHAINS = ["agri-food", "bioeconomy-waste", "electronics", "food-cosmetics", "textile-apparel"]
PLUGIN_HOOKS = {
    "eu_ecosystems": ["medmci_register_taxonomies"],
    "formation": ["medmci_register_formation_rules"],
    "isic_rev4": ["medmci_register_taxonomies"],
    "nace_rev2": ["medmci_register_taxonomies"],
    "subclustering": ["medmci_register_subcluster_rules"],
    "value_chains": ["medmci_register_value_chains"],
}

#: node id -> (cluster id, country, members). The hub's node ids differ from the cluster ids on purpose.
LB_MEMBERS = [
    member_doc("qoot-wine", "nace-rev2:11.02", name="Chateau Qoot"),
    member_doc("qoot-biscuits", "nace-rev2:10.82", name="Qoot Biscuits"),
    member_doc("qoot-oil", "nace-rev2:10.41", name="Qoot Olive Oil", visibility="federation"),
    member_doc("qoot-uni", "nace-rev2:85.42", kind="university", name="Qoot University"),
    member_doc("qoot-secret", "nace-rev2:11.02", name="Secret Winery", visibility="private"),
]
MA_MEMBERS = [
    member_doc("menara-wine", "nace-rev2:11.02", name="Domaine Menara", city="Meknes"),
    member_doc("menara-biscuits", "nace-rev2:10.82", name="Menara Biscuiterie", city="Fes"),
    member_doc("menara-oil", "nace-rev2:10.41", name="Huilerie Menara", city="Marrakech"),
    member_doc("menara-cold", "nace-rev2:52.24", name="Menara Cargo Handling", city="Agadir"),
    member_doc("menara-lab", "nace-rev2:72.19", kind="research_centre", name="Menara Agro Lab", city="Rabat"),
]
NODES = {"node-lb": ("qoot", "LB", LB_MEMBERS), "node-ma": ("menara", "MA", MA_MEMBERS)}


# -- helpers -------------------------------------------------------------------------------------------------------

def assert_error(response, status: int, error: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert {"code", "status", "error", "message"} <= set(body) <= ERROR_KEYS, body
    assert body["code"] == status
    assert body["status"] == HTTPStatus(status).phrase
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    if "errors" in body:
        assert isinstance(body["errors"], dict), body["errors"]
    if field is not None:
        assert field in body.get("errors", {}), body
    return body


def closed_port_url() -> str:
    """A loopback URL nobody listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def build_node(make_node, node_id):
    cluster_id, country, members = NODES[node_id]
    app = make_node(node_id)
    load_node(app, cluster_doc(cluster_id, country), members)
    return app


class _Databases:
    """Fresh database URLs of one backend, outside the function-scoped ``database_url`` fixture."""

    def __init__(self, backend, tmp):
        self.backend, self.tmp, self.schemas = backend, tmp, []

    def url(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp / (name + '.sqlite3')}"
        schema = f"t_{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        self.schemas.append(schema)
        return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"

    def drop(self):
        if self.schemas:
            engine = sa.create_engine(POSTGRES_URL)
            with engine.begin() as conn:
                for schema in self.schemas:
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fed(request, tmp_path_factory, registry):
    """Two real nodes (LB, MA) registered at a hub and harvested once through POST /api/v1/harvests."""
    if request.param == "postgres" and not request.getfixturevalue("postgres_available"):
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    tmp = tmp_path_factory.mktemp(f"fed-{request.param}")
    dbs = _Databases(request.param, tmp)
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
        client = hub_app.test_client()
        for node_id, server in servers.items():
            assert client.post("/api/v1/nodes", json={"id": node_id, "url": server.url}).status_code == 201
        harvest = client.post("/api/v1/harvests", json={})
        assert harvest.status_code == 200, harvest.get_data(as_text=True)
        yield {"client": client, "hub": hub, "nodes": nodes, "servers": servers, "harvest": harvest.get_json()}
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

def test_register_and_list_nodes(hub_client):
    _hub, client = hub_client
    response = client.post("/api/v1/nodes", json={"id": "qoot", "url": "http://127.0.0.1:5001/", "name": "QOOT"})
    assert response.status_code == 201
    node = response.get_json()
    assert {k: node[k] for k in ("id", "url", "name", "status", "profile_url", "last_outcome", "last_error",
                                 "consecutive_failures")} == {
        "id": "qoot", "url": "http://127.0.0.1:5001", "name": "QOOT", "status": "active", "profile_url": None,
        "last_outcome": None, "last_error": None, "consecutive_failures": 0}
    listed = client.get("/api/v1/nodes")
    assert listed.status_code == 200
    assert [n["id"] for n in listed.get_json()] == ["qoot"]
    assert listed.get_json()[0]["url"] == "http://127.0.0.1:5001"
    assert client.get("/api/v1/nodes/qoot").get_json()["name"] == "QOOT"


def test_a_registered_node_reads_back_as_registered(hub_client):
    """The node GET returns is the node POST returned (timestamps included, with their UTC offset)."""
    _hub, client = hub_client
    created = client.post("/api/v1/nodes", json={"id": "qoot", "url": "http://127.0.0.1:5001"}).get_json()
    assert client.get("/api/v1/nodes/qoot").get_json() == created
    assert client.get("/api/v1/nodes").get_json() == [created]
    assert created["registered_at"].endswith("+00:00")


@pytest.mark.parametrize("body, status, error, field", [
    pytest.param({"id": "new"}, 422, "validation_error", "url", id="no-url"),
    pytest.param({"url": "http://new.example.org"}, 422, "validation_error", "id", id="no-id"),
    pytest.param({"id": "new", "url": "ftp://x"}, 422, "validation_error", "url", id="ftp-url"),
    pytest.param({"id": "new", "url": "not a url"}, 422, "validation_error", "url", id="not-a-url"),
    pytest.param({"id": "new", "url": "http://new.example.org/?q=1"}, 422, "validation_error", "url",
                 id="url-with-query"),
    pytest.param({"id": "Bad Id", "url": "http://new.example.org"}, 422, "validation_error", "id", id="bad-id"),
    pytest.param({"id": "new", "url": 42}, 422, "validation_error", "url", id="url-wrong-type"),
    pytest.param({"id": "qoot", "url": "http://other.example.org"}, 409, "conflict", "id", id="duplicate-id"),
    pytest.param({"id": "new", "url": "http://qoot.example.org"}, 409, "conflict", "url", id="duplicate-url"),
    pytest.param({"id": "new", "url": "http://qoot.example.org/"}, 409, "conflict", "url",
                 id="duplicate-url-trailing-slash"),
])
def test_bad_registration_registers_nothing(hub_client, body, status, error, field):
    _hub, client = hub_client
    assert client.post("/api/v1/nodes", json={"id": "qoot", "url": "http://qoot.example.org"}).status_code == 201
    before = client.get("/api/v1/nodes").get_json()
    assert_error(client.post("/api/v1/nodes", json=body), status, error, field)
    assert client.get("/api/v1/nodes").get_json() == before
    assert_error(client.get("/api/v1/nodes/new"), 404, "not_found")


@pytest.mark.parametrize("node_id, body, status, error, field", [
    ("qoot", {"status": "sleeping"}, 422, "validation_error", "status"),
    ("qoot", {}, 422, "validation_error", "status"),
    ("ghost", {"status": "paused"}, 404, "not_found", None),
])
def test_bad_status_change_changes_nothing(hub_client, node_id, body, status, error, field):
    _hub, client = hub_client
    client.post("/api/v1/nodes", json={"id": "qoot", "url": "http://qoot.example.org"})
    assert_error(client.patch(f"/api/v1/nodes/{node_id}", json=body), status, error, field)
    assert client.get("/api/v1/nodes/qoot").get_json()["status"] == "active"


def test_harvest_of_unknown_node_is_404_and_records_no_run(hub_client):
    _hub, client = hub_client
    body = assert_error(client.post("/api/v1/harvests", json={"nodes": ["ghost"]}), 404, "not_found")
    assert "ghost" in body["message"]
    assert client.get("/api/v1/harvests").get_json() == []


def test_harvest_of_a_node_that_is_down_records_the_reason(hub_client):
    _hub, client = hub_client
    url = closed_port_url()
    client.post("/api/v1/nodes", json={"id": "down", "url": url})
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
    servers = {node_id: serve(build_node(make_node, node_id)) for node_id in NODES}
    app = create_hub_app(hub=make_hub())
    client = app.test_client()
    for node_id, server in servers.items():
        assert client.post("/api/v1/nodes", json={"id": node_id, "url": server.url}).status_code == 201

    paused = client.patch("/api/v1/nodes/node-lb", json={"status": "paused"})
    assert paused.status_code == 200
    assert paused.get_json()["status"] == "paused"
    assert client.get("/api/v1/nodes/node-lb").get_json()["status"] == "paused"

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
        served = app.test_client().get("/api/v1/profile")
        versions = client.get(f"/api/v1/nodes/{node_id}/versions")
        assert versions.status_code == 200
        [version] = versions.get_json()
        assert version["sequence"] == served.get_json()["sequence"]
        assert version["schema_version"] == "1.0"
        assert version["sha256"] == hashlib.sha256(served.data).hexdigest()
        assert version["size"] == len(served.data)
        assert version["etag"] == served.headers["ETag"]
        body = client.get(f"/api/v1/nodes/{node_id}/versions/{version['id']}")
        assert body.status_code == 200
        assert body.mimetype == "application/json"
        assert body.data == served.data
        assert body.headers["Digest-SHA256"] == version["sha256"]


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
                 "/api/v1/clusters/{cluster_id}/why", "/api/v1/nodes/{node_id}/versions/{version_id}"):
        assert path in spec["paths"], path
