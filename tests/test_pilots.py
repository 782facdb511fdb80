"""Pilots at the hub, over real HTTP: three real nodes (LB, MA, TN) harvested by a served hub, on SQLite and
PostgreSQL. The workflow from creation to the report's data; who may do what (the operator writes, a cluster
answers for itself only: its bound token or its node's signature); transitions; refusals that change nothing; the
pilots.* bounds; the command line; the OpenAPI document.

The read-mostly federation is shared per backend (module scope: real servers dominate the run time); each test
works on pilots of its own ids.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import requests
import yaml

from federation.cli import main
from federation.errors import FederationError
from federation.hub.app import Hub, create_hub_app
from federation.node.app import create_node_app
from federation.node.join import trust_hub
from federation.serving import BackgroundServer
from federation.signing import sign_request
from tests.support.api_servers import spec_of
from tests.support.assertions import assert_error
from tests.support.builders import LB_MEMBERS, MA_MEMBERS, cluster_doc, load_node, member_doc
from tests.support.databases import Databases
from tests.support.environment import POSTGRES_URL, TEST_SETTINGS
from tests.test_openapi_contract import CheckedClient

TN_MEMBERS = [
    member_doc("sahel-oil", "nace-rev2:10.41", name="Huilerie du Sahel", city="Sfax"),
    member_doc("sahel-biscuits", "nace-rev2:10.82", name="Biscuiterie du Sahel", city="Sousse"),
    member_doc("sahel-wine", "nace-rev2:11.02", name="Domaine du Sahel", city="Nabeul"),
    # Alone on textile-apparel: that value chain is assessed and not formed.
    member_doc("sahel-apparel", "nace-rev2:14.13", name="Sahel Confection", city="Monastir"),
]
NODES = {"node-lb": ("qoot", "LB", LB_MEMBERS), "node-ma": ("menara", "MA", MA_MEMBERS),
         "node-tn": ("sahel", "TN", TN_MEMBERS)}


def knowledge_figures(hub_box: dict):
    """The representation function the tests give the hub: knowledge members per 100 chain members, overall and
    by country, computed from the meta-cluster the hub formed (the science core computes more)."""

    def representation(metacluster_id: str) -> dict:
        document = hub_box["hub"].queries.metacluster(metacluster_id)
        members = Counter(m["country"] for m in document["members"])
        knowledge = Counter(k["country"] for k in document["knowledge_members"])

        def per_100(k: int, m: int) -> float:
            return round(100 * k / m, 1) if m else 0.0

        return {"knowledge_per_100_members": per_100(sum(knowledge.values()), sum(members.values())),
                "by_country": {c: {"members": members[c], "knowledge": knowledge[c],
                                   "per_100": per_100(knowledge[c], members[c])}
                               for c in sorted(set(members) | set(knowledge))}}

    return representation


class Api:
    """HTTP calls to the served hub, each with the token of one caller (or none)."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()
        self.session.trust_env = False

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return self.session.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def signed(self, path: str, node_app, body: dict) -> requests.Response:
        """A POST signed (RFC 9421) with ``node_app``'s current key, as a node signs its push."""
        kid, key = node_app.extensions["medmci"].keys.current
        prepared = requests.Request("POST", self.url + path, json=body).prepare()
        sign_request(prepared, key, kid)
        return self.session.send(prepared, timeout=30)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fed(request, tmp_path_factory, registry):
    """Three real nodes registered at a served hub and harvested once; tokens of every kind of caller."""
    if request.param == "postgres" and not request.getfixturevalue("postgres_available"):
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    tmp = tmp_path_factory.mktemp(f"pilots-{request.param}")
    dbs = Databases(request.param, tmp)
    nodes, servers, hub, node_urls = {}, {}, None, {}
    try:
        for node_id, (cluster_id, country, members) in NODES.items():
            node_urls[node_id] = dbs.url(node_id)
            app = create_node_app(tmp / node_id, {"database_url": node_urls[node_id], **TEST_SETTINGS},
                                  registry=registry)
            load_node(app, cluster_doc(cluster_id, country), members)
            nodes[node_id] = app
            servers[node_id] = BackgroundServer(app).start()
        box: dict = {}
        hub_url = dbs.url("hub")
        hub = box["hub"] = Hub.build(tmp / "hub", {"database_url": hub_url, **TEST_SETTINGS}, registry=registry,
                                     representation_of=knowledge_figures(box))
        servers["hub"] = BackgroundServer(create_hub_app(hub=hub)).start()
        for node_id, app in nodes.items():
            trust_hub(app.extensions["medmci"], servers["hub"].url, public_url=servers[node_id].url)
            hub.nodes.register(node_id, servers[node_id].url, None, None, "test")
        assert hub.harvester.harvest()["counts"]["new_version"] == 3
        tokens = {"operator": hub.tokens.create("op", "operator")[1],
                  "reader": hub.tokens.create("uni", "knowledge_member", entity_key="hosted:uni")[1],
                  **{node_id: hub.tokens.create(f"{node_id}-op", "node_operator", node_id=node_id)[1]
                     for node_id in nodes}}
        yield {"hub": hub, "api": Api(servers["hub"].url), "nodes": nodes, "tokens": tokens, "tmp": tmp,
               "database_url": hub_url, "figures": knowledge_figures(box), "node_database_urls": node_urls}
    finally:
        for server in servers.values():
            server.stop()
        if hub is not None:
            hub.close()
        for app in nodes.values():
            app.extensions["medmci"].db.dispose()
        dbs.drop()


def create(fed, pilot_id: str, **extra) -> dict:
    body = {"id": pilot_id, "name": f"Pilot {pilot_id}", "goal": "Joint olive-oil export to the Gulf",
            "metacluster_id": "agri-food", "coordinator": "qoot", **extra}
    response = fed["api"].call("POST", "/api/v1/pilots", fed["tokens"]["operator"], json=body)
    assert response.status_code == 201, response.text
    return response.json()


def invite(fed, pilot_id: str, kind: str, keys: list[str]) -> requests.Response:
    return fed["api"].call("POST", f"/api/v1/pilots/{pilot_id}/participants", fed["tokens"]["operator"],
                           json={"kind": kind, "keys": keys})


def answer_path(pilot_id: str, key: str) -> str:
    return f"/api/v1/pilots/{pilot_id}/participants/{key}/answer"


def events_of(hub, pilot_id: str) -> list[dict]:
    """The audit events about one pilot, oldest first."""
    return [e for e in reversed(hub.audit.events(None, None, 10_000)) if e["details"].get("pilot_id") == pilot_id]


def state(fed, pilot_id: str) -> dict:
    """Everything stored about a pilot, as the operator reads it."""
    api, token = fed["api"], fed["tokens"]["operator"]
    return {"pilot": api.call("GET", f"/api/v1/pilots/{pilot_id}", token).json(),
            **{part: api.call("GET", f"/api/v1/pilots/{pilot_id}/{part}", token).json()
               for part in ("teams", "activities", "outcomes")},
            "events": len(events_of(fed["hub"], pilot_id))}


# -- the workflow --------------------------------------------------------------------------------------------------

def test_a_pilot_from_creation_to_its_report(fed):
    api, tokens, hub = fed["api"], fed["tokens"], fed["hub"]
    operator = tokens["operator"]
    figures_then = fed["figures"]("mc-agri-food")

    pilot = create(fed, "olive-oil", team_constraints={"team_size": [2, 3], "min_countries": 2,
                                                       "eu_and_mena": False, "min_knowledge": 1})
    assert {k: pilot[k] for k in ("id", "metacluster_id", "coordinator_node_id", "status", "created_by",
                                  "activated_at", "closed_at")} == {
        "id": "olive-oil", "metacluster_id": "mc-agri-food", "coordinator_node_id": "node-lb", "status": "proposed",
        "created_by": "operator:op", "activated_at": None, "closed_at": None}
    assert pilot["figures_at_start"] == figures_then
    assert pilot["figures_at_start"]["by_country"]["LB"]["knowledge"] == 1
    assert pilot["team_constraints"]["team_size"] == [2, 3]
    # The coordinating cluster takes part from the start.
    [coordinator] = pilot["participants"]
    assert {k: coordinator[k] for k in ("key", "kind", "name", "country", "status")} == {
        "key": "node-lb", "kind": "cluster", "name": "QOOT", "country": "LB", "status": "accepted"}

    # Readable with federation:read; the list is paginated like the others.
    listed = api.call("GET", "/api/v1/pilots", tokens["reader"], params={"page_size": 1})
    assert listed.status_code == 200
    assert json.loads(listed.headers["X-Pagination"])["total"] >= 1
    shown = api.call("GET", "/api/v1/pilots/olive-oil", tokens["reader"]).json()
    assert shown["counts"] == {"teams": 0, "activities": 0, "outcomes": 0}
    assert shown["figures_at_start"] == figures_then

    # Invitations: clusters of the meta-cluster (by cluster id or node id), knowledge members serving it.
    invited = invite(fed, "olive-oil", "cluster", ["menara", "node-tn"])
    assert invited.status_code == 201, invited.text
    assert [(p["key"], p["status"], p["name"]) for p in invited.json()] == [
        ("node-ma", "invited", "MENARA"), ("node-tn", "invited", "SAHEL")]
    knowledge = invite(fed, "olive-oil", "knowledge", ["node-lb/qoot-uni", "node-ma/menara-lab"])
    assert knowledge.status_code == 201, knowledge.text
    assert [(p["key"], p["kind"], p["status"], p["country"]) for p in knowledge.json()] == [
        ("node-lb/qoot-uni", "knowledge", "taking_part", "LB"), ("node-ma/menara-lab", "knowledge", "taking_part", "MA")]

    # Menara accepts with a request signed by its node; Sahel declines with its token, is invited again, accepts.
    accepted = api.signed(answer_path("olive-oil", "node-ma"), fed["nodes"]["node-ma"], {"answer": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["answered_by"]) == ("accepted", "node:node-ma")
    declined = api.call("POST", answer_path("olive-oil", "sahel"), tokens["node-tn"], json={"answer": "decline"})
    assert declined.status_code == 200, declined.text
    assert (declined.json()["key"], declined.json()["status"]) == ("node-tn", "declined")
    assert invite(fed, "olive-oil", "cluster", ["node-tn"]).json()[0]["status"] == "invited"
    again = api.call("POST", answer_path("olive-oil", "node-tn"), tokens["node-tn"], json={"answer": "accept"})
    assert (again.json()["status"], again.json()["answered_by"]) == ("accepted", "node_operator:node-tn-op")

    assert api.call("PATCH", "/api/v1/pilots/olive-oil", operator, json={"status": "active"}).json()["status"] \
        == "active"

    # Teams of participants that take part; an edit keeps who changed what.
    saved = api.call("POST", "/api/v1/pilots/olive-oil/teams", operator, json={"teams": [
        {"name": "export", "members": ["node-lb", "node-ma", "node-lb/qoot-uni"], "score": 0.8,
         "reasons": ["LB and MA both press olive oil", "Qoot University tests oil quality"]},
        {"name": "quality", "members": ["node-tn", "node-ma/menara-lab"]}]})
    assert saved.status_code == 201, saved.text
    assert [(t["name"], t["members"], t["history"]) for t in saved.json()] == [
        ("export", ["node-lb", "node-ma", "node-lb/qoot-uni"], []), ("quality", ["node-tn", "node-ma/menara-lab"], [])]
    edited = api.call("PATCH", "/api/v1/pilots/olive-oil/teams/quality", operator,
                      json={"add": ["node-lb"], "remove": ["node-tn"], "rename": "quality-lab"})
    assert edited.status_code == 200, edited.text
    team = edited.json()
    assert (team["name"], team["members"]) == ("quality-lab", ["node-ma/menara-lab", "node-lb"])
    [change] = team["history"]
    assert change["by"] == "operator:op"
    assert change["before"] == {"name": "quality", "members": ["node-tn", "node-ma/menara-lab"]}
    assert change["after"] == {"name": "quality-lab", "members": ["node-ma/menara-lab", "node-lb"]}
    assert [t["name"] for t in api.call("GET", "/api/v1/pilots/olive-oil/teams", tokens["reader"]).json()] == [
        "export", "quality-lab"]

    activity = api.call("POST", "/api/v1/pilots/olive-oil/activities", operator, json={
        "date": "2026-03-10", "kind": "benchmarking_visit", "title": "Visit of the Sfax mills",
        "participants": ["node-ma", "node-tn"], "notes": "Two days.\nCold-press lines compared."})
    assert activity.status_code == 201, activity.text
    outcome = api.call("POST", "/api/v1/pilots/olive-oil/outcomes", operator, json={
        "date": "2026-06-01", "kind": "mou", "title": "MoU on a shared quality label",
        "participants": ["node-lb", "node-ma"], "link": "https://example.org/mou.pdf"})
    assert outcome.status_code == 201, outcome.text
    assert api.call("GET", "/api/v1/pilots/olive-oil/activities", tokens["reader"]).json()[0]["notes"] == \
        "Two days.\nCold-press lines compared."
    assert api.call("GET", "/api/v1/pilots/olive-oil/outcomes", tokens["reader"]).json()[0]["link"] == \
        "https://example.org/mou.pdf"

    # A research centre joins Menara after the pilot began: "now" moves, the figures at the start do not.
    fed["nodes"]["node-ma"].extensions["medmci"].service.create_member(
        member_doc("menara-inra", "nace-rev2:72.19", kind="research_centre", name="INRA Meknes", city="Meknes"))
    assert hub.harvester.harvest(["node-ma"])["counts"]["new_version"] == 1
    assert api.call("PATCH", "/api/v1/pilots/olive-oil", operator, json={"status": "closed"}).json()["status"] \
        == "closed"

    report = hub.pilots.report_data("olive-oil")
    assert report["language"] == "en"
    assert {k: report["pilot"][k] for k in ("id", "status", "coordinator")} == {
        "id": "olive-oil", "status": "closed", "coordinator": {"node_id": "node-lb", "name": "QOOT", "country": "LB"}}
    assert report["pilot"]["activated_at"] and report["pilot"]["closed_at"]
    assert report["metacluster"]["id"] == "mc-agri-food" and report["metacluster"]["value_chain"] == "agri-food"
    assert report["metacluster"]["countries"] == ["LB", "MA", "TN"]
    assert report["metacluster"]["name"] == "Agri-food"
    assert report["metacluster"]["stages"][2] == {"id": "processing", "name": "Food and beverage processing"}
    assert [s["id"] for s in report["metacluster"]["stages"]] == [
        "inputs", "production", "processing", "packaging", "logistics", "market", "support-services"]
    assert {(p["id"], p["kind"], p["status"]) for p in report["participants"]} == {
        ("node-lb", "cluster", "accepted"), ("node-ma", "cluster", "accepted"), ("node-tn", "cluster", "accepted"),
        ("node-lb/qoot-uni", "knowledge", "taking_part"), ("node-ma/menara-lab", "knowledge", "taking_part")}
    export, quality = report["teams"]
    assert (export["name"], export["edited"], export["score"]) == ("export", False, 0.8)
    assert export["members"][2] == {"id": "node-lb/qoot-uni", "name": "Qoot University", "country": "LB",
                                    "kind": "knowledge"}
    assert export["reasons"] == ["LB and MA both press olive oil", "Qoot University tests oil quality"]
    assert (quality["name"], quality["edited"]) == ("quality-lab", True)
    assert report["activities"] == [{"date": "2026-03-10", "kind": "benchmarking_visit",
                                     "title": "Visit of the Sfax mills", "participants": ["MENARA", "SAHEL"],
                                     "notes": "Two days.\nCold-press lines compared."}]
    assert report["outcomes"] == [{"date": "2026-06-01", "kind": "mou", "title": "MoU on a shared quality label",
                                   "participants": ["QOOT", "MENARA"], "link": "https://example.org/mou.pdf"}]
    start, now = report["representation"]["start"], report["representation"]["now"]
    assert start == figures_then
    assert (start["by_country"]["MA"]["knowledge"], now["by_country"]["MA"]["knowledge"]) == (1, 2)
    assert now == fed["figures"]("mc-agri-food")

    # Every decision is in the audit log, in order, with its actor.
    events = [(e["action"], e["actor"]) for e in events_of(hub, "olive-oil")]
    assert events == [
        ("pilot.created", "operator:op"),
        ("pilot.invited", "operator:op"), ("pilot.invited", "operator:op"),
        ("pilot.invited", "operator:op"), ("pilot.invited", "operator:op"),
        ("pilot.accepted", "node:node-ma"), ("pilot.declined", "node_operator:node-tn-op"),
        ("pilot.invited", "operator:op"), ("pilot.accepted", "node_operator:node-tn-op"),
        ("pilot.status", "operator:op"),
        ("team.saved", "operator:op"), ("team.saved", "operator:op"), ("team.edited", "operator:op"),
        ("activity.added", "operator:op"), ("outcome.added", "operator:op"), ("pilot.status", "operator:op")]
    edit = next(e for e in events_of(hub, "olive-oil") if e["action"] == "team.edited")
    assert edit["details"]["before"]["members"] == ["node-tn", "node-ma/menara-lab"]


# -- who may do what -----------------------------------------------------------------------------------------------

def test_a_cluster_answers_for_itself_only(fed):
    api, tokens, hub = fed["api"], fed["tokens"], fed["hub"]
    create(fed, "answers")
    assert invite(fed, "answers", "cluster", ["node-ma", "node-tn"]).status_code == 201
    before = state(fed, "answers")
    path = answer_path("answers", "node-ma")
    body = {"answer": "accept"}

    refused = assert_error(api.call("POST", path, tokens["node-tn"], json=body), 403, "forbidden")
    assert "bound to node 'node-tn', not 'node-ma'" in refused["message"]
    assert_error(api.call("POST", path, tokens["node-lb"], json=body), 403, "forbidden")  # the coordinator
    refused = assert_error(api.call("POST", path, tokens["operator"], json=body), 403, "forbidden")
    assert "speaks for no cluster" in refused["message"]
    assert_error(api.call("POST", path, tokens["reader"], json=body), 403, "forbidden")
    assert_error(api.call("POST", path, None, json=body), 401, "unauthorized")
    assert_error(api.call("POST", path, "mmci_nope_nope", json=body), 401, "unauthorized")
    # Sahel's node signs a request about Menara: not a key the hub trusts for Menara.
    refused = assert_error(api.signed(path, fed["nodes"]["node-tn"], body), 401, "signature_error")
    assert "unknown key id" in refused["message"]
    # A request signed for Sahel's own answer, sent to Menara's URL, does not verify either.
    kid, key = fed["nodes"]["node-tn"].extensions["medmci"].keys.current
    prepared = requests.Request("POST", api.url + answer_path("answers", "node-tn"), json=body).prepare()
    sign_request(prepared, key, kid)
    moved = requests.Request("POST", api.url + path, headers=dict(prepared.headers), data=prepared.body).prepare()
    assert_error(api.session.send(moved, timeout=30), 401, "signature_error")
    assert state(fed, "answers") == before  # nothing changed, nothing audited

    # Menara answers for itself; once.
    accepted = api.call("POST", path, tokens["node-ma"], json=body)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert_error(api.call("POST", path, tokens["node-ma"], json={"answer": "decline"}), 409, "conflict")
    assert_error(api.signed(answer_path("answers", "node-lb"), fed["nodes"]["node-lb"], body), 409, "conflict")
    assert_error(api.call("POST", answer_path("answers", "nowhere"), tokens["node-ma"], json=body), 404)
    assert [e["action"] for e in events_of(hub, "answers")][-1] == "pilot.accepted"
    assert [p["status"] for p in hub.pilots.participants("answers") if p["key"] == "node-ma"] == ["accepted"]


def test_a_cluster_manager_answers_from_the_node_with_its_key(fed, runner):
    """`medmci node pilot answer`: the node signs the answer with its own key; no token is handed around."""
    from federation.node.hub_answers import answer_pilot

    api, hub = fed["api"], fed["hub"]
    create(fed, "from-node")  # coordinated by node-lb
    assert invite(fed, "from-node", "cluster", ["node-ma", "node-tn"]).status_code == 201
    instance = fed["tmp"] / "node-tn"
    (instance / "medmci.yaml").write_text(yaml.safe_dump({**TEST_SETTINGS, "database_url": fed["node_database_urls"]["node-tn"]}),
                                          encoding="utf-8")

    def run(*args):
        return runner.invoke(main, ["node", "--instance", str(instance), "pilot", "answer", *args])

    declined = run("from-node", "decline", "--json")
    assert declined.exit_code == 0, declined.output
    assert json.loads(declined.output)["status"] == "declined"
    assert [p["status"] for p in hub.pilots.participants("from-node") if p["key"] == "node-tn"] == ["declined"]
    assert [(e["action"], e["actor"]) for e in events_of(hub, "from-node")][-1] == ("pilot.declined", "node:node-tn")
    # Answered already: the hub's reason, and a failing exit.
    again = run("from-node", "accept")
    assert again.exit_code != 0 and "already" in again.output
    # A hub the node does not trust is refused before anything is sent.
    stranger = run("from-node", "accept", "--hub", "http://127.0.0.1:9")
    assert stranger.exit_code != 0 and "does not trust the hub" in stranger.output
    # Menara answers through the same function; a pilot it is not invited to is the hub's 404.
    assert answer_pilot(fed["nodes"]["node-ma"].extensions["medmci"], "from-node", "accept")["status"] == "accepted"
    with pytest.raises(FederationError, match="refused"):
        answer_pilot(fed["nodes"]["node-ma"].extensions["medmci"], "no-such-pilot", "accept")
    shown = api.call("GET", "/api/v1/pilots/from-node", fed["tokens"]["operator"]).json()
    assert {p["key"]: p["status"] for p in shown["participants"]} == {"node-lb": "accepted", "node-ma": "accepted",
                                                                      "node-tn": "declined"}


def test_only_an_operator_writes_pilots(fed):
    api, tokens = fed["api"], fed["tokens"]
    body = {"id": "nobody", "name": "No", "goal": "No", "metacluster_id": "agri-food", "coordinator": "qoot"}
    for caller in ("reader", "node-lb"):
        refused = assert_error(api.call("POST", "/api/v1/pilots", tokens[caller], json=body), 403, "forbidden")
        assert "pilots:write" in refused["message"]
    assert_error(api.call("POST", "/api/v1/pilots", None, json=body), 401, "unauthorized")
    assert_error(api.call("GET", "/api/v1/pilots", None), 401, "unauthorized")
    create(fed, "rights")
    for method, path, payload in (
            ("PATCH", "/api/v1/pilots/rights", {"status": "active"}),
            ("POST", "/api/v1/pilots/rights/participants", {"kind": "cluster", "keys": ["node-ma"]}),
            ("POST", "/api/v1/pilots/rights/teams", {"teams": [{"name": "t", "members": ["node-lb"]}]}),
            ("POST", "/api/v1/pilots/rights/activities", {"date": "2026-01-01", "kind": "meeting", "title": "t"}),
            ("POST", "/api/v1/pilots/rights/outcomes", {"date": "2026-01-01", "kind": "mou", "title": "t"})):
        assert_error(api.call(method, path, tokens["node-lb"], json=payload), 403, "forbidden")
    assert api.call("GET", "/api/v1/pilots/nobody", tokens["operator"]).status_code == 404
    assert state(fed, "rights")["events"] == 1  # created, nothing else


# -- refusals ------------------------------------------------------------------------------------------------------

def test_a_pilot_starts_from_a_formed_metacluster_and_one_of_its_clusters(fed):
    api, operator, hub = fed["api"], fed["tokens"]["operator"], fed["hub"]
    base = {"id": "refused", "name": "R", "goal": "G", "metacluster_id": "agri-food", "coordinator": "qoot"}
    not_formed = hub.queries.metacluster("textile-apparel")
    assert not not_formed["formed"]
    for change, status, word in (({"metacluster_id": "mc-nowhere"}, 404, "no meta-cluster"),
                                 ({"metacluster_id": "textile-apparel"}, 409, "not formed"),
                                 ({"coordinator": "nowhere"}, 409, "must be a cluster of mc-agri-food")):
        refused = assert_error(api.call("POST", "/api/v1/pilots", operator, json={**base, **change}), status)
        assert word in refused["message"], refused
    create(fed, "taken")
    refused = assert_error(api.call("POST", "/api/v1/pilots", operator, json={**base, "id": "taken"}), 409)
    assert "exists already" in refused["message"]
    assert_error(api.call("GET", "/api/v1/pilots/refused", operator), 404)
    assert events_of(hub, "refused") == [] and len(events_of(hub, "taken")) == 1
    # Invitations: clusters of the meta-cluster and its knowledge members only, each once.
    for kind, keys, word in (("cluster", ["node-ma", "nowhere"], "not clusters of meta-cluster"),
                             ("knowledge", ["node-lb/qoot-wine"], "not knowledge entities"),
                             ("cluster", ["node-lb"], "participants already")):
        refused = assert_error(invite(fed, "taken", kind, keys), 409, "conflict")
        assert word in refused["message"]
    assert [p["key"] for p in hub.pilots.participants("taken")] == ["node-lb"]


def test_two_creations_of_one_id_at_once_make_one_pilot(fed):
    api, operator = fed["api"], fed["tokens"]["operator"]
    body = {"id": "twice", "name": "T", "goal": "G", "metacluster_id": "agri-food", "coordinator": "qoot"}
    start = threading.Barrier(2)

    def post():
        start.wait()
        return Api(api.url).call("POST", "/api/v1/pilots", operator, json=body).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(lambda _: post(), range(2)))
    assert statuses == [201, 409]
    assert [e["action"] for e in events_of(fed["hub"], "twice")] == ["pilot.created"]


def test_a_pilot_goes_from_proposed_to_active_to_closed_only(fed):
    api, operator, hub = fed["api"], fed["tokens"]["operator"], fed["hub"]
    create(fed, "steps")
    assert invite(fed, "steps", "cluster", ["node-ma"]).status_code == 201

    def patch(status):
        return api.call("PATCH", "/api/v1/pilots/steps", operator, json={"status": status})

    for wrong in ("closed", "proposed"):
        refused = assert_error(patch(wrong), 409, "conflict")
        assert "it can only become active" in refused["message"]
    assert patch("active").json()["activated_at"]
    assert_error(patch("active"), 409)
    assert_error(patch("proposed"), 409)
    closed = patch("closed").json()
    assert closed["status"] == "closed" and closed["closed_at"]
    before = state(fed, "steps")
    refused = assert_error(patch("active"), 409)
    assert "can no longer change" in refused["message"]
    # A closed pilot is read-only.
    assert_error(invite(fed, "steps", "cluster", ["node-tn"]), 409)
    assert_error(api.call("POST", answer_path("steps", "node-ma"), fed["tokens"]["node-ma"],
                          json={"answer": "accept"}), 409)
    assert_error(api.call("POST", "/api/v1/pilots/steps/teams", operator,
                          json={"teams": [{"name": "late", "members": ["node-lb"]}]}), 409)
    assert_error(api.call("POST", "/api/v1/pilots/steps/outcomes", operator,
                          json={"date": "2026-09-01", "kind": "mou", "title": "late"}), 409)
    assert state(fed, "steps") == before
    assert [(e["details"]["before"], e["details"]["after"]) for e in events_of(hub, "steps")
            if e["action"] == "pilot.status"] == [("proposed", "active"), ("active", "closed")]


def test_bad_input_is_refused_and_changes_nothing(fed):
    api, operator = fed["api"], fed["tokens"]["operator"]
    create(fed, "inputs")
    assert invite(fed, "inputs", "cluster", ["node-ma"]).status_code == 201  # invited, not taking part yet
    before = state(fed, "inputs")
    json_headers = {"Content-Type": "application/json"}
    for path in ("/api/v1/pilots", "/api/v1/pilots/inputs/teams", "/api/v1/pilots/inputs/activities"):
        assert_error(api.call("POST", path, operator, data=b'{"id": ', headers=json_headers), 400, "bad_request")
        assert_error(api.call("POST", path, operator, data=b'{"title": "a", "title": "b"}', headers=json_headers),
                     400, "bad_request")
    cases = [
        ("POST", "/api/v1/pilots", {"id": "Bad Id", "name": "n", "goal": "g", "metacluster_id": "agri-food",
                                    "coordinator": "qoot"}, 422, "id"),
        ("POST", "/api/v1/pilots", {"id": "nogoal", "name": "n", "metacluster_id": "agri-food",
                                    "coordinator": "qoot"}, 422, "goal"),
        ("POST", "/api/v1/pilots", {"id": "sizes", "name": "n", "goal": "g", "metacluster_id": "agri-food",
                                    "coordinator": "qoot", "team_constraints": {"team_size": [5, 2]}}, 422,
         "team_constraints"),
        ("PATCH", "/api/v1/pilots/inputs", {"status": "finished"}, 422, "status"),
        ("POST", "/api/v1/pilots/inputs/participants", {"kind": "company", "keys": ["node-tn"]}, 422, "kind"),
        ("POST", "/api/v1/pilots/inputs/participants", {"kind": "cluster", "keys": []}, 422, "keys"),
        ("POST", "/api/v1/pilots/inputs/participants", {"kind": "cluster", "keys": ["node-tn", "node-tn"]}, 422,
         "keys"),
        ("POST", answer_path("inputs", "node-ma"), {"answer": "maybe"}, 422, "answer"),
        ("POST", "/api/v1/pilots/inputs/teams", {"teams": [{"name": "t\u202e", "members": ["node-lb"]}]}, 422,
         "teams"),
        ("POST", "/api/v1/pilots/inputs/teams", {"teams": [{"name": "t", "members": ["node-ma"]}]}, 409, "members"),
        ("POST", "/api/v1/pilots/inputs/teams", {"teams": [{"name": "t", "members": ["node-lb", "node-lb"]}]}, 422,
         "teams.0.members"),
        ("PATCH", "/api/v1/pilots/inputs/teams/none", {"add": ["node-lb"]}, 404, None),
        ("POST", "/api/v1/pilots/inputs/activities", {"date": "10/03/2026", "kind": "meeting", "title": "t"}, 422,
         "date"),
        ("POST", "/api/v1/pilots/inputs/activities", {"date": "2026-03-10", "kind": "party", "title": "t"}, 422,
         "kind"),
        ("POST", "/api/v1/pilots/inputs/activities", {"date": "2026-03-10", "kind": "meeting", "title": "t",
                                                      "participants": ["node-tn"]}, 409, "participants"),
        ("POST", "/api/v1/pilots/inputs/outcomes", {"date": "2026-03-10", "kind": "mou", "title": "t",
                                                    "link": "javascript:alert(1)"}, 422, "link"),
        ("POST", "/api/v1/pilots/inputs/outcomes", {"date": "2026-03-10", "kind": "mou", "title": "t\x1b[2J"}, 422,
         "title"),
    ]
    for method, path, payload, status, field in cases:
        token = fed["tokens"]["node-ma"] if path.endswith("/answer") else operator
        body = assert_error(api.call(method, path, token, json=payload), status)
        if field is not None:
            assert field in body.get("errors", {}), (path, payload, body)
    assert state(fed, "inputs") == before
    assert [(p["key"], p["status"]) for p in before["pilot"]["participants"]] == [("node-lb", "accepted"),
                                                                                ("node-ma", "invited")]
    assert api.call("GET", "/api/v1/pilots/nogoal", operator).status_code == 404


def test_the_pilots_settings_bound_what_a_pilot_holds(fed):
    """A second hub over the same database with small pilots.* settings: each bound refuses, naming its setting."""
    small = {"pilots": {"max_participants": 3, "max_teams": 1, "max_team_members": 2, "max_team_history": 2,
                        "max_activities": 1, "max_outcomes": 1, "max_name_chars": 20, "max_text_chars": 40,
                        "max_reasons": 1}}
    hub = Hub.build(fed["tmp"] / "small-hub", {"database_url": fed["database_url"], **TEST_SETTINGS, **small},
                    registry=fed["hub"].registry)
    try:
        pilots, work = hub.pilots, hub.pilot_work
        with pytest.raises(FederationError) as refused:
            pilots.create("bounded", "a name of more than twenty", "g", "agri-food", "qoot", "test")
        assert refused.value.status == 422 and "pilots.max_name_chars" in refused.value.message
        with pytest.raises(FederationError) as refused:
            pilots.create("bounded", "n", "g" * 41, "agri-food", "qoot", "test")
        assert "pilots.max_text_chars" in refused.value.message
        pilots.create("bounded", "Bounded", "g", "agri-food", "qoot", "test")
        pilots.invite("bounded", "cluster", ["node-ma"], "test")
        with pytest.raises(FederationError) as refused:
            pilots.invite("bounded", "knowledge", ["node-lb/qoot-uni", "node-ma/menara-lab"], "test")
        assert refused.value.status == 409 and "pilots.max_participants" in refused.value.message
        pilots.invite("bounded", "knowledge", ["node-lb/qoot-uni"], "test")
        with pytest.raises(FederationError) as refused:
            work.save_teams("bounded", [{"name": "t", "members": ["node-lb", "node-lb/qoot-uni"],
                                         "reasons": ["one", "two"]}], "test")
        assert "pilots.max_reasons" in refused.value.message
        with pytest.raises(FederationError) as refused:
            work.save_teams("bounded", [{"name": "a", "members": ["node-lb"]},
                                        {"name": "b", "members": ["node-lb"]}], "test")
        assert refused.value.status == 409 and "pilots.max_teams" in refused.value.message
        work.save_teams("bounded", [{"name": "t", "members": ["node-lb"]}], "test")
        with pytest.raises(FederationError) as refused:
            work.edit_team("bounded", "t", "test", add=["node-ma"])
        assert refused.value.status == 409  # node-ma was invited: it does not take part yet
        with pytest.raises(FederationError) as refused:
            work.save_teams("bounded", [{"name": "u", "members": ["node-lb", "node-lb/qoot-uni", "node-ma"]}], "test")
        assert refused.value.status == 422 and "pilots.max_team_members" in refused.value.message
        for name in ("t1", "t2", "t3"):
            team = work.edit_team("bounded", {"t1": "t", "t2": "t1", "t3": "t2"}[name], "test", rename=name)
        assert [c["after"]["name"] for c in team["history"]] == ["t2", "t3"]  # the last two edits
        work.add_activity("bounded", date(2026, 1, 5), "meeting", "Kick-off", ["node-lb"], "test")
        with pytest.raises(FederationError) as refused:
            work.add_activity("bounded", date(2026, 1, 6), "meeting", "Again", [], "test")
        assert refused.value.status == 409 and "pilots.max_activities" in refused.value.message
        assert len(work.activities("bounded")) == 1
        assert [e["action"] for e in events_of(hub, "bounded")] == [
            "pilot.created", "pilot.invited", "pilot.invited", "team.saved", "team.edited", "team.edited",
            "team.edited", "activity.added"]
    finally:
        hub.close()


# -- the command line and the API document -------------------------------------------------------------------------

def test_the_command_line_runs_a_pilot(fed, runner):
    instance = fed["tmp"] / "cli-hub"
    instance.mkdir(exist_ok=True)
    (instance / "medmci.yaml").write_text(yaml.safe_dump({**TEST_SETTINGS, "database_url": fed["database_url"]}),
                                          encoding="utf-8")

    def run(*args):
        result = runner.invoke(main, ["hub", "--instance", str(instance), "pilot", *args], catch_exceptions=False)
        return result

    created = run("create", "cli-pilot", "--name", "Biscuits", "--goal", "Shared packaging", "--metacluster",
                  "mc-agri-food", "--coordinator", "node-ma", "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["coordinator_node_id"] == "node-ma"
    # The command line's hub computes its own figures (federation.hub.knowledge_figures): the science core's.
    figures = json.loads(created.output)["figures_at_start"]
    assert figures == json.loads(json.dumps(fed["hub"].figures.representation_of("mc-agri-food")))
    assert run("invite", "cli-pilot", "qoot", "node-tn").exit_code == 0
    assert run("invite", "cli-pilot", "--knowledge", "node-ma/menara-lab").exit_code == 0
    answered = run("answer", "cli-pilot", "node-lb", "accept", "--json")
    assert json.loads(answered.output)["status"] == "accepted"
    assert run("status", "cli-pilot", "active").output.strip() == "pilot cli-pilot: active"
    saved = run("team", "save", "cli-pilot", "pack", "node-ma", "node-lb", "--score", "0.5", "--reason", "both bake")
    assert saved.exit_code == 0 and "pack" in saved.output and "both bake" in saved.output
    edited = json.loads(run("team", "edit", "cli-pilot", "pack", "--add", "node-ma/menara-lab", "--json").output)
    assert edited["members"] == ["node-ma", "node-lb", "node-ma/menara-lab"] and edited["history"][0]["by"] == "cli"
    added = run("activity", "add", "cli-pilot", "--date", "2026-02-02", "--kind", "training", "--title",
                "Packaging school", "--participant", "node-ma")
    assert added.exit_code == 0 and "Packaging school" in added.output
    outcome = json.loads(run("outcome", "add", "cli-pilot", "--date", "2026-05-05", "--kind", "joint_project",
                             "--title", "Shared line", "--participant", "node-lb", "--json").output)
    assert outcome["kind"] == "joint_project"
    shown = run("show", "cli-pilot")
    assert "Shared packaging" in shown.output and "node-ma/menara-lab" in shown.output
    assert "cli-pilot" in run("list").output
    # Refusals are messages and exit 1: the API's rules, a bad date, a second answer.
    for args, word in ((("activity", "add", "cli-pilot", "--date", "tomorrow", "--kind", "meeting", "--title", "x"),
                        "date"),
                       (("answer", "cli-pilot", "node-lb", "decline"), "answered already"),
                       (("status", "cli-pilot", "active"), "can only become closed")):
        result = run(*args)
        assert result.exit_code == 1 and word in result.output, result.output
    assert [e["actor"] for e in events_of(fed["hub"], "cli-pilot")] == ["cli"] * 10


def test_pilot_calls_match_the_openapi_document(fed):
    spec = spec_of(create_hub_app(hub=fed["hub"]))
    operator = CheckedClient(spec, fed["api"].url, fed["tokens"]["operator"])
    menara = CheckedClient(spec, fed["api"].url, fed["tokens"]["node-ma"])
    operator.call("POST", "/api/v1/pilots", json={"id": "documented", "name": "D", "goal": "G",
                                                  "metacluster_id": "agri-food", "coordinator": "qoot",
                                                  "team_constraints": {"team_size": [2, 4]}})
    operator.call("GET", "/api/v1/pilots", params={"page_size": 2})
    operator.call("POST", "/api/v1/pilots/documented/participants", json={"kind": "cluster", "keys": ["node-ma"]})
    assert menara.call("POST", "/api/v1/pilots/documented/participants/node-ma/answer",
                       json={"answer": "accept"}).status_code == 200
    operator.call("PATCH", "/api/v1/pilots/documented", json={"status": "active"})
    operator.call("POST", "/api/v1/pilots/documented/teams",
                  json={"teams": [{"name": "t", "members": ["node-lb", "node-ma"], "score": 1.0}]})
    operator.call("PATCH", "/api/v1/pilots/documented/teams/t", json={"remove": ["node-ma"]})
    operator.call("GET", "/api/v1/pilots/documented/teams")
    operator.call("POST", "/api/v1/pilots/documented/activities",
                  json={"date": "2026-04-01", "kind": "market_mission", "title": "Dubai"})
    operator.call("POST", "/api/v1/pilots/documented/outcomes",
                  json={"date": "2026-04-02", "kind": "new_member", "title": "A new member", "link": None})
    for part in ("participants", "activities", "outcomes"):
        operator.call("GET", f"/api/v1/pilots/documented/{part}")
    assert operator.call("GET", "/api/v1/pilots/documented").json()["counts"] == {"teams": 1, "activities": 1,
                                                                                  "outcomes": 1}
    assert operator.call("PATCH", "/api/v1/pilots/documented", json={"status": "proposed"}).status_code == 409
    assert menara.call("POST", "/api/v1/pilots/documented/participants/node-ma/answer",
                       json={"answer": "accept"}).status_code == 409
    assert all("-> 5" not in line for line in operator.checked + menara.checked)
    paths = spec["paths"]
    assert paths["/api/v1/pilots"]["post"]["x-medmci-scope"] == "pilots:write"
    assert paths["/api/v1/pilots/{pilot_id}"]["get"]["x-medmci-scope"] == "federation:read"
    assert {"httpSignature": []} in paths["/api/v1/pilots/{pilot_id}/participants/{key}/answer"]["post"]["security"]
