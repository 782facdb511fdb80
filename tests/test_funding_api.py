"""Funding calls over real HTTP (/api/v1/calls), on SQLite and PostgreSQL: the operator imports a file, others may
not; the calls are listed; a formed meta-cluster and a pilot get the calls they may apply to, and for the others the
gaps with their candidates, as the reader may see them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import yaml

from sqlalchemy import delete

from federation.cli import main
from federation.hub.app import Hub, create_hub_app
from federation.hub.funding_tables import FundingCallRow
from federation.node.app import create_node_app
from federation.node.join import trust_hub
from federation.serving import BackgroundServer
from tests.support.assertions import assert_error
from tests.support.builders import LB_MEMBERS, MA_MEMBERS, cluster_doc, load_node, member_doc
from tests.support.databases import Databases
from tests.support.environment import POSTGRES_URL, TEST_SETTINGS

ES_MEMBERS = [
    member_doc("es-press", "nace-rev2:10.41", name="Almazara del Sur", city="Jaén"),
    member_doc("es-secret-lab", "nace-rev2:72.19", kind="research_centre", name="Centro Reservado", city="Murcia",
               visibility="federation"),
    member_doc("es-cloth", "nace-rev2:14.13", name="Taller Textil", city="Valencia"),
]
CALLS = [
    # LB and MA: two countries, a university and a research centre: eligible.
    {"id": "open-any", "programme": "Horizon Europe", "title": "Anyone", "deadline": "2099-03-01",
     "link": "https://ec.europa.eu/", "min_partners": 3, "min_countries": 2,
     "required_kinds": [["university", "research_centre"]]},
    # Needs an EU partner: Spain's members could fill it (its research centre for federation readers only).
    {"id": "needs-eu", "programme": "PRIMA", "title": "Euro-Med", "deadline": "2099-02-01",
     "link": "https://prima-med.org/", "countries": ["prima"], "required_regions": ["eu", "mena"],
     "required_kinds": [["research_centre"]]},
    {"id": "closed", "programme": "Old", "title": "Gone", "deadline": "2020-01-01", "link": "https://a.eu"},
]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def federation(request, tmp_path_factory, registry):
    """Three real nodes (LB and MA on agri-food, ES on textile) harvested by a served hub; shared by the module's
    tests (real servers dominate the run time), each of which starts without calls (``fed``)."""
    if request.param == "postgres" and not request.getfixturevalue("postgres_available"):
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    tmp = tmp_path_factory.mktemp(f"funding-{request.param}")
    dbs = Databases(request.param, tmp)
    servers, apps, hub = [], [], None
    try:
        hub = Hub.build(tmp / "hub", {"database_url": dbs.url("hub"), **TEST_SETTINGS,
                                      "funding": {"max_bytes": 4000}}, registry=registry)
        servers.append(BackgroundServer(create_hub_app(hub=hub)).start())
        url = servers[0].url
        for node_id, cluster, country, members, chains in (
                ("node-lb", "qoot", "LB", LB_MEMBERS, ("agri-food",)),
                ("node-ma", "menara", "MA", MA_MEMBERS, ("agri-food",)),
                ("node-es", "andalus", "ES", ES_MEMBERS, ("textile-apparel",))):
            app = create_node_app(tmp / node_id, {"database_url": dbs.url(node_id), **TEST_SETTINGS},
                                  registry=registry)
            apps.append(app)
            load_node(app, cluster_doc(cluster, country, value_chains=chains), members)
            servers.append(BackgroundServer(app).start())
            trust_hub(app.extensions["medmci"], url, public_url=servers[-1].url)
            hub.nodes.register(node_id, servers[-1].url, None, None, "test")
        assert hub.harvester.harvest()["counts"]["new_version"] == 3
        session = requests.Session()
        session.trust_env = False
        tokens = {"operator": hub.tokens.create("op", "operator")[1],
                  "node": hub.tokens.create("lb-op", "node_operator", node_id="node-lb")[1]}

        def call(method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
            headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {tokens[token]}"} if token else {})}
            return session.request(method, url + path, headers=headers, timeout=30, **kwargs)

        yield {"hub": hub, "call": call, "url": url}
        session.close()
    finally:
        for server in servers:
            server.stop()
        if hub is not None:
            hub.close()
        for app in apps:
            app.extensions["medmci"].db.dispose()
        dbs.drop()


@pytest.fixture
def fed(federation):
    """The module's federation, without any call."""
    with federation["hub"].db.session() as session:
        session.execute(delete(FundingCallRow))
    return federation


def test_the_operator_imports_calls_and_nobody_else_may(fed):
    call = fed["call"]
    assert_error(call("POST", "/api/v1/calls", json=CALLS), 401)
    body = assert_error(call("POST", "/api/v1/calls", "node", json=CALLS), 403)
    assert "calls:write" in body["message"]
    assert_error(call("POST", "/api/v1/calls", "operator", data=b"[" + b" " * 4000 + b"]"), 413)
    bad = assert_error(call("POST", "/api/v1/calls", "operator",
                            json=[CALLS[0], {**CALLS[1], "deadline": "soon"}]), 422)
    assert bad["errors"]["calls"] == [{"item": 2, "id": "needs-eu", "title": "Euro-Med", "errors": {
        "deadline": ["'soon': not an ISO date (YYYY-MM-DD, e.g. 2027-03-31)"]}}]
    assert call("GET", "/api/v1/calls?all=true").json() == []  # nothing was stored
    report = call("POST", "/api/v1/calls", "operator", json=CALLS)
    assert report.status_code == 200, report.text
    assert report.json() == {"format": "json", "calls": 3, "created": ["open-any", "needs-eu", "closed"],
                             "updated": [], "unchanged": 0}
    csv = "id,programme,title,deadline,link\nopen-any,Horizon Europe,Anyone again,2099-03-01,https://ec.europa.eu/\n"
    assert call("POST", "/api/v1/calls", "operator", data=csv.encode(),
                headers={"Content-Type": "text/csv"}).json()["updated"] == ["open-any"]
    listed = call("GET", "/api/v1/calls").json()  # anyone reads the calls: the open ones, nearest deadline first
    assert [(c["id"], c["open"]) for c in listed] == [("needs-eu", True), ("open-any", True)]
    assert [c["id"] for c in call("GET", "/api/v1/calls?all=true").json()] == ["closed", "needs-eu", "open-any"]
    one = call("GET", "/api/v1/calls/needs-eu").json()
    assert one["country_lists"] == ["prima"] and "MA" in one["countries"] and one["required_regions"] == ["eu", "mena"]
    assert_error(call("GET", "/api/v1/calls/nope"), 404)
    audit = fed["hub"].audit.events("calls.imported")[:2]
    assert [(e["actor"], e["details"]["updated"]) for e in audit] == [("operator:op", ["open-any"]),
                                                                       ("operator:op", [])]


def test_eligible_calls_of_a_metacluster_and_a_pilot_with_gaps_and_candidates(fed):
    call, hub = fed["call"], fed["hub"]
    hub.funding.import_file(json.dumps(CALLS), "test")
    operator = call("GET", "/api/v1/calls/eligible?metacluster=agri-food", "operator").json()
    assert operator["consortium"]["countries"] == ["LB", "MA"] and operator["open_calls"] == 2
    assert [c["id"] for c in operator["eligible"]] == ["open-any"]
    needs_eu, = operator["not_eligible"]
    gap, = needs_eu["gaps"]
    assert (gap["rule"], gap["text"]) == ("required-regions", "needs a partner from an EU member state")
    # On the chain first (the research centre by its stage links, the oil press by its code), then by name.
    assert [c["key"] for c in gap["candidates"]] == ["node-es/es-secret-lab", "node-es/es-press", "node-es",
                                                     "node-es/es-cloth"]
    # An anonymous reader: public members only, in the consortium and among the candidates.
    public = call("GET", "/api/v1/calls/eligible?metacluster=mc-agri-food").json()
    assert public["consortium"]["partners"] < operator["consortium"]["partners"]
    gap, = public["not_eligible"][0]["gaps"]
    assert "node-es/es-secret-lab" not in [c["key"] for c in gap["candidates"]]
    assert_error(call("GET", "/api/v1/calls/eligible?metacluster=mc-nowhere"), 404)
    assert_error(call("GET", "/api/v1/calls/eligible"), 422)
    # A pilot coordinated by QOOT, where Menara has not answered yet: QOOT alone, Lebanon only.
    if call("GET", "/api/v1/pilots/olive", "operator").status_code == 404:
        created = call("POST", "/api/v1/pilots", "operator", json={
            "id": "olive", "name": "Olive", "goal": "Export", "metacluster_id": "agri-food", "coordinator": "qoot"})
        assert created.status_code == 201, created.text
    assert_error(call("GET", "/api/v1/calls/eligible?pilot=olive"), 401)
    pilot = call("GET", "/api/v1/calls/eligible?pilot=olive", "node").json()
    assert pilot["consortium"]["kind"] == "pilot" and pilot["consortium"]["countries"] == ["LB"]
    assert pilot["eligible"] == []
    by_id = {c["id"]: c for c in pilot["not_eligible"]}
    gaps = {g["text"]: g for g in by_id["open-any"]["gaps"]}
    # QOOT's university is no participant of the pilot: it is named to fill the gap.
    assert set(gaps) == {"needs 2 countries, has 1: LB", "needs a university or a research centre"}
    assert "node-lb/qoot-uni" in [c["key"] for c in gaps["needs a university or a research centre"]["candidates"]]
    assert {c["country"] for c in gaps["needs 2 countries, has 1: LB"]["candidates"]} <= {"MA", "ES"}
    assert "node-ma/menara-lab" in [c["key"] for c in gaps["needs 2 countries, has 1: LB"]["candidates"]]
    assert_error(call("GET", "/api/v1/calls/eligible?pilot=nope", "operator"), 404)


def test_the_command_line_imports_lists_and_checks(fed, tmp_path, config_dir, runner):
    hub = fed["hub"]
    instance = Path(hub.settings.instance_path)
    (instance / "medmci.yaml").write_text(yaml.safe_dump({"database_url": hub.settings.database_url,
                                                          **TEST_SETTINGS}), encoding="utf-8")
    runner_args = ["hub", "--instance", str(instance), "calls"]
    result = runner.invoke(main, [*runner_args, "import", str(config_dir / "demo" / "funding_calls.csv")])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "5 calls read (csv): 5 created, 0 updated, 0 unchanged"
    listed = json.loads(runner.invoke(main, [*runner_args, "list", "--json"]).output)
    assert [c["id"] for c in listed][0] == "sample-eni-like-transfer"
    text = runner.invoke(main, [*runner_args, "eligible", "agri-food"]).output
    assert "Eligible:" in text and "needs" in text
    answer = json.loads(runner.invoke(main, [*runner_args, "eligible", "agri-food", "--json"]).output)
    assert answer["checked"] == 5
    bad = tmp_path / "bad.csv"
    bad.write_text("programme,title,deadline,link\nP,T,2027-99-01,https://a.eu\n", encoding="utf-8")
    refused = runner.invoke(main, [*runner_args, "import", str(bad)])
    assert refused.exit_code == 1 and "line 2: deadline: '2027-99-01': not an ISO date" in refused.output
    usage = runner.invoke(main, [*runner_args, "eligible"])
    assert usage.exit_code == 2 and "give a METACLUSTER or --pilot ID" in usage.output
