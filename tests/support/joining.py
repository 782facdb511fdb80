"""Fixtures of nodes joining a served hub through the real, signed flow, and the operator's decisions on them."""

from __future__ import annotations

import pytest

from federation.hub.app import create_hub_app
from federation.node.join import join_hub
from tests.support.builders import JOIN_LB_MEMBERS
from tests.support.clients import operator_client
from tests.support.nodes import build_node


def decide(client, node_id: str, decision: str, reason: str | None = None):
    """The operator's decision on a node, through the hub API."""
    return client.post(f"/api/v1/nodes/{node_id}/decision", json={"decision": decision, "reason": reason})


def agri_food(client) -> dict:
    """The agri-food meta-cluster as the hub serves it."""
    return client.get("/api/v1/metaclusters/agri-food").get_json()


@pytest.fixture
def joining(make_hub, make_node, serve):
    """``(hub, operator client, join)``: a served hub, and ``join(node_id, members=None)`` -> ``(node_app, node_url,
    answer)``: a served node of ``LB_MA_NODES`` that asked to join it; ``join.again(node_app, node_url, name)`` asks
    again."""
    hub = make_hub()
    app = create_hub_app(hub=hub)
    hub_url = serve(app).url
    client = operator_client(app, hub)

    def join(node_id, members=None):
        node_app = build_node(make_node, node_id, members)
        node_url = serve(node_app).url
        return node_app, node_url, join_hub(node_app.extensions["medmci"], hub_url, node_url, f"{node_id} node")

    join.again = lambda node_app, node_url, name: join_hub(node_app.extensions["medmci"], hub_url, node_url, name)
    return hub, client, join


@pytest.fixture
def joined_federation(backend, joining):
    """``joining`` with qoot (LB) and menara (MA) joined, approved and harvested: agri-food is formed by both."""
    hub, client, join = joining
    join("node-lb", JOIN_LB_MEMBERS)
    join("node-ma")
    for node_id in ("qoot", "menara"):
        assert decide(client, node_id, "approve").status_code == 200
    assert client.post("/api/v1/harvests", json={}).get_json()["counts"]["new_version"] == 2
    document = agri_food(client)
    assert document["formed"] is True and [c["id"] for c in document["clusters"]] == ["qoot", "menara"]
    return hub, client, join
