"""Real hub and node servers for the tests of the OpenAPI documents (the contract and the generated client)."""

from __future__ import annotations

import pytest

from federation.hub.app import create_hub_app
from federation.node.join import trust_hub
from tests.support.builders import LB_MEMBERS, MA_MEMBERS, cluster_doc, load_node


@pytest.fixture
def servers(make_node, make_hub, serve):
    """Two served nodes (LB, MA) registered at a served hub that they trust, an operator token of the hub and an
    admin token of the LB node."""
    nodes = {}
    for node_id, cluster, country, members in (("node-lb", "qoot", "LB", LB_MEMBERS),
                                                ("node-ma", "menara", "MA", MA_MEMBERS)):
        app = make_node(node_id)
        load_node(app, cluster_doc(cluster, country), members)
        nodes[node_id] = (app, serve(app))
    hub = make_hub()
    hub_app = create_hub_app(hub=hub)
    hub_url = serve(hub_app).url
    for node_id, (app, server) in nodes.items():
        trust_hub(app.extensions["medmci"], hub_url)
        hub.nodes.register(node_id, server.url, None, None, "test")
    _r, operator = hub.tokens.create("operator", "operator")
    node_app, node_server = nodes["node-lb"]
    _r, admin = node_app.extensions["medmci"].tokens.create("admin", "node_admin")
    return {"hub": hub, "hub_app": hub_app, "hub_url": hub_url, "operator": operator, "node_app": node_app,
            "node_url": node_server.url, "admin": admin}


def spec_of(app) -> dict:
    """The app's OpenAPI document, as it serves it."""
    return app.test_client().get("/api/v1/openapi.json").get_json()
