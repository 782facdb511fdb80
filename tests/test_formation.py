"""Meta-cluster formation as pure domain code (federation.formation): which clusters take part in a value chain,
whether the meta-cluster forms, sub-clusters, knowledge members, stage coverage and gaps; every verdict explained.

Clusters and members are built here as federation.domain objects; the default plugins come from the ``registry``
fixture (value chains and sub-clustering rules of config/)."""

from __future__ import annotations

from datetime import date

import pytest

from federation.domain import Activity, Cluster, Decision, Member
from federation.formation import assess_value_chain, form_metaclusters, place_member, stage_coverage
from federation.hub.aggregation import member_from_view
from federation.hub.models import MemberView
from federation.registry import Registry
from federation.rules import CodeKeywordRule, FormationRule, SubclusterRule
from plugins.formation import MinChainMembers, MinCountries

CHAIN = "agri-food"
STAGES = ["inputs", "production", "processing", "packaging", "logistics", "market", "support-services"]


def activities(codes) -> tuple[Activity, ...]:
    out = []
    for code in codes:
        scheme, _, value = code.partition(":")
        out.append(Activity(scheme, value))
    return tuple(out)


def member(node: str, member_id: str, *codes: str, kind: str = "sme", name: str | None = None,
           status: str = "active", offers: tuple[str, ...] = (), offer_codes: tuple[str, ...] = (),
           country: str = "LB", audience: str = "public") -> Member:
    name = name or f"Member {member_id}"
    # what keyword rules read: the name and the offers (as the hub builds it), lower-cased
    text = " ".join([name, *offers]).lower()
    return Member(node_id=node, id=member_id, kind=kind, name=name, country=country, activities=activities(codes),
                  offer_codes=activities(offer_codes), text=text, status=status, last_active=date(2025, 1, 1),
                  city="City", audience=audience)


def cluster(node: str, country: str, *members: Member, claims: tuple[str, ...] = (CHAIN,),
            cluster_id: str | None = None) -> Cluster:
    return Cluster(node_id=node, id=cluster_id or node, name=f"{node.upper()} cluster", country=country,
                   value_chains=claims, members=tuple(members))


def three_food_members(node: str, country: str) -> list[Member]:
    return [member(node, f"{node}-wine", "nace-rev2:11.02", country=country),
            member(node, f"{node}-choc", "nace-rev2:10.82", country=country),
            member(node, f"{node}-oil", "nace-rev2:10.41", country=country)]


def chain_of(registry):
    return registry.value_chains[CHAIN]


def assess(registry, *clusters: Cluster) -> dict:
    return assess_value_chain(chain_of(registry), list(clusters), registry)


def by_id(entries, key="id") -> dict:
    return {e[key]: e for e in entries}


def with_rules(registry, formation_rules=None, subcluster_rules=None) -> Registry:
    """The default taxonomies and value chains, with the rules given here instead of the plugins' ones."""
    return Registry(pm=registry.pm, settings=registry.settings, taxonomies=registry.taxonomies,
                    value_chains=registry.value_chains,
                    formation_rules=registry.formation_rules if formation_rules is None else formation_rules,
                    subcluster_rules=registry.subcluster_rules if subcluster_rules is None else subcluster_rules)


# -- formation -----------------------------------------------------------------------------------------------------

def test_two_countries_with_three_active_chain_members_each_form_the_metacluster(registry):
    lb = cluster("qoot", "LB", *three_food_members("qoot", "LB"))
    ma = cluster("menara", "MA", *three_food_members("menara", "MA"))
    result = assess(registry, lb, ma)
    assert result["id"] == "mc-agri-food"
    assert result["value_chain"] == CHAIN
    assert result["ecosystem"] == "agri_food"
    assert result["formed"] is True
    assert result["countries"] == ["LB", "MA"]
    assert result["decisions"] == [
        {"passed": True, "rule": "min-countries", "reason": "2 countries (LB, MA) ≥ 2"}]
    assert [c["id"] for c in result["clusters"]] == ["qoot", "menara"]     # by country
    assert result["excluded_clusters"] == []
    for entry in result["clusters"]:
        assert entry["members_on_chain"] == 3
        assert entry["claims_chain"] is True
        assert entry["decisions"] == [
            {"passed": True, "rule": "min-chain-members", "reason": "3 active members on agri-food ≥ 3"}]
    assert len(result["members"]) == 6
    assert {m["country"] for m in result["members"]} == {"LB", "MA"}


def test_form_metaclusters_assesses_every_value_chain_in_order(registry):
    lb = cluster("qoot", "LB", *three_food_members("qoot", "LB"))
    ma = cluster("menara", "MA", *three_food_members("menara", "MA"))
    results = form_metaclusters([lb, ma], registry)
    assert [r["value_chain"] for r in results] == sorted(registry.value_chains)
    assert [r["id"] for r in results] == [f"mc-{c}" for c in sorted(registry.value_chains)]
    formed = {r["value_chain"]: r["formed"] for r in results}
    assert formed[CHAIN] is True
    assert formed["electronics"] is False
    electronics = by_id(results, "value_chain")["electronics"]
    assert electronics["clusters"] == [] and electronics["excluded_clusters"] == []   # not candidates
    assert electronics["decisions"][-1] == {"passed": False, "rule": "core", "reason": "no cluster takes part"}


def test_a_single_country_does_not_form(registry):
    a = cluster("qoot", "LB", *three_food_members("qoot", "LB"))
    b = cluster("berytech", "LB", *three_food_members("berytech", "LB"))
    result = assess(registry, a, b)
    assert result["formed"] is False
    decision = by_id(result["decisions"], "rule")["min-countries"]
    assert decision == {"passed": False, "rule": "min-countries", "reason": "1 country (LB) < 2"}
    # the clusters themselves were admitted, and why is recorded
    assert sorted(c["id"] for c in result["clusters"]) == ["berytech", "qoot"]
    for entry in result["clusters"]:
        assert entry["decisions"] == [
            {"passed": True, "rule": "min-chain-members", "reason": "3 active members on agri-food ≥ 3"}]
    assert result["countries"] == ["LB"]


def test_too_few_active_chain_members_exclude_a_cluster_dormant_ones_not_counted(registry):
    lb = cluster("qoot", "LB", *three_food_members("qoot", "LB"))
    ma = cluster("menara", "MA", *three_food_members("menara", "MA"))
    tn = cluster("tunis", "TN",
                 member("tunis", "t1", "nace-rev2:11.02"), member("tunis", "t2", "nace-rev2:10.41"),
                 member("tunis", "t3", "nace-rev2:10.82", status="dormant"),
                 member("tunis", "t4", "nace-rev2:10.41", status="dormant"),
                 member("tunis", "t5", "nace-rev2:26.11"))                      # electronics: not on the chain
    result = assess(registry, lb, ma, tn)
    assert result["formed"] is True
    assert result["countries"] == ["LB", "MA"]
    excluded = by_id(result["excluded_clusters"])
    assert list(excluded) == ["tunis"]
    assert excluded["tunis"]["members_on_chain"] == 4                       # dormant ones are listed
    assert excluded["tunis"]["decisions"] == [
        {"passed": False, "rule": "min-chain-members", "reason": "2 active members on agri-food < 3"}]
    assert not any(m["cluster_id"] == "tunis" for m in result["members"])
    assert not any(k.startswith("tunis/") for s in result["sub_clusters"] for k in s["members"])
    assert "TN" not in {c for cs in result["stage_coverage"].values() for c in cs}


def test_dormant_members_of_an_admitted_cluster_are_members_but_do_not_count(registry):
    lb = cluster("qoot", "LB", *three_food_members("qoot", "LB"),
                 member("qoot", "old", "nace-rev2:49.41", status="dormant"))
    ma = cluster("menara", "MA", *three_food_members("menara", "MA"))
    result = assess(registry, lb, ma)
    entry = by_id(result["clusters"])["qoot"]
    assert entry["members_on_chain"] == 4
    assert entry["decisions"][0]["reason"] == "3 active members on agri-food ≥ 3"
    old = by_id(result["members"])["qoot/old"]
    assert old["status"] == "dormant" and old["stages"] == ["logistics"]
    assert result["stage_coverage"]["logistics"] == []          # dormant members cover nothing
    assert "logistics" in result["gaps"]


def test_a_cluster_claiming_the_chain_without_members_on_it_is_excluded_with_a_reason(registry):
    lb = cluster("qoot", "LB", *three_food_members("qoot", "LB"))
    ma = cluster("menara", "MA", *three_food_members("menara", "MA"))
    claimer = cluster("chips", "TN", member("chips", "c1", "nace-rev2:26.11"))
    bystander = cluster("volts", "EG", member("volts", "v1", "nace-rev2:26.11"), claims=("electronics",))
    result = assess(registry, lb, ma, claimer, bystander)
    excluded = by_id(result["excluded_clusters"])
    assert list(excluded) == ["chips"]                       # the bystander is not a candidate at all
    reasons = {d["rule"]: d for d in excluded["chips"]["decisions"]}
    assert reasons["core"] == {"passed": False, "rule": "core",
                               "reason": "claims agri-food but no member has an activity on it"}
    assert reasons["min-chain-members"]["passed"] is False
    assert excluded["chips"]["members_on_chain"] == 0


def test_a_cluster_with_members_on_the_chain_takes_part_without_claiming_it(registry):
    lb = cluster("qoot", "LB", *three_food_members("qoot", "LB"), claims=())
    ma = cluster("menara", "MA", *three_food_members("menara", "MA"))
    result = assess(registry, lb, ma)
    assert result["formed"] is True
    assert by_id(result["clusters"])["qoot"]["claims_chain"] is False


def test_no_cluster_means_no_metacluster(registry):
    result = assess(registry)
    assert result["formed"] is False
    assert {"passed": False, "rule": "core", "reason": "no cluster takes part"} in result["decisions"]
    assert result["gaps"] == STAGES
    assert result["sub_clusters"] == [] and result["members"] == [] and result["country_gaps"] == {}


# -- ISIC and NACE are classified alike ----------------------------------------------------------------------------

EQUIVALENT_CODES = [            # (NACE Rev. 2, ISIC Rev. 4)
    ("01.21", "0121"),          # grapes
    ("10.82", "1073"),          # cocoa, chocolate, confectionery
    ("11.01", "1101"),          # spirits
    ("10.41", "1040"),          # oils and fats (ISIC 1040 is NACE 10.41 + 10.42: both in the same stage and rule)
    ("17.21", "1702"),          # paper containers
    ("01.13", "0113"),          # vegetables
    ("10.51", "1050"),          # dairy (ISIC 1050 is NACE 10.51 + 10.52)
    ("71.20", "7120"),          # testing and analysis
    ("28.30", "2821"),          # agricultural machinery (no sub-clustering rule: "other" both ways)
    ("47.11", "4711"),          # retail in non-specialised stores (no rule either)
    ("52.10", "5210"),          # warehousing
]


def test_isic_tagged_members_are_classified_like_their_nace_equivalents(registry):
    nace = cluster("qoot", "LB", *[member("qoot", f"m{i}", f"nace-rev2:{n}", name=f"Firm {i}")
                                   for i, (n, _) in enumerate(EQUIVALENT_CODES)])
    isic = cluster("menara", "MA", *[member("menara", f"m{i}", f"isic-rev4:{c}", name=f"Firm {i}")
                                     for i, (_, c) in enumerate(EQUIVALENT_CODES)])
    result = assess(registry, nace, isic)
    assert result["formed"] is True
    members = by_id(result["members"])
    for i, (n, c) in enumerate(EQUIVALENT_CODES):
        left, right = members[f"qoot/m{i}"], members[f"menara/m{i}"]
        assert left["stages"], n
        assert right["stages"] == left["stages"], (n, c)
        assert right["sub_cluster"] == left["sub_cluster"], (n, c)
        assert right["rule"] == left["rule"], (n, c)
        if right["sub_cluster"] != "other":
            assert f"isic-rev4:{c}" in right["reason"]
    assert result["stage_coverage"] == {s: (["LB", "MA"] if cs else []) for s, cs in result["stage_coverage"].items()}
    # a spot check of where they land with the packaged rules
    placed = {c: members[f"menara/m{i}"]["sub_cluster"] for i, (_, c) in enumerate(EQUIVALENT_CODES)}
    assert (placed["0121"], placed["1073"], placed["0113"], placed["1050"], placed["7120"], placed["2821"]) == (
        "wine", "snacks-confectionery", "agri-fresh", "processing", "parallel-services", "other")
    assert len(members) == 2 * len(EQUIVALENT_CODES)


def test_a_coarse_isic_code_is_never_classified_more_precisely_than_it_says(registry):
    """ISIC 1102 (wines) is NACE 11.02 + 11.03 + 11.04: it lands in the same stage as NACE 11.02, and only in a
    sub-cluster whose rule covers all three."""
    taxonomies = registry.taxonomies
    equivalents = taxonomies.normalise("isic-rev4", "1102")
    assert equivalents == {"11.02", "11.03", "11.04"}
    nace = cluster("qoot", "LB", *three_food_members("qoot", "LB"), member("qoot", "w", "nace-rev2:11.02"))
    isic = cluster("menara", "MA", *three_food_members("menara", "MA"), member("menara", "w", "isic-rev4:1102"))
    result = assess(registry, nace, isic)
    members = by_id(result["members"])
    assert members["menara/w"]["stages"] == members["qoot/w"]["stages"] == ["processing"]
    placed = members["menara/w"]["sub_cluster"]
    rule = next(r for r in registry.subcluster_rules[CHAIN] if r.name == placed and r.prefixes)
    for code in equivalents:
        assert taxonomies.under("nace-rev2", code, rule.prefixes) is not None, (placed, code)


# -- sub-clusters --------------------------------------------------------------------------------------------------

def mixed_clusters() -> tuple[Cluster, Cluster]:
    lb = cluster("qoot", "LB",
                 member("qoot", "wine", "nace-rev2:11.02", name="Château Ksara"),
                 member("qoot", "grapes", "nace-rev2:01.21", name="Bekaa Growers"),
                 member("qoot", "choc", "nace-rev2:10.82", name="Cedar Chocolate"),
                 member("qoot", "oil", "nace-rev2:10.41", name="Olive Press"),
                 member("qoot", "bottle", "nace-rev2:17.21", name="Wine bottle packaging"),
                 member("qoot", "trader", "nace-rev2:46.17", name="Levant Agents"),
                 member("qoot", "kwtrader", "nace-rev2:46.17", name="Cedar Wine Traders"),
                 member("qoot", "old", "nace-rev2:49.41", name="Old Trucks", status="dormant"))
    ma = cluster("menara", "MA",
                 member("menara", "m1", "nace-rev2:10.82", country="MA"),
                 member("menara", "m2", "nace-rev2:01.13", name="Souss Greenhouses", country="MA"),
                 member("menara", "m3", "nace-rev2:28.30", name="Atlas Machines", country="MA"))
    return lb, ma


def test_every_chain_member_lands_in_exactly_one_sub_cluster(registry):
    result = assess(registry, *mixed_clusters())
    listed = [key for sub in result["sub_clusters"] for key in sub["members"]]
    assert len(listed) == len(set(listed))
    assert set(listed) == {m["id"] for m in result["members"]}
    assert len(result["members"]) == 11
    for sub in result["sub_clusters"]:
        assert sub["members"] == sorted(sub["members"])
        for key in sub["members"]:
            assert by_id(result["members"])[key]["sub_cluster"] == sub["name"]


def test_sub_clusters_follow_rule_order_with_other_last(registry):
    result = assess(registry, *mixed_clusters())
    names = [s["name"] for s in result["sub_clusters"]]
    assert names == ["wine", "snacks-confectionery", "agri-fresh", "processing", "parallel-services", "other"]
    subs = by_id(result["sub_clusters"], "name")
    assert subs["other"]["names"] == {"en": "Other"}
    assert subs["wine"]["names"]["fr"] == "Vin"


@pytest.mark.parametrize("key, sub_cluster, reason", [
    ("qoot/wine", "wine", "activity nace-rev2:11.02 is under nace-rev2 11.02"),
    ("qoot/grapes", "wine", "activity nace-rev2:01.21 is under nace-rev2 01.21"),
    ("qoot/choc", "snacks-confectionery", "activity nace-rev2:10.82 is under nace-rev2 10.82"),
    ("qoot/oil", "processing", "activity nace-rev2:10.41 is under nace-rev2 10"),
    # the code of a later rule wins over the keyword "wine" of an earlier one
    ("qoot/bottle", "parallel-services", "activity nace-rev2:17.21 is under nace-rev2 17.21"),
    # no rule has 46.17 among its codes: the keyword places it
    ("qoot/kwtrader", "wine", "keyword 'wine'"),
    ("menara/m2", "agri-fresh", "activity nace-rev2:01.13 is under nace-rev2 01.13"),
])
def test_placements_and_their_reasons(registry, key, sub_cluster, reason):
    placed = by_id(assess(registry, *mixed_clusters())["members"])[key]
    assert placed["sub_cluster"] == sub_cluster
    assert placed["rule"] == sub_cluster
    assert placed["reason"] == reason


@pytest.mark.parametrize("key", ["qoot/trader", "menara/m3"])
def test_a_member_no_rule_matches_lands_in_other(registry, key):
    placed = by_id(assess(registry, *mixed_clusters())["members"])[key]
    assert placed["sub_cluster"] == "other"
    assert placed["rule"] == ""
    assert placed["reason"] == "no sub-clustering rule matched"


def view(node: str, member_id: str, codes, name: str, offers=(), needs=(), audience="public") -> MemberView:
    return MemberView(node_id=node, member_id=member_id, kind="sme", name=name, city="Tyr", size="small",
                      activities=[dict(zip(("scheme", "code"), c.split(":", 1))) for c in codes],
                      offers=[{"text": t, "codes": []} for t in offers],
                      needs=[{"text": t, "codes": []} for t in needs],
                      export_markets=[], status="active", last_active=None, audience=audience)


def test_keywords_are_read_in_name_and_offers_never_in_needs(registry):
    needs_wine = member_from_view(view("qoot", "a", ["nace-rev2:46.17"], "Levant Agents",
                                       needs=["Wine barrels", "a winery partner"]), "LB")
    offers_wine = member_from_view(view("qoot", "b", ["nace-rev2:46.17"], "Levant Agents",
                                        offers=["Export of Lebanese wines"]), "LB")
    assert "wine" not in needs_wine.text and "barrels" not in needs_wine.text
    chain = chain_of(registry)
    assert place_member(needs_wine, chain, registry).sub_cluster == "other"
    placed = place_member(offers_wine, chain, registry)
    assert (placed.sub_cluster, placed.reason) == ("wine", "keyword 'wines'")


@pytest.mark.parametrize("name, sub_cluster", [
    ("WINE merchants", "wine"),                  # any case
    ("Winemakers Guild", "other"),               # whole words only
    ("Swine feed", "other"),
    ("Vignoble du Sud", "wine"),                 # French
    ("معصرة الزيتون", "processing"),              # Arabic
    ("Cocoa-chocolate traders", "snacks-confectionery"),
])
def test_keywords_are_whole_words_in_any_case(registry, name, sub_cluster):
    m = member("qoot", "x", "nace-rev2:46.17", name=name)
    assert place_member(m, chain_of(registry), registry).sub_cluster == sub_cluster


# -- knowledge members and stage kinds ---------------------------------------------------------------------------

def test_knowledge_members_of_admitted_clusters_serve_the_metacluster(registry):
    lb = cluster("qoot", "LB", *three_food_members("qoot", "LB"),
                 member("qoot", "aub", "nace-rev2:85.42", kind="university", name="AUB"),
                 member("qoot", "lari", kind="research_centre", name="LARI"))                     # no codes
    ma = cluster("menara", "MA", *three_food_members("menara", "MA"),
                 member("menara", "food-lab", kind="research_centre", offer_codes=("nace-rev2:10.89",)),
                 member("menara", "uni", "nace-rev2:85.42", kind="university"),
                 member("menara", "chip-lab", "nace-rev2:26.11", kind="university"), claims=())
    # knowledge members of an excluded cluster do not take part
    tn = cluster("tunis", "TN", member("tunis", "t1", "nace-rev2:11.02"),
                 member("tunis", "uni", "nace-rev2:85.42", kind="university"))
    result = assess(registry, lb, ma, tn)
    assert result["formed"] is True
    knowledge = by_id(result["knowledge_members"])
    assert set(knowledge) == {"qoot/aub", "qoot/lari", "menara/food-lab"}
    # the cluster claims the chain: its knowledge members serve it
    assert knowledge["qoot/aub"]["reason"] == "knowledge member of QOOT cluster, which claims agri-food"
    assert knowledge["qoot/aub"]["stages"] == ["support-services"]
    assert knowledge["qoot/lari"]["reason"] == "knowledge member of QOOT cluster, which claims agri-food"
    assert knowledge["qoot/lari"]["stages"] == []
    # the cluster does not claim the chain: only codes in a core stage (here through its offers) bring it in
    assert knowledge["menara/food-lab"]["reason"] == "its activities or offers fall in stage(s) processing"
    assert knowledge["menara/food-lab"]["stages"] == ["processing"]
    entry = knowledge["qoot/aub"]
    assert (entry["kind"], entry["country"], entry["cluster_id"], entry["status"]) == ("university", "LB", "qoot",
                                                                                       "active")
    # knowledge members are neither chain members nor counted towards min-chain-members
    assert not any(m["kind"] in ("university", "research_centre") for m in result["members"])
    assert by_id(result["clusters"])["qoot"]["members_on_chain"] == 3
    assert by_id(result["excluded_clusters"])["tunis"]["decisions"][0]["reason"] == \
        "1 active members on agri-food < 3"
    assert result["stage_coverage"]["support-services"] == ["LB"]


def test_knowledge_members_do_not_make_a_cluster_take_part(registry):
    only_knowledge = cluster("uni", "LB", member("uni", "u1", "nace-rev2:10.41", kind="university"),
                             member("uni", "u2", "nace-rev2:72.19", kind="research_centre"), claims=())
    result = assess(registry, only_knowledge)
    assert result["clusters"] == [] and result["excluded_clusters"] == []
    assert result["knowledge_members"] == []


def test_enabling_and_support_members_are_on_the_chain_only_when_their_cluster_claims_it(registry):
    """Packaging, logistics and support services serve many chains: they count only for a claiming cluster."""
    services = [("pack", "nace-rev2:17.21"), ("truck", "nace-rev2:49.41"), ("lab", "nace-rev2:71.20")]
    claiming = cluster("qoot", "LB", *three_food_members("qoot", "LB"),
                       *[member("qoot", i, c) for i, c in services])
    silent = cluster("menara", "MA", *three_food_members("menara", "MA"),
                     *[member("menara", i, c, country="MA") for i, c in services], claims=())
    services_only = cluster("logi", "TN", *[member("logi", i, c) for i, c in services], claims=())
    result = assess(registry, claiming, silent, services_only)
    members = by_id(result["members"])
    assert {k for k in members if k.startswith("qoot/")} == {"qoot/qoot-wine", "qoot/qoot-choc", "qoot/qoot-oil",
                                                             "qoot/pack", "qoot/truck", "qoot/lab"}
    assert {k for k in members if k.startswith("menara/")} == {"menara/menara-wine", "menara/menara-choc",
                                                               "menara/menara-oil"}
    assert by_id(result["clusters"])["qoot"]["members_on_chain"] == 6
    assert by_id(result["clusters"])["menara"]["members_on_chain"] == 3
    assert "logi" not in by_id(result["clusters"]) and "logi" not in by_id(result["excluded_clusters"])
    assert result["stage_coverage"]["packaging"] == ["LB"]
    assert result["stage_coverage"]["logistics"] == ["LB"]
    assert members["qoot/pack"]["stages"] == ["packaging"]


def test_a_member_with_a_core_activity_is_on_the_chain_whatever_its_other_activities(registry):
    silent = cluster("menara", "MA", *three_food_members("menara", "MA"),
                     member("menara", "mixed", "nace-rev2:17.21", "nace-rev2:10.41", country="MA"), claims=())
    claiming = cluster("qoot", "LB", *three_food_members("qoot", "LB"))
    result = assess(registry, silent, claiming)
    assert by_id(result["members"])["menara/mixed"]["stages"] == ["processing", "packaging"]
    assert result["stage_coverage"]["packaging"] == ["MA"]


# -- stage coverage ------------------------------------------------------------------------------------------------

def test_stage_coverage_gaps_and_country_gaps(registry):
    lb = cluster("qoot", "LB",
                 member("qoot", "a", "nace-rev2:11.02"),
                 member("qoot", "b", "nace-rev2:17.21"),
                 member("qoot", "c", "nace-rev2:17.21", "nace-rev2:46.31"),         # two stages
                 member("qoot", "d", "nace-rev2:49.41", status="dormant"),
                 member("qoot", "u", "nace-rev2:85.42", kind="university", status="dormant"))
    ma = cluster("menara", "MA",
                 member("menara", "a", "nace-rev2:10.41", country="MA"),
                 member("menara", "b", "nace-rev2:01.13", country="MA"),
                 member("menara", "c", "nace-rev2:01.21", country="MA"),
                 member("menara", "u", "nace-rev2:72.19", kind="research_centre", country="MA"))
    result = assess(registry, lb, ma)
    assert result["formed"] is True
    assert result["stage_coverage"] == {
        "inputs": [], "production": ["MA"], "processing": ["LB", "MA"], "packaging": ["LB"], "logistics": [],
        "market": ["LB"], "support-services": ["MA"]}
    assert list(result["stage_coverage"]) == STAGES
    assert result["gaps"] == ["inputs", "logistics"]
    assert result["country_gaps"] == {
        "LB": ["inputs", "production", "logistics", "support-services"],
        "MA": ["inputs", "packaging", "logistics", "market"]}
    assert by_id(result["members"])["qoot/c"]["stages"] == ["packaging", "market"]
    assert [s["id"] for s in result["stages"]] == STAGES
    assert by_id(result["stages"])["support-services"]["kind"] == "support"


def test_entries_carry_their_audience_and_coverage_can_be_computed_for_public_members_alone(registry):
    """Each member entry says who may read it; what an anonymous reader sees is covered by public members only."""
    lb = cluster("qoot", "LB", *three_food_members("qoot", "LB"),
                 member("qoot", "u", "nace-rev2:85.42", kind="university", audience="federation"))
    ma = cluster("menara", "MA", member("menara", "a", "nace-rev2:10.41", country="MA", audience="federation"),
                 member("menara", "b", "nace-rev2:01.13", country="MA", audience="federation"),
                 member("menara", "c", "nace-rev2:11.02", country="MA"))
    result = assess(registry, lb, ma)
    assert result["formed"] is True
    audiences = {e["id"]: e["audience"] for e in result["members"] + result["knowledge_members"]}
    assert audiences == {"qoot/qoot-wine": "public", "qoot/qoot-choc": "public", "qoot/qoot-oil": "public",
                         "qoot/u": "federation", "menara/a": "federation", "menara/b": "federation",
                         "menara/c": "public"}
    # every member counts for the assessment, whoever may read it
    assert by_id(result["clusters"])["menara"]["members_on_chain"] == 3
    assert result["stage_coverage"]["production"] == ["MA"]
    assert result["stage_coverage"]["support-services"] == ["LB"]
    assert stage_coverage(STAGES, result["members"] + result["knowledge_members"]) == {
        "stage_coverage": result["stage_coverage"], "gaps": result["gaps"]}
    public = [e for e in result["members"] + result["knowledge_members"] if e["audience"] == "public"]
    public_view = stage_coverage(STAGES, public)
    assert public_view["stage_coverage"]["production"] == []
    assert public_view["stage_coverage"]["processing"] == ["LB", "MA"]
    assert public_view["stage_coverage"]["support-services"] == []
    assert public_view["gaps"] == [s for s in STAGES if not public_view["stage_coverage"][s]]
    assert {"production", "support-services"} <= set(public_view["gaps"])


def test_member_from_view_keeps_the_audience():
    assert member_from_view(view("qoot", "a", ["nace-rev2:11.02"], "A"), "LB").audience == "public"
    shared = member_from_view(view("qoot", "b", ["nace-rev2:11.02"], "B", audience="federation"), "LB")
    assert (shared.audience, shared.country) == ("federation", "LB")


# -- rules are what decide -----------------------------------------------------------------------------------------

class RefuseByName(FormationRule):
    name = "no-test-clusters"

    def check_cluster(self, cluster, chain, chain_members):
        if "test" in cluster.id:
            return Decision(False, self.name, f"{cluster.id} is a test cluster")
        return None


class NeedsThreeClusters(FormationRule):
    name = "three-clusters"

    def check_metacluster(self, chain, admitted):
        return Decision(len(admitted) >= 3, self.name, f"{len(admitted)} clusters")


def test_without_formation_rules_one_cluster_of_one_member_forms(registry):
    custom = with_rules(registry, formation_rules=[])
    result = assess(custom, cluster("qoot", "LB", member("qoot", "a", "nace-rev2:11.02")))
    assert result["formed"] is True
    assert result["decisions"] == []
    assert by_id(result["clusters"])["qoot"]["decisions"] == []
    # the same input with the default rules does not form
    assert assess(registry, cluster("qoot", "LB", member("qoot", "a", "nace-rev2:11.02")))["formed"] is False


def test_custom_formation_rules_decide_and_explain(registry):
    custom = with_rules(registry, formation_rules=[RefuseByName(), NeedsThreeClusters()])
    clusters = [cluster(node, country, member(node, "a", "nace-rev2:10.41"))
                for node, country in (("qoot", "LB"), ("menara", "MA"), ("a-test", "TN"))]
    result = assess(custom, *clusters)
    assert result["formed"] is False
    assert result["decisions"] == [{"passed": False, "rule": "three-clusters", "reason": "2 clusters"}]
    assert by_id(result["excluded_clusters"])["a-test"]["decisions"] == [
        {"passed": False, "rule": "no-test-clusters", "reason": "a-test is a test cluster"}]
    clusters.append(cluster("nile", "EG", member("nile", "a", "nace-rev2:10.41")))
    result = assess(custom, *clusters)
    assert result["formed"] is True
    assert result["countries"] == ["EG", "LB", "MA"]


def test_the_builtin_rules_follow_their_settings(registry):
    tn = cluster("tunis", "TN", member("tunis", "a", "nace-rev2:11.02"), member("tunis", "b", "nace-rev2:10.41"),
                 member("tunis", "c", "nace-rev2:10.82", status="dormant"))
    strict = assess(registry, tn)
    assert by_id(strict["excluded_clusters"])["tunis"]["decisions"][0]["passed"] is False
    lenient = with_rules(registry, formation_rules=[MinChainMembers(3, count_dormant=True), MinCountries(1)])
    result = assess(lenient, tn)
    assert result["formed"] is True
    assert by_id(result["clusters"])["tunis"]["decisions"] == [
        {"passed": True, "rule": "min-chain-members", "reason": "3 members on agri-food ≥ 3"}]
    assert result["decisions"] == [{"passed": True, "rule": "min-countries", "reason": "1 country (TN) ≥ 1"}]


class BigPlayers(SubclusterRule):
    value_chain = CHAIN
    name = "big-players"
    names = {"en": "Big players"}

    def match(self, member, taxonomies):
        return "a large company" if member.kind == "large_company" else None


def test_custom_subcluster_rules_decide_first_match_wins(registry):
    taxonomies = registry.taxonomies
    wine = CodeKeywordRule(CHAIN, "vino", {"en": "Vino"}, taxonomies.pivot_prefixes({"nace-rev2": ["11"]}, "test"),
                           keywords=["grape"])
    custom = with_rules(registry, formation_rules=[], subcluster_rules={CHAIN: [BigPlayers(), wine]})
    lb = cluster("qoot", "LB",
                 member("qoot", "big", "nace-rev2:11.02", kind="large_company"),     # both rules match: first wins
                 member("qoot", "small", "isic-rev4:1102"),
                 member("qoot", "grower", "nace-rev2:01.21", name="Grape growers"),
                 member("qoot", "choc", "nace-rev2:10.82"))
    result = assess(custom, lb)
    members = by_id(result["members"])
    assert (members["qoot/big"]["sub_cluster"], members["qoot/big"]["reason"]) == ("big-players", "a large company")
    assert members["qoot/small"]["sub_cluster"] == "vino"
    assert members["qoot/small"]["reason"] == "activity isic-rev4:1102 is under nace-rev2 11"
    assert (members["qoot/grower"]["sub_cluster"], members["qoot/grower"]["reason"]) == ("vino", "keyword 'grape'")
    assert members["qoot/choc"]["sub_cluster"] == "other"
    assert [(s["name"], s["names"]) for s in result["sub_clusters"]] == [
        ("big-players", {"en": "Big players"}), ("vino", {"en": "Vino"}), ("other", {"en": "Other"})]
    # other chains have no rules here: all their members are "other"
    electronics = registry.value_chains["electronics"]
    assert place_member(member("x", "e", "nace-rev2:26.11"), electronics, custom).sub_cluster == "other"


@pytest.mark.parametrize("codes, placed", [
    (["11.02", "11.03"], False),            # 11.04 (other fermented beverages) is not covered
    (["11.02", "11.03", "11.04"], True),    # every equivalent of ISIC 1102 is covered
    (["11.0"], True),
])
def test_a_rule_places_a_split_isic_class_only_when_it_covers_all_its_equivalents(registry, codes, placed):
    rule = CodeKeywordRule(CHAIN, "wine", {"en": "Wine"}, registry.taxonomies.pivot_prefixes({"nace-rev2": codes}, "t"))
    custom = with_rules(registry, subcluster_rules={CHAIN: [rule]})
    result = place_member(member("qoot", "w", "isic-rev4:1102"), chain_of(custom), custom)
    assert (result.sub_cluster == "wine") is placed
