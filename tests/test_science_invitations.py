"""Invitations: the knowledge organisations a meta-cluster could invite (those that do not serve it and would
support an unsupported stage), ranked by the hook medmci_rank_invitations: the built-in ranking with its settings,
a third-party ranking that replaces it, and what a plugin returns checked, naming the plugin."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import pytest

from federation import PluginError
from federation.domain import KnowledgeEntity
from federation.formation import assess_value_chain
from federation.registry import Registry
from federation.science.invitations import checked_suggestions, invitation_candidates, rank_invitations
from federation.science.representation import representation
from federation.settings import Settings
from tests.support.science_data import (
    agri_food_document,
    agri_food_entities,
    cettex_hosted,
    cettex_member,
    enim,
    esith,
    textile_clusters,
)


@pytest.fixture(scope="module")
def agri(registry):
    document = agri_food_document(registry)
    chain = registry.value_chains["agri-food"]
    entities = agri_food_entities()
    figures = representation(document, entities, chain, registry.taxonomies)
    candidates = invitation_candidates(document, figures, entities, chain, registry.taxonomies)
    return document, figures, candidates


def settings_with(tmp_path, **block) -> Settings:
    return Settings.load(tmp_path, {"plugins": {"invitation_ranking": block}} if block else None, environ={})


def test_candidates_are_organisations_not_serving_that_fill_a_gap(agri):
    _document, _figures, candidates = agri
    # AUB serves already (its member and its node); ENSI (computer science) supports no stage.
    assert [(c.key, c.fills, c.open_stages) for c in candidates] == [
        ("hosted:packtec", (("packaging", "TN"),), ("packaging",)),
        ("inrap", (("inputs", "TN"), ("processing", "TN"), ("support-services", "TN")), ()),
        # Bologna is in no country of the meta-cluster: it can only bring a stage nobody supports.
        ("unibo", (), ("packaging",)),
    ]
    inrap = candidates[1]
    assert inrap.evidence("processing") == ["FORD 2.4 Chemical engineering", "FORD 2.9 Industrial biotechnology"]
    assert inrap.specificity == 1.0


def test_an_organisation_already_serving_is_no_candidate_from_another_source(registry, agri):
    document, figures, _candidates = agri
    hosted_aub = KnowledgeEntity("hosted:aub", "hosted", "AUB", "university", "LB", identifiers={"ror": "04pznsd21"},
                                 research_domains=("2.5",))
    entities = [*agri_food_entities(), hosted_aub]
    candidates = invitation_candidates(document, figures, entities, registry.value_chains["agri-food"],
                                       registry.taxonomies)
    assert "hosted:aub" not in [c.key for c in candidates]
    # Two entities of one candidate organisation are one candidate, its own node standing for it.
    inrap_hosted = KnowledgeEntity("hosted:inrap", "hosted", "INRAP", "research_centre", "TN",
                                   identifiers={"national_id": "0123456A"}, research_domains=("2.5",))
    candidates = invitation_candidates(document, figures, [*agri_food_entities(), inrap_hosted],
                                       registry.value_chains["agri-food"], registry.taxonomies)
    [inrap] = [c for c in candidates if "inrap" in (c.key, *c.same_as)]
    assert (inrap.key, inrap.same_as) == ("inrap", ("hosted:inrap",))
    assert ("packaging", "TN") in inrap.fills  # its hosted profile's materials research
    assert inrap.specificity == 1.0


def test_the_built_in_ranking_puts_a_gap_in_the_own_country_first_with_its_reasons(registry, agri, tmp_path):
    document, figures, candidates = agri
    ranked = rank_invitations(registry.pm, document, figures, candidates, settings_with(tmp_path))
    assert [(s["entity"], s["score"]) for s in ranked] == [("hosted:packtec", 0.65), ("inrap", 0.594),
                                                           ("unibo", 0.325)]
    packtec, inrap, unibo = ranked
    assert inrap["reasons"] == [
        "supports inputs in TN, where no knowledge member does; FORD 1.4 Chemical sciences",
        "supports processing in TN, where no knowledge member does; FORD 2.4 Chemical engineering, "
        "FORD 2.9 Industrial biotechnology",
        "supports support-services in TN, where no knowledge member does; FORD 1.4 Chemical sciences",
        "3 of its 3 research domains support agri-food"]
    assert inrap["fills"] == [{"stage": "inputs", "country": "TN"}, {"stage": "processing", "country": "TN"},
                              {"stage": "support-services", "country": "TN"}]
    assert (inrap["name"], inrap["kind"], inrap["country"]) == (
        "Institut National de Recherche et d'Analyse Physico-chimique", "research_centre", "TN")
    assert packtec["reasons"] == [
        "supports packaging in TN, where no knowledge member does, nor in any other country of the meta-cluster; "
        "FORD 2.5 Materials engineering",
        "its one research domain supports agri-food",
        "offers consulting, testing, training"]
    assert unibo["reasons"][0] == ("supports packaging, which no knowledge member supports in any country of the "
                                   "meta-cluster; FORD 2.5 Materials engineering")
    assert unibo["fills"] == []


def test_the_weights_and_the_number_of_suggestions_are_settings(registry, agri, tmp_path):
    document, figures, candidates = agri
    only_gaps = settings_with(tmp_path, open_stage_weight=0, specificity_weight=0, services_weight=0,
                              max_suggestions=2)
    ranked = rank_invitations(registry.pm, document, figures, candidates, only_gaps)
    # Three gaps in its own country (1 - 1/8) before one (1/2); Bologna, with none, is cut by max_suggestions.
    assert [(s["entity"], s["score"]) for s in ranked] == [("inrap", 0.875), ("hosted:packtec", 0.5)]


@pytest.mark.parametrize("block, message", [
    ({"own_country_gap_weight": -1}, "plugins.invitation_ranking.own_country_gap_weight must be a number"),
    ({"own_country_gap_weight": 0, "open_stage_weight": 0, "specificity_weight": 0, "services_weight": 0},
     "the weights add up to 0"),
    ({"services_for_full_score": 0}, "services_for_full_score must be a whole number of at least 1"),
])
def test_wrong_ranking_settings_are_an_error_naming_the_plugin(registry, agri, tmp_path, block, message):
    document, figures, candidates = agri
    with pytest.raises(PluginError) as info:
        rank_invitations(registry.pm, document, figures, candidates, settings_with(tmp_path, **block))
    assert (info.value.plugin, info.value.hook) == ("invitation_ranking", "medmci_rank_invitations")
    assert message in info.value.cause


def test_a_tunisian_textile_meta_cluster_invites_a_business_school_for_logistics_and_trade(registry, tmp_path):
    chain = registry.value_chains["textile-apparel"]
    document = assess_value_chain(chain, textile_clusters(), registry)
    ihec = KnowledgeEntity("hosted:ihec", "hosted", "Institut des Hautes Études Commerciales de Sousse",
                           "university", "TN", city="Sousse", research_domains=("5.2", "5.8"),
                           services=("training", "consulting"))
    ensait = replace(enim(), key="hosted:ensait", name="ENSAIT", country="FR", city="Roubaix",
                     research_domains=("2.5", "6.4"))
    entities = [cettex_member(), cettex_hosted(), enim(), esith(), ensait, ihec]
    figures = representation(document, entities, chain, registry.taxonomies)
    assert [o["key"] for o in figures["organisations"]] == ["hosted:cettex", "hosted:esith"]
    assert figures["unsupported"] == [{"stage": "logistics", "country": "MA"}, {"stage": "logistics", "country": "TN"},
                                      {"stage": "market", "country": "MA"}, {"stage": "market", "country": "TN"}]
    candidates = invitation_candidates(document, figures, entities, chain, registry.taxonomies)
    # ENIM (materials and mechanical engineering, Monastir) and ENSAIT (France) would support only stages that
    # CETTEX and ESITH support already: no candidates.
    assert [c.key for c in candidates] == ["hosted:ihec"]
    [suggestion] = rank_invitations(registry.pm, document, figures, candidates, settings_with(tmp_path))
    assert suggestion["reasons"] == [
        "supports logistics in TN, where no knowledge member does, nor in any other country of the meta-cluster; "
        "FORD 5.2 Economics and business",
        "supports market in TN, where no knowledge member does, nor in any other country of the meta-cluster; "
        "FORD 5.2 Economics and business",
        "1 of its 2 research domains supports textile-apparel",
        "offers consulting, training"]
    # 0.45 x 0.75 + 0.25 x 0.75 + 0.2 x 0.5 + 0.1 x 2/3
    assert suggestion["score"] == 0.692


# -- a third-party ranking -----------------------------------------------------------------------------------------

@pytest.fixture
def ranking_plugin(tmp_path, monkeypatch):
    """``ranking_plugin("name", body)`` -> a registry whose plugins include the module ``name`` with a
    ``medmci_rank_invitations`` of that body, loaded through ``plugins.extra`` as an operator would."""
    folder = tmp_path / "modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    names = []

    def make(name: str, body: str) -> Registry:
        source = ("from federation import hookimpl\n\n@hookimpl\n"
                  "def medmci_rank_invitations(candidates, representation):\n" + textwrap.indent(body, "    "))
        (folder / f"{name}.py").write_text(source, encoding="utf-8")
        names.append(name)
        return Registry.build(Settings.load(tmp_path / name, {"plugins": {"extra": [name]}}, environ={}))

    yield make
    import sys
    for name in names:
        sys.modules.pop(name, None)


def test_a_third_party_ranking_replaces_the_built_in(ranking_plugin, agri, tmp_path):
    document, figures, candidates = agri
    registry = ranking_plugin("tto_first", textwrap.dedent("""
        # Technology centres first, whatever the gaps: a programme that funds technology transfer.
        ranked = sorted(candidates, key=lambda c: (c.entity.kind != "technology_centre", c.key))
        return [{"entity": c.key, "score": 1.0 if c.entity.kind == "technology_centre" else 0.1,
                 "reasons": [f"{c.entity.kind}; {len(representation['unsupported'])} pairs unsupported"],
                 "fills": [{"stage": s, "country": k} for s, k in c.fills]} for c in ranked]
    """))
    ranked = rank_invitations(registry.pm, document, figures, candidates, registry.settings)
    assert [(s["entity"], s["score"], s["reasons"]) for s in ranked] == [
        ("hosted:packtec", 1.0, ["technology_centre; 9 pairs unsupported"]),
        ("inrap", 0.1, ["research_centre; 9 pairs unsupported"]),
        ("unibo", 0.1, ["university; 9 pairs unsupported"])]


def test_a_ranking_that_passes_leaves_it_to_the_built_in(ranking_plugin, agri):
    document, figures, candidates = agri
    registry = ranking_plugin("passing_ranker", "return None\n")
    ranked = rank_invitations(registry.pm, document, figures, candidates, registry.settings)
    assert [s["entity"] for s in ranked] == ["hosted:packtec", "inrap", "unibo"]


@pytest.mark.parametrize("body, cause", [
    ('return [{"entity": "nobody", "score": 0.5}]', "suggestion #1 names entity 'nobody', which is not a candidate"),
    ('return [{"entity": candidates[0].key, "score": 1.5}]', "score 1.5 is not a number from 0 to 1"),
    ('return [{"entity": candidates[0].key, "score": True}]', "score True is not a number from 0 to 1"),
    ('return [{"entity": candidates[0].key, "score": float("nan")}]', "score nan is not a number from 0 to 1"),
    ('return {"entity": candidates[0].key}', "returned dict, not a list of suggestions"),
    ('return [{"entity": c, "score": 0.5} for c in ["inrap", "inrap"]]', "names entity 'inrap' a second time"),
    ('return [{"entity": "inrap", "score": 0.5, "fills": [{"stage": "market", "country": "TN"}]}]',
     "which is not one of the candidate's unsupported (stage, country) pairs"),
    ('return [{"entity": "inrap", "score": 0.5, "reasons": "good"}]', "reasons must be a list of at most 20 texts"),
    ('raise RuntimeError("ranking service down")', "raised RuntimeError: ranking service down"),
], ids=["unknown-entity", "score-above-1", "score-bool", "score-nan", "not-a-list", "twice", "fills", "reasons",
        "raises"])
def test_what_a_ranking_plugin_returns_is_checked_and_a_fault_names_it(ranking_plugin, agri, body, cause):
    document, figures, candidates = agri
    registry = ranking_plugin("faulty_ranker", body + "\n")
    with pytest.raises(PluginError) as info:
        rank_invitations(registry.pm, document, figures, candidates, registry.settings)
    assert (info.value.plugin, info.value.hook) == ("faulty_ranker", "medmci_rank_invitations")
    assert cause in info.value.cause


def test_checked_suggestions_keep_the_contract_keys(agri):
    _document, _figures, candidates = agri
    out = checked_suggestions([{"entity": "unibo", "score": 0, "reasons": ["x"], "extra": "dropped"}], candidates)
    assert out == [{"entity": "unibo", "name": "Università di Bologna", "kind": "university", "country": "IT",
                    "score": 0.0, "reasons": ["x"], "fills": []}]
