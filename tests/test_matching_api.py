"""The matchmaking API over real HTTP: two nodes in two countries and the hub on loopback; suggestions as each reader
may see them, meetings requested and answered by the nodes themselves (signed), the counts per country pair, and the
command lines of both sides."""

from __future__ import annotations

import json

import pytest
import requests
import yaml

from federation.cli import main
from federation.errors import Forbidden
from federation.node.hub_matches import act, meetings, propose
from federation.signing import sign_request
from tests.support.assertions import assert_error
from tests.support.environment import TEST_SETTINGS
from tests.test_matching_hub import BACKENDS, served_federation


@pytest.fixture(scope="module", params=BACKENDS)
def fed(request, tmp_path_factory, registry):
    yield from served_federation(request, tmp_path_factory, registry)


def get(fed, path: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return fed["http"].get(fed["url"] + path, headers=headers, timeout=30)


def context(fed, node_id: str):
    return fed["nodes"][node_id].extensions["medmci"]


def test_suggestions_over_http_as_each_reader_may_see_them(fed):
    federation = get(fed, "/api/v1/matches?cluster=menara", fed["tokens"]["operator"])
    assert federation.status_code == 200, federation.text
    assert "node-lb/qoot-oil" in federation.text
    anonymous = get(fed, "/api/v1/matches?cluster=menara&country=lb&limit=2")
    assert anonymous.status_code == 200
    body = anonymous.json()
    assert body["country"] == "LB" and body["groups"]
    assert all(s["partner"]["country"] == "LB" and s["partner"]["audience"] == "public"
               for g in body["groups"] for s in g["suggestions"])
    assert "qoot-oil" not in anonymous.text and "Olive" not in anonymous.text
    assert_error(get(fed, "/api/v1/matches?member=node-lb/qoot-oil"), 404, "not_found")
    assert_error(get(fed, "/api/v1/matches?cluster=qoot&member=node-lb/qoot-wine"), 422)
    assert_error(get(fed, "/api/v1/matches"), 422)
    assert_error(get(fed, "/api/v1/matches?cluster=qoot&page_size=101"), 422)


def test_nodes_request_answer_and_hold_a_meeting_signed_with_their_keys(fed):
    lb, ma = context(fed, "node-lb"), context(fed, "node-ma")
    meeting = propose(lb, "qoot-wine", "node-ma/menara-cold", "requested", "cold chain to Agadir")
    assert (meeting["member"], meeting["partner"], meeting["state"]) == (
        "node-lb/qoot-wine", "node-ma/menara-cold", "requested")
    with pytest.raises(Forbidden, match="only the partner's node"):
        act(lb, meeting["id"], "accept")  # the requester cannot accept its own request
    assert act(ma, meeting["id"], "accept")["state"] == "accepted"
    assert act(lb, meeting["id"], "held")["state"] == "held"
    assert [m["id"] for m in meetings(ma)] == [meeting["id"]]
    assert [e["actor"] for e in fed["hub"].audit.events("match.")][:3] == ["node:node-lb", "node:node-ma",
                                                                          "node:node-lb"]
    other = propose(ma, "menara-water", "node-lb/qoot-wine", "requested")
    assert act(lb, other["id"], "decline")["state"] == "declined"
    stats = get(fed, "/api/v1/matches/meetings/stats").json()
    assert {(p["from"], p["to"]) for p in stats["pairs"]} == {("LB", "MA"), ("MA", "LB")}
    lb_ma = next(p for p in stats["pairs"] if p["from"] == "LB")
    assert (lb_ma["initiated"], lb_ma["accepted"], lb_ma["held"]) == (1, 1, 1)


def test_a_node_acting_for_another_nodes_member_is_refused_before_its_body_is_read(fed):
    http, url, tokens = fed["http"], fed["url"], fed["tokens"]
    garbage = {"data": b"{not json", "headers": {"Content-Type": "application/json"}}
    # Menara's token at QOOT's door: 403, though the body is not even JSON.
    as_menara = {**garbage["headers"], "Authorization": f"Bearer {tokens['node-ma']}"}
    refused = http.post(f"{url}/api/v1/matches/nodes/node-lb/meetings", timeout=30, data=garbage["data"],
                        headers=as_menara)
    assert_error(refused, 403, "forbidden")
    assert "acts for its own members only" in refused.json()["message"]
    assert_error(http.post(f"{url}/api/v1/matches/nodes/node-lb/meetings", timeout=30, **garbage), 401)
    # A meeting QOOT requested: QOOT's signed accept is refused (the partner answers), before the body.
    meeting = propose(context(fed, "node-lb"), "qoot-wine", "node-ma/menara-water", "requested")
    kid, key = context(fed, "node-lb").keys.current
    prepared = requests.Request("POST", f"{url}/api/v1/matches/nodes/qoot/meetings/{meeting['id']}/accept",
                                data=b"{not json", headers={"Content-Type": "application/json"}).prepare()
    sign_request(prepared, key, kid)
    refused = http.send(prepared, timeout=30)
    assert_error(refused, 403, "forbidden")
    assert "only the partner's node" in refused.json()["message"]
    # QOOT's key signing at Menara's door does not verify.
    prepared = requests.Request("POST", f"{url}/api/v1/matches/nodes/node-ma/meetings/{meeting['id']}/accept",
                                json={}).prepare()
    sign_request(prepared, key, kid)
    assert_error(http.send(prepared, timeout=30), 401, "signature_error")
    assert fed["hub"].meetings.get(meeting["id"])["state"] == "requested"  # nothing changed



def test_a_replayed_signed_request_is_refused_and_changes_nothing(fed):
    """A captured signed "request a meeting", sent again once the meeting was cancelled, would open a new intent and
    count one more meeting initiated: the hub remembers each signature's nonce while it is fresh."""
    http, url = fed["http"], fed["url"]
    lb = context(fed, "node-lb")
    kid, key = lb.keys.current
    prepared = requests.Request("POST", f"{url}/api/v1/matches/nodes/qoot/meetings",
                                json={"member": "qoot-oil", "partner": "node-ma/menara-cold",
                                      "state": "requested"}).prepare()
    sign_request(prepared, key, kid)
    first = http.send(prepared, timeout=30)
    assert first.status_code == 201, first.text
    assert act(lb, first.json()["id"], "cancel")["state"] == "cancelled"
    before = fed["hub"].meetings.stats(federation=True)["initiated"]
    replayed = http.send(prepared, timeout=30)
    assert_error(replayed, 401, "signature_error")
    assert "replayed" in replayed.json()["message"]
    assert fed["hub"].meetings.stats(federation=True)["initiated"] == before
    # Signed again (a new nonce), the same request is a new one.
    again = propose(lb, "qoot-oil", "node-ma/menara-cold", "requested")
    assert again["id"] != first.json()["id"] and again["state"] == "requested"


def test_the_command_lines_of_the_hub_and_the_node(fed, runner):
    node_instance = fed["tmp"] / "node-ma"
    (node_instance / "medmci.yaml").write_text(yaml.safe_dump({**TEST_SETTINGS,
                                                               "database_url": fed["node_urls"]["node-ma"]}))
    hub_instance = fed["tmp"] / "cli-hub"
    hub_instance.mkdir(exist_ok=True)
    (hub_instance / "medmci.yaml").write_text(yaml.safe_dump({**TEST_SETTINGS, "database_url": fed["hub_url"]}))

    def node(*args):
        return runner.invoke(main, ["node", "--instance", str(node_instance), "match", *args])

    def hub(*args):
        return runner.invoke(main, ["hub", "--instance", str(hub_instance), "match", *args])

    requested = node("request", "menara-cold", "node-lb/qoot-wine", "--note", "Lebanese wine, Moroccan cold chain",
                     "--json")
    assert requested.exit_code == 0, requested.output
    meeting = json.loads(requested.output)
    assert meeting["state"] == "requested"
    again = node("request", "menara-cold", "node-lb/qoot-wine")
    assert again.exit_code != 0 and "open intent" in again.output
    listed = node("list")
    assert listed.exit_code == 0 and "node-ma/menara-cold" in listed.output
    table = hub("--member", "node-lb/qoot-wine")
    assert table.exit_code == 0, table.output
    assert "Chateau Qoot" in table.output and "Menara Cargo Handling" in table.output and "SCORE" in table.output
    as_json = json.loads(hub("--cluster", "qoot", "--country", "MA", "--json").output)
    assert as_json["subject"]["key"] == "qoot" and as_json["groups"]
    assert hub("meeting", "accept", str(meeting["id"])).exit_code == 0
    stats = json.loads(hub("stats", "--json").output)
    assert stats["accepted"] >= 1 and {"from", "to", "initiated", "accepted", "held"} <= set(stats["pairs"][0])
    assert "PAIR" in hub("stats").output
    bad = hub("--member", "node-lb/qoot-wine", "--cluster", "qoot")
    assert bad.exit_code != 0 and "exactly one" in bad.output
