"""Knowledge entities at the hub, over real HTTP on SQLite and PostgreSQL: three cluster nodes (LB, MA, TN) and a
knowledge node (the University of Sfax, TN, which the TN cluster also lists as a member, with the same ROR id)
harvested by a served hub.

- hosted profiles: the operator hosts an entity and gets its bound knowledge_member token; the entity reads and
  edits its own profile only; the hub serves it as a profile 1.3 signed with its key (checked with the key the hub
  publishes); bad input and other callers change nothing; every step is audited;
- the directory: same-as links (the knowledge node and the member with one ROR id are linked and counted once),
  stage links with their reasons, what an anonymous reader may see;
- scientific representation: the figures of the meta-cluster, checked by value, in the API and the CLI;
- invitations: suggestions ranked with reasons, an invitation accepted changes the figures, refusals change nothing.

The federation is shared per backend (module scope: real servers dominate the run time); the tests that write use
hosted ids of their own, and the order of the tests that change the figures is fixed by the module.
"""

from __future__ import annotations

import json

import pytest
import requests
import yaml

from federation.cli import main
from federation.hub.app import Hub, create_hub_app
from federation.node.app import create_node_app
from federation.node.join import trust_hub
from federation.profile import read_profile
from federation.serving import BackgroundServer
from federation.signing import keys_from_jwks, sign_request, verify_document
from tests.support.builders import LB_MEMBERS, MA_MEMBERS, cluster_doc, load_node, member_doc
from tests.support.databases import Databases
from tests.support.environment import POSTGRES_URL, TEST_SETTINGS

ROR = "05f0yaq80"
TN_MEMBERS = [
    member_doc("sahel-oil", "nace-rev2:10.41", name="Huilerie du Sahel", city="Sfax"),
    member_doc("sahel-biscuits", "nace-rev2:10.82", name="Biscuiterie du Sahel", city="Sousse"),
    member_doc("sahel-wine", "nace-rev2:11.02", name="Domaine du Sahel", city="Nabeul"),
    # The University of Sfax as the cluster lists it: the same ROR id as its own knowledge node.
    member_doc("sahel-uni", "nace-rev2:85.42", kind="university", name="Université de Sfax", city="Sfax",
               identifiers={"ror": ROR}),
    # Shared with the federation only: an anonymous reader never sees it, nor anything made of it.
    member_doc("sahel-lab", "nace-rev2:72.19", kind="research_centre", name="Sahel Secret Lab", city="Sousse",
               visibility="federation"),
]
#: A textile cluster of France, in no agri-food meta-cluster: its knowledge members serve no meta-cluster yet.
FR_MEMBERS = [
    member_doc("fr-tex1", "nace-rev2:14.13", name="Lyon Confection", city="Lyon"),
    member_doc("fr-uni", "nace-rev2:85.42", kind="university", name="Université de Lyon", city="Lyon"),
    member_doc("fr-lab", "nace-rev2:72.19", kind="research_centre", name="Lyon Textile Lab", city="Lyon"),
]
NODES = {"node-lb": ("qoot", "LB", LB_MEMBERS, ("agri-food",)), "node-ma": ("menara", "MA", MA_MEMBERS, ("agri-food",)),
         "node-tn": ("sahel", "TN", TN_MEMBERS, ("agri-food",)),
         "node-fr": ("frtex", "FR", FR_MEMBERS, ("textile-apparel",))}
UNI_BLOCK = {"kind": "university", "city": "Sfax", "identifiers": {"ror": ROR}, "research_domains": ["2.9", "4.1"],
             "services": ["testing"], "serves": [{"value_chain": "agri-food", "stages": ["processing"]}]}


def hosted_body(hosted_id: str, name: str, country: str, **knowledge) -> dict:
    return {"id": hosted_id, "names": {"en": name}, "country": country, "website": f"https://{hosted_id}.example.org",
            "value_chains": [], "knowledge": {"kind": "research_centre", **knowledge}}


class Api:
    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()
        self.session.trust_env = False

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def signed(self, path: str, node_app, body: dict) -> requests.Response:
        """A POST signed (RFC 9421) with ``node_app``'s current key, as a node signs its push."""
        kid, key = node_app.extensions["medmci"].keys.current
        prepared = requests.Request("POST", self.url + path, json=body).prepare()
        sign_request(prepared, key, kid)
        return self.session.send(prepared, timeout=30)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fed(request, tmp_path_factory, registry):
    if request.param == "postgres" and not request.getfixturevalue("postgres_available"):
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    tmp = tmp_path_factory.mktemp(f"knowledge-{request.param}")
    dbs = Databases(request.param, tmp)
    nodes, servers, hub = {}, {}, None
    try:
        for node_id, (cluster_id, country, members, chains) in NODES.items():
            nodes[node_id] = create_node_app(tmp / node_id, {"database_url": dbs.url(node_id), **TEST_SETTINGS},
                                             registry=registry)
            load_node(nodes[node_id], cluster_doc(cluster_id, country, chains), members)
        uni = nodes["node-uni"] = create_node_app(tmp / "node-uni", {"database_url": dbs.url("node-uni"),
                                                                     **TEST_SETTINGS}, registry=registry)
        service = uni.extensions["medmci"].service
        service.enable_knowledge_mode()
        service.put_cluster(cluster_doc("uni-sfax", "TN", names={"en": "University of Sfax"}))
        service.put_knowledge(dict(UNI_BLOCK))
        for node_id, app in nodes.items():
            servers[node_id] = BackgroundServer(app).start()
        hub_url = dbs.url("hub")
        hub = Hub.build(tmp / "hub", {"database_url": hub_url, **TEST_SETTINGS}, registry=registry)
        servers["hub"] = BackgroundServer(create_hub_app(hub=hub)).start()
        for node_id, app in nodes.items():
            trust_hub(app.extensions["medmci"], servers["hub"].url, public_url=servers[node_id].url)
            hub.nodes.register(node_id, servers[node_id].url, None, None, "test")
        assert hub.harvester.harvest()["counts"]["new_version"] == 5
        tokens = {"operator": hub.tokens.create("op", "operator")[1],
                  **{node_id: hub.tokens.create(f"{node_id}-op", "node_operator", node_id=node_id)[1]
                     for node_id in nodes}}
        yield {"hub": hub, "api": Api(servers["hub"].url), "tokens": tokens, "tmp": tmp, "database_url": hub_url,
               "url": servers["hub"].url, "nodes": nodes}
    finally:
        for server in servers.values():
            server.stop()
        if hub is not None:
            hub.close()
        for app in nodes.values():
            app.extensions["medmci"].db.dispose()
        dbs.drop()


def host(fed, body: dict) -> tuple[dict, str]:
    created = fed["api"].call("POST", "/api/v1/knowledge/hosted", fed["tokens"]["operator"], json=body)
    assert created.status_code == 201, created.text
    return created.json(), created.json()["token"]


def audit(hub, prefix: str) -> list[dict]:
    return [e for e in reversed(hub.audit.events(prefix, None, 10_000))]


def figures(fed, token: str | None = None) -> dict:
    answer = fed["api"].call("GET", "/api/v1/metaclusters/agri-food", token)
    assert answer.status_code == 200, answer.text
    return answer.json()["scientific_representation"]


# -- the directory and same-as ---------------------------------------------------------------------------------------

def test_a_knowledge_node_and_a_member_with_one_ror_id_are_linked_never_merged(fed):
    reader = fed["tokens"]["node-ma"]
    listed = fed["api"].call("GET", "/api/v1/knowledge-entities", reader, params={"page_size": 2})
    assert listed.status_code == 200 and len(listed.json()) == 2
    assert json.loads(listed.headers["X-Pagination"])["total"] >= 5
    node = fed["api"].call("GET", "/api/v1/knowledge-entities/node-uni", reader).json()
    member = fed["api"].call("GET", "/api/v1/knowledge-entities/node-tn/sahel-uni", reader).json()
    assert (node["source"], node["name"], member["source"], member["name"]) == (
        "node", "University of Sfax", "member", "Université de Sfax")  # each says what its source says
    assert node["same_as"] == [{"key": "node-tn/sahel-uni", "matched": ["ror"],
                                "reason": f"same ROR id {ROR}"}]
    assert member["same_as"][0]["key"] == "node-uni" and member["organisation"] == "node-uni"
    assert node["same_organisation"] == ["node-tn/sahel-uni", "node-uni"]
    # Stage links with place_entity's reasons: the node's research domains and claim, the member's activity.
    reasons = {(link["stage"], link["how"]): link["reason"] for link in node["stage_links"]["agri-food"]}
    assert reasons[("processing", "domain")] == "FORD 2.9 Industrial biotechnology supports processing"
    assert ("processing", "claim") in reasons and ("inputs", "domain") in reasons
    assert [link["stage"] for link in member["stage_links"]["agri-food"]] == ["support-services"]


def test_an_anonymous_reader_never_sees_federation_only_entities(fed):
    api = fed["api"]
    keys = {e["key"] for e in api.call("GET", "/api/v1/knowledge-entities", params={"page_size": 1000}).json()}
    assert "node-tn/sahel-lab" not in keys and {"node-uni", "node-tn/sahel-uni", "node-lb/qoot-uni"} <= keys
    assert api.call("GET", "/api/v1/knowledge-entities/node-tn/sahel-lab").status_code == 404
    assert api.call("GET", "/api/v1/knowledge-entities/node-tn/sahel-lab",
                    fed["tokens"]["node-ma"]).json()["audience"] == "federation"
    public = figures(fed)
    assert "node-tn/sahel-lab" not in json.dumps(public) and "Sahel Secret Lab" not in json.dumps(public)
    mc = api.call("GET", "/api/v1/metaclusters/agri-food").json()
    assert "node-tn/sahel-lab" not in {k["id"] for k in mc["knowledge_members"]}


# -- scientific representation ---------------------------------------------------------------------------------------

def test_the_figures_of_a_small_federation_by_value(fed):
    operator = fed["tokens"]["operator"]
    mine = figures(fed, operator)
    # Chain members: LB 3 (one shared with the federation only), MA 4, TN 3. Knowledge organisations: qoot-uni (LB),
    # menara-lab (MA), the University of Sfax (TN: its node and the TN member, one organisation) and sahel-lab (TN).
    assert mine["knowledge_per_100_members"] == 40.0
    assert mine["by_country"] == {"LB": {"members": 3, "knowledge": 1, "per_100": 33.3},
                                  "MA": {"members": 4, "knowledge": 1, "per_100": 25.0},
                                  "TN": {"members": 3, "knowledge": 2, "per_100": 66.7}}
    assert mine["by_stage"]["processing"] == {"knowledge": 1, "countries": ["TN"]}
    assert mine["by_stage"]["support-services"] == {"knowledge": 4, "countries": ["LB", "MA", "TN"]}
    assert mine["triple_helix"] == {"companies": 10, "knowledge": 4, "public_support": 0,
                                    "shares": {"companies": 0.714, "knowledge": 0.286, "public_support": 0.0}}
    assert {"stage": "processing", "country": "LB"} in mine["unsupported"]
    assert {"stage": "processing", "country": "TN"} not in mine["unsupported"]
    sfax = next(o for o in mine["organisations"] if o["key"] == "node-uni")
    assert sfax["entities"] == ["node-tn/sahel-uni", "node-uni"]  # counted once
    assert {c["id"]: c["knowledge_per_100_members"] for c in mine["clusters"]} == {
        "qoot": 33.3, "menara": 25.0, "sahel": 66.7}
    # An anonymous reader's figures count what it may see: LB 2 members, TN without the federation's lab.
    public = figures(fed)
    assert public["by_country"]["LB"] == {"members": 2, "knowledge": 1, "per_100": 50.0}
    assert public["by_country"]["TN"] == {"members": 3, "knowledge": 1, "per_100": 33.3}
    assert public["knowledge_per_100_members"] == 33.3
    # The list carries them too; the pilots service is given the same function.
    listed = fed["api"].call("GET", "/api/v1/metaclusters", operator).json()
    assert next(m for m in listed if m["id"] == "mc-agri-food")["scientific_representation"] == mine
    assert fed["hub"].figures.representation_of("mc-agri-food") == mine
    assert fed["hub"].figures.representation_of("mc-nothing") is None


# -- hosted profiles -------------------------------------------------------------------------------------------------

def test_a_hosted_profile_end_to_end(fed):
    api, hub, operator = fed["api"], fed["hub"], fed["tokens"]["operator"]
    body = hosted_body("agro-inst", "Agro Institute", "MA", city="Rabat", research_domains=["4.1", "2.9"],
                       services=["testing", "training"], contact={"email": "info@agro.example",
                                                                  "phone": "+212 5 00"})
    body["visibility"] = {"research_domains": "federation", "contact.email": "public"}
    profile, token = host(fed, body)
    assert profile["key"] == "hosted:agro-inst" and profile["sequence"] == 1 and token.startswith("mmci_")
    assert profile["token_record"]["entity_key"] == "hosted:agro-inst"
    assert profile["token_record"]["role"] == "knowledge_member"
    assert profile["visibility"]["research_domains"] == "federation" and profile["visibility"]["city"] == "public"
    assert api.call("POST", "/api/v1/knowledge/hosted", operator, json=body).status_code == 409  # id taken

    # The entity reads and edits its own profile with its token.
    own = api.call("GET", "/api/v1/knowledge/hosted/agro-inst", token)
    assert own.status_code == 200 and own.json()["knowledge"]["contact"]["phone"] == "+212 5 00"
    edited = api.call("PUT", "/api/v1/knowledge/hosted/agro-inst", token,
                      json={**{k: v for k, v in body.items() if k != "id"}, "value_chains": ["agri-food"]})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["sequence"], edited.json()["updated_by"]) == (2, "knowledge_member:agro-inst (hosted)")

    # Bad input: 422 with the path, nothing changed.
    bad = api.call("PUT", "/api/v1/knowledge/hosted/agro-inst", token,
                   json={**{k: v for k, v in body.items() if k != "id"}, "knowledge": {"kind": "university",
                                                                                      "research_domains": ["9.9"]}})
    assert bad.status_code == 422 and "9.9" in bad.text
    assert api.call("PUT", "/api/v1/knowledge/hosted/agro-inst", token, json={"names": {"en": "x"}}).status_code == 422
    assert hub.hosted.get("agro-inst")["sequence"] == 2

    # The profile document: 1.3, signed with the hub's published key for this URL and entity, hosted by this hub.
    url = f"{fed['url']}/api/v1/knowledge/hosted/agro-inst/profile"
    served = api.call("GET", "/api/v1/knowledge/hosted/agro-inst/profile")
    assert served.status_code == 200 and served.headers["Med-MCI-Hosted-By"] == fed["url"]
    published = api.call("GET", "/.well-known/med-mci-hub").json()["keys"]
    header = verify_document(served.content, served.headers["Med-MCI-Signature"], keys_from_jwks(published),
                             expected_htu=url, expected_sub="hosted:agro-inst")
    assert header["sub"] == "hosted:agro-inst"
    document = read_profile(served.content, hub.registry.taxonomies, hub.registry.value_chains)
    assert (document["version"], document["audience"], document["sequence"]) == ("1.3", "public", 2)
    assert document["cluster"]["id"] == "agro-inst" and document["members"] == []
    assert document["knowledge"]["research_domains"] == []  # federation only
    assert document["knowledge"]["contact"]["email"] == "info@agro.example"
    assert b"+212" not in served.content  # the phone stays private
    federation = api.call("GET", "/api/v1/knowledge/hosted/agro-inst/profile", fed["tokens"]["node-ma"])
    assert json.loads(federation.content)["knowledge"]["research_domains"] == ["4.1", "2.9"]
    assert json.loads(federation.content)["knowledge"]["federation_fields"] == ["research_domains"]
    tampered = served.content.replace(b"Agro Institute", b"Agro Impostor")
    with pytest.raises(Exception, match="does not match"):
        verify_document(tampered, served.headers["Med-MCI-Signature"], keys_from_jwks(published))

    # In the directory, as each reader may see it.
    anonymous = api.call("GET", "/api/v1/knowledge-entities/hosted:agro-inst").json()
    assert anonymous["source"] == "hosted" and anonymous["research_domains"] == []
    assert api.call("GET", "/api/v1/knowledge-entities/hosted:agro-inst",
                    operator).json()["research_domains"] == ["4.1", "2.9"]

    # Every step audited.
    assert [e["details"]["key"] for e in audit(hub, "knowledge.hosted")] == ["hosted:agro-inst"] * 2
    assert [e["action"] for e in audit(hub, "knowledge.hosted")] == ["knowledge.hosted", "knowledge.hosted_updated"]
    assert any(e["details"]["name"] == "agro-inst (hosted)" for e in audit(hub, "token.created"))


def test_a_knowledge_member_token_speaks_for_its_own_entity_only(fed):
    api, hub = fed["api"], fed["hub"]
    _first, first_token = host(fed, hosted_body("lab-one", "Lab One", "LB"))
    _second, second_token = host(fed, hosted_body("lab-two", "Lab Two", "LB"))
    before = hub.hosted.get("lab-two")
    events = len(hub.audit.events(None, None, 10_000))
    refused = api.call("PUT", "/api/v1/knowledge/hosted/lab-two", first_token,
                       json={k: v for k, v in hosted_body("lab-two", "Hijacked", "LB").items() if k != "id"})
    assert refused.status_code == 403
    assert "bound to hosted:lab-one, not hosted:lab-two" in refused.json()["message"]
    assert api.call("GET", "/api/v1/knowledge/hosted/lab-two", first_token).status_code == 403
    assert api.call("GET", "/api/v1/knowledge/hosted/lab-two").status_code == 401
    assert api.call("GET", "/api/v1/knowledge/hosted/lab-two", fed["tokens"]["node-lb"]).status_code == 403
    # Nor may it create pilots, host profiles or invite.
    pilot = api.call("POST", "/api/v1/pilots", first_token, json={
        "id": "p1", "name": "P", "goal": "G", "metacluster_id": "agri-food", "coordinator": "qoot"})
    assert pilot.status_code == 403 and "lacks scope 'pilots:write'" in pilot.json()["message"]
    assert api.call("POST", "/api/v1/knowledge/hosted", first_token,
                    json=hosted_body("lab-three", "Three", "LB")).status_code == 403
    assert api.call("POST", "/api/v1/metaclusters/agri-food/invitations", first_token,
                    json={"entity": "hosted:lab-one"}).status_code == 403
    assert hub.hosted.get("lab-two") == before
    assert len(hub.audit.events(None, None, 10_000)) == events
    # The token's binding is required, and only a knowledge_member has one.
    operator = fed["tokens"]["operator"]
    unbound = api.call("POST", "/api/v1/tokens", operator, json={"name": "x", "role": "knowledge_member"})
    assert unbound.status_code == 422 and "entity_key" in unbound.json()["errors"]
    wrong = api.call("POST", "/api/v1/tokens", operator, json={"name": "x", "role": "node_operator",
                                                               "node_id": "node-lb", "entity_key": "hosted:lab-one"})
    assert wrong.status_code == 422 and "entity_key" in wrong.json()["errors"]
    assert api.call("POST", "/api/v1/tokens", operator, json={"name": "x", "role": "knowledge_member",
                                                              "entity_key": "hosted:nobody"}).status_code == 404
    made = api.call("POST", "/api/v1/tokens", operator, json={"name": "lab-one again", "role": "knowledge_member",
                                                             "entity_key": "hosted:lab-one"})
    assert made.status_code == 201 and made.json()["entity_key"] == "hosted:lab-one"
    assert api.call("GET", "/api/v1/knowledge/hosted/lab-one", made.json()["token"]).status_code == 200


def test_a_hosted_entity_cannot_claim_another_organisations_identifiers(fed):
    """A hosted profile's country, website and ROR id tie it to an organisation (same-as links, figures): the
    entity itself may not change them; the operator, who hosted it, may."""
    api, hub = fed["api"], fed["hub"]
    _made, token = host(fed, hosted_body("squatter", "Squatter Lab", "MA"))
    before, sfax = hub.hosted.get("squatter"), figures(fed, fed["tokens"]["operator"])
    body = {k: v for k, v in hosted_body("squatter", "Squatter Lab", "MA").items() if k != "id"}
    for change in ({"knowledge": {**body["knowledge"], "identifiers": {"ror": ROR}}},  # the University of Sfax's
                   {"website": "https://www.univ-sfax.example.org"}, {"country": "TN"}):
        refused = api.call("PUT", "/api/v1/knowledge/hosted/squatter", token, json={**body, **change})
        assert refused.status_code == 403, refused.text
        assert "set by the hub operator" in json.dumps(refused.json()["errors"])
    assert hub.hosted.get("squatter") == before
    assert figures(fed, fed["tokens"]["operator"]) == sfax
    node = api.call("GET", "/api/v1/knowledge-entities/node-uni", fed["tokens"]["operator"]).json()
    assert "hosted:squatter" not in node["same_organisation"]
    # Everything else is the entity's own to edit; and the operator may set the identifiers.
    renamed = api.call("PUT", "/api/v1/knowledge/hosted/squatter", token,
                       json={**body, "names": {"en": "Squatter Lab (renamed)"}})
    assert renamed.status_code == 200 and renamed.json()["names"] == {"en": "Squatter Lab (renamed)"}
    fixed = api.call("PUT", "/api/v1/knowledge/hosted/squatter", fed["tokens"]["operator"],
                     json={**body, "knowledge": {**body["knowledge"], "identifiers": {"national_id": "MA-123"}}})
    assert fixed.status_code == 200 and fixed.json()["knowledge"]["identifiers"] == {"national_id": "MA-123"}


# -- invitations -----------------------------------------------------------------------------------------------------

def test_suggestions_are_ranked_with_reasons(fed):
    host(fed, hosted_body("ma-trade", "Maghreb Trade Observatory", "MA", research_domains=["5.2"],
                          services=["consulting", "training"]))
    host(fed, hosted_body("lb-food", "Lebanese Food Institute", "LB", research_domains=["2.9"]))
    answer = fed["api"].call("GET", "/api/v1/metaclusters/agri-food/invitation-suggestions",
                             fed["tokens"]["node-lb"])
    assert answer.status_code == 200, answer.text
    suggestions = {s["entity"]: s for s in answer.json()}
    assert {"hosted:ma-trade", "hosted:lb-food"} <= set(suggestions)
    scores = [s["score"] for s in answer.json()]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    lb_food = suggestions["hosted:lb-food"]
    assert {"stage": "processing", "country": "LB"} in lb_food["fills"]
    assert any("processing" in reason and "LB" in reason for reason in lb_food["reasons"])
    assert any("FORD 2.9 Industrial biotechnology" in reason for reason in lb_food["reasons"])
    trade = suggestions["hosted:ma-trade"]
    assert {"stage": "market", "country": "MA"} in trade["fills"] and trade["reasons"]
    # Entities serving the meta-cluster are no candidates (the University of Sfax, by its node or member).
    assert not {"node-uni", "node-tn/sahel-uni", "node-lb/qoot-uni"} & set(suggestions)
    assert fed["api"].call("GET", "/api/v1/metaclusters/agri-food/invitation-suggestions").status_code == 401


def test_an_accepted_invitation_changes_the_figures_and_refusals_change_nothing(fed):
    api, hub = fed["api"], fed["hub"]
    operator = fed["tokens"]["operator"]
    _profile, token = host(fed, hosted_body("ma-market", "Moroccan Market Lab", "MA", research_domains=["5.2"]))
    _other, other_token = host(fed, hosted_body("ma-other", "Other Lab", "MA"))
    before = figures(fed, operator)

    # Refusals: unknown entity, one that serves already, a meta-cluster not formed.
    assert api.call("POST", "/api/v1/metaclusters/agri-food/invitations", operator,
                    json={"entity": "hosted:nobody"}).status_code == 404
    serving = api.call("POST", "/api/v1/metaclusters/agri-food/invitations", operator,
                       json={"entity": "node-tn/sahel-uni"})
    assert serving.status_code == 409 and "serves mc-agri-food already" in serving.json()["message"]
    assert "node-uni" in serving.json()["message"]  # the same organisation's node serves it

    invited = api.call("POST", "/api/v1/metaclusters/agri-food/invitations", operator,
                       json={"entity": "hosted:ma-market"})
    assert invited.status_code == 201, invited.text
    invitation = invited.json()
    assert (invitation["status"], invitation["invited_by"], invitation["metacluster_id"]) == (
        "invited", "operator:op", "mc-agri-food")
    again = api.call("POST", "/api/v1/metaclusters/agri-food/invitations", operator,
                     json={"entity": "hosted:ma-market"})
    assert again.status_code == 409
    suggested = api.call("GET", "/api/v1/metaclusters/agri-food/invitation-suggestions", operator).json()
    assert "hosted:ma-market" not in {s["entity"] for s in suggested}  # asked already
    assert figures(fed, operator) == before  # invited is not serving

    # Only the entity answers: not another's token, not the operator, not anonymous.
    path = f"/api/v1/invitations/{invitation['id']}/answer"
    events = len(hub.audit.events(None, None, 10_000))
    for caller, status in ((other_token, 403), (operator, 403), (fed["tokens"]["node-ma"], 403), (None, 401)):
        refused = api.call("POST", path, caller, json={"answer": "accept"})
        assert refused.status_code == status, refused.text
    assert "only hosted:ma-market answers" in api.call("POST", path, other_token, json={"answer": "accept"}).text
    assert api.call("POST", path, token, json={"answer": "maybe"}).status_code == 422
    assert hub.invitations.get(invitation["id"])["status"] == "invited"
    assert len(hub.audit.events(None, None, 10_000)) == events

    accepted = api.call("POST", path, token, json={"answer": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["answered_by"]) == (
        "accepted", "knowledge_member:ma-market (hosted)")
    twice = api.call("POST", path, token, json={"answer": "decline"})
    assert twice.status_code == 409 and "answered once" in twice.json()["message"]

    after = figures(fed, operator)
    grown = before["by_country"]["MA"]["knowledge"] + 1  # agro-inst serves agri-food by its own profile already
    assert after["by_country"]["MA"] == {"members": 4, "knowledge": grown, "per_100": 25.0 * grown}
    assert after["knowledge_per_100_members"] == before["knowledge_per_100_members"] + 10.0
    assert after["by_stage"]["market"] == {"knowledge": 1, "countries": ["MA"]}
    assert {"stage": "market", "country": "MA"} not in after["unsupported"]
    mc = api.call("GET", "/api/v1/metaclusters/agri-food", operator).json()
    entry = next(k for k in mc["knowledge_members"] if k["id"] == "hosted:ma-market")
    assert entry["via"] == "invitation" and entry["accepted_at"] and "market" in entry["stages"]
    listed = api.call("GET", "/api/v1/metaclusters/agri-food/knowledge-members", operator).json()
    assert "hosted:ma-market" in {k["id"] for k in listed}
    assert "hosted:ma-market" in hub.figures.knowledge_of("mc-agri-food")  # pilots may add it
    # Serving now: a second invitation is refused.
    assert api.call("POST", "/api/v1/metaclusters/agri-food/invitations", operator,
                    json={"entity": "hosted:ma-market"}).status_code == 409

    # A member entity answers with its cluster's node_operator token; a declined one counts nowhere.
    invite_lab = api.call("POST", "/api/v1/metaclusters/agri-food/invitations", operator,
                          json={"entity": "hosted:ma-other"}).json()
    declined = api.call("POST", f"/api/v1/invitations/{invite_lab['id']}/answer", other_token,
                        json={"answer": "decline"})
    assert declined.json()["status"] == "declined"
    assert figures(fed, operator) == after

    listed = api.call("GET", "/api/v1/invitations", operator, params={"metacluster": "agri-food"}).json()
    assert [(i["entity_key"], i["status"]) for i in listed][:2] == [("hosted:ma-other", "declined"),
                                                                    ("hosted:ma-market", "accepted")]
    assert [e["action"] for e in audit(hub, "knowledge.invit")][-3:] == [
        "knowledge.invitation_accepted", "knowledge.invited", "knowledge.invitation_declined"]

    # Withdrawn: no longer serving, the figures as before.
    withdrawn = api.call("POST", f"/api/v1/invitations/{invitation['id']}/withdraw", operator)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert figures(fed, operator) == before
    assert api.call("POST", f"/api/v1/invitations/{invitation['id']}/withdraw", operator).status_code == 409


def test_a_cluster_member_answers_with_its_clusters_token_or_signature(fed):
    api, hub, operator = fed["api"], fed["hub"], fed["tokens"]["operator"]
    ids = {}
    for key in ("node-fr/fr-uni", "node-fr/fr-lab"):
        made = api.call("POST", "/api/v1/metaclusters/agri-food/invitations", operator, json={"entity": key})
        assert made.status_code == 201, made.text
        ids[key] = made.json()["id"]
    # Another cluster's token, or its signature, is refused; the entity's own cluster answers.
    uni = f"/api/v1/invitations/{ids['node-fr/fr-uni']}/answer"
    refused = api.call("POST", uni, fed["tokens"]["node-ma"], json={"answer": "accept"})
    assert refused.status_code == 403 and "node_operator token of node node-fr" in refused.json()["message"]
    assert api.signed(uni, fed["nodes"]["node-ma"], {"answer": "accept"}).status_code == 401
    assert hub.invitations.get(ids["node-fr/fr-uni"])["status"] == "invited"
    accepted = api.call("POST", uni, fed["tokens"]["node-fr"], json={"answer": "accept"})
    assert (accepted.json()["status"], accepted.json()["answered_by"]) == ("accepted", "node_operator:node-fr-op")
    lab = f"/api/v1/invitations/{ids['node-fr/fr-lab']}/answer"
    signed = api.signed(lab, fed["nodes"]["node-fr"], {"answer": "decline"})
    assert signed.status_code == 200, signed.text
    assert (signed.json()["status"], signed.json()["answered_by"]) == ("declined", "node:node-fr")
    # The accepted university counts in the meta-cluster's figures (in FR, not one of its clusters' countries).
    serving = {o["key"]: o["countries"] for o in figures(fed, operator)["organisations"]}
    assert serving["node-fr/fr-uni"] == ["FR"] and "node-fr/fr-lab" not in serving
    withdrawn = api.call("POST", f"/api/v1/invitations/{ids['node-fr/fr-uni']}/withdraw", operator)
    assert withdrawn.json()["status"] == "withdrawn"
    assert "node-fr/fr-uni" not in {o["key"] for o in figures(fed, operator)["organisations"]}


def test_the_command_line(fed, runner):
    instance = fed["tmp"] / "cli-hub"
    instance.mkdir(exist_ok=True)
    (instance / "medmci.yaml").write_text(yaml.safe_dump({**TEST_SETTINGS, "database_url": fed["database_url"]}),
                                          encoding="utf-8")

    def run(*args):
        result = runner.invoke(main, ["hub", "--instance", str(instance), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    hosted = run("knowledge", "host", "cli-lab", "--name", "CLI Lab", "--country", "TN", "--kind", "tto",
                 "--ror", "02feahw73")
    assert "hosted hosted:cli-lab (CLI Lab, TN, tto)" in hosted and "mmci_" in hosted
    listed = run("knowledge", "list", "--source", "hosted")
    assert "hosted:cli-lab" in listed and "CLI Lab" in listed
    shown = run("knowledge", "show", "node-uni")
    assert f"same as node-tn/sahel-uni: same ROR id {ROR}" in shown
    assert "processing (domain): FORD 2.9 Industrial biotechnology supports processing" in shown
    assert json.loads(run("knowledge", "show", "hosted:cli-lab", "--json"))["identifiers"] == {"ror": "02feahw73"}
    suggested = run("knowledge", "suggest", "agri-food")
    assert "SCORE" in suggested and "hosted:lb-food" in suggested
    invited = run("knowledge", "invite", "agri-food", "hosted:lb-food")
    assert "hosted:lb-food invited to mc-agri-food" in invited
    rows = json.loads(run("knowledge", "invitations", "agri-food", "--json"))
    assert rows[0]["entity_key"] == "hosted:lb-food" and rows[0]["invited_by"] == "cli"
    assert "hosted:lb-food" in run("knowledge", "invitations")
    assert "withdrawn" in run("knowledge", "withdraw", str(rows[0]["id"]))

    detail = run("metacluster", "agri-food")
    now = fed["hub"].figures.representation_of("mc-agri-food")
    assert "Scientific representation:" in detail
    assert f"knowledge organisations per 100 chain members: {now['knowledge_per_100_members']:g}" in detail
    assert (f"triple helix: 10 companies, {now['triple_helix']['knowledge']} knowledge organisations, 0 public and "
            f"support bodies") in detail
    assert "unsupported stages: LB: inputs, production, processing" in detail
    assert "cluster sahel (TN): 66.7 per 100 members" in detail
    as_json = json.loads(run("metacluster", "agri-food", "--json"))
    assert as_json["scientific_representation"] == json.loads(json.dumps(now))

    why = run("why", "node-uni")
    assert "University of Sfax (node-uni, node)" in why and "FORD 4.1" in why
    member_why = run("why", "sahel", "--member", "sahel-uni")
    assert "as a knowledge entity (node-tn/sahel-uni)" in member_why and "support-services (activity)" in member_why
    assert "hosted:cli-lab" in run("why", "hosted:cli-lab")


def test_an_entity_invited_by_many_requests_at_once_is_invited_once(fed):
    """The check for a waiting invitation and the insert are one: concurrent invitations of one entity to one
    meta-cluster make one invitation, the others get 409 (on PostgreSQL, FOR UPDATE over no row locked nothing)."""
    from concurrent.futures import ThreadPoolExecutor

    api, hub, operator = fed["api"], fed["hub"], fed["tokens"]["operator"]
    host(fed, hosted_body("ma-rush", "Rush Lab", "MA", research_domains=["5.2"]))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.call("POST", "/api/v1/metaclusters/agri-food/invitations", operator,
                                                   json={"entity": "hosted:ma-rush"}), range(8)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 7, [a.text for a in answers]
    assert all("has an invitation to mc-agri-food already" in a.json()["message"]
               for a in answers if a.status_code == 409)
    listed = api.call("GET", "/api/v1/invitations", operator, params={"metacluster": "agri-food"}).json()
    assert [i["status"] for i in listed if i["entity_key"] == "hosted:ma-rush"] == ["invited"]
    assert len([e for e in audit(hub, "knowledge.invited") if e["details"]["entity_key"] == "hosted:ma-rush"]) == 1
    # Withdrawn, it may be invited again.
    made = next(a.json() for a in answers if a.status_code == 201)
    assert api.call("POST", f"/api/v1/invitations/{made['id']}/withdraw", operator).status_code == 200
    again = api.call("POST", "/api/v1/metaclusters/agri-food/invitations", operator, json={"entity": "hosted:ma-rush"})
    assert again.status_code == 201, again.text
