"""Sub-clustering compared over the hub's API (real HTTP, SQLite and PostgreSQL): named rule sets by GET (an
anonymous reader's comparison counts public members only), unsaved ones by POST (a token needed; a bad rule set is
a 400 naming the field, and nothing changes)."""

from __future__ import annotations

import pytest
import requests

from federation.hub.app import create_hub_app

URL = "/api/v1/metaclusters/mc-agri-food/subclusters/compare"
BY_STAGE = "?rules=installed&rules=agri-food-by-stage"
DRAFT = {"value_chain": "agri-food", "rules": [
    {"name": "drinks", "names": {"en": "Drinks"}, "codes": {"nace-rev2": ["11"]}},
    {"name": "food", "codes": {"nace-rev2": ["10"]}},
]}


@pytest.fixture
def served(joined_federation, serve):
    """The joined federation's hub served over HTTP, with an operator token."""
    hub, client, _join = joined_federation
    _record, token = hub.tokens.create("team", "operator")
    return hub, client, serve(create_hub_app(hub=hub)).url, {"Authorization": f"Bearer {token}"}


def sides(answer: dict) -> tuple[dict, dict]:
    a, b = answer["rule_sets"]
    return {s["name"]: s for s in a["sub_clusters"]}, {s["name"]: s for s in b["sub_clusters"]}


def test_named_rule_sets_side_by_side_and_an_anonymous_reader_counts_public_members(served):
    _hub, _client, url, operator = served
    federation = requests.get(url + URL + BY_STAGE, headers=operator, timeout=30).json()
    public = requests.get(url + URL + BY_STAGE, timeout=30).json()
    assert (federation["audience"], public["audience"]) == ("federation", "public")
    # qoot's cold-chain member is shared with the federation only: the public comparison never counts it.
    assert (federation["members"], public["members"]) == (8, 7)
    # A saved alternative is named by its file name: no folder of the hub is shown.
    assert [r["source"] for r in public["rule_sets"]] == ["the installed rules",
                                                          "saved alternative agri-food-by-stage.yaml"]
    a, b = sides(federation)
    assert {n: s["members"] for n, s in a.items()} == {"wine": 2, "snacks-confectionery": 2, "agri-fresh": 0,
                                                      "processing": 2, "parallel-services": 2}
    assert b["processing"]["countries"] == {"LB": 3, "MA": 3}
    assert b["packaging-logistics"]["countries"] == {"LB": 1, "MA": 1}
    assert b["services"]["knowledge_members"] == 1  # Menara's agro lab (72.19)
    assert {(t["from"], t["to"]): t["members"] for t in federation["transitions"]} == {
        ("wine", "processing"): 2, ("snacks-confectionery", "processing"): 2, ("processing", "processing"): 2,
        ("parallel-services", "packaging-logistics"): 2}
    mover = next(m for m in federation["movers"] if m["id"] == "qoot/qoot-cargo")
    assert (mover["from"], mover["to"], mover["country"]) == ("parallel-services", "packaging-logistics", "LB")
    a, b = sides(public)
    assert a["parallel-services"]["countries"] == {"MA": 1} and b["packaging-logistics"]["countries"] == {"MA": 1}
    assert "qoot/qoot-cargo" not in {m["id"] for m in public["movers"]}
    assert "qoot/qoot-cargo" in {m["id"] for m in federation["movers"]}
    assert "B (agri-food-by-stage) leaves agri-fresh empty" not in public["findings"]
    assert "A (installed) leaves agri-fresh empty" in public["findings"]
    unknown = requests.get(url + URL + "?rules=installed&rules=nope", timeout=30)
    assert unknown.status_code == 404 and "agri-food-by-stage" in unknown.json()["message"]
    assert requests.get(url + URL + "?rules=installed", timeout=30).status_code == 422


def test_posted_rule_sets_need_a_token_and_a_bad_one_changes_nothing(served):
    hub, client, url, operator = served
    before = client.get("/api/v1/metaclusters/agri-food").get_json()
    rules_before = [r.name for r in hub.registry.subcluster_rules["agri-food"]]
    audit_before = len(hub.audit.events(None, None, 1000))
    body = {"rules": ["installed", DRAFT]}
    assert requests.post(url + URL, json=body, timeout=30).status_code == 401
    answer = requests.post(url + URL, json=body, headers=operator, timeout=30)
    assert answer.status_code == 200
    _a, b = sides(answer.json())
    assert {n: s["members"] for n, s in b.items()} == {"drinks": 2, "food": 4, "other": 2}
    # The draft as YAML text gives the same comparison.
    as_text = "value_chain: agri-food\nrules:\n  - {name: drinks, codes: {nace-rev2: ['11']}}\n" \
              "  - {name: food, codes: {nace-rev2: ['10']}}\n"
    again = requests.post(url + URL, json={"rules": ["installed", as_text]}, headers=operator, timeout=30).json()
    assert again["transitions"] == answer.json()["transitions"]
    bad = {"value_chain": "agri-food", "rules": [{"name": "drinks", "codes": {"nace-rev2": ["99.99"]}}]}
    refused = requests.post(url + URL, json={"rules": ["installed", bad]}, headers=operator, timeout=30)
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("rules[1]: rules[0] (drinks).codes:")
    assert "99.99" in refused.json()["message"]
    # Nothing changed: the stored meta-cluster, the installed rules, the audit log.
    assert client.get("/api/v1/metaclusters/agri-food").get_json() == before
    assert [r.name for r in hub.registry.subcluster_rules["agri-food"]] == rules_before
    assert len(hub.audit.events(None, None, 1000)) == audit_before
