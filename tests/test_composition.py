"""One composition root per app: the node's :class:`Node` (like the hub's :class:`Hub`) wires its services once; the
CLI's node commands use them without a Flask app, the app factory serves an already built one. The token service
writes the token audit events itself, in the transaction of the change, with the actor its caller names."""

from __future__ import annotations

import pytest
import requests
import yaml

from federation.cli import main
from federation.hub.app import create_hub_app
from federation.node import app as node_app_module
from federation.node.app import Node, create_node_app
from tests.support.builders import cluster_doc, load_node, member_doc
from tests.support.environment import TEST_SETTINGS


def test_the_node_commands_use_the_node_without_a_flask_app(runner, tmp_path, monkeypatch, serve):
    instance = tmp_path / "node"
    instance.mkdir()
    (instance / "medmci.yaml").write_text(yaml.safe_dump(TEST_SETTINGS), encoding="utf-8")

    def no_app(*args, **kwargs):
        raise AssertionError("a node command built a Flask app")

    monkeypatch.setattr(node_app_module, "create_node_app", no_app)
    result = runner.invoke(main, ["node", "--instance", str(instance), "init"])
    assert result.exit_code == 0, result.output
    token = result.output.split("admin token (shown once, store it now): ")[1].strip()
    more = runner.invoke(main, ["node", "--instance", str(instance), "token", "importer"])
    assert more.exit_code == 0, more.output
    monkeypatch.undo()

    # What the commands made is what the node serves: the app factory takes the built node as it is.
    node = Node.build(instance)
    try:
        assert [t["name"] for t in node.tokens.list()] == ["admin", "importer"]
        app = create_node_app(node=node)
        assert app.extensions["medmci"] is node
        load_node(app, cluster_doc("qoot", "LB"), [member_doc("qoot-wine", "nace-rev2:11.02")])
        url = serve(app).url
        for value in (token, more.output.strip()):
            answer = requests.get(url + "/api/v1/members", headers={"Authorization": f"Bearer {value}"}, timeout=5)
            assert answer.status_code == 200 and [m["id"] for m in answer.json()] == ["qoot-wine"]
        assert requests.get(url + "/api/v1/members", timeout=5).status_code == 401
        discovery = requests.get(url + "/.well-known/med-mci", timeout=5).json()
        assert node.keys.current[0] in {k["kid"] for k in discovery["keys"]}
    finally:
        node.close()


def test_the_token_service_records_token_events_with_the_actor_in_the_same_transaction(backend, make_hub, serve):
    hub = make_hub()
    _seed, operator = hub.tokens.create("seed-operator", "operator")  # no actor: seeding, not audited
    assert hub.audit.events("token.") == []

    # Over HTTP: the API names the operator as the actor; the service writes the event.
    url = serve(create_hub_app(hub=hub)).url
    headers = {"Authorization": f"Bearer {operator}"}
    created = requests.post(url + "/api/v1/tokens", json={"name": "partner", "role": "operator", "scopes": ["federation:read"]},
                            headers=headers, timeout=5)
    assert created.status_code == 201
    token_id = created.json()["id"]
    assert requests.delete(f"{url}/api/v1/tokens/{token_id}", headers=headers, timeout=5).status_code == 200
    # Any other caller of the service (the CLI says "cli") is audited the same way.
    deputy, _plaintext = hub.tokens.create("deputy", "operator", actor="cli")
    hub.tokens.revoke(deputy["id"], actor="cli")
    events = hub.audit.events("token.")
    assert [(e["action"], e["actor"], e["details"]["token_id"]) for e in events] == [
        ("token.revoked", "cli", deputy["id"]), ("token.created", "cli", deputy["id"]),
        ("token.revoked", "operator:seed-operator", token_id), ("token.created", "operator:seed-operator", token_id)]
    assert events[-1]["details"] == {"token_id": token_id, "name": "partner", "role": "operator",
                                     "scopes": ["federation:read"]}

    # A refused change writes no event: the last token that may manage tokens stays, and so does the log.
    refused = requests.delete(f"{url}/api/v1/tokens/{_seed['id']}", headers=headers, timeout=5)
    assert refused.status_code == 409
    assert len(hub.audit.events("token.")) == 4

    # The event is in the change's transaction: if it cannot be written, the token is not made either.
    def broken(session, action, actor, token):
        raise RuntimeError("audit log unavailable")

    hub.tokens.audit = broken
    with pytest.raises(RuntimeError):
        hub.tokens.create("ghost", "knowledge_member", entity_key="hosted:uni", actor="cli")
    assert "ghost" not in [t["name"] for t in hub.tokens.list()]
