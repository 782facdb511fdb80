"""Operator decisions follow a state machine, and say what happens to a node's data (issue #8, C13); the last
token that manages tokens cannot be revoked. Over real HTTP (served hub and nodes), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import update

from federation.cli import main
from federation.hub.models import NodeRecord
from federation.signing import sign_request
from tests.support.assertions import assert_clean_failure, assert_error
from tests.support.joining import agri_food, decide
from tests.support.nodes import build_node

SUSPENDED = [{"passed": False, "rule": "operator", "reason": "suspended by the operator"}]


def test_a_suspended_nodes_clusters_leave_the_metaclusters_at_once_and_come_back(joined_federation):
    hub, client, _join = joined_federation
    versions = client.get("/api/v1/nodes/qoot/versions").get_json()
    assert len(versions) == 1

    assert decide(client, "qoot", "suspend", "unpaid fees").get_json()["status"] == "suspended"
    # No harvest needed: the decision re-formed the chains qoot was in.
    document = agri_food(client)
    assert "qoot" not in [c["id"] for c in document["clusters"] + document["excluded_clusters"]]
    assert document["formed"] is False and document["countries"] == ["MA"]
    assert not any(m["id"].startswith("qoot/") for m in document["members"])
    everything = client.get("/api/v1/metaclusters?formed=all").get_data(as_text=True)
    assert "qoot/" not in everything
    assert [c["id"] for c in client.get("/api/v1/clusters").get_json()] == ["menara"]
    # `why` explains it, chain by chain; the versions are kept.
    why = client.get("/api/v1/clusters/qoot/why").get_json()
    assert why["placements"] and all(p["reasons"] == SUSPENDED and p["included"] is False
                                      for p in why["placements"])
    assert client.get("/api/v1/nodes/qoot/versions").get_json() == versions
    # A harvest keeps it out.
    client.post("/api/v1/harvests", json={})
    assert "qoot" not in [c["id"] for c in agri_food(client)["clusters"]]

    assert decide(client, "qoot", "approve", "paid").get_json()["status"] == "active"
    document = agri_food(client)
    assert document["formed"] is True and [c["id"] for c in document["clusters"]] == ["qoot", "menara"]
    assert "qoot/qoot-wine" in {m["id"] for m in document["members"]}
    assert all(p["reasons"] != SUSPENDED for p in client.get("/api/v1/clusters/qoot/why").get_json()["placements"])
    events = client.get("/api/v1/audit?action=registration.&node_id=qoot").get_json()
    assert [(e["action"], e["details"].get("previous")) for e in events][:2] == [
        ("registration.approved", "suspended"), ("registration.suspended", "active")]


@pytest.mark.parametrize("status, decision, message", [
    pytest.param("active", "approve", "node 'qoot' is active: only suspend applies", id="approve-active"),
    pytest.param("active", "reject", "node 'qoot' is active: only suspend applies", id="reject-active"),
    pytest.param("suspended", "suspend", "node 'qoot' is suspended: only approve applies", id="suspend-twice"),
    pytest.param("suspended", "reject", "node 'qoot' is suspended: only approve applies", id="reject-suspended"),
    pytest.param("paused", "approve", "node 'qoot' is paused: only suspend applies", id="approve-paused"),
])
def test_a_decision_the_state_does_not_allow_is_409_and_changes_nothing(joined_federation, status, decision, message):
    hub, client, _join = joined_federation
    if status == "suspended":
        decide(client, "qoot", "suspend")
    elif status == "paused":
        assert client.patch("/api/v1/nodes/qoot", json={"status": "paused"}).status_code == 200
    before = (client.get("/api/v1/nodes/qoot").get_json(), client.get("/api/v1/audit").get_json(),
              agri_food(client))
    body = assert_error(decide(client, "qoot", decision), 409, "conflict", "decision")
    assert body["message"] == message
    assert (client.get("/api/v1/nodes/qoot").get_json(), client.get("/api/v1/audit").get_json(),
            agri_food(client)) == before


def test_a_paused_node_stays_in_the_metaclusters_and_may_be_suspended(joined_federation):
    _hub, client, _join = joined_federation
    assert client.patch("/api/v1/nodes/qoot", json={"status": "paused"}).get_json()["status"] == "paused"
    assert [c["id"] for c in agri_food(client)["clusters"]] == ["qoot", "menara"]
    assert decide(client, "qoot", "suspend").get_json()["status"] == "suspended"
    assert [c["id"] for c in agri_food(client)["clusters"]] == ["menara"]


def test_rejected_is_final_until_the_node_asks_again(backend, joining):
    hub, client, join = joining
    node_app, node_url, _answer = join("node-ma")
    assert decide(client, "menara", "reject", "unknown to us").get_json()["status"] == "rejected"
    for decision in ("approve", "suspend", "reject"):
        body = assert_error(decide(client, "menara", decision), 409, "conflict")
        assert body["message"] == ("node 'menara' is rejected: a rejected node stays rejected unless it asks to join "
                                   "again")
    assert client.get("/api/v1/nodes/menara").get_json()["status"] == "rejected"

    # It asks again: pending once more (audited), then the operator may approve it.
    answer = join.again(node_app, node_url, "menara again")
    assert answer["status"] == "pending" and answer["name"] == "menara again"
    [event, *_] = client.get("/api/v1/audit?action=registration.requested").get_json()
    assert event["details"]["again"] is True and event["node_id"] == "menara"
    assert decide(client, "menara", "approve").get_json()["status"] == "active"


def test_a_rejected_nodes_data_appears_in_no_view(joined_federation):
    """A node an older hub rejected after it had data (any decision applied from any state then)."""
    hub, client, _join = joined_federation
    anonymous = FlaskClient(client.application)
    with hub.db.session() as session:
        session.execute(update(NodeRecord).where(NodeRecord.id == "qoot").values(status="rejected"))
    assert "qoot" in client.get("/api/v1/metaclusters/agri-food").get_data(as_text=True)  # formed before
    client.post("/api/v1/harvests", json={})  # the next harvest forms again the chains still holding it
    for reader in (client, anonymous):
        text = reader.get("/api/v1/metaclusters?formed=all").get_data(as_text=True)
        assert "qoot" not in text
        assert [c["id"] for c in reader.get("/api/v1/clusters").get_json()] == ["menara"]
        assert_error(reader.get("/api/v1/clusters/qoot/why"), 404, "not_found")
    assert_error(client.get("/api/v1/nodes/qoot/versions"), 404, "not_found")
    assert_error(client.get("/api/v1/nodes/qoot/versions/1"), 404, "not_found")


# -- tokens --------------------------------------------------------------------------------------------------------

def test_the_last_operator_token_cannot_be_revoked_and_a_revoked_one_is_gone(backend, hub_client):
    hub, client = hub_client
    [operator] = hub.tokens.list()
    body = assert_error(client.delete(f"/api/v1/tokens/{operator['id']}"), 409, "conflict", "token_id")
    assert "the last active token with scope 'tokens:admin'" in body["message"]
    assert hub.tokens.list()[0]["revoked_at"] is None
    assert hub.audit.events("token.revoked") == []

    # With a second operator, the first may go; revoking it again is 404 (nothing to revoke), audited once.
    _second, plaintext = hub.tokens.create("deputy", "operator")
    deputy = FlaskClient(client.application)
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert deputy.delete(f"/api/v1/tokens/{operator['id']}", headers=headers).status_code == 200
    body = assert_error(deputy.delete(f"/api/v1/tokens/{operator['id']}", headers=headers), 404, "not_found")
    assert "revoked already" in body["message"]
    assert len(hub.audit.events("token.revoked")) == 1
    # The deputy is now the last one.
    assert_error(deputy.delete(f"/api/v1/tokens/{_second['id']}", headers=headers), 409, "conflict")
    # A token without tokens:admin is never the last of anything.
    reader, _ = hub.tokens.create("reader", "knowledge_member", entity_key="hosted:uni")
    assert deputy.delete(f"/api/v1/tokens/{reader['id']}", headers=headers).status_code == 200


def test_the_cli_refuses_the_same_token_revocations(backend, runner, tmp_path, make_hub):
    hub = make_hub("cli-tokens")
    record, _ = hub.tokens.create("operator", "operator")
    args = ("hub", "--instance", hub.settings.instance_path)
    env = {"DATABASE_URL": hub.settings.database_url}
    result = runner.invoke(main, [str(a) for a in (*args, "token", "revoke", record["id"])], env=env)
    assert_clean_failure(result, "last active token with scope 'tokens:admin'")
    other, _ = hub.tokens.create("other", "knowledge_member", entity_key="hosted:uni")
    hub.tokens.revoke(other["id"])
    result = runner.invoke(main, [str(a) for a in (*args, "token", "revoke", other["id"])], env=env)
    assert_clean_failure(result, "revoked already")
    assert [t["revoked_at"] is None for t in hub.tokens.list()] == [True, False]


def test_the_cli_decisions_follow_the_state_machine(joined_federation, runner):
    hub, client, _join = joined_federation
    args = ["hub", "--instance", str(hub.settings.instance_path)]
    env = {"DATABASE_URL": hub.settings.database_url}
    result = runner.invoke(main, [*args, "approve", "qoot"], env=env)
    assert_clean_failure(result, "node 'qoot' is active: only suspend applies")
    result = runner.invoke(main, [*args, "suspend", "qoot", "--reason", "unpaid"], env=env)
    assert result.exit_code == 0 and result.output.strip() == "node qoot: suspended"
    # The CLI's decision re-formed the chains too.
    assert [c["id"] for c in agri_food(client)["clusters"]] == ["menara"]
    why = json.loads(runner.invoke(main, [*args, "why", "qoot", "--json"], env=env).output)
    assert all(p["reasons"] == SUSPENDED for p in why["placements"])


def test_a_node_url_with_credentials_is_refused_before_any_fetch(backend, joining, make_node, serve):
    """user:password@ in a node URL would be stored, listed and audited: refused at registration and at join, before
    the hub reads the node's discovery document."""
    hub, client, _join = joining
    hub_url = serve(client.application).url
    node_app = build_node(make_node, "node-ma")
    node_url = serve(node_app).url
    with_credentials = node_url.replace("http://", "http://a:b@")
    operator = {"Authorization": client.environ_base["HTTP_AUTHORIZATION"]}
    events = hub.audit.events()

    response = requests.post(f"{hub_url}/api/v1/nodes", json={"id": "menara", "url": with_credentials},
                             headers=operator, timeout=30)
    assert response.status_code == 422, response.text
    assert response.json()["message"] == "node URL must not contain a user name or password"
    assert response.json()["errors"] == {"url": ["no user:password@ part"]}

    kid, key = node_app.extensions["medmci"].keys.current
    request = requests.Request("POST", f"{hub_url}/api/v1/registrations",
                               json={"node_url": with_credentials, "name": "menara"}).prepare()
    sign_request(request, key, kid)
    response = requests.Session().send(request, timeout=30)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == {"url": ["no user:password@ part"]}

    assert client.get("/api/v1/nodes").get_json() == [] and hub.audit.events() == events


def test_resuming_a_rejected_node_says_rejected_is_final(backend, joining, serve):
    hub, client, join = joining
    join("node-ma")
    assert decide(client, "menara", "reject").status_code == 200
    hub_url = serve(client.application).url
    operator = {"Authorization": client.environ_base["HTTP_AUTHORIZATION"]}
    events = hub.audit.events()
    for status in ("active", "paused"):
        response = requests.patch(f"{hub_url}/api/v1/nodes/menara", json={"status": status}, headers=operator,
                                  timeout=30)
        assert response.status_code == 409, response.text
        # What the decision endpoint says too: there is nothing to approve.
        assert response.json()["message"] == ("node 'menara' is rejected: a rejected node stays rejected unless it "
                                              "asks to join again")
        assert response.json()["errors"] == {"status": ["the node is rejected"]}
    assert client.get("/api/v1/nodes/menara").get_json()["status"] == "rejected"
    assert hub.audit.events() == events
