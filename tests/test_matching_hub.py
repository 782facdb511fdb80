"""Matchmaking at the hub (federation/hub/matching.py, meetings.py): suggestions computed from the harvested view and
stored, what each reader may see of them, their refresh after a new version, and meeting intents."""

from __future__ import annotations

import pytest
import requests

from federation.errors import Conflict, Forbidden, NotFound, ValidationError
from federation.hub.app import Hub, create_hub_app
from federation.node.app import create_node_app
from federation.node.join import trust_hub
from federation.serving import BackgroundServer
from tests.support.builders import LB_MEMBERS, MA_MEMBERS, cluster_doc, load_node, member_doc
from tests.support.databases import Databases
from tests.support.environment import POSTGRES_URL, TEST_SETTINGS

COLD = [{"text": "cold storage and cargo handling", "codes": [{"scheme": "nace-rev2", "code": "52.24"}]}]
LB = [member_doc("qoot-wine", "nace-rev2:11.02", name="Chateau Qoot", needs=COLD),
      member_doc("qoot-oil", "nace-rev2:10.41", name="Qoot Olive Oil", visibility="federation",
                 needs=[{"text": "secret bottling partner", "codes": [{"scheme": "nace-rev2", "code": "11.07"}]}]),
      # (biscuits, a university, a private member: agri-food forms a meta-cluster)
      *(m for m in LB_MEMBERS if m["id"] not in ("qoot-wine", "qoot-oil"))]
#: (menara-cold, "Menara Cargo Handling", offers 52.24 by its activity)
MA = [*MA_MEMBERS, member_doc("menara-water", "nace-rev2:11.07", name="Menara Springs", city="Ifrane")]
NODES = {"node-lb": ("qoot", "LB", LB), "node-ma": ("menara", "MA", MA)}


def served_federation(request, tmp_path_factory, registry):
    """QOOT (LB) and Menara (MA) nodes served on loopback, registered at a served hub and harvested once; tokens of
    the operator and of each node. Module-scoped by its users (a federation is seconds to build)."""
    if request.param == "postgres" and not request.getfixturevalue("postgres_available"):
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    tmp = tmp_path_factory.mktemp(f"matches-{request.param}")
    dbs = Databases(request.param, tmp)
    nodes, servers, urls, hub = {}, {}, {}, None
    try:
        for node_id, (cluster_id, country, members) in NODES.items():
            urls[node_id] = dbs.url(node_id)
            app = create_node_app(tmp / node_id, {"database_url": urls[node_id], **TEST_SETTINGS}, registry=registry)
            load_node(app, cluster_doc(cluster_id, country), members)
            nodes[node_id] = app
            servers[node_id] = BackgroundServer(app).start()
        hub_url = dbs.url("hub")
        hub = Hub.build(tmp / "hub", {"database_url": hub_url, **TEST_SETTINGS}, registry=registry)
        servers["hub"] = BackgroundServer(create_hub_app(hub=hub)).start()
        for node_id, app in nodes.items():
            trust_hub(app.extensions["medmci"], servers["hub"].url, public_url=servers[node_id].url)
            hub.nodes.register(node_id, servers[node_id].url, None, None, "test")
        assert hub.harvester.harvest()["counts"]["new_version"] == 2
        tokens = {"operator": hub.tokens.create("op", "operator")[1],
                  **{n: hub.tokens.create(f"{n}-op", "node_operator", node_id=n)[1] for n in nodes}}
        session = requests.Session()
        session.trust_env = False
        yield {"hub": hub, "url": servers["hub"].url, "nodes": nodes, "tokens": tokens, "tmp": tmp,
               "node_urls": urls, "http": session, "hub_url": hub_url}
    finally:
        for server in servers.values():
            server.stop()
        if hub is not None:
            hub.close()
        for app in nodes.values():
            app.extensions["medmci"].db.dispose()
        dbs.drop()


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def fed(request, tmp_path_factory, registry):
    federation = served_federation(request, tmp_path_factory, registry)
    value = next(federation)
    yield value["hub"], value["nodes"]
    next(federation, None)


def partners(result: dict) -> dict[str, list[str]]:
    return {g["member"]["key"]: [s["partner"]["key"] for s in g["suggestions"]] for g in result["groups"]}


def texts(result: dict) -> str:
    return repr(result)


def test_a_harvest_stores_suggestions_across_borders_with_reasons(fed):
    hub, _nodes = fed
    result = hub.matches.suggestions("member", "node-lb/qoot-wine", federation=True)
    [group] = result["groups"]
    assert group["member"] == {"key": "node-lb/qoot-wine", "node_id": "node-lb", "cluster_id": "qoot",
                               "country": "LB", "name": "Chateau Qoot", "kind": "sme", "audience": "public"}
    best = group["suggestions"][0]
    assert best["partner"]["key"] == "node-ma/menara-cold" and best["partner"]["country"] == "MA"
    assert "contact" not in best["partner"]
    reasons = [r["text"] for r in best["reasons"]]
    assert any("needs 52.24" in text and "Menara Cargo Handling offers" in text for text in reasons), reasons
    # Every partner is in another country; a cluster's suggestions are grouped by member, best first.
    cluster = hub.matches.suggestions("cluster", "qoot", federation=True)
    assert {"node-lb/qoot-wine", "node-lb/qoot-oil"} <= set(partners(cluster))
    assert "node-lb/qoot-secret" not in set(partners(cluster))  # private: never at the hub
    assert all(p.startswith("node-ma/") for found in partners(cluster).values() for p in found)
    scores = [g["suggestions"][0]["score"] for g in cluster["groups"]]
    assert scores == sorted(scores, reverse=True)
    # By country: Morocco has partners for QOOT, Spain none here.
    assert hub.matches.suggestions("cluster", "qoot", True, country="es")["groups"] == []
    # The meta-cluster's members, by id or value chain.
    by_chain = hub.matches.suggestions("metacluster", "agri-food", federation=True)
    assert by_chain["subject"]["key"] == "mc-agri-food" and by_chain["total"] >= 1


def test_an_anonymous_reader_never_sees_a_federation_only_member_nor_its_reasons(fed):
    hub, _nodes = fed
    federation = hub.matches.suggestions("cluster", "menara", federation=True)
    assert "node-lb/qoot-oil" in {p for found in partners(federation).values() for p in found}
    anonymous = hub.matches.suggestions("cluster", "menara", federation=False)
    assert anonymous["groups"], "public members still get their public partners"
    assert not {"qoot-oil", "Olive", "secret"} & set(texts(anonymous).replace("'", " ").split())
    assert "Olive" not in texts(anonymous) and "secret" not in texts(anonymous)
    assert "qoot-oil" not in texts(hub.matches.suggestions("cluster", "qoot", federation=False))
    assert "qoot-oil" not in texts(hub.matches.suggestions("metacluster", "agri-food", federation=False))
    with pytest.raises(NotFound):
        hub.matches.suggestions("member", "node-lb/qoot-oil", federation=False)
    assert hub.matches.suggestions("member", "qoot/qoot-oil", federation=True)["groups"]  # cluster id works too
    with pytest.raises(ValidationError, match=r"matching\.k"):
        hub.matches.suggestions("cluster", "qoot", True, limit=11)


def test_meeting_intents_move_only_as_their_states_allow(fed):
    hub, _nodes = fed
    meetings = hub.meetings
    first = meetings.create("node-lb/qoot-wine", "node-ma/menara-cold", "interested", "node:node-lb")
    assert first["state"] == "interested" and first["score"] is not None
    with pytest.raises(Conflict, match="open intent"):
        meetings.create("node-lb/qoot-wine", "node-ma/menara-cold", "interested", "node:node-lb")
    requested = meetings.create("node-lb/qoot-wine", "node-ma/menara-cold", "requested", "node:node-lb", "cold chain")
    assert (requested["id"], requested["state"], requested["note"]) == (first["id"], "requested", "cold chain")
    with pytest.raises(Forbidden, match="only the partner's node"):
        meetings.act(first["id"], "accept", "node:node-lb", acting_node="node-lb")
    with pytest.raises(Conflict, match="cannot be held"):
        meetings.act(first["id"], "held", "node:node-ma", acting_node="node-ma")
    assert meetings.act(first["id"], "accept", "node:node-ma", acting_node="node-ma")["state"] == "accepted"
    assert meetings.act(first["id"], "held", "node:node-lb", acting_node="node-lb")["state"] == "held"
    with pytest.raises(Conflict):
        meetings.act(first["id"], "cancel", "cli")
    declined = meetings.create("node-ma/menara-water", "node-lb/qoot-oil", "requested", "cli")
    meetings.act(declined["id"], "decline", "cli")
    with pytest.raises(Forbidden, match="own members"):
        meetings.create("node-ma/menara-water", "node-lb/qoot-wine", "requested", "x", acting_node="node-lb")
    with pytest.raises(ValidationError, match="another cluster"):
        meetings.create("node-lb/qoot-wine", "node-lb/qoot-oil", "requested", "cli")
    with pytest.raises(NotFound):
        meetings.create("node-lb/qoot-wine", "node-ma/nobody", "requested", "cli")
    with pytest.raises(ValidationError, match="max_note_chars"):
        meetings.create("node-lb/qoot-wine", "node-ma/menara-water", "requested", "cli", "x" * 501)
    stats = meetings.stats(federation=True)
    assert (stats["initiated"], stats["accepted"], stats["held"], stats["declined"]) == (2, 1, 1, 1)
    assert {(p["from"], p["to"]): (p["initiated"], p["held"]) for p in stats["pairs"]} == {
        ("LB", "MA"): (1, 1), ("MA", "LB"): (1, 0)}
    # The declined request involved a federation-only member: not in an anonymous reader's counts.
    assert meetings.stats(federation=False)["initiated"] == 1
    assert [e["action"] for e in hub.audit.events("match.")][::-1] == [
        "match.interested", "match.requested", "match.accepted", "match.held", "match.requested", "match.declined"]
    # The benchmark's "countries of partners met" reads the meetings held, on both sides; a declined one meets no one.
    assert hub.meetings.partner_countries_met(["node-lb", "node-ma"], True) == {"node-lb": {"MA"}, "node-ma": {"LB"}}
    indicators = {r["name"]: r["value"] for r in hub.benchmarks.benchmark("node-lb")["indicators"]}
    assert indicators["partner_countries_met"] == 1


def test_a_member_made_federation_only_after_its_meeting_leaves_the_anonymous_counts(fed):
    hub, nodes = fed
    # (the meeting held above: qoot-wine and menara-cold, both public then)
    assert hub.meetings.stats(federation=False)["held"] == 1
    assert hub.meetings.partner_countries_met(["node-lb"], False) == {"node-lb": {"MA"}}
    service = nodes["node-lb"].extensions["medmci"].service
    service.change_member("qoot-wine", {"visibility": "federation"}, "test")
    assert hub.harvester.harvest()["counts"]["new_version"] == 1
    anonymous = hub.meetings.stats(federation=False)
    assert (anonymous["intents"], anonymous["held"], anonymous["pairs"]) == (0, 0, [])
    assert hub.meetings.partner_countries_met(["node-lb", "node-ma"], False) == {}
    assert hub.meetings.stats(federation=True)["held"] == 1  # a federation reader still counts it
    indicators = {r["name"]: r["value"] for r in hub.benchmarks.benchmark("node-lb", (), False)["indicators"]}
    assert indicators["partner_countries_met"] == 0
    service.change_member("qoot-wine", {"visibility": "public"}, "test")
    assert hub.harvester.harvest()["counts"]["new_version"] == 1
    assert hub.meetings.stats(federation=False)["held"] == 1


def test_suggestions_are_recomputed_for_what_a_new_version_changed(fed):
    hub, nodes = fed
    assert hub.matches.refresh() == {"changed_nodes": [], "members": 10, "rewritten": 0}  # nothing new: no work
    service = nodes["node-ma"].extensions["medmci"].service
    service.delete_member("menara-cold")
    service.create_member(member_doc("menara-store", "nace-rev2:52.10", name="Menara Warehousing",
                                     offers=[{"text": "cold storage", "codes": [
                                         {"scheme": "nace-rev2", "code": "52.24"}]}]))
    assert hub.harvester.harvest()["counts"]["new_version"] == 1  # the harvest refreshes the suggestions
    found = hub.matches.suggestions("member", "node-lb/qoot-wine", federation=True)
    keys = [s["partner"]["key"] for s in found["groups"][0]["suggestions"]]
    assert keys[0] == "node-ma/menara-store" and "node-ma/menara-cold" not in keys
    assert hub.matches.suggestions("member", "node-ma/menara-store", True)["groups"]
    with pytest.raises(NotFound):
        hub.matches.suggestions("member", "node-ma/menara-cold", True)
    # A full recomputation agrees with the incremental one.
    before = hub.matches.suggestions("cluster", "qoot", True)
    assert hub.matches.refresh(full=True)["rewritten"] == 10
    assert partners(hub.matches.suggestions("cluster", "qoot", True)) == partners(before)
    # A suspended node's members leave the suggestions (the decision refreshes them).
    hub.nodes.decide("node-ma", "suspend", "test", "a test")
    assert hub.matches.suggestions("cluster", "qoot", True)["groups"] == []
