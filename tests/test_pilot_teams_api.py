"""Team proposals and the report of a pilot, over real HTTP: four real nodes in two regions (LB and TN in MENA, IT
and ES in the EU), each with a cooperation profile and members whose offers and needs meet (an ISIC code offered
meets the NACE code needed), two universities taking part; on SQLite and PostgreSQL.

- POST /api/v1/pilots/<id>/teams/proposal: teams meeting the constraints, reasons naming shared topics and the
  offer/need codes with their labels; ``save`` stores them (audited with the proposal), otherwise nothing is stored;
  the members level; refusals that store nothing; who may ask;
- GET /api/v1/pilots/<id>/report and report.html; ``medmci hub pilot report`` and ``team propose``.
"""

from __future__ import annotations

import html
import json

import pytest
import yaml

from federation.cli import main
from federation.errors import FederationError
from federation.hub.app import Hub, create_hub_app
from federation.hub.pilots_api import REPORT_POLICY
from federation.node.app import create_node_app
from federation.node.join import trust_hub
from federation.serving import BackgroundServer
from tests.support.api_servers import spec_of
from tests.support.assertions import assert_error
from tests.support.builders import cluster_doc, load_node, member_doc
from tests.support.databases import Databases
from tests.support.environment import POSTGRES_URL, TEST_SETTINGS
from tests.test_openapi_contract import CheckedClient
from tests.test_pilots import Api, events_of, knowledge_figures


def codes(*given: str) -> list[dict]:
    """Offers or needs, one per ``scheme:code``."""
    return [{"text": f"about {c}", "codes": [dict(zip(("scheme", "code"), c.split(":", 1)))]} for c in given]


#: node id -> (cluster id, country, cooperation, members). QOOT and OLIVENET share two topics ("Olive pomace
#: valorisation" written two ways) and QOOT offers the wine OLIVENET's mill needs; SAHEL and AGROANDALUS share one
#: topic and SAHEL offers oil as ISIC 1040, which AGROANDALUS needs as NACE 10.41. No other pair shares anything.
NODES = {
    "node-lb": ("qoot", "LB", {"priority_topics": ["export", "innovation"],
                               "other_topics": ["Olive pomace valorisation"]},
                [member_doc("qoot-wine", "nace-rev2:11.02", name="Chateau Qoot", offers=codes("nace-rev2:11.02")),
                 member_doc("qoot-oil", "nace-rev2:10.41", name="Qoot Olive Oil"),
                 member_doc("qoot-biscuits", "nace-rev2:10.82", name="Qoot Biscuits"),
                 member_doc("qoot-uni", "nace-rev2:85.42", kind="university", name="Qoot University")]),
    "node-it": ("olivenet", "IT", {"priority_topics": ["research_development", "export"],
                                   "other_topics": ["olive  pomace VALORISATION"]},
                [member_doc("it-mill", "nace-rev2:10.41", name="Frantoio Bari", city="Bari",
                            needs=codes("nace-rev2:11.02")),
                 member_doc("it-pasta", "nace-rev2:10.73", name="Pastificio Puglia", city="Lecce"),
                 member_doc("it-wine", "nace-rev2:11.02", name="Cantina Salento", city="Lecce"),
                 member_doc("it-uni", "nace-rev2:85.42", kind="university", name="Universita di Bari", city="Bari")]),
    "node-tn": ("sahel", "TN", {"priority_topics": ["digitalisation", "sustainability"]},
                [member_doc("sahel-oil", "isic-rev4:1040", name="Huilerie du Sahel", city="Sfax",
                            offers=codes("isic-rev4:1040")),
                 member_doc("sahel-biscuits", "nace-rev2:10.82", name="Biscuiterie du Sahel", city="Sousse"),
                 member_doc("sahel-dates", "nace-rev2:10.39", name="Dattes du Sud", city="Tozeur")]),
    "node-es": ("agroandalus", "ES", {"priority_topics": ["digitalisation", "training"]},
                [member_doc("es-olives", "nace-rev2:10.39", name="Aceitunas Sevilla", city="Sevilla",
                            needs=codes("nace-rev2:10.41")),
                 member_doc("es-pack", "nace-rev2:17.21", name="Envases Jaen", city="Jaen"),
                 member_doc("es-bakery", "nace-rev2:10.71", name="Horno Cordoba", city="Cordoba")]),
}
KNOWLEDGE = ["node-lb/qoot-uni", "node-it/it-uni"]
CONSTRAINTS = {"team_size": [3, 3], "min_countries": 2, "eu_and_mena": True, "min_knowledge": 1,
               "max_teams_per_participant": 1}
WINE = "QOOT members offer 11.02 Manufacture of wine from grape that OLIVENET's members need"
OIL = "SAHEL members offer 10.41 Manufacture of oils and fats that AGROANDALUS's members need"  # ISIC 1040 met it
EU, MENA = {"node-it", "node-es", "node-it/it-uni"}, {"node-lb", "node-tn", "node-lb/qoot-uni"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fed(request, tmp_path_factory, registry):
    """Four real nodes registered at a served hub and harvested once; an operator's and a reader's tokens."""
    if request.param == "postgres" and not request.getfixturevalue("postgres_available"):
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    tmp = tmp_path_factory.mktemp(f"pilot-teams-{request.param}")
    dbs = Databases(request.param, tmp)
    nodes, servers, hub = {}, {}, None
    try:
        for node_id, (cluster_id, country, cooperation, members) in NODES.items():
            app = create_node_app(tmp / node_id, {"database_url": dbs.url(node_id), **TEST_SETTINGS},
                                  registry=registry)
            load_node(app, cluster_doc(cluster_id, country), members)
            app.extensions["medmci"].service.put_cooperation(cooperation)
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
        assert hub.harvester.harvest()["counts"]["new_version"] == 4
        assert hub.queries.metacluster("mc-agri-food")["formed"]
        tokens = {"operator": hub.tokens.create("op", "operator")[1],
                  "reader": hub.tokens.create("uni", "operator", ["federation:read"])[1]}
        yield {"hub": hub, "api": Api(servers["hub"].url), "tokens": tokens, "tmp": tmp, "database_url": hub_url}
    finally:
        for server in servers.values():
            server.stop()
        if hub is not None:
            hub.close()
        for app in nodes.values():
            app.extensions["medmci"].db.dispose()
        dbs.drop()


def pilot(fed, pilot_id: str) -> None:
    """A pilot coordinated by QOOT that the three other clusters accepted, with both universities taking part."""
    pilots = fed["hub"].pilots
    pilots.create(pilot_id, f"Pilot {pilot_id}", "Olive oil and wine for the EU and the Gulf", "agri-food", "qoot",
                  "test")
    pilots.invite(pilot_id, "cluster", ["node-it", "node-tn", "node-es"], "test")
    for node_id in ("node-it", "node-tn", "node-es"):
        pilots.answer(pilot_id, node_id, "accept", "test")
    pilots.invite(pilot_id, "knowledge", KNOWLEDGE, "test")


def propose(fed, pilot_id: str, token: str | None = None, **body):
    token = fed["tokens"]["operator"] if token is None else token
    return fed["api"].call("POST", f"/api/v1/pilots/{pilot_id}/teams/proposal", token, json=body)


def stored(fed, pilot_id: str) -> dict:
    """What a proposal may change: the teams, the pilot's constraints, the pilot's audit events."""
    hub = fed["hub"]
    return {"teams": hub.pilot_work.teams(pilot_id), "constraints": hub.pilots.get(pilot_id)["team_constraints"],
            "events": [e["action"] for e in events_of(hub, pilot_id)]}


def check_teams(teams: list[dict], constraints: dict) -> None:
    """Every team meets ``constraints``; every cluster is in exactly one team."""
    low, high = constraints["team_size"]
    for team in teams:
        ids = [m["id"] for m in team["members"]]
        assert low <= len(ids) <= high, team
        assert len({m["country"] for m in team["members"]}) >= constraints["min_countries"], team
        assert set(ids) & EU and set(ids) & MENA, team
        assert sum(m["kind"] == "knowledge" for m in team["members"]) >= constraints["min_knowledge"], team
    placed = [m["id"] for t in teams for m in t["members"] if m["kind"] == "cluster"]
    assert sorted(placed) == sorted(NODES)


# -- proposals -----------------------------------------------------------------------------------------------------

def test_proposed_teams_meet_the_constraints_say_why_and_are_saved_on_request(fed):
    pilot(fed, "teams")
    before = stored(fed, "teams")
    response = propose(fed, "teams", constraints=CONSTRAINTS)
    assert response.status_code == 200, response.text
    proposal = response.json()
    assert (proposal["level"], proposal["saved"], proposal["constraints"]) == ("clusters", False, CONSTRAINTS)
    by_id = {p["id"]: p for p in proposal["participants"]}
    assert sorted(by_id) == sorted([*NODES, *KNOWLEDGE])
    assert {(i, p["kind"], p["country"], p["region"]) for i, p in by_id.items() if p["kind"] == "cluster"} == {
        ("node-lb", "cluster", "LB", "MENA"), ("node-tn", "cluster", "TN", "MENA"),
        ("node-it", "cluster", "IT", "EU"), ("node-es", "cluster", "ES", "EU")}
    # Topics from the cooperation profiles (free text compared without case or spacing), codes as pivot codes.
    assert by_id["node-lb"]["topics"] == ["export", "innovation", "olive pomace valorisation"]
    assert by_id["node-it"]["topics"] == ["export", "olive pomace valorisation", "research_development"]
    assert (by_id["node-lb"]["offers"], by_id["node-it"]["needs"]) == (["11.02"], ["11.02"])
    assert (by_id["node-tn"]["offers"], by_id["node-es"]["needs"]) == (["10.41", "10.42"], ["10.41"])

    teams = proposal["teams"]
    check_teams(teams, CONSTRAINTS)
    clusters = [{m["id"] for m in t["members"] if m["kind"] == "cluster"} for t in teams]
    assert clusters == [{"node-lb", "node-it"}, {"node-tn", "node-es"}]  # the best team first
    wine, oil = teams
    assert wine["name"] == "Team 1" and wine["score"] == 3  # two topics shared, one code offered and needed
    assert "OLIVENET and QOOT both prioritise export and olive pomace valorisation" in wine["reasons"]
    assert WINE in wine["reasons"]
    assert "AGROANDALUS and SAHEL both prioritise digitalisation" in oil["reasons"] and OIL in oil["reasons"]
    assert any(r.startswith("knowledge: ") for r in oil["reasons"])
    assert stored(fed, "teams") == before  # save: false stores nothing

    response = propose(fed, "teams", constraints=CONSTRAINTS, save=True)
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["saved"] is True and saved["teams"] == teams
    listed = fed["api"].call("GET", "/api/v1/pilots/teams/teams", fed["tokens"]["reader"]).json()
    assert [(t["name"], t["members"], t["score"], t["created_by"]) for t in listed] == [
        (t["name"], [m["id"] for m in t["members"]], t["score"], "operator:op") for t in teams]
    assert listed[0]["reasons"] == wine["reasons"]
    after = stored(fed, "teams")
    assert after["constraints"] == CONSTRAINTS  # kept on the pilot: the next proposal's defaults
    assert after["events"] == before["events"] + ["team.saved", "team.saved"]
    event = next(e for e in events_of(fed["hub"], "teams") if e["action"] == "team.saved")
    assert event["actor"] == "operator:op"
    assert event["details"]["proposal"] == {"level": "clusters", "constraints": CONSTRAINTS}
    assert WINE in event["details"]["reasons"] and event["details"]["team"] == "Team 1"

    # A second proposal takes the pilot's constraints, and names its teams apart from the saved ones.
    again = propose(fed, "teams", save=True).json()
    assert again["constraints"] == CONSTRAINTS
    assert [t["name"] for t in again["teams"]] == ["Team 1 (2)", "Team 2 (2)"]
    assert len(fed["hub"].pilot_work.teams("teams")) == 4


def test_a_saved_proposal_over_max_reasons_keeps_what_the_team_as_a_whole_is(fed):
    """pilots.max_reasons cuts the middle of a saved team's reasons (the pairwise details), saying how many, and
    keeps the last ones: the team's countries, its knowledge participants and the solver's word."""
    hub = Hub.build(fed["tmp"] / "few-reasons-hub", {"database_url": fed["database_url"], **TEST_SETTINGS,
                                                     "pilots": {"max_reasons": 4}},
                    registry=fed["hub"].registry, representation_of=fed["hub"].pilots.representation_of)
    try:
        pilot(fed, "few-reasons")
        proposal = hub.pilot_teams.propose("few-reasons", "clusters", CONSTRAINTS, True, "test")
        wine = proposal["teams"][0]
        assert len(wine["reasons"]) == 5 and wine["reasons"][1] == WINE  # the proposal itself is not cut
        saved = {t["name"]: t for t in hub.pilot_work.teams("few-reasons")}["Team 1"]
        assert saved["reasons"] == [wine["reasons"][0], "and 2 more reasons (pilots.max_reasons)",
                                    *wine["reasons"][-2:]]
        assert saved["reasons"][-2].startswith("knowledge: ") and "solver" in saved["reasons"][-1]
    finally:
        hub.close()


def test_members_level_teams_name_members_and_are_bounded(fed):
    pilot(fed, "members")
    constraints = {"team_size": [2, 4], "min_countries": 2, "eu_and_mena": True, "min_knowledge": 0}
    response = propose(fed, "members", level="members", constraints=constraints, save=True)
    assert response.status_code == 200, response.text
    proposal = response.json()
    kinds = {p["id"]: p["kind"] for p in proposal["participants"]}
    assert len(kinds) == 14 and list(kinds.values()).count("member") == 12  # three members per cluster
    assert {i: k for i, k in kinds.items() if k != "member"} == {i: "knowledge" for i in KNOWLEDGE}
    assert {"node-lb/qoot-wine", "node-es/es-pack"} <= set(kinds)
    member = {p["id"]: p for p in proposal["participants"]}["node-tn/sahel-oil"]
    assert (member["country"], member["topics"], member["offers"]) == (
        "TN", ["digitalisation", "sustainability"], ["10.41", "10.42"])  # its cluster's topics, its own codes
    wine = next(t for t in proposal["teams"] if {"node-lb/qoot-wine", "node-it/it-mill"} <= {
        m["id"] for m in t["members"]})
    assert "Chateau Qoot offers 11.02 Manufacture of wine from grape that Frantoio Bari needs" in wine["reasons"]
    # Saved with member keys; the report names them.
    report = fed["api"].call("GET", "/api/v1/pilots/members/report", fed["tokens"]["reader"]).json()
    named = {m["id"]: m for t in report["teams"] for m in t["members"]}
    assert named["node-lb/qoot-wine"] == {"id": "node-lb/qoot-wine", "name": "Chateau Qoot", "country": "LB",
                                          "kind": "member"}

    # More members than one proposal may hold: refused before anything is read or stored.
    small = Hub.build(fed["tmp"] / "small-hub", {"database_url": fed["database_url"], **TEST_SETTINGS,
                                                 "pilots": {"teams": {"max_participants": 5}}},
                      registry=fed["hub"].registry)
    try:
        before = stored(fed, "members")
        with pytest.raises(FederationError) as refused:
            small.pilot_teams.propose("members", "members", {"min_knowledge": 0}, True, "test")
        assert refused.value.status == 422
        assert "12 members of the accepted clusters and 2 knowledge participants" in refused.value.message
        assert "pilots.teams.max_participants = 5" in refused.value.message
        assert stored(fed, "members") == before
    finally:
        small.close()


@pytest.mark.parametrize(("pilot_id", "constraints", "field", "message"), [
    ("countries", {"min_countries": 5}, "min_countries",
     "at least 5 countries per team: the participants come from 4 countries (ES, IT, LB, TN)"),
    ("knowledge", {"team_size": [2, 2], "min_knowledge": 1}, "min_knowledge",
     "4 teams of 2 to place the 4 clusters need 4 knowledge participants, the pilot has 2"),
    ("order", {"team_size": [5, 2]}, "constraints", "min is larger than max"),
    ("large", {"team_size": [2, 40]}, "team_size", "over the limit of 30 (pilots.max_team_members)"),
])
def test_impossible_constraints_are_refused_and_nothing_is_stored(fed, pilot_id, constraints, field, message):
    pilot(fed, pilot_id)
    before = stored(fed, pilot_id)
    body = assert_error(propose(fed, pilot_id, constraints=constraints, save=True), 422)
    assert field in body["errors"], body
    assert message in json.dumps(body), body
    assert stored(fed, pilot_id) == before


def test_who_may_propose_and_other_refusals(fed):
    pilot(fed, "refusals")
    before = stored(fed, "refusals")
    refused = assert_error(propose(fed, "refusals", fed["tokens"]["reader"], save=True), 403, "forbidden")
    assert "pilots:write" in refused["message"]
    assert_error(propose(fed, "refusals", "", save=True), 401, "unauthorized")
    assert_error(propose(fed, "refusals", level="regions"), 422, field="level")
    assert_error(propose(fed, "nowhere"), 404)
    assert stored(fed, "refusals") == before
    # A closed pilot may be looked at, not given teams.
    fed["hub"].pilots.set_status("refusals", "active", "test")
    fed["hub"].pilots.set_status("refusals", "closed", "test")
    assert propose(fed, "refusals", constraints=CONSTRAINTS).status_code == 200
    assert "closed" in assert_error(propose(fed, "refusals", constraints=CONSTRAINTS, save=True), 409)["message"]
    assert stored(fed, "refusals")["teams"] == []


# -- the report ----------------------------------------------------------------------------------------------------

def test_the_report_over_the_api_and_the_command_line(fed, runner, tmp_path):
    pilot(fed, "report")
    assert propose(fed, "report", constraints=CONSTRAINTS, save=True).status_code == 200
    api, reader = fed["api"], fed["tokens"]["reader"]

    data = api.call("GET", "/api/v1/pilots/report/report", reader)
    assert data.status_code == 200, data.text
    report = data.json()
    assert report == json.loads(json.dumps(fed["hub"].pilots.report_data("report") | {
        "generated_at": report["generated_at"]}))
    assert [t["name"] for t in report["teams"]] == ["Team 1", "Team 2"]
    assert WINE in report["teams"][0]["reasons"]
    assert report["representation"]["start"]["by_country"]["LB"]["knowledge"] == 1
    assert report["representation"]["now"] == report["representation"]["start"]

    page = api.call("GET", "/api/v1/pilots/report/report.html", reader)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Content-Security-Policy"] == REPORT_POLICY and "default-src 'none'" in REPORT_POLICY
    assert page.text.startswith("<!DOCTYPE html>") and WINE in html.unescape(page.text)
    assert_error(api.call("GET", "/api/v1/pilots/report/report.html", None), 401, "unauthorized")
    assert_error(api.call("GET", "/api/v1/pilots/report/report", None), 401, "unauthorized")
    assert_error(api.call("GET", "/api/v1/pilots/nowhere/report.html", reader), 404)

    # The command line: a hub over the same database, with the hub's own figures (knowledge_figures.py).
    instance = fed["tmp"] / "cli-hub"
    instance.mkdir(exist_ok=True)
    (instance / "medmci.yaml").write_text(yaml.safe_dump({**TEST_SETTINGS, "database_url": fed["database_url"]}),
                                          encoding="utf-8")

    def run(*args):
        return runner.invoke(main, ["hub", "--instance", str(instance), "pilot", *args], catch_exceptions=False)

    written = run("report", "report", "--out", str(tmp_path / "out"))
    assert written.exit_code == 0, written.output
    paths = written.output.split()
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["report.html", "report.md", "coverage-by-stage.png",
                                                     "knowledge-per-100.png"]
    page_text = html.unescape((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    for text in (page_text, markdown):
        assert "Team 1" in text and "Team 2" in text and "No figures are known now." not in text
        assert "Chateau" not in text  # clusters, not members, at this level
        assert "OLIVENET and QOOT both prioritise export and olive pomace valorisation" in text
    assert WINE in page_text and "11.02 Manufacture of wine from grape" in markdown
    only_md = run("report", "report", "--out", str(tmp_path / "md"), "--format", "md")
    assert only_md.exit_code == 0 and sorted(p.name for p in (tmp_path / "md").iterdir()) == [
        "coverage-by-stage.png", "knowledge-per-100.png", "report.md"]

    shown = run("team", "propose", "report", "--size", "3", "3")
    assert shown.exit_code == 0, shown.output
    assert "Team 1 (2)" in shown.output and "not saved" in shown.output
    assert "OLIVENET" in shown.output and "IT" in shown.output and WINE in shown.output
    as_json = json.loads(run("team", "propose", "report", "--json").output)
    assert as_json["constraints"] == CONSTRAINTS and as_json["saved"] is False
    refused = run("team", "propose", "report", "--size", "2", "2", "--min-knowledge", "1")
    assert refused.exit_code == 1 and "min_knowledge" in refused.output
    assert [t["name"] for t in fed["hub"].pilot_work.teams("report")] == ["Team 1", "Team 2"]


def test_proposal_and_report_calls_match_the_openapi_document(fed):
    pilot(fed, "documented-teams")
    spec = spec_of(create_hub_app(hub=fed["hub"]))
    operator = CheckedClient(spec, fed["api"].url, fed["tokens"]["operator"])
    operator.call("POST", "/api/v1/pilots/documented-teams/teams/proposal",
                  json={"level": "clusters", "constraints": CONSTRAINTS, "save": True})
    operator.call("GET", "/api/v1/pilots/documented-teams/report")
    assert operator.call("POST", "/api/v1/pilots/documented-teams/teams/proposal",
                         json={"constraints": {"min_countries": 9}}).status_code == 422
    assert all("-> 5" not in line for line in operator.checked)
    paths = spec["paths"]
    assert paths["/api/v1/pilots/{pilot_id}/teams/proposal"]["post"]["x-medmci-scope"] == "pilots:write"
    assert paths["/api/v1/pilots/{pilot_id}/report"]["get"]["x-medmci-scope"] == "federation:read"
    assert "text/html" in paths["/api/v1/pilots/{pilot_id}/report.html"]["get"]["responses"]["200"]["content"]
