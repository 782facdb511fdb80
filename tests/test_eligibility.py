"""Eligibility of a consortium for a funding call: the built-in rules (plugins/eligibility.py) and their gaps'
words, the country lists as settings, a third-party rule plugin, and the candidates the hub names for a gap."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import pytest

from federation import Consortium, CountryLists, EligibilityRule, FundingCall, Gap, Partner, hookimpl
from federation.errors import ConfigurationError, PluginError
from federation.hub.funding import load_rules
from federation.node.join import trust_hub
from federation.settings import Settings
from plugins.eligibility import (
    DeadlinePassed,
    EligibleCountries,
    EligibleKinds,
    MinCountries,
    MinPartners,
    RequiredKinds,
    RequiredRegions,
    TopicMatch,
)
from tests.support.builders import LB_MEMBERS, MA_MEMBERS, cluster_doc, load_node, member_doc


@pytest.fixture(scope="module")
def lists(tmp_path_factory) -> CountryLists:
    return CountryLists.from_settings(Settings.load(tmp_path_factory.mktemp("lists")))


def partner(key: str, country: str, kind: str = "sme", codes=(), words: str = "") -> Partner:
    return Partner(key, key.title(), kind, country, "member", frozenset(codes), words)


CONSORTIUM = Consortium("mc-agri-food", "metacluster", "mc-agri-food", "agri-food", (
    partner("qoot-oil", "LB", codes={"10.41"}, words="qoot olive oil"),
    partner("qoot-uni", "LB", "university"),
    partner("menara-wine", "MA", codes={"11.02"}),
    partner("menara-lab", "MA", "research_centre"),
))


def call(**fields) -> FundingCall:
    return FundingCall(**{"id": "c", "programme": "P", "title": "T", "deadline": date(2027, 6, 30),
                          "link": "https://a.eu", **fields})


def texts(rule: EligibilityRule, funding_call: FundingCall, consortium: Consortium = CONSORTIUM) -> list[str]:
    return [gap.text for gap in rule.check(funding_call, consortium)]


def test_the_country_lists_are_settings_and_eu_is_the_regions_list(lists, tmp_path):
    assert lists["eu"].countries == frozenset(Settings.load(tmp_path).get("regions.eu"))
    assert len(lists["interreg-next-med"].countries) == 15 and "MA" not in lists["interreg-next-med"].countries
    assert {"MA", "LB", "TN"} <= lists["prima"].countries
    assert lists.label("eu") == "an EU member state" and lists.label("FR") == "FR"
    mine = CountryLists.from_settings(Settings.load(tmp_path, {"funding": {"country_lists": [
        {"name": "maghreb", "label": "a Maghreb country", "countries": ["DZ", "MA", "TN"]}]}}))
    assert list(mine) == ["maghreb"]
    for wrong, message in ((["eu"], "expected exactly name, label and countries"),
                           ([{"name": "x", "label": "x", "countries": ["Morocco"]}], "ISO 3166-1 alpha-2"),
                           ([{"name": "x", "label": "x", "countries": "regions.nowhere"}], "ISO 3166-1 alpha-2"),
                           ([{"name": "X!", "label": "x", "countries": ["MA"]}], "lower-case letters")):
        with pytest.raises(ConfigurationError, match=message):
            CountryLists.from_settings(Settings.load(tmp_path, {"funding": {"country_lists": wrong}}))


def test_each_built_in_rule_says_what_is_missing(lists):
    next_med = lists["interreg-next-med"].countries  # LB yes, MA no
    assert texts(EligibleCountries(), call(countries=lists["eu"].countries, country_lists=("eu",))) == [
        "needs a partner from an eligible country (eu); its partners are from LB, MA"]
    assert texts(EligibleCountries(), call(countries=next_med)) == []
    assert texts(EligibleKinds(), call(kinds=frozenset({"startup", "investor"}))) == [
        "needs a partner that is an investor or a startup"]
    assert texts(MinPartners(), call(countries=next_med, min_partners=3)) == ["needs 3 eligible partners, has 2"]
    assert texts(MinPartners(), call(min_partners=4)) == []
    assert texts(MinCountries(), call(countries=next_med, min_countries=2)) == ["needs 2 countries, has 1: LB"]
    assert texts(RequiredKinds(), call(required_kinds=(("university",), ("tto", "technology_centre")))) == [
        "needs a technology-transfer office (TTO) or a technology centre"]
    # MA's research centre does not count for a NEXT MED call: only eligible partners do.
    assert texts(RequiredKinds(), call(countries=next_med, required_kinds=(("research_centre",),))) == [
        "needs a research centre"]
    gaps = RequiredRegions(lists).check(call(required_regions=("eu", "mena", "MA")), CONSORTIUM)
    assert [g.text for g in gaps] == ["needs a partner from an EU member state"]
    assert gaps[0].countries == lists["eu"].countries
    assert texts(DeadlinePassed(lambda: date(2027, 7, 1)), call()) == ["the deadline passed on 2027-06-30"]
    assert not DeadlinePassed(lambda: date(2027, 7, 1)).check(call(), CONSORTIUM)[0].fillable
    assert texts(DeadlinePassed(lambda: date(2027, 6, 30)), call()) == []


def test_topics_meet_by_pivot_code_or_keyword(registry):
    assert texts(TopicMatch(), call(topics=frozenset({"10.41"}))) == []
    assert texts(TopicMatch(), call(keywords=("Olive",))) == []
    # The meta-cluster's value chain is its own topic: no member need write "agri-food".
    assert texts(TopicMatch(), call(keywords=("Agri food",))) == []
    gap, = TopicMatch().check(call(topics=frozenset(registry.taxonomies.classes("isic-rev4", "1080")),
                                   topic_codes=("isic-rev4:1080",), keywords=("feed",)), CONSORTIUM)
    assert gap.text == "needs a partner working on the call's topics (codes isic-rev4:1080; keywords feed)"
    assert gap.codes == {"10.91", "10.92"} and gap.keywords == ("feed",)


class NeedsAnInvestor(EligibilityRule):
    name = "needs-investor"

    def check(self, funding_call, consortium):
        found = any(p.kind == "investor" for p in consortium.eligible_for(funding_call))
        return [] if found else [Gap("needs an investor", kinds=frozenset({"investor"}))]


class ThirdParty:
    """A third-party distribution's module: one rule."""

    @hookimpl
    def medmci_eligibility_rules(self, settings):
        return [NeedsAnInvestor()]


def test_a_third_party_rule_plugin_is_asked_like_the_built_ins(make_hub, registry):
    hub = make_hub()
    plugin = ThirdParty()
    registry.pm.register(plugin, name="needs_investor")
    try:
        rules = load_rules(registry, hub.settings)
    finally:
        registry.pm.unregister(plugin)
    assert [(plugin_name, rule.name) for plugin_name, rule in rules][:1] == [("needs_investor", "needs-investor")]
    assert {rule.name for _p, rule in rules} >= {"eligible-countries", "min-partners", "topics", "deadline"}
    hub.funding.rules = rules
    verdict = hub.funding.verdict(call(min_partners=2), CONSORTIUM)
    assert [(rule, gap.text) for rule, gap in verdict.gaps] == [("needs-investor", "needs an investor")]


def test_a_broken_rule_plugin_is_named(make_hub, registry):
    class Wrong:
        @hookimpl
        def medmci_eligibility_rules(self, settings):
            return ["not a rule"]

    class Raising(EligibilityRule):
        name = "raising"

        def check(self, funding_call, consortium):
            raise KeyError("oops")

    hub = make_hub()
    plugin = Wrong()
    registry.pm.register(plugin, name="wrong_rules")
    try:
        with pytest.raises(PluginError, match="wrong_rules.*returned str, not an EligibilityRule"):
            load_rules(registry, hub.settings)
    finally:
        registry.pm.unregister(plugin)
    hub.funding.rules = [("raising_rules", Raising())]
    with pytest.raises(PluginError, match="raising_rules.*rule 'raising' failed on call 'c': KeyError"):
        hub.funding.verdict(call(), CONSORTIUM)


FR_MEMBERS = [
    member_doc("fr-uni", "nace-rev2:85.42", kind="university", name="Université de Montpellier", city="Montpellier"),
    member_doc("fr-press", "nace-rev2:10.41", name="Moulin de Provence", city="Nyons"),
    member_doc("fr-hidden", "nace-rev2:10.41", name="Huilerie Discrète", city="Nice", visibility="federation"),
    member_doc("fr-cloth", "nace-rev2:14.13", name="Atelier Textile", city="Lyon"),
]


def test_candidates_fill_a_gap_same_value_chain_first_and_as_the_reader_may_see(make_node, make_hub, serve):
    hub = make_hub()
    from federation.hub.app import create_hub_app

    hub_url = serve(create_hub_app(hub=hub)).url
    for node_id, cluster, country, members, chains in (
            ("node-lb", "qoot", "LB", LB_MEMBERS, ("agri-food",)), ("node-ma", "menara", "MA", MA_MEMBERS,
                                                                    ("agri-food",)),
            ("node-fr", "provence", "FR", FR_MEMBERS, ("textile-apparel",))):
        app = make_node(node_id)
        load_node(app, cluster_doc(cluster, country, value_chains=chains), members)
        server = serve(app)
        trust_hub(app.extensions["medmci"], hub_url)
        hub.nodes.register(node_id, server.url, None, None, "test")
    assert hub.harvester.harvest()["counts"]["new_version"] == 3
    hub.funding.import_file(json.dumps([{"id": "eu-olive", "programme": "P", "title": "Olive oil",
                                         "deadline": "2099-01-01", "link": "https://a.eu",
                                         "required_regions": ["eu"], "min_countries": 2,
                                         "topics": ["nace-rev2:10.41"]}]), "test")
    seen = {}
    for federation in (True, False):
        answer = hub.funding.eligible("agri-food", None, federation)
        assert answer["eligible"] == [] and answer["checked"] == answer["open_calls"] == 1
        call_, = answer["not_eligible"]
        gap, = call_["gaps"]
        assert gap["rule"] == "required-regions" and gap["text"] == "needs a partner from an EU member state"
        seen[federation] = [(c["key"], c["same_value_chain"]) for c in gap["candidates"]]
    # On agri-food first: the university (its stage links: training and R&D stages), then the oil presses (by their
    # code: their cluster claims textile); then the others by name (the textile workshop, the cluster itself).
    assert seen[True] == [("node-fr/fr-uni", True), ("node-fr/fr-hidden", True), ("node-fr/fr-press", True),
                          ("node-fr/fr-cloth", False), ("node-fr", False)]
    assert seen[False] == [k for k in seen[True] if k[0] != "node-fr/fr-hidden"]  # never shown to the public
    # A gap asking for a kind names that kind only, at most funding.max_candidates_per_gap of them.
    hub.funding.limits = SimpleNamespace(**{**vars(hub.funding.limits), "max_candidates_per_gap": 1})
    hub.funding.import_file(json.dumps([{"id": "uni", "programme": "P", "title": "Universities",
                                         "deadline": "2099-01-02", "link": "https://a.eu",
                                         "required_kinds": ["university"], "countries": ["FR", "MA"]}]), "test")
    answer = hub.funding.eligible("agri-food", None, True)
    gap, = next(c for c in answer["not_eligible"] if c["id"] == "uni")["gaps"]
    assert gap["text"] == "needs a university" and [c["key"] for c in gap["candidates"]] == ["node-fr/fr-uni"]
