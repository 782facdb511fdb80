"""Issue #8, finding 7: answers that depend on the caller's credentials say so to caches.

Real hub and node servers on loopback: the hub's meta-clusters (what a token with federation:read sees differs
from what an anonymous reader sees) and the node's admin and profile endpoints carry ``Vary: Authorization`` (the
profile: ``Vary: Signature, Signature-Input``) and ``Cache-Control: private``, anonymous or not; documents the same
for everyone (OpenAPI, discovery) stay cacheable.
"""

from __future__ import annotations

import requests

from federation.hub.app import create_hub_app
from tests.support.builders import cluster_doc, load_node, member_doc


def directives(response: requests.Response) -> set[str]:
    return {d.strip() for d in response.headers.get("Cache-Control", "").split(",") if d.strip()}


def varies(response: requests.Response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("Vary", "").split(",") if v.strip()}


def test_hub_answers_chosen_by_the_token_are_private_and_vary_with_authorization(make_hub, serve):
    hub = make_hub()
    server = serve(create_hub_app(hub=hub))
    _record, token = hub.tokens.create("reader", "operator")
    for path in ("/api/v1/metaclusters", "/api/v1/clusters"):
        anonymous = requests.get(server.url + path, timeout=5)
        authenticated = requests.get(server.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        for response in (anonymous, authenticated):
            assert response.status_code == 200, response.text
            assert "authorization" in varies(response), (path, response.headers)
            assert "private" in directives(response) and "public" not in directives(response)
    refused = requests.get(server.url + "/api/v1/metaclusters", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert refused.status_code == 401 and "authorization" in varies(refused)
    openapi = requests.get(server.url + "/api/v1/openapi.json", timeout=5)
    assert openapi.status_code == 200 and "private" not in directives(openapi)


def test_node_profile_and_admin_answers_are_private(backend, make_node, serve):
    app = make_node("qoot")
    load_node(app, cluster_doc("qoot"), [member_doc("m1", "nace-rev2:11.02", visibility="public")])
    server = serve(app)
    _record, token = app.extensions["medmci"].tokens.create("admin2", "node_admin")
    profile = requests.get(server.url + "/api/v1/profile", timeout=5)
    assert profile.status_code == 200
    assert {"signature", "signature-input"} <= varies(profile)
    assert {"private", "no-cache"} <= directives(profile)
    members = requests.get(server.url + "/api/v1/members", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert members.status_code == 200 and members.json()
    assert "authorization" in varies(members) and "private" in directives(members)
    discovery = requests.get(server.url + "/.well-known/med-mci", timeout=5)
    assert discovery.status_code == 200 and "private" not in directives(discovery)
