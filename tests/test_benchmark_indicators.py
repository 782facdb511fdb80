"""Benchmark indicators: the built-ins on hand-made facts, a third-party indicator, and what is refused at load
(federation/benchmarking/indicators.py, plugins/benchmark_indicators.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from federation import ClusterFacts, Indicator, MemberFacts, PluginError, hookimpl
from federation.benchmarking.indicators import load_indicators
from federation.plugin_manager import get_plugin_manager
from federation.settings import Settings

TODAY = date(2026, 6, 30)


def facts(**extra) -> ClusterFacts:
    members = (
        MemberFacts("sme", "small", "active", date(2026, 6, 20), ("FR", "LB"), ("nace-rev2:10.41",)),
        MemberFacts("sme", "micro", "active", date(2026, 6, 10), ("FR", "DE")),
        MemberFacts("startup", "micro", "dormant", date(2024, 6, 30)),
        MemberFacts("large_company", "large", "active", None, ("US",)),
        MemberFacts("university", None, "active", date(2026, 5, 31)),
        MemberFacts("public_body", None, "active", None),
        MemberFacts("investor", "small", "active", None),
        MemberFacts("research_centre", "medium", "active", None),
    )
    base = {"node_id": "node-lb", "cluster_id": "qoot", "name": "QOOT", "country": "LB", "today": TODAY,
            "members": members, "versions": (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 20, tzinfo=UTC)),
            "chains": {"agri-food": ("inputs", "farming", "processing", "packaging"), "cosmetics": ("a", "b")},
            "stages_covered": {"agri-food": ("farming", "processing"), "cosmetics": ("a",)},
            "metaclusters": ("mc-agri-food",), "pilots": ("p1", "p2"), "knowledge_entities": 3,
            "partner_countries_met": frozenset({"ES", "LV"})}
    return ClusterFacts(**{**base, **extra})


@pytest.fixture(scope="module")
def builtins(tmp_path_factory):
    settings = Settings.load(tmp_path_factory.mktemp("hub"))
    return load_indicators(get_plugin_manager(settings), settings)


def values(indicators, cluster: ClusterFacts) -> dict:
    return {i.name: indicators.value(i, cluster) for i in indicators.items}


def test_builtins_on_hand_made_facts(builtins):
    got = values(builtins, facts())
    assert got["members"] == 8
    assert (got["sme_share"], got["startup_share"], got["large_company_share"]) == (0.25, 0.125, 0.125)
    # Sizes: among the six members that give one (two micro, two small, one medium, one large).
    assert (got["micro_share"], got["small_share"], got["medium_share"], got["large_share"]) == \
        (2 / 6, 2 / 6, 1 / 6, 1 / 6)
    assert got["knowledge_share"] == got["helix_knowledge"] == 0.25
    assert (got["helix_industry"], got["helix_public_support"]) == (0.5, 0.25)
    assert (got["active_share"], got["dormant_share"]) == (0.875, 0.125)
    assert got["profile_age_days"] == 10  # the last version, 2026-06-20
    assert got["member_activity_age_days"] == 25  # median of 10, 20, 30 and 730 days
    assert (got["stages_covered"], got["stages_covered_share"]) == (3, 0.5)
    assert got["export_markets"] == 3  # FR, DE, US: its own country LB is no export market
    assert (got["partner_countries_met"], got["metaclusters_joined"], got["pilots_joined"]) == (2, 1, 2)
    assert got["knowledge_entities"] == 3
    labels = {i.name: i for i in builtins.items}
    assert labels["dormant_share"].higher_is_better is False and labels["members"].higher_is_better is None
    assert all(set(i.labels) == {"en", "fr", "ar"} for i in builtins.items)


def test_builtins_say_not_applicable_rather_than_zero(builtins):
    got = values(builtins, facts(members=(), versions=(), chains={}, stages_covered={}, pilots=None,
                                 partner_countries_met=frozenset()))
    assert got["members"] == 0
    assert got["sme_share"] is None and got["micro_share"] is None and got["member_activity_age_days"] is None
    assert got["profile_age_days"] is None and got["stages_covered_share"] is None
    assert got["pilots_joined"] is None  # a reader who may not see pilots
    assert got["partner_countries_met"] == 0  # no meeting recorded: none met


class Investors:
    """A third-party plugin: one indicator of its own."""

    @hookimpl
    def medmci_benchmark_indicators(self, settings):
        return [Indicator("investors", {"en": "Investors", "fr": "Investisseurs"}, "members", True,
                          lambda f: sum(1 for m in f.members if m.kind == "investor"))]


def _manager(tmp_path, plugin):
    settings = Settings.load(tmp_path)
    pm = get_plugin_manager(settings)
    pm.register(plugin, name="third_party")
    return pm, settings


def test_a_third_party_indicator_is_loaded_and_computed(tmp_path):
    pm, settings = _manager(tmp_path, Investors())
    indicators = load_indicators(pm, settings)
    mine = next(i for i in indicators.items if i.name == "investors")
    assert indicators.value(mine, facts()) == 1.0
    assert indicators.plugins["investors"] == "third_party" and indicators.plugins["members"] == "benchmark_indicators"


def _returning(*items):
    return SimpleNamespace(medmci_benchmark_indicators=hookimpl(lambda settings: list(items)))


@pytest.mark.parametrize(("items", "cause"), [
    ((Indicator("", {"en": "Blank"}, "x", None, lambda f: 1),), "needs a name"),
    ((Indicator("blank", {"fr": "Vide"}, "x", None, lambda f: 1),), "has no English label"),
    ((Indicator("members", {"en": "Again"}, "x", None, lambda f: 1),), "'members' is provided twice"),
    ((Indicator("x", {"en": "X", "de": "X"}, "x", None, lambda f: 1),), "labels in de"),
    (("not an indicator",), "not a federation.Indicator"),
])
def test_refused_at_load_naming_the_plugin(tmp_path, items, cause):
    pm, settings = _manager(tmp_path, _returning(*items))
    with pytest.raises(PluginError) as raised:
        load_indicators(pm, settings)
    assert "third_party" in raised.value.message and cause in raised.value.message
    assert "medmci_benchmark_indicators" in raised.value.message


def test_an_indicator_that_raises_or_answers_nonsense_names_its_plugin(tmp_path):
    bad = [Indicator("broken", {"en": "Broken"}, "x", None, lambda f: 1 / 0),
           Indicator("texty", {"en": "Text"}, "x", None, lambda f: "many")]
    pm, settings = _manager(tmp_path, _returning(*bad))
    indicators = load_indicators(pm, settings)
    for indicator, cause in zip(bad, ("raised ZeroDivisionError", "answered 'many'"), strict=True):
        with pytest.raises(PluginError) as raised:
            indicators.value(next(i for i in indicators.items if i.name == indicator.name), facts())
        assert "third_party" in raised.value.message and cause in raised.value.message
