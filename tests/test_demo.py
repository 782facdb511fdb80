"""The demo federation: the README's main job, end to end over real HTTP on loopback."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter

import pytest
import requests

from federation.demo import load_demo_spec, start_demo
from federation.hub.verify import verify_versions

EXPORT_KEYS = {"id", "value_chain", "countries", "clusters", "sub_clusters", "knowledge_members", "stage_coverage",
               "gaps"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    federation = start_demo(tmp_path_factory.mktemp("demo"))
    yield federation
    federation.close()


def by_id(export: dict) -> dict:
    return {m["value_chain"]: m for m in export["metaclusters"]}


def clusters_of(demo) -> list:
    return [n for n in demo.nodes if not n.knowledge]


def test_every_demo_node_is_harvested_over_http(demo, config_dir):
    spec = load_demo_spec(config_dir)
    assert len(clusters_of(demo)) == len(spec) == 9
    assert [n.node_id for n in demo.nodes if n.knowledge] == ["bvu"]  # a university's knowledge node
    assert demo.harvest_report["counts"]["new_version"] == 10
    assert demo.harvest_report["counts"]["failed"] == 0
    for node in demo.nodes:
        assert node.server.url.startswith("http://127.0.0.1:")
        discovery = requests.get(node.server.url + "/.well-known/med-mci", timeout=5).json()
        assert discovery["cluster_id"] == node.node_id


def test_member_counts_follow_the_seeds(demo, config_dir):
    counts = {n.node_id: n.members for n in demo.nodes}
    assert counts["qoot"] >= 80
    assert 100 <= counts["menara"] <= 120  # 100+ shared with the hub: a large cluster for the benchmark
    assert counts["2ts"] >= 100
    assert counts["ce3m"] >= 100
    with open(config_dir / "demo" / "ce3m" / "members.csv", encoding="utf-8") as fh:
        kinds = Counter(row["kind"] for row in csv.DictReader(fh))
    assert kinds["university"] == 10 and kinds["sme"] >= 80
    hub_clusters = {c["id"]: c for c in demo.hub.queries.clusters()}
    public_clusters = {c["id"]: c for c in demo.hub.queries.clusters(federation=False)}
    # Private members never leave their node; federation members reach the hub (whose signed requests the nodes
    # trust since they joined) but not its anonymous readers.
    federation_only = 0
    for node in clusters_of(demo):
        with open(config_dir / "demo" / node.node_id / "members.csv", encoding="utf-8") as fh:
            visibility = Counter(row["visibility"] for row in csv.DictReader(fh))
        assert hub_clusters[node.node_id]["members"] == visibility["public"] + visibility["federation"]
        assert public_clusters[node.node_id]["members"] == visibility["public"]
        federation_only += visibility["federation"]
    assert federation_only > 0


def test_nodes_join_with_a_signed_request_and_the_operator_approves_them(demo):
    hub = demo.hub
    hub_keys = requests.get(demo.hub_server.url + "/.well-known/med-mci-hub", timeout=5).json()["keys"]
    assert {k["kid"] for k in hub_keys} == {k["kid"] for k in hub.keys.published()}
    # every harvested document was signed by its node's key, and still verifies
    rows = {r["node_id"]: r for r in verify_versions(hub.db)}
    assert len(rows) == len(verify_versions(hub.db)) == len(demo.nodes)
    assert {r["status"] for r in rows.values()} == {"ok"}
    assert hub.audit.events("document.refused") == []
    for node in demo.nodes:
        record = hub.nodes.get(node.node_id)
        assert (record["status"], record["cluster_id"], record["url"]) == ("active", node.node_id, node.server.url)
        node_kid = requests.get(node.server.url + "/.well-known/med-mci", timeout=5).json()["keys"][0]["kid"]
        requested, = hub.audit.events("registration.requested", node.node_id)
        assert requested["actor"] == f"node:{node.node_id}"
        assert (requested["details"]["url"], requested["details"]["kid"]) == (node.server.url, node_kid)
        approved, = hub.audit.events("registration.approved", node.node_id)
        assert approved["actor"] == "demo-operator" and approved["id"] > requested["id"]
        assert rows[node.node_id]["kid"] == node_kid


def test_demo_forms_the_expected_metaclusters(demo, config_dir):
    formed = by_id(demo.hub.queries.export())
    agri = formed["agri-food"]
    assert {"qoot", "menara", "es-packaging", "lv-food"} <= {c["id"] for c in agri["clusters"]}
    assert {"LB", "MA", "ES", "LV"} <= set(agri["countries"])
    assert {s["name"] for s in agri["sub_clusters"]} >= {"wine", "snacks-confectionery", "agri-fresh", "processing"}
    textile = formed["textile-apparel"]
    assert {c["id"] for c in textile["clusters"]} == {"2ts", "mdfc"} and textile["countries"] == ["MA", "TN"]
    electronics = formed["electronics"]
    assert {c["id"] for c in electronics["clusters"]} == {"ce3m", "es-electronics"}
    ce3m_universities = [k for k in electronics["knowledge_members"]
                         if k["cluster_id"] == "ce3m" and k["kind"] == "university"]
    with open(config_dir / "demo" / "ce3m" / "members.csv", encoding="utf-8") as fh:
        shared = [r for r in csv.DictReader(fh) if r["kind"] == "university" and r["visibility"] != "private"]
    assert len(ce3m_universities) == len(shared) >= 8


def test_the_lebanese_wineries_are_in_the_wine_sub_cluster(demo, config_dir):
    """QOOT codes half its members in ISIC: ISIC 1102 (wines) is NACE 11.02 + 11.03 + 11.04, all in the wine rule,
    so its ISIC-coded wineries are in "wine" with the NACE-coded ones (issue #10: they used to land in processing)."""
    with open(config_dir / "demo" / "qoot" / "members.csv", encoding="utf-8") as fh:
        wineries = {f"qoot/{r['id']}" for r in csv.DictReader(fh) if r["visibility"] != "private"
                    and {"isic-rev4:1102", "nace-rev2:11.02"} & set(r["activities"].split(";"))}
    agri = by_id(demo.hub.queries.export())["agri-food"]
    wine = next(s["members"] for s in agri["sub_clusters"] if s["name"] == "wine")
    assert wineries <= set(wine) and len(wineries) >= 6
    members = {m["id"]: m for m in demo.hub.queries.metacluster("agri-food")["members"]}
    assert all(members[key]["notes"] == [] for key in wineries)


def test_why_the_electronics_cluster_is_not_in_agri_food(demo):
    answer = demo.hub.queries.why("ce3m")
    agri = next(p for p in answer["placements"] if p["value_chain"] == "agri-food")
    assert agri["included"] is False
    assert agri["reasons"] and not all(r["passed"] for r in agri["reasons"])


def test_every_chain_member_lands_in_exactly_one_sub_cluster(demo):
    for assessment in demo.hub.queries.metaclusters(formed=True):
        placed = [m for s in assessment["sub_clusters"] for m in s["members"]]
        assert len(placed) == len(set(placed)) == len(assessment["members"])
        stages = [s["id"] for s in assessment["stages"]]
        assert set(assessment["stage_coverage"]) == set(stages)
        assert assessment["gaps"] == [s for s in stages if not assessment["stage_coverage"][s]]


def test_demo_command_prints_one_json_object():
    result = subprocess.run([sys.executable, "-m", "federation.cli", "demo", "--once", "--json"],
                            capture_output=True, text=True, timeout=300, check=True)
    export = json.loads(result.stdout)
    assert export["metaclusters"]
    for metacluster in export["metaclusters"]:
        assert EXPORT_KEYS <= set(metacluster)
        assert len(metacluster["countries"]) >= 2
        assert all({"id", "name", "country"} <= set(c) for c in metacluster["clusters"])
        assert all({"name", "members"} <= set(s) for s in metacluster["sub_clusters"])
        assert all({"id", "name", "kind", "country"} <= set(k) for k in metacluster["knowledge_members"])
        figures = metacluster["scientific_representation"]
        assert {"knowledge_per_100_members", "by_country", "by_stage", "triple_helix", "unsupported"} <= set(figures)
    # Med-MCI step 1 and the pilot: whom the hub invited and why, the pilot's teams with their members' countries.
    assert export["invitations"] and all(i["reason"] for i in export["invitations"])
    matches = export["matches"]
    assert {s["partner"]["country"] for s in matches["suggestions"]} == {"ES", "LV"}
    assert all(s["member"].split("/")[0] == "qoot" and s["reasons"] for s in matches["suggestions"])
    assert (matches["meetings"]["initiated"], matches["meetings"]["accepted"], matches["meetings"]["held"]) == (2, 1, 1)
    pilot, = export["pilots"]
    assert pilot["teams"] and all(m["country"] for t in pilot["teams"] for m in t["members"])
    comparison = export["subcluster_comparison"]
    assert [r["name"] for r in comparison["rule_sets"]] == ["installed", "agri-food-by-stage"]
    assert comparison["transitions"] and comparison["findings"]
    # QOOT's benchmark and the clusters' freshness (federation/demo_benchmark.py).
    assert export["benchmark"]["cluster"]["id"] == "qoot" and export["benchmark"]["indicators"]
    assert {f["id"] for f in export["freshness"]} >= {"qoot", "menara", "ce3m"}
    # The sample funding calls for agri-food: the eligible ones, and the others with their gaps.
    funding = export["funding_calls"]
    assert {"imported", "metacluster", "consortium", "eligible", "not_eligible"} <= set(funding)
    assert funding["eligible"] and all(g["text"] for c in funding["not_eligible"] for g in c["gaps"])
    # The cluster manager's side at QOOT: dormant members with why, a link used, an announcement's recipients.
    assert export["dormant"] and all(d["reasons"] for d in export["dormant"])
    assert {"link", "announcement"} <= set(export["member_services"])


def test_qoot_is_benchmarked_against_clusters_of_100_members_and_more(demo):
    sample = demo.story.samples
    groups = {g["name"]: g["clusters"] for g in sample["benchmark"]["peer_groups"]}
    assert groups["large"] == ["2ts", "ce3m", "menara"]  # QOOT (80 members shared) is not one of them
    members = next(r for r in sample["benchmark"]["indicators"] if r["name"] == "members")
    large = members["peers"]["large"]
    assert large["n"] == 3 and large["percentile"] == 0 and large["q1"] >= 100
    assert all(f["state"] in ("fresh", "ageing", "stale") for f in sample["freshness"])


# -- Med-MCI step 1 and the pilot (federation/demo_story.py) -------------------------------------------------------

def test_the_story_compares_agri_food_sub_clustered_by_product_and_by_stage(demo):
    """QOOT's question (federation/demo_subclusters.py): the installed rules against the alternative by stage, on the
    whole agri-food meta-cluster as the hub team (an operator) sees it."""
    comparison = demo.story.samples["subcluster_comparison"]
    agri = demo.hub.queries.metacluster("agri-food")
    assert comparison["audience"] == "federation" and comparison["members"] == len(agri["members"])
    installed, by_stage = comparison["rule_sets"]
    sizes = {s["name"]: s["members"] for s in installed["sub_clusters"]}
    assert sizes == {s["name"]: len(s["members"]) for s in agri["sub_clusters"]}  # what formation placed
    moved = {(t["from"], t["to"]): t["members"] for t in comparison["transitions"]}
    assert moved.get(("wine", "processing")) and moved.get(("wine", "primary-production"))  # wineries, vineyards
    assert sum(moved.values()) == comparison["members"]
    assert by_stage["balance"]["entropy"] != installed["balance"]["entropy"]


def test_two_knowledge_entities_join_directly(demo):
    hub = demo.hub
    # The university's knowledge node asked to join like a cluster's node; the hub hosts the transfer office.
    assert hub.nodes.get("bvu")["status"] == "active"
    entities = {e["key"]: e for e in requests.get(demo.hub_server.url + "/api/v1/knowledge-entities?page_size=500",
                                                   timeout=10).json()}
    assert entities["bvu"]["source"] == "node" and entities["hosted:agrotransfer-segura"]["source"] == "hosted"
    profile = requests.get(demo.hub_server.url + "/api/v1/knowledge/hosted/agrotransfer-segura/profile", timeout=10)
    assert profile.status_code == 200 and profile.headers["Med-MCI-Signature"]
    assert profile.json()["knowledge"]["kind"] == "tto"
    # The same university is a member of QOOT and of the Latvian cluster, and runs its own node: linked, not merged.
    linked = {link["key"] for link in entities["bvu"]["same_as"]}
    assert {"qoot/qoot-m045", "lv-food/lv-food-m061"} & linked


def test_the_hub_team_invites_knowledge_entities_and_they_answer(demo):
    story = demo.story
    assert len(story.invitations) == 4, "the agri-food meta-cluster got fewer invitations than the demo sends"
    scores = [s["score"] for s in story.suggestions]
    assert scores == sorted(scores, reverse=True)
    for invitation in story.invitations:
        assert invitation["reason"] and invitation["fills"]
        assert invitation["entity"] not in ("bvu", "hosted:agrotransfer-segura")  # they serve agri-food already
    assert [i["status"] for i in story.invitations] == ["accepted", "accepted", "accepted", "invited"]
    # Each invitee's node answered for it, with a request signed by the node's key.
    accepted = demo.hub.audit.events("knowledge.invitation_accepted")
    assert {e["actor"] for e in accepted} == {f"node:{i['entity'].split('/')[0]}" for i in story.invitations[:3]}
    agri = next(m for m in demo.hub.figures.export()["metaclusters"] if m["value_chain"] == "agri-food")
    assert {i["entity"] for i in story.invitations[:3]} <= {k["id"] for k in agri["knowledge_members"]}


def test_the_pilot_runs_end_to_end_with_teams_and_a_report(demo):
    pilot, = demo.story.pilots
    assert pilot["metacluster"] == "mc-agri-food" and pilot["status"] == "active"
    accepted = [p for p in pilot["participants"] if p["kind"] == "cluster"]
    assert {p["status"] for p in accepted} == {"accepted"} and len(accepted) >= 4
    # every cluster answered from its own node, with a request signed by the node's key
    answers = [e for e in demo.hub.audit.events("pilot.accepted") if e["details"].get("pilot_id") == pilot["id"]
               or e["details"].get("pilot") == pilot["id"]]
    assert {e["actor"] for e in answers} == {f"node:{p['key']}" for p in accepted if p["key"] != "qoot"}
    knowledge = {p["key"] for p in pilot["participants"] if p["kind"] == "knowledge"}
    assert knowledge == {"bvu", "hosted:agrotransfer-segura", *(i["entity"] for i in demo.story.invitations[:3])}
    assert pilot["teams"]
    for team in pilot["teams"]:
        assert len({m["country"] for m in team["members"]}) >= 2 and team["reasons"]
        assert any(m["kind"] == "knowledge" for m in team["members"])
    html = next(p for p in demo.story.report_files if p.suffix == ".html").read_text(encoding="utf-8")
    assert pilot["name"] in html and all(t["name"] in html for t in pilot["teams"])
    assert "data:image/png;base64," in html


# -- Funding calls (federation/demo_funding.py) ----------------------------------------------------------------------

def test_the_hub_checks_the_sample_funding_calls_for_the_agri_food_metacluster(demo):
    funding = demo.story.samples["funding_calls"]
    assert funding["imported"] == 5 and funding["metacluster"] == "mc-agri-food"
    assert funding["consortium"]["countries"] == ["ES", "LB", "LV", "MA"]
    # PRIMA admits Lebanon, Morocco and Spain; its research partners are there.
    assert "sample-prima-agrifood" in {c["id"] for c in funding["eligible"]}
    gaps = {c["id"]: [g["text"] for g in c["gaps"]] for c in funding["not_eligible"]}
    # Morocco and Latvia take no part in Interreg NEXT MED: Spain and Lebanon are two countries of the three needed.
    assert gaps["sample-next-med-agrifood"] == ["needs 3 countries, has 2: ES, LB"]
    next_med, = (c for c in funding["not_eligible"] if c["id"] == "sample-next-med-agrifood")
    assert next_med["gaps"][0]["candidates"] and all(c["country"] not in ("ES", "LB", "MA", "LV")
                                                     for c in next_med["gaps"][0]["candidates"])


def test_the_qoot_manager_nudges_dormant_members_and_announces_to_the_wine_sub_cluster(demo):
    sample = demo.story.samples
    assert sample["dormant"] and all("marked dormant" in d["reasons"] for d in sample["dormant"])
    services = sample["member_services"]
    link = services["link"]
    # A dormant member got its link by mail and confirmed over the node's HTTP API that it is active again.
    assert (link["sent"], link["status_before"], link["published"], link["second_use"]) == ("sent", "dormant", True,
                                                                                            409)
    assert {"status", "last_active"} <= set(link["changed"])
    qoot = next(n for n in demo.nodes if n.node_id == "qoot").context
    assert qoot.service.get_member(link["member_id"])["status"] == "active"
    event = qoot.hubs.audit.events("member.updated")[0]
    assert event["actor"] == f"member:{link['member_id']} via link {link['link_id']}"
    # The announcement went to the wine sub-cluster's members, one .eml each for those with an address.
    announcement = services["announcement"]
    assert announcement["audience"] == {"chain": "agri-food", "subcluster": "wine"}
    assert announcement["recipients"] and announcement["sender"] == "file"
    sent = [r for r in announcement["recipients"] if r["state"] == "sent"]
    assert len(list((qoot.settings.instance_path / "mail").glob("*.eml"))) == len(sent) + 1  # and the link's
