"""The matchmaking core: hand-made federations whose right answer is known, scorer plugins, refused scorers."""

from __future__ import annotations

import random
import types

import numpy as np
import pluggy
import pytest
from scipy import sparse

from federation import PluginError, hookimpl, hookspecs
from federation.matching import MatchMember, MatchOptions, Scorer, load_scorers, refresh, stages_of, top_k
from plugins import match_scorers
from plugins.match_scorers import fold


def member(key: str, country: str, registry=None, **fields) -> MatchMember:
    codes = fields.get("offer_codes", ()) + fields.get("activity_codes", ()) + fields.get("need_codes", ())
    if registry is not None and "stages" not in fields:
        fields["stages"] = stages_of(codes, registry.value_chains, registry.taxonomies)
    return MatchMember(key=key, cluster_id=key.split("/")[0], node_id=key.split("/")[0], country=country,
                       kind=fields.pop("kind", "sme"), name=fields.pop("name", key.split("/")[1].upper()), **fields)


@pytest.fixture(scope="module")
def builtins(registry):
    return load_scorers(registry.pm, registry.settings, registry.taxonomies, registry.value_chains)


def only(builtins, *names):
    return {s.name: (1.0 if s.name in names else 0.0) for s in builtins.scorers}


def partners(result, key):
    return [s.partner for s in result[key]]


def test_the_builtin_scorers_load_with_their_weights_from_the_settings(builtins, registry):
    assert [s.name for s in builtins.scorers] == ["codes", "value_chain", "text", "countries", "languages"]
    assert builtins.weights == registry.settings.get("plugins.match_scorers.weights")
    assert set(builtins.plugins.values()) == {"match_scorers"}


def test_an_offer_meets_a_need_by_code_and_parents_count_partially(builtins, registry):
    members = [member("qoot/juice", "LB", registry, offer_codes=("10.32",)),
               member("es/bottler", "ES", registry, need_codes=("10.32",)),
               member("lv/buyer", "LV", registry, need_codes=("10.3",)),  # the group above 10.32
               member("ma/software", "MA", registry, need_codes=("62.01",)),
               member("lb/neighbour", "LB", registry, need_codes=("10.32",))]  # same country: never suggested
    result = top_k(members, builtins.scorers, only(builtins, "codes"), method="exact")
    assert partners(result, "qoot/juice") == ["es/bottler", "lv/buyer"]
    exact, parent = (s.score for s in result["qoot/juice"])
    assert exact == pytest.approx(0.5)  # my offers meet your needs; your offers (none) meet my needs (none)
    assert 0 < parent < exact
    reasons = [r.text for r in result["qoot/juice"][0].reasons]
    assert reasons == ["offers 10.32 Manufacture of fruit and vegetable juice that BOTTLER needs"]
    assert [r.text for r in result["qoot/juice"][1].reasons] == [
        "offers 10.32 Manufacture of fruit and vegetable juice that BUYER needs (10.3)"]
    assert partners(result, "es/bottler") == ["qoot/juice"]
    assert result["ma/software"] == []


def test_text_meets_across_english_french_and_arabic(builtins, registry):
    weights = only(builtins, "text")
    members = [member("qoot/a", "LB", registry, offers_text="عَصِيرُ الفَوَاكِهِ الطَّبِيعِيّ", offer_codes=("10.32",)),
               member("es/fr", "ES", registry, needs_text="Jus de fruits frais pour nos hôtels"),
               member("lv/en", "LV", registry, needs_text="Fruit juice, cold pressed"),
               member("ma/ar", "MA", registry, needs_text="عصير الفواكه"),  # no diacritics: the same words
               member("tn/other", "TN", registry, needs_text="Développement de logiciels et hébergement")]
    result = top_k(members, builtins.scorers, weights, method="exact")
    ranked = partners(result, "qoot/a")
    assert ranked[0] == "ma/ar"  # the same Arabic words, once folded
    assert set(ranked[1:3]) == {"es/fr", "lv/en"}  # French and English reached through the code's labels
    scores = {s.partner: s.score for s in result["qoot/a"]}
    assert scores.get("tn/other", 0) < min(scores["es/fr"], scores["lv/en"])
    assert result["qoot/a"][0].reasons[0].text.startswith("offers 'عَصِيرُ")


def test_fold_removes_case_accents_and_arabic_diacritics_and_variants():
    assert fold("Préparation DE Jus") == "preparation de jus"
    assert fold("عَصِيرُ") == fold("عصير")
    assert fold("أحمد إسلام آمنة مكتبة ـــ") == fold("احمد اسلام امنه مكتبه ")


def test_value_chain_adjacency_both_ways(builtins, registry):
    members = [member("qoot/press", "LB", registry, activity_codes=("10.32",)),      # processing (stage 2)
               member("es/cans", "ES", registry, activity_codes=("17.21",)),          # packaging (stage 3)
               member("lv/seeds", "LV", registry, activity_codes=("01.30",)),         # inputs (stage 0)
               member("ma/farm", "MA", registry, activity_codes=("01.24",))]          # production (stage 1)
    assert ("agri-food", 2) in members[0].stages and ("agri-food", 3) in members[1].stages
    result = top_k(members, builtins.scorers, only(builtins, "value_chain"), method="exact")
    reasons = {s.partner: [r.text for r in s.reasons] for s in result["qoot/press"]}
    assert set(reasons) == {"es/cans", "ma/farm"}  # not the seeds: inputs supply production, not processing
    assert "stage 2 processing supplies stage 3 packaging of agri-food" in reasons["es/cans"]
    assert "FARM's stage 1 production supplies stage 2 processing of agri-food" in reasons["ma/farm"]
    assert partners(result, "lv/seeds") == ["ma/farm"]


def test_countries_and_languages_say_which(builtins, registry):
    members = [member("qoot/a", "LB", registry, export_markets=("ES", "FR"), languages=("ar", "fr")),
               member("es/b", "ES", registry, export_markets=("FR",), languages=("fr", "es")),
               member("lv/c", "LV", registry, languages=("lv",))]
    result = top_k(members, builtins.scorers, only(builtins, "countries", "languages"), method="exact")
    assert partners(result, "qoot/a") == ["es/b"]
    texts = [r.text for r in result["qoot/a"][0].reasons]
    assert texts == ["exports to ES", "both export to FR", "both work in French"]
    assert [r.scorer for r in result["qoot/a"][0].reasons] == ["countries", "countries", "languages"]


def random_federation(registry, size: int, seed: int) -> list[MatchMember]:
    rng = random.Random(seed)
    classes = sorted(c.code for c in registry.taxonomies.by_scheme["nace-rev2"].codes.values() if c.level == 4)
    pool = rng.sample(classes, 12)
    countries = ["LB", "MA", "TN", "ES", "LV", "BE"]
    words = ["olive oil", "huile d'olive", "زيت الزيتون", "juice", "jus", "packaging", "emballage", "تغليف",
             "logistics", "cold storage"]
    return [member(f"n{i % 7}/m{i}", rng.choice(countries), registry,
                   offer_codes=tuple(rng.sample(pool, rng.randint(0, 2))),
                   need_codes=tuple(rng.sample(pool, rng.randint(0, 2))),
                   offers_text=" ".join(rng.sample(words, 2)), needs_text=" ".join(rng.sample(words, 2)),
                   export_markets=tuple(rng.sample(countries, rng.randint(0, 2))),
                   languages=tuple(rng.sample(["en", "fr", "ar"], rng.randint(1, 2))))
            for i in range(size)]


def test_approximate_equals_exact_where_pruning_cannot_bite_and_rules_hold(builtins, registry):
    members = random_federation(registry, 120, seed=7)
    by_key = {m.key: m for m in members}
    options = MatchOptions(max_df_share=1.0, max_heavy_df_share=1.0, top_features=10**6, candidates=10**6)
    exact = top_k(members, builtins.scorers, builtins.weights, method="exact", with_reasons=False)
    approximate = top_k(members, builtins.scorers, builtins.weights, method="approximate", options=options,
                        with_reasons=False)
    assert {k: [(s.partner, s.score) for s in v] for k, v in exact.items()} == \
        {k: [(s.partner, s.score) for s in v] for k, v in approximate.items()}
    for key, suggestions in exact.items():
        assert len(suggestions) == 10
        assert all(by_key[s.partner].country != by_key[key].country and s.partner != key for s in suggestions)
        assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
        assert all(0 < s.score <= 1 for s in suggestions)


def test_refresh_equals_a_full_recompute(builtins, registry):
    before = random_federation(registry, 150, seed=3)
    previous = top_k(before, builtins.scorers, builtins.weights, method="exact")
    rng = random.Random(5)
    after = random_federation(registry, 150, seed=4)  # another draw: take some of its members as the changes
    changed = {m.key for m in before if m.key.startswith("n2/")}
    now = [a if b.key in changed else b for b, a in zip(before, after, strict=True)]
    removed = rng.choice([m.key for m in now if m.key not in changed])
    now = [m for m in now if m.key != removed]
    changed.add(removed)
    refreshed = refresh(previous, now, changed, builtins.scorers, builtins.weights, method="exact")
    assert refreshed == top_k(now, builtins.scorers, builtins.weights, method="exact")
    assert removed not in refreshed


class SameKind(Scorer):
    name = "same-kind"
    weight = 0.5

    def features(self, members):
        kinds = sorted({m.kind for m in members})
        rows = sparse.csr_matrix((np.ones(len(members)), [kinds.index(m.kind) for m in members],
                                  np.arange(len(members) + 1)), shape=(len(members), len(kinds)))
        return rows, rows

    def explain(self, a, b):
        return [f"both are {a.kind}"]


def manager(*plugins) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name, plugin in plugins:
        pm.register(plugin, name=name)
    return pm


def scorers_plugin(*scorers) -> types.SimpleNamespace:
    @hookimpl
    def medmci_match_scorers(settings):
        return list(scorers)

    return types.SimpleNamespace(medmci_match_scorers=medmci_match_scorers)


def test_a_plugin_scorer_takes_part_with_its_reasons(registry):
    pm = manager(("match_scorers", match_scorers), ("same_kind", scorers_plugin(SameKind())))
    loaded = load_scorers(pm, registry.settings, registry.taxonomies, registry.value_chains)
    assert loaded.plugins["same-kind"] == "same_kind"
    members = [member("qoot/a", "LB", registry, kind="university"), member("es/b", "ES", registry, kind="sme"),
               member("lv/c", "LV", registry, kind="university")]
    result = top_k(members, loaded.scorers, {**{s: 0 for s in loaded.weights}, "same-kind": 1},
                   plugins=loaded.plugins)
    assert [(s.partner, s.score, [r.text for r in s.reasons]) for s in result["qoot/a"]] == [
        ("lv/c", 1.0, ["both are university"])]


class Nameless(SameKind):
    name = ""


class TooLong(SameKind):
    name = "too-long"

    def features(self, members):
        left, right = super().features(members)
        return left * 2, right


class WrongShape(SameKind):
    name = "wrong-shape"

    def features(self, members):
        left, right = super().features(members)
        return left[:1], right


@pytest.mark.parametrize(("scorer", "message"), [
    (Nameless(), "a match scorer needs a name"),
    (object(), "a match scorer needs the method(s) features, explain"),
])
def test_a_bad_scorer_is_refused_at_load_naming_its_plugin(registry, scorer, message):
    pm = manager(("bad_plugin", scorers_plugin(scorer)))
    with pytest.raises(PluginError) as refused:
        load_scorers(pm, registry.settings, registry.taxonomies, registry.value_chains)
    assert refused.value.plugin == "bad_plugin"
    assert message in refused.value.cause


def test_a_duplicate_scorer_name_is_refused_naming_the_later_plugin(registry):
    class Codes(SameKind):
        name = "codes"

    pm = manager(("match_scorers", match_scorers), ("copycat", scorers_plugin(Codes())))
    with pytest.raises(PluginError) as refused:
        load_scorers(pm, registry.settings, registry.taxonomies, registry.value_chains)
    assert refused.value.plugin == "copycat"
    assert "two match scorers are named 'codes'" in refused.value.cause


@pytest.mark.parametrize(("scorer", "message"), [
    (WrongShape(), "returned matrices of shapes (1, 2) and (3, 2); both must be (3, f)"),
    (TooLong(), "a row of the left matrix has norm 2.0000; at most 1"),
])
def test_a_scorer_whose_matrices_break_the_contract_is_refused_when_matching(registry, scorer, message):
    members = [member("qoot/a", "LB", kind="university"), member("es/b", "ES", kind="sme"),
               member("lv/c", "LV", kind="university")]
    with pytest.raises(PluginError) as refused:
        top_k(members, [scorer], {scorer.name: 1}, plugins={scorer.name: "bad_plugin"})
    assert refused.value.plugin == "bad_plugin"
    assert message in refused.value.cause
