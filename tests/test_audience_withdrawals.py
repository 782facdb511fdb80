"""Issue #8, C12: a key mix-up never makes the hub rewrite history.

- the node's signed 1.2 document states its audience; the hub refuses one made for another audience than it asked
  (failed fetch, clear reason, nothing purged, last good version kept);
- a request signed by a key the node does not know is a 401 naming the key (hub health, audit logs on both sides),
  while anonymous readers still get the public document;
- the hub purges only the members a node's signed document lists as withdrawn; a member merely missing from a
  smaller document leaves the current view, but the stored versions keep it. 1.0/1.1 documents never cause a purge.

Real nodes (or a hostile fake one) and a real hub over loopback HTTP, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.support.builders import AGRI_CODES, cluster_doc, load_node, member_doc, profile_bytes
from tests.support.fake_node import serve_json
from tests.support.hub_state import by_node, versions


class DropsSignatures:
    """A caching proxy in front of a node that drops the hub's signature headers (it ignores Vary): the node then
    answers the public document to the hub's signed request."""

    def __init__(self, app):
        self.app, self.active = app, False

    def __call__(self, environ, start_response):
        if self.active:
            environ.pop("HTTP_SIGNATURE", None)
            environ.pop("HTTP_SIGNATURE_INPUT", None)
        return self.app(environ, start_response)


def qoot_node(make_node):
    app = make_node("qoot")
    load_node(app, cluster_doc("qoot", "LB"), [
        member_doc("qoot-pub", AGRI_CODES[0], visibility="public"),
        member_doc("qoot-fed", AGRI_CODES[1], visibility="federation", name="Federation Only"),
        member_doc("qoot-fed2", AGRI_CODES[2], visibility="federation")])
    return app


def member_ids(hub, node_id: str = "qoot") -> set[str]:
    return {m["id"] for m in hub.queries.cluster_members(node_id)}


def stored(hub, node_id: str = "qoot") -> list[tuple[int, bytes, object]]:
    return [(v.id, v.body, v.redacted_at) for v in versions(hub, node_id)]


def test_a_document_made_for_another_audience_is_refused_and_nothing_is_purged(backend, make_node, make_hub,
                                                                                serve):
    app = qoot_node(make_node)
    proxy = DropsSignatures(app.wsgi_app)
    app.wsgi_app = proxy
    hub = make_hub()
    hub.nodes.register("qoot", serve(app).url)
    assert by_node(hub.harvester.harvest())["qoot"]["outcome"] == "new_version"
    assert member_ids(hub) == {"qoot-pub", "qoot-fed", "qoot-fed2"}
    before = stored(hub)

    proxy.active = True
    app.extensions["medmci"].service.create_member(member_doc("qoot-new", AGRI_CODES[0]))
    outcome = by_node(hub.harvester.harvest())["qoot"]

    assert outcome["outcome"] == "failed"
    assert "made for the 'public' audience, not 'federation'" in outcome["reason"]
    assert "nothing changed" in outcome["reason"]
    # Nothing purged, nothing stored, the last good version kept (marked stale) and still in the view.
    assert stored(hub) == before
    assert member_ids(hub) == {"qoot-pub", "qoot-fed", "qoot-fed2"}
    assert hub.queries.clusters()[0]["stale_since"] is not None
    assert hub.audit.events("member.purged", "qoot") == []
    [refused] = hub.audit.events("document.refused", "qoot")
    assert "'public' audience" in refused["details"]["reason"]
    assert "audience" in hub.nodes.get("qoot")["last_error"]

    proxy.active = False  # the proxy fixed: the next harvest reads the federation document again
    assert by_node(hub.harvester.harvest())["qoot"]["outcome"] == "new_version"
    assert member_ids(hub) == {"qoot-pub", "qoot-fed", "qoot-fed2", "qoot-new"}
    assert all(redacted is None for _id, _body, redacted in stored(hub))


def test_a_request_signed_by_a_key_the_node_does_not_know_is_a_401_naming_it(backend, make_node, make_hub, serve):
    app = qoot_node(make_node)
    server = serve(app)
    hub = make_hub()
    hub.nodes.register("qoot", server.url)
    assert by_node(hub.harvester.harvest())["qoot"]["outcome"] == "new_version"
    before = stored(hub)

    # A key mix-up: the hub's key changed and nobody told the node.
    lost = hub.keys.rotate()
    app.extensions["medmci"].service.delete_member("qoot-fed2")
    outcome = by_node(hub.harvester.harvest())["qoot"]

    assert (outcome["outcome"], outcome["http_status"]) == ("failed", 401)
    assert f"unknown key id {lost}" in outcome["reason"]
    health = hub.nodes.get("qoot")
    assert f"unknown key id {lost}" in health["last_error"] and health["health"] == "degraded"
    [refused] = hub.audit.events("document.refused", "qoot")
    assert f"unknown key id {lost}" in refused["details"]["reason"]
    assert stored(hub) == before and hub.audit.events("member.purged") == []
    assert member_ids(hub) == {"qoot-pub", "qoot-fed", "qoot-fed2"}
    [line] = app.extensions["medmci"].hubs.audit.events("request.refused")
    assert line["details"]["kid"] == lost and "unknown key id" in line["message"]
    # Anonymous readers still read the public document.
    anonymous = requests.get(server.url + "/api/v1/profile", timeout=5)
    assert anonymous.status_code == 200
    assert [m["id"] for m in anonymous.json()["members"]] == ["qoot-pub"]
    assert anonymous.json()["audience"] == "public"


def test_only_members_the_node_withdrew_are_purged_from_history(backend, make_node, make_hub, serve):
    app = qoot_node(make_node)
    service = app.extensions["medmci"].service
    hub = make_hub()
    hub.nodes.register("qoot", serve(app).url)
    hub.harvester.harvest()
    service.update_member("qoot-fed2", {**member_doc("qoot-fed2", AGRI_CODES[2]), "visibility": "private"})
    outcome = by_node(hub.harvester.harvest())["qoot"]
    assert outcome["outcome"] == "new_version"

    first, second = versions(hub, "qoot")
    assert json.loads(second.body)["withdrawn"] == ["qoot-fed2"]  # signed by the node
    assert first.redactions == ["qoot-fed2"] and b"qoot-fed2" not in first.body
    [purged] = hub.audit.events("member.purged", "qoot")
    assert purged["details"]["member_ids"] == ["qoot-fed2"]
    assert member_ids(hub) == {"qoot-pub", "qoot-fed"}


def test_a_smaller_document_without_withdrawals_rewrites_no_history(backend, fake_node, make_hub):  # noqa: F811
    members = [member_doc(f"menara-{i}", AGRI_CODES[i]) for i in range(3)]
    fake = fake_node(serve_json(profile_bytes(members=members, sequence=1)))
    hub = make_hub()
    hub.nodes.register("menara", fake.url)
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version"

    # A 1.2 document that came back smaller (a bug, a partial export...) but withdraws nothing.
    fake.profile = serve_json(profile_bytes(members=members[:2], sequence=2))
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version"
    assert member_ids(hub, "menara") == {"menara-0", "menara-1"}  # menara-2 left the current view...
    first, _second = versions(hub, "menara")
    assert first.redacted_at is None and b"menara-2" in first.body  # ...but history is not rewritten
    assert hub.audit.events("member.purged") == []

    # The node then says it withdrew menara-1 (and still not menara-2): only menara-1 is purged.
    body = json.loads(profile_bytes(members=members[:1], sequence=3))
    body["withdrawn"] = ["menara-1"]
    fake.profile = serve_json(json.dumps(body).encode())
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version"
    first, second, _third = versions(hub, "menara")
    assert first.redactions == ["menara-1"] and second.redactions == ["menara-1"]
    assert b"menara-2" in first.body and b"menara-1" not in first.body + second.body

    # A 1.1 document (which cannot say what it withdrew) never causes a purge: the conservative reading.
    older = json.loads(profile_bytes(members=[], sequence=4))
    older["version"] = "1.1"
    del older["audience"], older["withdrawn"]
    fake.profile = serve_json(json.dumps(older).encode())
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version"
    assert member_ids(hub, "menara") == set()
    assert b"menara-0" in versions(hub, "menara")[0].body
    assert [e["details"]["member_ids"] for e in hub.audit.events("member.purged")] == [["menara-1"]]


@pytest.mark.parametrize("audience", [None, "public"])
def test_a_1_2_document_must_state_the_federation_audience(backend, fake_node, make_hub, audience):  # noqa: F811
    body = json.loads(profile_bytes())
    if audience is None:
        del body["audience"]
    else:
        body["audience"] = audience
    fake = fake_node(serve_json(json.dumps(body).encode()))
    hub = make_hub()
    hub.nodes.register("menara", fake.url)
    outcome = by_node(hub.harvester.harvest())["menara"]
    assert outcome["outcome"] == "failed"
    assert ("must state its audience" if audience is None else "'public' audience") in outcome["reason"]
    assert versions(hub, "menara") == []


def test_a_node_lists_its_withdrawals_within_its_bounds(backend, make_node, make_hub, serve):
    """node.withdrawn_max: the newest withdrawals only; a member shared again is no longer withdrawn; each audience
    has its own list (a member made federation-only is withdrawn from the public document only)."""
    app = make_node("qoot", {"node": {"withdrawn_max": 2, "notify_hubs": False}})
    load_node(app, cluster_doc("qoot", "LB"), [member_doc(f"q{i}", AGRI_CODES[0]) for i in range(5)])
    service = app.extensions["medmci"].service
    server = serve(app)
    hub = make_hub()
    for member_id in ("q0", "q1", "q2"):
        service.delete_member(member_id)
    service.update_member("q3", {**member_doc("q3", AGRI_CODES[0]), "visibility": "federation"})

    signed = requests.get(server.url + "/api/v1/profile", auth=hub.harvester.client.auth, timeout=5).json()
    public = requests.get(server.url + "/api/v1/profile", timeout=5).json()
    assert (signed["audience"], public["audience"]) == ("federation", "public")
    assert signed["withdrawn"] == ["q1", "q2"]  # the two newest of three (q0 dropped out)
    assert public["withdrawn"] == ["q2", "q3"]  # q3 left the public audience only

    service.update_member("q3", {**member_doc("q3", AGRI_CODES[0]), "visibility": "public"})
    public = requests.get(server.url + "/api/v1/profile", timeout=5).json()
    assert "q3" not in public["withdrawn"] and "q3" in {m["id"] for m in public["members"]}
