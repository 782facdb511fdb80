"""Profile document 1.3: knowledge nodes (a university, research or technology centre, TTO with a node of its own)
and the cluster's cooperation profile, from the node's API over real HTTP to the hub and back out of its API.

- the reader: a knowledge profile lists no members; unknown FORD codes, value chains and stages are refused with
  their paths; a reader of 1.2 reads a 1.3 document (what it does not know is left out);
- a knowledge node: `node init --knowledge`, its block and visibility (API and CLI), refused members, one rendering
  per audience, harvested by a hub, its block at the hub for each reader as that reader may see it, never in
  formation;
- the cooperation profile: set at the node, opportunities derived per audience, at the hub (API and CLI).
"""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from marshmallow import fields

from federation.cli import main
from federation.errors import ValidationError
from federation.hub.app import create_hub_app
from federation.hub.models import ClusterView, PlacementRow
from federation.profile import read_profile, reader
from federation.profile.cooperation import opportunities_of
from federation.profile.schema import ClusterSchema, MemberSchema, ProfileSchema
from tests.support.builders import AGRI_CODES, cluster_doc, load_node, member_doc
from tests.support.clients import client_with_token

ROR = "05f0yaq80"

#: What the admin of a knowledge node sets (YAML or JSON through the CLI, JSON through the API).
BLOCK = {
    "kind": "university", "city": "Sfax", "identifiers": {"ror": ROR, "national_id": "TN-U-0042"},
    "research_domains": ["2.9", "4.1"], "activities": [{"scheme": "nace-rev2", "code": "85.42"}],
    "keywords": ["olive oil", "food safety"], "services": ["testing", "training"], "languages": ["ar", "fr"],
    "units": [{"id": "lab-food", "names": {"en": "Food Analysis Laboratory"}, "kind": "laboratory",
               "research_domains": ["4.1"], "keywords": ["residues"], "services": ["testing"]}],
    "serves": [{"value_chain": "agri-food", "stages": ["processing"]}],
    "contact": {"email": "tto@uni-sfax.example", "phone": "+216 74 000 000", "person": "Dr Amel"},
    "visibility": {"units": "federation", "keywords": "private", "contact.email": "public",
                   "contact.phone": "federation"},
}
COOPERATION = {"priority_topics": ["export", "innovation"], "other_topics": ["olive pomace valorisation"],
               "partners_sought": ["university", "cluster"], "target_markets": ["FR", "DE"]}


def knowledge_document(**knowledge) -> dict:
    block = {key: value for key, value in BLOCK.items() if key != "visibility"}
    return {"schema": "med-mci/profile", "version": "1.3", "sequence": 1,
            "published_at": "2026-01-01T00:00:00+00:00", "audience": "federation",
            "cluster": cluster_doc("uni-sfax", "TN"), "members": [], "withdrawn": [],
            "knowledge": {**block, **knowledge}}


# -- the reader -------------------------------------------------------------------------------------------------------

def test_a_knowledge_profile_reads_with_its_block(registry):
    profile = read_profile(json.dumps(knowledge_document()), registry.taxonomies, registry.value_chains)
    knowledge = profile["knowledge"]
    assert knowledge["kind"] == "university" and knowledge["identifiers"] == {"ror": ROR, "national_id": "TN-U-0042"}
    assert knowledge["units"][0]["research_domains"] == ["4.1"] and knowledge["federation_fields"] == []
    assert profile["members"] == []


@pytest.mark.parametrize("change, path, message", [
    ({"research_domains": ["2.9", "9.9"]}, ("knowledge", "research_domains", 1), "unknown research domain '9.9'"),
    ({"units": [{**BLOCK["units"][0], "research_domains": ["7.7"]}]},
     ("knowledge", "units", 0, "research_domains", 0), "unit 'lab-food': unknown research domain '7.7'"),
    ({"activities": [{"scheme": "nace-rev2", "code": "99.99"}]}, ("knowledge", "activities", 0, "code"),
     "unknown nace-rev2 code '99.99'"),
    ({"serves": [{"value_chain": "agri-food", "stages": ["mining"]}]}, ("knowledge", "serves", 0, "stages", 0),
     "agri-food has no stage 'mining'"),
    ({"serves": [{"value_chain": "space-food", "stages": []}]}, ("knowledge", "serves", 0, "value_chain"),
     "unknown value chain 'space-food'"),
])
def test_unknown_codes_of_a_knowledge_block_are_refused_with_their_path(registry, change, path, message):
    with pytest.raises(ValidationError) as caught:
        read_profile(json.dumps(knowledge_document(**change)), registry.taxonomies, registry.value_chains)
    errors = caught.value.errors
    for key in path:
        errors = errors[key]
    assert message in errors[0]


@pytest.mark.parametrize("change, path", [
    ({"kind": "sme"}, ("knowledge", "kind")),
    ({"identifiers": {"ror": "https://ror.org/05f0yaq80"}}, ("knowledge", "identifiers", "ror")),
    ({"services": ["testing", "astrology"]}, ("knowledge", "services", 1)),
    ({"languages": ["xx"]}, ("knowledge", "languages", 0)),
    ({"units": [BLOCK["units"][0]] * 2}, ("knowledge", "units")),
    ({"units": [{"id": "u", "names": {"en": "U"}, "kind": "shop"}]}, ("knowledge", "units", 0, "kind")),
    ({"keywords": ["k"] * 51}, ("knowledge", "keywords")),
    ({"research_domains": ["2.9.1"]}, ("knowledge", "research_domains", 0)),
])
def test_a_bad_knowledge_block_is_refused_with_its_path(change, path):
    with pytest.raises(ValidationError) as caught:
        read_profile(json.dumps(knowledge_document(**change)))
    errors = caught.value.errors
    for key in path:
        assert key in errors, (path, caught.value.errors)
        errors = errors[key]


def test_a_knowledge_profile_lists_no_members(registry):
    document = {**knowledge_document(), "members": [member_doc("m1", AGRI_CODES[0])]}
    with pytest.raises(ValidationError) as caught:
        read_profile(json.dumps(document), registry.taxonomies, registry.value_chains)
    assert "a knowledge profile (with knowledge) lists no members" in caught.value.errors["members"][0]


def test_a_members_research_domains_identifiers_and_website_are_read_and_checked(registry):
    member = member_doc("lab", "nace-rev2:72.19", kind="technology_centre", research_domains=["2.9"],
                        identifiers={"ror": ROR}, website="https://lab.example.org")
    document = {**knowledge_document(), "members": [member, member_doc("tto", kind="tto")]}
    del document["knowledge"]
    profile = read_profile(json.dumps(document), registry.taxonomies, registry.value_chains)
    assert profile["members"][0]["research_domains"] == ["2.9"]
    assert profile["members"][0]["identifiers"] == {"ror": ROR}
    assert profile["members"][1]["research_domains"] == [] and profile["members"][1]["website"] is None
    document["members"][0]["research_domains"] = ["2.9", "8.1"]
    with pytest.raises(ValidationError) as caught:
        read_profile(json.dumps(document), registry.taxonomies, registry.value_chains)
    assert caught.value.errors["members"][0]["research_domains"][1] == [
        "member 'lab': unknown research domain '8.1' (not a FORD code)"]


class MemberOf12(MemberSchema):
    class Meta:
        exclude = ("research_domains", "identifiers", "website")


class ClusterOf12(ClusterSchema):
    class Meta:
        exclude = ("cooperation",)


class ProfileOf12(ProfileSchema):
    """The document as a 1.2 reader knows it."""

    class Meta:
        exclude = ("knowledge",)

    cluster = fields.Nested(ClusterOf12, required=True)
    members = fields.List(fields.Nested(MemberOf12), required=True)


@pytest.fixture
def reader_of_12(monkeypatch):
    monkeypatch.setattr(reader, "SUPPORTED_VERSIONS", {1: (ProfileOf12, 2)})


def test_a_reader_of_12_reads_a_13_document_without_what_it_does_not_know(reader_of_12, registry):
    member = member_doc("lab", "nace-rev2:72.19", kind="research_centre", research_domains=["2.9"],
                        identifiers={"ror": ROR}, website="https://lab.example.org")
    cluster = cluster_doc("qoot", "LB", cooperation={**COOPERATION, "opportunities": {"offers": [], "needs": []}})
    document = {**knowledge_document(), "cluster": cluster, "members": [member]}
    del document["knowledge"]
    profile = read_profile(json.dumps(document), registry.taxonomies, registry.value_chains, max_unknown_bytes=10_000)
    assert "cooperation" not in profile["cluster"]
    assert profile["members"][0]["id"] == "lab" and "research_domains" not in profile["members"][0]
    # A knowledge profile reads as a cluster without members: the block is what it does not know.
    profile = read_profile(json.dumps(knowledge_document()), registry.taxonomies, registry.value_chains,
                           max_unknown_bytes=10_000)
    assert profile["members"] == [] and "knowledge" not in profile and profile["cluster"]["id"] == "uni-sfax"


# -- a knowledge node, end to end ---------------------------------------------------------------------------------------

def knowledge_node(make_node):
    app = make_node("uni-sfax")
    service = app.extensions["medmci"].service
    assert service.enable_knowledge_mode() is True
    assert service.enable_knowledge_mode() is False  # once
    service.put_cluster(cluster_doc("uni-sfax", "TN", description={"en": "University of Sfax"}))
    return app


def published(app, audience: str) -> dict:
    return json.loads(app.extensions["medmci"].service.publication(audience).body)


def test_a_knowledge_node_keeps_its_block_refuses_bad_ones_and_members(backend, make_node):
    app = knowledge_node(make_node)
    client = app.test_client()
    assert client.get("/api/v1/knowledge").status_code == 404  # no block yet: nothing published either
    assert FlaskClient(app).get("/api/v1/profile").status_code == 404
    assert FlaskClient(app).get("/api/v1/knowledge").status_code == 401  # the admin's

    for bad, path in ((dict(BLOCK, research_domains=["9.9"]), ("research_domains", "0")),
                      (dict(BLOCK, kind="sme"), ("kind",)),
                      (dict(BLOCK, visibility={"kind": "private"}), ("visibility", "kind", "key")),
                      (dict(BLOCK, visibility={"units": "secret"}), ("visibility", "units", "value")),
                      (dict(BLOCK, serves=[{"value_chain": "agri-food", "stages": ["mining"]}]),
                       ("serves", "0", "stages", "0"))):
        answer = client.put("/api/v1/knowledge", json=bad)
        assert answer.status_code == 422, answer.get_json()
        errors = answer.get_json()["errors"]
        for key in path:
            errors = errors[key]
        assert errors
        assert client.get("/api/v1/knowledge").status_code == 404  # nothing changed

    answer = client.put("/api/v1/knowledge", json=BLOCK)
    assert answer.status_code == 200, answer.get_json()
    kept = client.get("/api/v1/knowledge").get_json()
    assert kept["units"] == BLOCK["units"] and kept["visibility"]["units"] == "federation"
    assert kept["visibility"]["contact.person"] == "private" and kept["visibility"]["city"] == "public"  # defaults

    # One rendering per audience, each with only what it may see.
    public, federation = published(app, "public"), published(app, "federation")
    assert public["version"] == "1.3" and public["members"] == [] and public["cluster"]["id"] == "uni-sfax"
    assert public["knowledge"]["units"] == [] and public["knowledge"]["keywords"] == []
    assert public["knowledge"]["contact"] == {"email": "tto@uni-sfax.example"}
    assert public["knowledge"]["federation_fields"] == []
    assert federation["knowledge"]["units"] == BLOCK["units"] and federation["knowledge"]["keywords"] == []
    assert federation["knowledge"]["contact"] == {"email": "tto@uni-sfax.example", "phone": "+216 74 000 000"}
    assert federation["knowledge"]["federation_fields"] == ["units", "contact.phone"]
    assert FlaskClient(app).get("/api/v1/profile").get_json() == public

    # A knowledge node lists no members.
    refused = client.post("/api/v1/members", json=member_doc("m1", AGRI_CODES[0]))
    assert refused.status_code == 409 and "knowledge node" in refused.get_json()["message"]
    imported = client.post("/api/v1/members/import", data="kind,name\nsme,Acme\n", content_type="text/csv")
    assert imported.status_code == 409
    assert client.get("/api/v1/members").get_json() == []


def test_a_cluster_node_is_no_knowledge_node_and_one_with_members_cannot_become_one(backend, make_node):
    app = make_node("qoot")
    load_node(app, cluster_doc("qoot", "LB"), [member_doc("qoot-1", AGRI_CODES[0])])
    answer = app.test_client().get("/api/v1/knowledge")
    assert answer.status_code == 409 and "init --knowledge" in answer.get_json()["message"]
    assert app.test_client().put("/api/v1/knowledge", json=BLOCK).status_code == 409
    with pytest.raises(Exception, match="holds 1 member"):
        app.extensions["medmci"].service.enable_knowledge_mode()
    assert "knowledge" not in published(app, "federation")


def test_a_hub_harvests_a_knowledge_node_and_shows_each_reader_what_it_may_see(backend, make_node, make_hub,
                                                                                serve):
    app = knowledge_node(make_node)
    app.test_client().put("/api/v1/knowledge", json=BLOCK)
    clusters = {}
    for node_id, cluster_id, country in (("node-lb", "qoot", "LB"), ("node-ma", "menara", "MA")):
        clusters[node_id] = make_node(cluster_id)
        load_node(clusters[node_id], cluster_doc(cluster_id, country),
                  [member_doc(f"{cluster_id}-{i}", code) for i, code in enumerate(AGRI_CODES)])
    hub = make_hub()
    hub.nodes.register("node-uni", serve(app).url)
    for node_id, node_app in clusters.items():
        hub.nodes.register(node_id, serve(node_app).url)
    outcomes = {n["node_id"]: n["outcome"] for n in hub.harvester.harvest()["nodes"]}
    assert outcomes == {"node-uni": "new_version", "node-lb": "new_version", "node-ma": "new_version"}

    with hub.db.session() as session:
        view = session.get(ClusterView, "node-uni")
        assert view.kind == "knowledge" and view.cluster_id == "uni-sfax"
        assert view.knowledge["units"] == BLOCK["units"]  # the federation rendering, as read
        assert session.get(ClusterView, "node-lb").kind == "cluster"
        # Formation: no candidate, no excluded cluster, no placement of any kind.
        assert session.query(PlacementRow).filter_by(node_id="node-uni").count() == 0
    agri = hub.queries.metacluster("mc-agri-food")
    assert agri["formed"] and {c["node_id"] for c in agri["clusters"]} == {"node-lb", "node-ma"}
    assert "node-uni" not in json.dumps(agri)

    web = create_hub_app(hub=hub)
    anonymous = FlaskClient(web).get("/api/v1/clusters/uni-sfax").get_json()
    assert anonymous["kind"] == "knowledge" and anonymous["node_id"] == "node-uni"
    assert anonymous["knowledge"]["units"] == [] and anonymous["knowledge"]["contact"] == {
        "email": "tto@uni-sfax.example"}
    assert anonymous["knowledge"]["federation_fields"] == []
    _record, token = hub.tokens.create("partner", "knowledge_member", entity_key="hosted:uni")
    reader_client = client_with_token(token)(web, web.response_class)
    federation = reader_client.get("/api/v1/clusters/node-uni").get_json()
    assert federation["knowledge"]["units"] == BLOCK["units"]
    assert federation["knowledge"]["contact"]["phone"] == "+216 74 000 000"
    assert federation["knowledge"]["keywords"] == []  # private: never left the node
    listed = {c["id"]: c for c in FlaskClient(web).get("/api/v1/clusters").get_json()}
    assert listed["uni-sfax"]["kind"] == "knowledge" and listed["uni-sfax"]["knowledge"]["units"] == []
    assert listed["qoot"]["kind"] == "cluster" and listed["qoot"]["knowledge"] is None
    assert FlaskClient(web).get("/api/v1/clusters/nobody").status_code == 404


# -- the cooperation profile --------------------------------------------------------------------------------------------

def offering(member_id: str, offers: list[str], needs: list[str], visibility: str = "public") -> dict:
    def items(codes):
        return [{"text": f"about {code}", "codes": [{"scheme": "nace-rev2", "code": code}]} for code in codes]
    return member_doc(member_id, AGRI_CODES[0], offers=items(offers), needs=items(needs), visibility=visibility)


def test_the_cooperation_profile_goes_from_node_to_hub_with_opportunities_per_audience(backend, make_node, make_hub,
                                                                                       serve):
    app = make_node("qoot")
    load_node(app, cluster_doc("qoot", "LB"), [
        offering("a", ["10.41", "11.02"], ["52.24"]),
        offering("b", ["10.41"], ["52.24", "72.19"]),
        offering("c", ["11.02"], ["72.19"], visibility="federation"),
        offering("d", ["11.02"], [], visibility="private"),  # never counted
    ])
    client = app.test_client()
    assert client.get("/api/v1/cluster/cooperation").status_code == 404
    bad = client.put("/api/v1/cluster/cooperation", json={**COOPERATION, "priority_topics": ["tourism"]})
    assert bad.status_code == 422 and "priority_topics" in bad.get_json()["errors"]
    derived = client.put("/api/v1/cluster/cooperation", json={**COOPERATION, "opportunities": {"offers": []}})
    assert derived.status_code == 422 and "opportunities" in derived.get_json()["errors"]  # the node derives them
    assert client.get("/api/v1/cluster/cooperation").status_code == 404  # nothing changed

    answer = client.put("/api/v1/cluster/cooperation", json=COOPERATION)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["opportunities"]["offers"] == [{"scheme": "nace-rev2", "code": "10.41", "members": 2},
                                                            {"scheme": "nace-rev2", "code": "11.02", "members": 2}]
    assert published(app, "federation")["cluster"]["cooperation"]["opportunities"] == {
        "offers": [{"scheme": "nace-rev2", "code": "10.41", "members": 2},
                   {"scheme": "nace-rev2", "code": "11.02", "members": 2}],
        "needs": [{"scheme": "nace-rev2", "code": "52.24", "members": 2},
                  {"scheme": "nace-rev2", "code": "72.19", "members": 2}]}
    public = published(app, "public")["cluster"]["cooperation"]
    assert public["priority_topics"] == ["export", "innovation"]
    assert public["opportunities"] == {
        "offers": [{"scheme": "nace-rev2", "code": "10.41", "members": 2},
                   {"scheme": "nace-rev2", "code": "11.02", "members": 1}],
        "needs": [{"scheme": "nace-rev2", "code": "52.24", "members": 2},
                  {"scheme": "nace-rev2", "code": "72.19", "members": 1}]}
    # Setting the cluster again keeps the cooperation profile.
    assert client.put("/api/v1/cluster", json=cluster_doc("qoot", "LB")).status_code == 200
    assert client.put("/api/v1/cluster", json={**cluster_doc("qoot", "LB"), "cooperation": COOPERATION}
                      ).status_code == 422
    assert published(app, "public")["cluster"]["cooperation"]["partners_sought"] == ["university", "cluster"]

    hub = make_hub()
    hub.nodes.register("node-lb", serve(app).url)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    web = create_hub_app(hub=hub)
    anonymous = FlaskClient(web).get("/api/v1/clusters/qoot").get_json()
    assert anonymous["cooperation"]["target_markets"] == ["FR", "DE"]
    assert anonymous["cooperation"]["opportunities"] == public["opportunities"]  # from public members only
    _record, token = hub.tokens.create("partner", "knowledge_member", entity_key="hosted:uni")
    federation = client_with_token(token)(web, web.response_class).get("/api/v1/clusters/qoot").get_json()
    assert federation["cooperation"]["opportunities"]["needs"][1] == {"scheme": "nace-rev2", "code": "72.19",
                                                                       "members": 2}

    # The hub's CLI shows it.
    monkeypatch_open(hub)
    output = CliRunner().invoke(main, ["hub", "cluster", "qoot"])
    assert output.exit_code == 0, output.output
    assert "priority topics: export, innovation" in output.output and "nace-rev2:72.19" in output.output
    as_json = json.loads(CliRunner().invoke(main, ["hub", "cluster", "node-lb", "--json"]).output)
    assert as_json["cooperation"]["partners_sought"] == ["university", "cluster"]


def monkeypatch_open(hub) -> None:
    """The hub CLI's commands open this hub (restored by the ``restore_cli`` fixture)."""
    sys.modules["federation.cli.metaclusters"].open_hub = lambda ctx: hub


@pytest.fixture(autouse=True)
def restore_cli():
    module = sys.modules["federation.cli.metaclusters"]
    original = module.open_hub
    yield
    module.open_hub = original


def test_opportunities_are_at_most_20_each_most_members_first_ties_by_code():
    codes = [f"{10 + i}.{j}" for i in range(3) for j in range(1, 9)]  # 24 codes
    # Member i offers the first (i % 24) + 1 codes, one of them twice (counted once).
    members = [{"offers": [{"text": "t", "codes": [{"scheme": "nace-rev2", "code": code}
                                                   for code in codes[: (index % 24) + 1]]},
                           {"text": "again", "codes": [{"scheme": "nace-rev2", "code": codes[0]}]}],
                "needs": [{"text": "n", "codes": [{"scheme": "isic-rev4", "code": "1040"}]}] if index < 3 else []}
               for index in range(30)]
    result = opportunities_of(members)
    assert len(result["offers"]) == 20
    assert result["offers"][0] == {"scheme": "nace-rev2", "code": "10.1", "members": 30}
    keys = [(-o["members"], o["code"]) for o in result["offers"]]
    assert keys == sorted(keys)  # most members first, ties by code
    assert result["needs"] == [{"scheme": "isic-rev4", "code": "1040", "members": 3}]


def test_a_hub_that_reads_12_harvests_a_13_knowledge_node(backend, make_node, make_hub, serve, reader_of_12):
    app = knowledge_node(make_node)
    app.test_client().put("/api/v1/knowledge", json=BLOCK)
    hub = make_hub()
    hub.nodes.register("node-uni", serve(app).url)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    with hub.db.session() as session:
        view = session.get(ClusterView, "node-uni")
        # What it knows of it: a cluster of no member; the exact signed bytes are kept for a later reader.
        assert view.cluster_id == "uni-sfax" and view.knowledge is None
        assert hub.queries.cluster_members("uni-sfax") == []
    assert hub.queries.versions_page("node-uni")[1][0]["schema_version"] == "1.3"


# -- the command line -------------------------------------------------------------------------------------------------

def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, f"{args}: {result.output}{result.exception!r}"
    return result.output


def test_a_university_joins_as_a_knowledge_node_from_the_command_line(tmp_path):
    instance = str(tmp_path / "uni")
    output = run("node", "--instance", instance, "init", "--knowledge")
    assert "knowledge node" in output and "admin token" in output
    assert "(already)" in run("node", "--instance", instance, "init", "--knowledge")
    (tmp_path / "identity.json").write_text(json.dumps(cluster_doc("uni-sfax", "TN")), encoding="utf-8")
    run("node", "--instance", instance, "set-cluster", str(tmp_path / "identity.json"))
    block = "\n".join([
        "kind: research_centre", "city: Sfax", "research_domains: ['2.9', '4.1']", "services: [testing]",
        "contact: {email: lab@crb.example, phone: '+216 74 111 111'}",
        "visibility: {contact.email: federation, research_domains: federation}"])
    (tmp_path / "block.yaml").write_text(block, encoding="utf-8")
    output = run("node", "--instance", instance, "knowledge", "set", str(tmp_path / "block.yaml"))
    assert "research_centre" in output and "contact.email" in output and "research_domains" in output
    shown = json.loads(run("node", "--instance", instance, "knowledge", "show"))
    assert shown["research_domains"] == ["2.9", "4.1"] and shown["visibility"]["contact.phone"] == "private"

    (tmp_path / "bad.yaml").write_text("kind: research_centre\nresearch_domains: ['2.99']\n", encoding="utf-8")
    refused = CliRunner().invoke(main, ["node", "--instance", instance, "knowledge", "set", str(tmp_path / "bad.yaml")])
    assert refused.exit_code == 1 and "research_domains.0" in refused.output and "'2.99'" in refused.output
    assert json.loads(run("node", "--instance", instance, "knowledge", "show"))["research_domains"] == ["2.9", "4.1"]

    (tmp_path / "members.csv").write_text("kind,name\nsme,Acme\n", encoding="utf-8")
    refused = CliRunner().invoke(main, ["node", "--instance", instance, "import-members", str(tmp_path / "members.csv")])
    assert refused.exit_code == 1 and "knowledge node" in refused.output


def test_the_cooperation_profile_from_the_command_line(tmp_path):
    instance = str(tmp_path / "qoot")
    run("node", "--instance", instance, "init")
    (tmp_path / "cluster.json").write_text(json.dumps(cluster_doc("qoot", "LB")), encoding="utf-8")
    run("node", "--instance", instance, "set-cluster", str(tmp_path / "cluster.json"))
    (tmp_path / "members.csv").write_text("id,kind,name,activities\nq1,sme,Qoot Oil,nace-rev2:10.41\n",
                                          encoding="utf-8")
    run("node", "--instance", instance, "import-members", str(tmp_path / "members.csv"))
    (tmp_path / "cooperation.json").write_text(json.dumps(COOPERATION), encoding="utf-8")
    assert "2 priority topic(s)" in run("node", "--instance", instance, "cooperation", "set",
                                        str(tmp_path / "cooperation.json"))
    shown = json.loads(run("node", "--instance", instance, "cooperation", "show"))
    assert shown["target_markets"] == ["FR", "DE"] and shown["opportunities"] == {"offers": [], "needs": []}
    (tmp_path / "bad.json").write_text(json.dumps({"partners_sought": ["pirates"]}), encoding="utf-8")
    refused = CliRunner().invoke(main, ["node", "--instance", instance, "cooperation", "set", str(tmp_path / "bad.json")])
    assert refused.exit_code == 1 and "partners_sought.0" in refused.output
    assert "knowledge node" in CliRunner().invoke(main, ["node", "--instance", instance, "knowledge", "show"]).output
