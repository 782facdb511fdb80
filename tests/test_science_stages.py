"""Stage links: a knowledge entity on a value chain's stages by research domain (FORD fields of the stage), by
activity code (the placement formation uses) and by its own claims; and the stages' `fields:` in the value-chain
files, checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from federation import ConfigurationError, PluginError
from federation.domain import Activity, KnowledgeEntity, Stage, ValueChain
from federation.plugin_checks import ValueChainCheck
from federation.registry import Registry
from federation.science.stages import field_under, place_entity, stages_of
from federation.settings import Settings
from federation.taxonomy import TaxonomyIndex
from plugins.value_chains import load_value_chain
from tests.support.science_data import aub_node, cettex_member, esith, inrap

CONFIG = Path(__file__).resolve().parents[1] / "config" / "value_chains"


def links_as_tuples(links):
    return [(link.stage, link.how, link.reason) for link in links]


def test_research_domains_link_an_entity_to_the_stages_whose_fields_cover_them(registry):
    links = place_entity(inrap(), registry.value_chains["agri-food"], registry.taxonomies)
    assert links_as_tuples(links) == [
        ("inputs", "domain", "FORD 1.4 Chemical sciences supports inputs"),
        ("processing", "domain", "FORD 2.4 Chemical engineering supports processing"),
        ("processing", "domain", "FORD 2.9 Industrial biotechnology supports processing"),
        ("support-services", "domain", "FORD 1.4 Chemical sciences supports support-services"),
    ]
    assert links[2].evidence == "FORD 2.9 Industrial biotechnology"
    assert stages_of(links) == ["inputs", "processing", "support-services"]


def test_a_field_covers_the_fields_under_it_and_not_the_other_way_round(registry):
    taxonomies = registry.taxonomies
    assert field_under("4.1", frozenset({"4"}), taxonomies) == "4"
    assert field_under("4.1", frozenset({"4.1"}), taxonomies) == "4.1"
    assert field_under("4", frozenset({"4.1"}), taxonomies) is None  # "agricultural sciences" says no more
    assert field_under("2.10", frozenset({"2.1"}), taxonomies) is None  # nano-technology is not civil engineering
    broad = ValueChain("farming", {"en": "Farming"}, (
        Stage("fields", {"en": "Fields"}, "core", frozenset(), frozenset({"4"})),
        Stage("vets", {"en": "Vets"}, "core", frozenset(), frozenset({"4.3"}))))
    agronomist = KnowledgeEntity("x", "node", "Institut de l'Olivier", "research_centre", "TN",
                                 research_domains=("4.1", "4"))
    assert links_as_tuples(place_entity(agronomist, broad, taxonomies)) == [
        ("fields", "domain", "FORD 4.1 Agriculture, forestry, and fisheries supports fields"),
        ("fields", "domain", "FORD 4 Agricultural and veterinary sciences supports fields")]


def test_without_the_ford_list_fields_still_cover_by_their_dotted_form():
    bare = TaxonomyIndex([_nace_only()], pivot="nace-rev2")
    assert field_under("4.1", frozenset({"4"}), bare) == "4"
    assert field_under("4", frozenset({"4.1"}), bare) is None
    chain = ValueChain("c", {"en": "C"}, (Stage("s", {"en": "S"}, "core", frozenset(), frozenset({"2"})),))
    entity = KnowledgeEntity("x", "node", "X", "university", "LB", research_domains=("2.9",))
    assert links_as_tuples(place_entity(entity, chain, bare)) == [("s", "domain", "FORD 2.9 supports s")]


def _nace_only():
    from federation.taxonomy import Code, Taxonomy
    codes = {"A": Code("A", 1, None, {"en": "Agriculture"})}
    return Taxonomy("nace-rev2", {"en": "NACE"}, codes)


def test_activity_codes_link_by_the_placement_formation_uses(registry):
    chain = registry.value_chains["textile-apparel"]
    links = place_entity(cettex_member(), chain, registry.taxonomies)
    assert links_as_tuples(links) == [
        ("support-services", "activity",
         "its activity nace-rev2:71.20 (Technical testing and analysis) is in support-services")]
    # An ISIC code speaks through its NACE classes (7210: 72.11 and 72.19); a NACE division is not placed finer.
    tto = KnowledgeEntity("tto", "node", "Bureau de transfert", "tto", "TN", activities=(
        Activity("isic-rev4", "7210"), Activity("nace-rev2", "13.20"), Activity("nace-rev2", "01")))
    assert links_as_tuples(place_entity(tto, chain, registry.taxonomies)) == [
        ("textiles", "activity", "its activity nace-rev2:13.20 (Weaving of textiles) is in textiles")]
    # The textile chain's support stage lists 72.19 only: ISIC 7210 is partly on it, so no link (as in formation);
    # the agri-food chain lists both classes.
    assert links_as_tuples(place_entity(tto, registry.value_chains["agri-food"], registry.taxonomies)) == [
        ("support-services", "activity",
         "its activity isic-rev4:7210 maps to nace-rev2 72.11 and 72.19 is in support-services")]


def test_claims_link_the_stages_the_chain_has(registry):
    chain = registry.value_chains["textile-apparel"]
    entity = esith()
    claimed = KnowledgeEntity(**{**entity.__dict__, "serves": {"textile-apparel": ("apparel", "weaving-2099"),
                                                             "agri-food": ("processing",)}})
    links = place_entity(claimed, chain, registry.taxonomies)
    assert [(link.stage, link.how) for link in links] == [
        ("inputs", "domain"), ("textiles", "domain"), ("apparel", "domain"), ("apparel", "domain"),
        ("apparel", "claim"), ("leather", "domain"), ("support-services", "domain")]
    claim = next(link for link in links if link.how == "claim")
    assert claim.reason == ("École Supérieure des Industries du Textile et de l'Habillement says it serves apparel")
    # The claim on another chain links nothing here; a stage the chain lacks is no link.
    assert "weaving-2099" not in stages_of(links)


def test_every_link_is_listed_once_in_chain_order(registry):
    node = aub_node()
    twice = KnowledgeEntity(**{**node.__dict__, "research_domains": node.research_domains * 2,
                               "activities": (Activity("nace-rev2", "85.42"),) * 2})
    links = place_entity(twice, registry.value_chains["agri-food"], registry.taxonomies)
    assert len(links) == len({(link.stage, link.how, link.evidence) for link in links}) == 8
    order = [s.id for s in registry.value_chains["agri-food"].stages]
    assert [order.index(link.stage) for link in links] == sorted(order.index(link.stage) for link in links)


# -- the stages' fields in the value-chain files ---------------------------------------------------------------

def test_every_built_in_chain_maps_every_stage_to_known_fields(registry):
    ford = registry.taxonomies.by_scheme["ford"]
    for chain in registry.value_chains.values():
        for stage in chain.stages:
            assert stage.fields, (chain.id, stage.id)
            assert stage.fields <= set(ford.codes), (chain.id, stage.id)
        text = (CONFIG / f"{chain.id}.yaml").read_text(encoding="utf-8")
        assert "our own mapping, not an official one" in text
    processing = next(s for s in registry.value_chains["agri-food"].stages if s.id == "processing")
    assert {"2.9", "1.6", "3.3", "2.4"} <= processing.fields


def write_chain(tmp_path: Path, fields) -> Path:
    path = tmp_path / "olive.yaml"
    stage = {"id": "milling", "kind": "core", "codes": {"nace-rev2": ["10.41"]}}
    if fields is not None:
        stage["fields"] = fields
    path.write_text(yaml.safe_dump({"id": "olive", "stages": [stage]}), encoding="utf-8")
    return path


@pytest.mark.parametrize("fields, message", [
    (["2.9", "9.9"], "olive.yaml: stage 'milling': unknown ford code(s) '9.9'"),
    ([2.1], "olive.yaml: stage 'milling': fields 2.1 must be quoted strings"),
    ("2.9", "olive.yaml: stage 'milling': fields must be a list of ford codes"),
])
def test_a_stage_with_wrong_fields_is_a_configuration_error_naming_file_and_stage(tmp_path, registry, fields,
                                                                                  message):
    with pytest.raises(ConfigurationError) as info:
        load_value_chain(write_chain(tmp_path, fields), registry.taxonomies, "eu-ecosystems")
    assert message in info.value.message


def test_a_stage_without_fields_has_none_and_quoted_fields_are_kept(tmp_path, registry):
    assert load_value_chain(write_chain(tmp_path, None), registry.taxonomies, "eu-ecosystems").stages[0].fields \
        == frozenset()
    chain = load_value_chain(write_chain(tmp_path, ["2.10", "4"]), registry.taxonomies, "eu-ecosystems")
    assert chain.stages[0].fields == frozenset({"2.10", "4"})


def test_without_the_ford_list_fields_are_kept_unchecked_with_a_warning(tmp_path):
    registry = Registry.build(Settings.load(tmp_path, {"plugins": {"disabled": ["fields_of_science"]}}, environ={}))
    assert "ford" not in registry.taxonomies.by_scheme
    assert registry.value_chains["agri-food"].stages[0].fields == frozenset({"4.1", "4.2", "4.4", "1.4", "2.3"})
    assert any("its stages' fields are not checked" in w and "'agri-food'" in w for w in registry.warnings)


def test_a_plugin_stage_with_unknown_fields_is_refused(registry):
    check = ValueChainCheck(registry.taxonomies, "eu-ecosystems", [])
    prefixes = registry.taxonomies.pivot_prefixes({"nace-rev2": ["03"]}, "x")
    good = ValueChain("blue", {"en": "Blue"}, (Stage("fishing", {"en": "Fishing"}, "core", prefixes,
                                                      frozenset({"4.1"})),))
    assert check(good) is None
    bad = ValueChain("blue", {"en": "Blue"}, (Stage("fishing", {"en": "Fishing"}, "core", prefixes,
                                                     frozenset({"4.1", "Fisheries"})),))
    assert check(bad) == "value chain 'blue': stage 'fishing': fields 'Fisheries' are not ford codes"
    text = ValueChain("blue", {"en": "Blue"}, (Stage("fishing", {"en": "Fishing"}, "core", prefixes,
                                                      "4.1"),))  # type: ignore[arg-type]
    assert check(text) == "value chain 'blue': stage 'fishing': fields must be a set of ford codes (strings)"


def test_a_third_party_chain_with_unknown_fields_does_not_load(tmp_path, monkeypatch):
    folder = tmp_path / "modules"
    folder.mkdir()
    (folder / "bad_fields_chain.py").write_text(
        "from federation import Stage, ValueChain, hookimpl\n"
        "@hookimpl\n"
        "def medmci_register_value_chains(taxonomies):\n"
        "    prefixes = taxonomies.pivot_prefixes({'nace-rev2': ['03']}, 'x')\n"
        "    return [ValueChain('blue', {'en': 'Blue'}, (Stage('fishing', {'en': 'Fishing'}, 'core', prefixes,\n"
        "                                                      frozenset({'4.77'})),))]\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    with pytest.raises(PluginError) as info:
        Registry.build(Settings.load(tmp_path, {"plugins": {"extra": ["bad_fields_chain"]}}, environ={}))
    assert (info.value.plugin, info.value.hook) == ("bad_fields_chain", "medmci_register_value_chains")
    assert "fields '4.77' are not ford codes" in info.value.cause
