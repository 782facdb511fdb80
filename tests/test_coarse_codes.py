"""A coarse activity code is never a reason to lose a member (issue #10, part 1).

A code stands for the pivot classes it covers (an ISIC class for the NACE classes the concordance maps it to, a NACE
group for its classes): it is on a chain when all of them are, counted on each stage they lie on; a sub-cluster
rule that covers only part of it is decided by the member's own words, else the broader rule places it and says
what it could not decide; ``why`` explains every placement and exclusion in the member's own scheme's words; the
node's checks tell the cluster manager which codes are too coarse and which finer code would fix them.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from federation.code_placement import place_code
from federation.domain import Activity, Member
from federation.formation import StageMatcher, explain_member, place_member
from federation.hub.app import create_hub_app
from federation.registry import Registry
from federation.rules import CodeKeywordRule
from tests.support.builders import cluster_doc, load_node, member_doc

ISIC, NACE = "isic-rev4", "nace-rev2"


def firm(*codes: str, name: str = "Firm", offers: tuple[str, ...] = (), kind: str = "sme") -> Member:
    """A member with neutral words unless given: no keyword of the packaged rules is in "firm"."""
    activities = tuple(Activity(*c.split(":", 1)) for c in codes)
    return Member(node_id="n", id="x", kind=kind, name=name, country="LB", activities=activities,
                  text=" ".join([name, *offers]).lower())


def ordered(chain, stages) -> tuple[str, ...]:
    return tuple(s.id for s in chain.stages if s.id in set(stages))


# -- the ISIC sweep ------------------------------------------------------------------------------------------------

def test_every_isic_class_is_placed_like_its_nace_equivalents(registry):
    """For every ISIC Rev. 4 class and every value chain: a member coded with it is on the chain exactly when every
    member coded with one of its NACE equivalents is; it is then counted on the stages they are on, and in the
    sub-cluster they share. Where a finer NACE code places its twin more precisely (another stage, another
    sub-cluster), the ISIC member is still on the chain and its explanation says what it could not decide; where
    only some twins are on the chain, its exclusion names the classes the chain covers."""
    taxonomies = registry.taxonomies
    classes = [c.code for c in taxonomies.by_scheme[ISIC].codes.values() if c.level == 4]
    assert len(classes) == 419
    failures: list[str] = []
    checked = {"on": 0, "split stages": 0, "split sub-clusters": 0, "partly": 0}
    for chain in registry.value_chains.values():
        matcher = StageMatcher(chain, registry)
        for isic in classes:
            coarse = matcher.code(Activity(ISIC, isic))
            twins = [matcher.code(Activity(NACE, c)) for c in coarse.classes]
            where = f"{chain.id} {ISIC}:{isic}"
            if not twins:
                failures.append(f"{where}: no NACE equivalent")
                continue
            if coarse.on_chain != all(t.on_chain for t in twins):
                failures.append(f"{where}: on chain {coarse.on_chain}, twins {[t.on_chain for t in twins]}")
                continue
            member = firm(f"{ISIC}:{isic}")
            explained = explain_member(member, chain, registry, claims=True)
            if coarse.on_chain:
                checked["on"] += 1
                union = ordered(chain, [s for t in twins for s in t.stages])
                if coarse.stages != union or explained["stages"] != list(union) or explained["excluded"]:
                    failures.append(f"{where}: stages {coarse.stages}, twins' {union}")
                if len({t.stages for t in twins}) > 1:
                    checked["split stages"] += 1
                    if not any(isic in line and "counted on each of" in line for line in explained["explanation"]):
                        failures.append(f"{where}: split stages not explained: {explained['explanation']}")
                placed = place_member(member, chain, registry)
                twin_subs = {place_member(firm(f"{NACE}:{c}"), chain, registry).sub_cluster for c in coarse.classes}
                if len(twin_subs) == 1:
                    if placed.sub_cluster not in twin_subs or placed.notes:
                        failures.append(f"{where}: sub-cluster {placed.sub_cluster}, twins' {twin_subs}")
                else:
                    checked["split sub-clusters"] += 1
                    said = [line for line in explained["explanation"] if line.startswith("could not decide")]
                    if not said or f"{ISIC}:{isic}" not in said[0]:
                        failures.append(f"{where}: twins in {twin_subs}, nothing said: {explained['explanation']}")
            elif any(t.on_chain for t in twins):
                checked["partly"] += 1
                covered = [c for c, t in zip(coarse.classes, twins) if t.on_chain]
                expected = f"{ISIC}:{isic} maps to {NACE} "
                if not (len(explained["excluded"]) == 1 and explained["excluded"][0].startswith(expected)
                        and f"{chain.id} covers only {covered[0]}" in explained["excluded"][0]):
                    failures.append(f"{where}: exclusion {explained['excluded']}")
                for pivot_class, twin in zip(coarse.classes, twins):  # the twins say it in their own words
                    if not twin.on_chain and explain_member(firm(f"{NACE}:{pivot_class}"), chain, registry, True)[
                            "excluded"] != [f"{NACE}:{pivot_class} is on no stage of {chain.id}"]:
                        failures.append(f"{where}: twin {pivot_class} unexplained")
            elif explained["excluded"] != [coarse.explain()] or "none of them" not in coarse.explain() and \
                    "is on no stage" not in coarse.explain():
                failures.append(f"{where}: exclusion {explained['excluded']}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
    assert all(checked.values()), checked  # every case occurs with the packaged chains


# -- stages --------------------------------------------------------------------------------------------------------

def test_isic_1080_is_counted_on_both_stages_its_nace_classes_span(registry):
    chain = registry.value_chains["agri-food"]
    explained = explain_member(firm(f"{ISIC}:1080"), chain, registry, claims=False)
    assert explained["stages"] == ["inputs", "processing"] and explained["excluded"] == []
    assert explained["explanation"][0] == (
        "isic-rev4:1080 maps to nace-rev2 10.91 and 10.92, on different stages (10.91 (inputs); 10.92 (processing)): "
        "counted on each of inputs and processing, since the code does not say which (a finer code would)")


def test_a_coarse_code_of_the_pivot_scheme_stands_for_the_classes_under_it(registry):
    chain = registry.value_chains["agri-food"]
    group = place_code(Activity(NACE, "10.9"), chain, registry.taxonomies)
    assert (group.classes, group.stages, group.split) == (("10.91", "10.92"), ("inputs", "processing"), True)
    assert group.explain().startswith("nace-rev2:10.9 covers nace-rev2 10.91 and 10.92, on different stages")
    division = place_code(Activity(NACE, "11"), chain, registry.taxonomies)
    assert division.stages == ("processing",) and len(division.classes) == 7
    cosmetics = place_code(Activity(NACE, "10.4"), registry.value_chains["food-cosmetics"], registry.taxonomies)
    assert cosmetics.partial and cosmetics.covered == ("10.41",)


def test_why_a_coarse_code_is_not_on_a_chain_in_each_scheme_s_words(registry):
    chain = registry.value_chains["food-cosmetics"]
    isic = explain_member(firm(f"{ISIC}:1040"), chain, registry, claims=True)
    assert isic["excluded"] == [("isic-rev4:1040 maps to nace-rev2 10.41 and 10.42, and food-cosmetics covers only "
                                 "10.41 (food-processing): not counted on food-cosmetics (a finer code would decide)")]
    assert explain_member(firm(f"{NACE}:10.42"), chain, registry, claims=True)["excluded"] == [
        "nace-rev2:10.42 is on no stage of food-cosmetics"]
    fine = explain_member(firm(f"{NACE}:10.41"), chain, registry, claims=True)
    assert fine["excluded"] == [] and fine["explanation"] == ["nace-rev2:10.41 is in stage food-processing"]
    # enabling stages count only for a cluster that claims the chain
    cold = explain_member(firm(f"{NACE}:52.10"), chain, registry, claims=False)
    assert cold["excluded"] == [("its activities fall only in enabling or support stage(s) logistics, which count "
                                 "only for a cluster that claims food-cosmetics, and its cluster does not")]


# -- sub-clusters --------------------------------------------------------------------------------------------------

def rules_registry(registry, *rules) -> Registry:
    return Registry(pm=registry.pm, settings=registry.settings, taxonomies=registry.taxonomies,
                    value_chains=registry.value_chains, formation_rules=registry.formation_rules,
                    subcluster_rules={"agri-food": sorted(rules, key=lambda r: r.priority)})


@pytest.fixture
def narrow_wine(registry):
    """A wine rule that lists only 11.02 and 11.03 (as the packaged one once did), words apart, and a broad one."""
    tax = registry.taxonomies
    return rules_registry(
        registry,
        CodeKeywordRule("agri-food", "wine", {"en": "Wine"}, tax.pivot_prefixes({NACE: ["11.02", "11.03"]}, "t"),
                        priority=100),
        CodeKeywordRule("agri-food", "processing", {"en": "Processing"}, tax.pivot_prefixes({NACE: ["10", "11"]}, "t"),
                        priority=110),
        CodeKeywordRule("agri-food", "wine", {"en": "Wine"}, frozenset(), ["wines", "winery"], priority=1100))


def test_the_member_s_words_decide_between_the_rules_a_coarse_code_spans(registry, narrow_wine):
    chain = registry.value_chains["agri-food"]
    winery = place_member(firm(f"{ISIC}:1102", name="Domaine Chidiac", offers=("Red and white wines",)), chain,
                          narrow_wine)
    assert (winery.sub_cluster, winery.rule, winery.notes) == ("wine", "wine", ())
    assert winery.reason == ("isic-rev4:1102 maps to nace-rev2 11.02, 11.03 and 11.04, of which wine covers only "
                             "11.02 and 11.03; its keyword 'wines' decides for wine")


def test_without_words_the_broader_rule_places_it_and_says_what_it_could_not_decide(registry, narrow_wine):
    chain = registry.value_chains["agri-food"]
    silent = place_member(firm(f"{ISIC}:1102", name="Domaine Chidiac"), chain, narrow_wine)
    assert (silent.sub_cluster, silent.reason) == ("processing", "activity isic-rev4:1102 is under nace-rev2 11")
    assert silent.notes == (("could not decide between wine and processing: isic-rev4:1102 maps to nace-rev2 11.02, "
                             "11.03 and 11.04, of which wine covers only 11.02 and 11.03; no word of wine in its "
                             "name or offers, so processing (a finer code would decide)"),)
    # a finer code decides alone, whatever the words
    assert place_member(firm(f"{NACE}:11.04", name="Winery"), chain, narrow_wine).sub_cluster == "processing"
    assert place_member(firm(f"{NACE}:11.02"), chain, narrow_wine).sub_cluster == "wine"
    # words of another rule than the candidates decide nothing: the code rule that matched stays
    assert place_member(firm(f"{NACE}:17.21", name="Wine bottles"), chain, narrow_wine).sub_cluster == "other"


def test_the_packaged_wine_rule_means_every_class_of_isic_1102(registry):
    chain = registry.value_chains["agri-food"]
    for code in (f"{ISIC}:1102", f"{NACE}:11.02", f"{NACE}:11.03", f"{NACE}:11.04"):
        placed = place_member(firm(code), chain, registry)
        assert (placed.sub_cluster, placed.notes) == ("wine", ()), code


# -- hub: why, over HTTP -------------------------------------------------------------------------------------------

MEMBERS_LB = [member_doc("feed", f"{ISIC}:1080", name="Bekaa Feeds"),
              member_doc("oil", f"{ISIC}:1040", name="Olive Press"),
              member_doc("margarine", f"{NACE}:10.42", name="Spreads Co"),
              member_doc("winery", f"{ISIC}:1102", name="Domaine Chidiac"),
              member_doc("choc", f"{NACE}:10.82")]
MEMBERS_MA = [member_doc("m1", f"{NACE}:11.02"), member_doc("m2", f"{NACE}:10.82"), member_doc("m3", f"{NACE}:10.41")]


@pytest.fixture
def harvested(make_node, make_hub, serve):
    hub = make_hub()
    for node_id, cluster, country, members in (("node-lb", "qoot", "LB", MEMBERS_LB),
                                               ("node-ma", "menara", "MA", MEMBERS_MA)):
        app = make_node(node_id)
        load_node(app, cluster_doc(cluster, country), members)
        hub.nodes.register(node_id, serve(app).url)
    report = hub.harvester.harvest()
    assert report["counts"]["new_version"] == 2, report
    app = create_hub_app(hub=hub)
    return FlaskClient(app)


def why(client, member_id):
    response = client.get(f"/api/v1/clusters/qoot/members/{member_id}/why")
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    return ({p["value_chain"]: p for p in answer["placements"]}, {p["value_chain"]: p for p in answer["not_placed"]})


def test_hub_why_explains_placements_and_every_exclusion_of_coarse_codes(harvested, registry):
    placed, not_placed = why(harvested, "feed")
    assert set(placed) | set(not_placed) == set(registry.value_chains)  # every chain explained
    feed = placed["agri-food"]
    assert (feed["included"], feed["stages"], feed["sub_cluster"]) == (True, ["inputs", "processing"], "processing")
    assert "counted on each of inputs and processing" in feed["explanation"][0]
    assert not_placed["electronics"]["reasons"] == [
        {"passed": False, "rule": "codes",
         "reason": "isic-rev4:1080 maps to nace-rev2 10.91 and 10.92, none of them on a stage of electronics"}]

    placed, not_placed = why(harvested, "oil")
    assert placed["agri-food"]["included"] is True
    [reason] = not_placed["food-cosmetics"]["reasons"]
    assert reason["rule"] == "codes" and reason["reason"].startswith(
        "isic-rev4:1040 maps to nace-rev2 10.41 and 10.42, and food-cosmetics covers only 10.41")
    _placed, not_placed = why(harvested, "margarine")  # its twin, in its own scheme's words
    assert not_placed["food-cosmetics"]["reasons"][0]["reason"] == "nace-rev2:10.42 is on no stage of food-cosmetics"

    placed, _ = why(harvested, "winery")
    assert placed["agri-food"]["sub_cluster"] == "wine"
    assert placed["agri-food"]["explanation"] == [
        "isic-rev4:1102 maps to nace-rev2 11.02, 11.03 and 11.04, all in stage processing"]


# -- node: checks --------------------------------------------------------------------------------------------------

def test_node_check_names_coarse_codes_and_the_finer_code_that_fixes_them(make_node):
    app = make_node("node-lb")
    load_node(app, cluster_doc("qoot", "LB"), [
        member_doc("feed", f"{ISIC}:1080"), member_doc("freight", f"{ISIC}:4923"),
        member_doc("fine", f"{NACE}:10.91"), member_doc("hidden", f"{ISIC}:1080", visibility="private")])
    assert FlaskClient(app).get("/api/v1/check").status_code == 401  # the node operator's read
    response = app.test_client().get("/api/v1/check")
    assert response.status_code == 200
    report = response.get_json()
    findings = {f["member_id"]: f for f in report["findings"]}
    assert sorted(findings) == ["feed", "freight"]  # the private member never reaches a hub
    assert report["total"] == 2 and report["counts"] == {"error": 0, "warning": 1, "info": 1}
    assert [f["member_id"] for f in report["findings"]] == ["freight", "feed"]  # the worst first
    freight = findings["freight"]
    assert (freight["severity"], freight["kind"]) == ("warning", "coarse-code")
    assert freight["message"].startswith("freight is on no value chain: isic-rev4:4923 maps to nace-rev2 49.41 and "
                                         "49.42: not counted on agri-food, food-cosmetics and textile-apparel")
    assert "nace-rev2:49.41 (Freight transport by road): agri-food (stage logistics" in freight["suggestion"]
    assert "nace-rev2:49.42 (Removal services): on no value chain" in freight["suggestion"]
    feed = findings["feed"]
    assert feed["severity"] == "info" and "counted on each of inputs and processing" in feed["message"]
    assert "nace-rev2:10.91" in feed["suggestion"] and "nace-rev2:10.92" in feed["suggestion"]


def test_the_import_report_carries_the_checks_of_the_members_imported(make_node):
    app = make_node("node-lb")
    app.extensions["medmci"].service.put_cluster(cluster_doc("qoot", "LB"))
    csv = ("id,kind,name,city,size,activities,status\n"
           "a,sme,Bekaa Feeds,Zahle,small,isic-rev4:1080,active\n"
           "b,sme,Cedar Chocolate,Zahle,small,nace-rev2:10.82,active\n")
    response = app.test_client().post("/api/v1/members/import", data=csv, content_type="text/csv")
    assert response.status_code == 200, response.get_data(as_text=True)
    checks = response.get_json()["checks"]
    assert checks["total"] == 1 and [f["member_id"] for f in checks["findings"]] == ["a"]


def test_node_checks_list_at_most_the_setting(make_node):
    app = make_node("node-lb", {"node": {"check_max_findings": 2}})
    load_node(app, cluster_doc("qoot", "LB"), [member_doc(f"m{i}", f"{ISIC}:1080") for i in range(5)])
    report = app.extensions["medmci"].check()
    assert (len(report["findings"]), report["total"], report["counts"]["info"]) == (2, 5, 5)


def test_checks_are_a_list_of_functions_anyone_can_extend(make_node):
    from federation.node.checks import CHECKS, CheckContext, Finding, run_checks

    app = make_node("node-lb")
    load_node(app, cluster_doc("qoot", "LB"), [member_doc("a", f"{NACE}:10.82")])
    node = app.extensions["medmci"]
    extra = lambda context: [Finding("error", "demo", f"{sum(1 for _ in context.members())} member(s)")]
    report = run_checks(CheckContext(node.settings, node.registry, node.service), [*CHECKS, extra])
    assert report["findings"] == [{"severity": "error", "kind": "demo", "message": "1 member(s)", "member_id": None,
                                   "suggestion": None}]


def test_node_check_command_and_the_import_summary(tmp_path, monkeypatch):
    import yaml
    from click.testing import CliRunner

    from federation.cli import main

    for name in ("DATABASE_URL", "MEDMCI_DATABASE_URL", "MEDMCI_NODE_INSTANCE", "MEDMCI_PLUGINS",
                 "MEDMCI_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    runner, instance = CliRunner(), tmp_path / "node"
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump(cluster_doc("qoot", "LB")), encoding="utf-8")
    (tmp_path / "m.csv").write_text("id,kind,name,city,size,activities,status\n"
                                    "a,sme,Bekaa Feeds,Zahle,small,isic-rev4:1080,active\n"
                                    "b,sme,Road Freight,Zahle,small,isic-rev4:4923,active\n", encoding="utf-8")
    assert runner.invoke(main, ["node", "--instance", str(instance), "set-cluster",
                                str(tmp_path / "cluster.yaml")]).exit_code == 0
    imported = runner.invoke(main, ["node", "--instance", str(instance), "import-members", str(tmp_path / "m.csv")])
    assert imported.exit_code == 0, imported.output
    lines = imported.output.splitlines()
    assert lines[0] == "file: csv, UTF-8, comma-delimited"
    assert lines[1] == "imported 2 members: 2 new, 0 updated, 0 unchanged, 0 removed"
    assert lines[2] == "checks of the members imported: 1 warning, 1 info"
    assert lines[3].startswith("  warning [coarse-code] b: b is on no value chain: isic-rev4:4923 maps to")
    assert lines[4].startswith("      fix: code it with the finer code that says what the member does: nace-rev2:49.41")
    checked = runner.invoke(main, ["node", "--instance", str(instance), "check", "--json"])
    assert checked.exit_code == 0, checked.output
    import json
    assert json.loads(checked.output)["counts"] == {"error": 0, "warning": 1, "info": 1}


def test_an_import_summary_shows_the_first_findings_and_points_to_node_check(tmp_path, monkeypatch):
    import yaml
    from click.testing import CliRunner

    from federation.cli import main

    for name in ("DATABASE_URL", "MEDMCI_DATABASE_URL", "MEDMCI_NODE_INSTANCE", "MEDMCI_PLUGINS",
                 "MEDMCI_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    runner, instance = CliRunner(), tmp_path / "node"
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump(cluster_doc("qoot", "LB")), encoding="utf-8")
    rows = "".join(f"r{i},sme,Road Freight {i},Zahle,isic-rev4:4923\n" for i in range(25))
    (tmp_path / "m.csv").write_text("id,kind,name,city,activities\n" + rows, encoding="utf-8")
    assert runner.invoke(main, ["node", "--instance", str(instance), "set-cluster",
                                str(tmp_path / "cluster.yaml")]).exit_code == 0
    imported = runner.invoke(main, ["node", "--instance", str(instance), "import-members", str(tmp_path / "m.csv")])
    assert imported.exit_code == 0, imported.output
    assert "checks of the members imported: 25 warning (the first 20 listed; `medmci node check` lists more)" \
        in imported.output
    assert imported.output.count("  warning [coarse-code]") == 20
    checked = runner.invoke(main, ["node", "--instance", str(instance), "check"])
    assert checked.output.count("  warning [coarse-code]") == 25


def test_a_member_whose_precise_code_is_on_no_value_chain_is_a_warning(make_node):
    """Not a coarse code: NACE 45.20 (repair of motor vehicles) is on no stage of any value chain, so the member will
    be in no meta-cluster; the manager is told, once, with the chains the node knows."""
    app = make_node("node-lb")
    load_node(app, cluster_doc("qoot", "LB"), [member_doc("garage", f"{NACE}:45.20"),
                                               member_doc("choc", f"{NACE}:10.82")])
    report = app.extensions["medmci"].check()
    assert [(f["severity"], f["kind"], f["member_id"]) for f in report["findings"]] == [
        ("warning", "no-value-chain", "garage")]
    assert "nace-rev2:45.20" in report["findings"][0]["message"] and "agri-food" in report["findings"][0]["message"]
