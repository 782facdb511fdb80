"""Benchmarks and freshness over real HTTP: four clusters harvested by a served hub, on SQLite and PostgreSQL
(federation/hub/benchmarks.py, federation/hub/benchmark_api.py, federation/hub/freshness.py, the CLI)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
import yaml
from sqlalchemy import update

from federation.cli import main
from federation.hub.app import create_hub_app
from federation.hub.freshness import FreshnessPolicy, weighted_median
from federation.hub.models import ClusterView
from federation.node.join import trust_hub
from federation.settings import deep_merge
from tests.support.builders import cluster_doc, load_node, member_doc
from tests.support.environment import TEST_SETTINGS

RECENT = date.today() - timedelta(days=10)
OVERRIDES = {"benchmark": {"min_peers": 2, "large_cluster_members": 4, "country_groups": {"maghreb": ["MA", "TN"]}}}


def _members(prefix: str, count: int, **extra) -> list[dict]:
    return [member_doc(f"{prefix}-{i}", "nace-rev2:10.41", **extra) for i in range(count)]


CLUSTERS = {  # node id: (cluster, country, members)
    "node-lb": ("qoot", "LB", [
        member_doc("q-1", "nace-rev2:10.41", last_active=RECENT, export_markets=["FR", "ES"]),
        member_doc("q-2", "nace-rev2:11.02", status="dormant"),
        member_doc("q-3", "nace-rev2:10.82", visibility="federation", export_markets=["DE"]),
        member_doc("q-4", "nace-rev2:10.41"),
        member_doc("q-uni", "nace-rev2:85.42", kind="university")]),
    "node-ma": ("menara", "MA", _members("m", 3)),
    "node-be": ("valbiom", "BE", _members("v", 5)),
    "node-lv": ("lvfood", "LV", _members("l", 2)),
}


@pytest.fixture
def federation(backend, make_node, make_hub, serve, tmp_path):
    """``(hub, hub_url, operator token)``: the four clusters harvested by a served hub."""
    hub = make_hub(overrides=OVERRIDES)
    hub_url = serve(create_hub_app(hub=hub)).url
    for node_id, (cluster, country, members) in CLUSTERS.items():
        app = make_node(node_id)
        load_node(app, cluster_doc(cluster, country), members)
        url = serve(app).url
        trust_hub(app.extensions["medmci"], hub_url)
        hub.nodes.register(node_id, url, None, None, "test")
    assert hub.harvester.harvest()["counts"]["new_version"] == 4
    _record, operator = hub.tokens.create("operator", "operator")
    # The command line reads the same hub from its instance folder.
    settings = deep_merge({"database_url": hub.settings.database_url, **TEST_SETTINGS}, OVERRIDES)
    (tmp_path / "hub" / "medmci.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return hub, hub_url, operator


def _get(url: str, token: str | None = None, **params):
    return requests.get(url, params=params, timeout=10, headers={"Authorization": f"Bearer {token}"} if token else {})


def _row(benchmark: dict, name: str) -> dict:
    return next(r for r in benchmark["indicators"] if r["name"] == name)


def test_benchmark_over_http(federation):
    hub, url, operator = federation
    answer = _get(f"{url}/api/v1/clusters/qoot/benchmark", operator, peers=["large", "countries:eu", "chain:agri-food"])
    assert answer.status_code == 200
    benchmark = answer.json()
    assert benchmark["cluster"] == {"id": "qoot", "node_id": "node-lb", "name": "QOOT", "country": "LB", "members": 5}
    assert benchmark["audience"] == "federation"
    groups = {g["name"]: g["clusters"] for g in benchmark["peer_groups"]}
    assert groups == {"federation": ["lvfood", "menara", "valbiom"], "large": ["valbiom"],
                      "countries:eu": ["lvfood", "valbiom"], "chain:agri-food": ["lvfood", "menara", "valbiom"]}
    members = _row(benchmark, "members")
    assert members["value"] == 5
    # Peers 3, 5 and 2: two below 5, one tie (counting half).
    assert members["peers"]["federation"] == {"n": 3, "percentile": 83.33, "median": 3.0, "q1": 2.5, "q3": 4.0,
                                              "note": None}
    assert members["peers"]["countries:eu"] == {"n": 2, "percentile": 75.0, "median": 3.5, "q1": 2.75, "q3": 4.25,
                                                "note": None}
    large = members["peers"]["large"]
    assert (large["n"], large["percentile"], large["median"]) == (1, None, None)
    assert "fewer than benchmark.min_peers (2)" in large["note"]
    assert _row(benchmark, "dormant_share")["value"] == 0.2
    assert _row(benchmark, "knowledge_share")["value"] == 0.2
    assert _row(benchmark, "export_markets")["value"] == 3
    joined = _row(benchmark, "metaclusters_joined")  # agri-food and food-cosmetics (olive oil); lvfood none
    assert (joined["value"], joined["peers"]["federation"]["percentile"]) == (2, 66.67)
    assert joined["peers"]["federation"]["median"] == 2 and joined["peers"]["countries:eu"]["median"] == 1
    assert _row(benchmark, "pilots_joined")["value"] == 0
    assert _row(benchmark, "partner_countries_met")["value"] == 0  # no meeting recorded yet
    # Peers that all cover the one stage of olive oil: qoot covers more of agri-food.
    stages = _row(benchmark, "stages_covered")  # its wine, biscuits and olive oil against the peers' olive oil
    assert (stages["value"], stages["peers"]["federation"]["percentile"], stages["peers"]["federation"]["median"]) \
        == (4, 100.0, 2)
    assert _row(benchmark, "knowledge_entities")["value"] == 1  # its own university, placed in its meta-clusters

    # An anonymous reader: public members only, for every cluster alike.
    benchmark = _get(f"{url}/api/v1/clusters/qoot/benchmark").json()
    assert benchmark["audience"] == "public" and benchmark["cluster"]["members"] == 4  # not the federation-only one
    members = _row(benchmark, "members")
    assert members["value"] == 4 and members["peers"]["federation"]["percentile"] == 66.67  # 3 and 2 below
    assert _row(benchmark, "export_markets")["value"] == 2  # FR, ES; DE was the federation member's
    assert _row(benchmark, "pilots_joined")["value"] is None  # pilots are not the public's
    assert _row(benchmark, "pilots_joined")["peers"]["federation"]["n"] == 0

    # The chart, and what is refused.
    chart = _get(f"{url}/api/v1/clusters/qoot/benchmark.png", operator, peers=["countries:maghreb"])
    assert chart.status_code == 200 and chart.headers["Content-Type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG\r\n\x1a\n") and len(chart.content) > 10_000
    unknown = _get(f"{url}/api/v1/clusters/qoot/benchmark", operator, peers=["countries:atlantis"])
    assert unknown.status_code == 422 and "unknown peer group 'countries:atlantis'" in unknown.json()["message"]
    assert "eu, maghreb, mena" in unknown.json()["message"]
    missing = _get(f"{url}/api/v1/clusters/nowhere/benchmark")
    assert missing.status_code == 404 and "no cluster 'nowhere'" in missing.json()["message"]


def test_freshness_and_the_commands(federation, runner):
    hub, url, operator = federation
    listed = {c["id"]: c["freshness"] for c in _get(f"{url}/api/v1/clusters", operator).json()}
    qoot = listed["qoot"]
    assert qoot["state"] == "fresh" and qoot["why"] == [] and qoot["last_version_age_days"] == 0
    assert qoot["last_fetch_at"] is not None and qoot["stale_since"] is None
    assert qoot["members"] == 5 and qoot["members_without_last_active_share"] == 0.8
    assert qoot["members_last_active_median_days"] == 10
    assert _get(f"{url}/api/v1/clusters/qoot").json()["freshness"]["members"] == 4  # an anonymous reader's
    # Fetches of menara have failed for 30 days: stale, and first in the command's list.
    with hub.db.session() as session, session.begin():
        session.execute(update(ClusterView).where(ClusterView.cluster_id == "menara")
                        .values(stale_since=datetime.now(UTC) - timedelta(days=30)))
    menara = _get(f"{url}/api/v1/clusters/menara", operator).json()["freshness"]
    assert menara["state"] == "stale" and menara["why"] == ["fetches fail for 30 days (stale after 7)"]
    instance = str(hub.settings.instance_path)
    result = runner.invoke(main, ["hub", "--instance", instance, "freshness", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows][0] == "menara" and rows[0]["state"] == "stale"
    assert {r["id"]: r["state"] for r in rows[1:]} == {"qoot": "fresh", "valbiom": "fresh", "lvfood": "fresh"}
    table = runner.invoke(main, ["hub", "--instance", instance, "freshness"])
    assert table.exit_code == 0 and "fetches fail for 30 days" in table.output

    # The benchmark command: a table for people, JSON for machines.
    result = runner.invoke(main, ["hub", "--instance", instance, "benchmark", "qoot", "--peers", "large"])
    assert result.exit_code == 0, result.output
    assert "QOOT (qoot, LB): 5 members" in result.output
    line = next(line for line in result.output.splitlines() if line.startswith("Members "))
    assert line.split()[1:4] == ["5", "83", "3"]  # value, percentile and median against the federation
    assert "large: clusters with 4+ members: 1 clusters (valbiom)" in result.output
    as_json = json.loads(runner.invoke(main, ["hub", "--instance", instance, "benchmark", "qoot", "--json"]).output)
    assert _row(as_json, "members")["peers"]["federation"]["percentile"] == 83.33


def test_freshness_states_and_median():
    policy = FreshnessPolicy(ageing_days=180, stale_days=540, failing_stale_days=7)
    assert policy.state(10, 20.0, None) == ("fresh", [])
    assert policy.state(200, 20.0, None) == ("ageing", ["last accepted version 200 days old (ageing after 180)"])
    assert policy.state(10, 600.0, 2) == ("stale", ["median member record 600 days old (stale after 540)"])
    assert policy.state(10, None, 2) == ("ageing", ["fetches fail for 2 days (stale after 7)"])
    assert weighted_median({10.0: 1, 20.0: 1, 30.0: 1, 730.0: 1}) == 25.0
    assert weighted_median({5.0: 3, 100.0: 1}) == 5.0
    assert weighted_median({}) is None
