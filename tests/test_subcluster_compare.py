"""Sub-clustering compared, as pure code (federation.subclustering): two rule sets placed on hand-made members by
formation's own placement; sizes, countries, knowledge, other, movers, balance and findings; rule sets read without
being installed, and refused with the field that is wrong."""

from __future__ import annotations

import math
from datetime import date

import pytest

from federation.domain import Activity, Member
from federation.errors import BadRequest, NotFound
from federation.subclustering.compare import balance, compare
from federation.subclustering.rule_sets import RuleSets

CHAIN = "agri-food"


def member(key: str, code: str, country: str, kind: str = "sme") -> Member:
    node, member_id = key.split("/")
    scheme, _, value = code.partition(":")
    return Member(node_id=node, id=member_id, kind=kind, name=f"Member {member_id}", country=country,
                  activities=(Activity(scheme, value),), text=f"member {member_id}", last_active=date(2025, 1, 1))


MEMBERS = [
    member("qoot/w1", "nace-rev2:11.02", "LB"),  # a winery
    member("qoot/w2", "nace-rev2:01.21", "LB"),  # grapes
    member("menara/w3", "nace-rev2:11.02", "MA"),
    member("qoot/s1", "nace-rev2:10.72", "LB"),  # biscuits
    member("menara/f1", "nace-rev2:01.13", "MA"),  # vegetables
    member("2ts/p1", "nace-rev2:10.51", "TN"),  # dairy
    member("es/k1", "nace-rev2:17.21", "ES"),  # paper packaging
    member("qoot/o1", "nace-rev2:01.11", "LB"),  # cereals: no installed rule places it
]
KNOWLEDGE = [member("qoot/u1", "nace-rev2:72.19", "LB", kind="university")]


@pytest.fixture
def rule_sets(registry) -> RuleSets:
    return RuleSets(registry)


@pytest.fixture
def compared(registry, rule_sets) -> dict:
    a = rule_sets.named(CHAIN, "installed")
    b = rule_sets.named(CHAIN, "agri-food-by-stage")
    return compare(registry.value_chains[CHAIN], MEMBERS, KNOWLEDGE, a, b, registry, max_movers=3)


def subs(side: dict) -> dict:
    return {row["name"]: row for row in side["sub_clusters"]}


def test_each_side_counts_sizes_countries_clusters_and_knowledge(compared):
    a, b = compared["rule_sets"]
    assert (a["name"], b["name"]) == ("installed", "agri-food-by-stage")
    assert {name: row["members"] for name, row in subs(a).items()} == {
        "wine": 3, "snacks-confectionery": 1, "agri-fresh": 1, "processing": 1, "parallel-services": 1, "other": 1}
    assert subs(a)["wine"]["countries"] == {"LB": 2, "MA": 1} and subs(a)["wine"]["clusters"] == 2
    assert subs(a)["parallel-services"]["knowledge_members"] == 1 and subs(a)["wine"]["knowledge_members"] == 0
    assert {name: row["members"] for name, row in subs(b).items()} == {
        "primary-production": 3, "processing": 4, "packaging-logistics": 1, "market": 0, "services": 0}
    assert subs(b)["processing"]["countries"] == {"LB": 2, "MA": 1, "TN": 1}
    assert subs(b)["services"]["knowledge_members"] == 1
    assert (a["other"], b["other"]) == (1, 0)
    assert (a["cross_border_sub_clusters"], b["cross_border_sub_clusters"]) == (1, 2)


def test_balance_is_the_normalised_entropy_of_the_defined_sub_clusters(compared):
    a, b = compared["rule_sets"]

    def entropy(sizes):
        total = sum(sizes)
        return -sum(n / total * math.log(n / total) for n in sizes if n)

    # A: 7 placed over 5 defined sub-clusters (3, 1, 1, 1, 1), the cereal grower in other; B: 8 over (3, 4, 1, 0, 0).
    assert a["balance"]["entropy"] == pytest.approx(entropy([3, 1, 1, 1, 1]) / math.log(5), abs=1e-3)
    assert a["balance"]["effective_sub_clusters"] == pytest.approx(math.exp(entropy([3, 1, 1, 1, 1])), abs=0.01)
    assert b["balance"]["entropy"] == pytest.approx(entropy([3, 4, 1]) / math.log(5), abs=1e-3)
    assert (a["balance"]["largest"], a["balance"]["largest_share"]) == ("wine", 0.375)
    assert (b["balance"]["largest"], b["balance"]["largest_share"]) == ("processing", 0.5)
    assert balance([5, 5], 2)["entropy"] == 1.0 and balance([5, 0], 2)["entropy"] == 0.0
    assert balance([], 3) == {"entropy": 0.0, "effective_sub_clusters": 0.0}


def test_transitions_and_a_bounded_sample_of_movers(compared):
    transitions = {(t["from"], t["to"]): t["members"] for t in compared["transitions"]}
    assert transitions == {("wine", "processing"): 2, ("wine", "primary-production"): 1,
                           ("snacks-confectionery", "processing"): 1, ("agri-fresh", "primary-production"): 1,
                           ("processing", "processing"): 1, ("parallel-services", "packaging-logistics"): 1,
                           ("other", "primary-production"): 1}
    assert compared["moved"] == 7  # all but the dairy, in processing both times
    assert [m["id"] for m in compared["movers"]] == ["es/k1", "menara/f1", "menara/w3"]  # the first 3, by key
    mover = compared["movers"][0]
    assert (mover["from"], mover["to"]) == ("parallel-services", "packaging-logistics")
    assert "17.21" in mover["reason"]


def test_findings_say_what_b_gains_and_loses(compared):
    findings = compared["findings"]
    assert "B (agri-food-by-stage) leaves 1 fewer members in other than A (installed) (1 against 0)" not in findings
    assert "B (agri-food-by-stage) leaves 1 fewer members in other than A (installed) (0 against 1)" in findings
    assert "7 of 8 members change sub-cluster from A to B" in findings
    assert any(f.startswith("B (agri-food-by-stage) spreads its members less evenly") for f in findings)
    assert "A (installed)'s snacks-confectionery sub-cluster has only one country (LB)" in findings
    assert "B (agri-food-by-stage) leaves market, services empty" in findings
    assert "B (agri-food-by-stage) has 2 cross-border sub-clusters (members from two countries or more), " \
           "A (installed) 1" in findings


def test_the_alternatives_are_not_installed(registry, rule_sets):
    installed = {rule.name for rule in registry.subcluster_rules[CHAIN]}
    assert installed == {"wine", "snacks-confectionery", "agri-fresh", "processing", "parallel-services"}
    assert rule_sets.known(CHAIN) == ["installed", "subclustering", "agri-food-by-stage"]
    assert rule_sets.named(CHAIN, "subclustering").sub_clusters == rule_sets.named(CHAIN, "installed").sub_clusters
    with pytest.raises(NotFound, match="known are installed, subclustering, agri-food-by-stage"):
        rule_sets.named(CHAIN, "../agri-food")


RULE = "value_chain: agri-food\nrules:\n  - name: wine\n    codes: {nace-rev2: [%s]}\n"


@pytest.mark.parametrize("text, message", [
    (RULE % '"99.99"', r"bad\.yaml: rules\[0\] \(wine\)\.codes: .*99\.99"),
    ("value_chain: agri-food\nrules:\n  - name: other\n    keywords: [x]\n", r"rules\[0\]\.name: "),
    ("value_chain: agri-food\nrules:\n  - name: wine\n    keywords: [[x]]\n", r"rules\[0\] \(wine\)\.keywords"),
    ("value_chain: agri-food\nrules:\n  - name: wine\n", r"rules\[0\] \(wine\): rule 'wine' has neither"),
    (RULE.replace("agri-food", "electronics") % '"11.02"', r"value_chain: the rules are for electronics"),
    ("value_chain: blue-food\nrules:\n  - name: fish\n    keywords: [fish]\n", r"the rules are for blue-food"),
    ("value_chain: agri-food\nrules:\n  - name: wine\n    keywords: ['']\n", r"\(wine\)\.keywords"),
    ("value_chain: agri-food\nrules: []\n", r"rules: the rule set defines no rule"),
    ("[1, 2]\n", r"no plugin reads this rule set"),
    ("a: &x [1]\nb: *x\n", r"aliases"),
    ("[" * 20000, r"nested too deeply"),
    ("a: " + "{a: " * 5000, r"nested too deeply"),
    ("value_chain: agri-food\nvalue_chain: agri-food\n", r"found the key 'value_chain' twice"),
])
def test_a_bad_rule_file_is_refused_naming_the_file_and_the_field(tmp_path, rule_sets, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadRequest, match=message) as refused:
        rule_sets.resolve(CHAIN, str(path))
    assert str(path) in refused.value.message or "bad.yaml" in refused.value.message


def test_rule_files_are_bounded_in_bytes_and_rules(tmp_path, registry):
    rule_sets = RuleSets(registry)
    rule_sets.max_bytes, rule_sets.max_rules = 200, 2
    big = tmp_path / "big.yaml"
    big.write_text(RULE % '"11.02"' + "#" * 300, encoding="utf-8")
    with pytest.raises(BadRequest, match=r"big\.yaml: \d+ bytes, over subclusters\.max_rule_set_bytes \(200\)"):
        rule_sets.resolve(CHAIN, str(big))
    many = {"value_chain": CHAIN, "rules": [{"name": f"r{i}", "keywords": ["x"]} for i in range(3)]}
    with pytest.raises(BadRequest, match=r"rules\[1\]: rules: 3 rules, over subclusters\.max_rules \(2\)"):
        rule_sets.from_document(CHAIN, many, "rules[1]", "B")
