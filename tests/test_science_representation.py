"""Scientific representation of a meta-cluster formed from real clusters: knowledge organisations counted once
(same-as entities are one), per country, per stage, per cluster, the triple helix and the unsupported pairs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from federation.domain import KnowledgeEntity
from federation.formation import assess_value_chain
from federation.hub.queries import export_metacluster
from federation.science.representation import representation, serving_organisations
from tests.support.science_data import (
    agri_food_document,
    agri_food_entities,
    aub_member,
    aub_node,
    cettex_hosted,
    cettex_member,
    enim,
    esith,
    textile_clusters,
)


@pytest.fixture(scope="module")
def agri(registry):
    document = agri_food_document(registry)
    assert document["formed"] and document["countries"] == ["LB", "TN"]
    return document, registry.value_chains["agri-food"], registry.taxonomies


def test_a_university_seen_from_its_cluster_and_its_own_node_counts_once(agri):
    document, chain, taxonomies = agri
    figures = representation(document, agri_food_entities(), chain, taxonomies)
    # 11 chain members (5 in LB, 6 in TN); one knowledge organisation, AUB, from two entities.
    assert figures["knowledge_per_100_members"] == 9.1
    assert figures["by_country"] == {"LB": {"members": 5, "knowledge": 1, "per_100": 20.0},
                                     "TN": {"members": 6, "knowledge": 0, "per_100": 0.0}}
    [aub] = figures["organisations"]
    assert (aub["key"], aub["entities"], aub["countries"]) == ("aub", ["aub", "lb-agri/aub"], ["LB"])
    # Its own node's research domains count for the member QOOT lists (which gives only 4.1 and 2.11).
    assert aub["stages"] == ["inputs", "production", "processing", "logistics", "support-services"]
    assert {"stage": "processing", "how": "domain", "reason": "FORD 3.3 Health sciences supports processing",
            "evidence": "FORD 3.3 Health sciences"} in aub["links"]


def test_stages_triple_helix_and_unsupported_pairs(agri):
    document, chain, taxonomies = agri
    figures = representation(document, agri_food_entities(), chain, taxonomies)
    assert figures["by_stage"]["processing"] == {"knowledge": 1, "countries": ["LB"]}
    assert figures["by_stage"]["packaging"] == {"knowledge": 0, "countries": []}
    # Companies: 3 SMEs and a startup in LB, 3 SMEs and a large company in TN; public and support bodies: two
    # consultancies and a public laboratory; knowledge: AUB.
    assert figures["triple_helix"] == {"companies": 8, "knowledge": 1, "public_support": 3,
                                       "shares": {"companies": 0.667, "knowledge": 0.083, "public_support": 0.25}}
    assert figures["unsupported"] == (
        [{"stage": "inputs", "country": "TN"}, {"stage": "production", "country": "TN"},
         {"stage": "processing", "country": "TN"}, {"stage": "packaging", "country": "LB"},
         {"stage": "packaging", "country": "TN"}, {"stage": "logistics", "country": "TN"},
         {"stage": "market", "country": "LB"}, {"stage": "market", "country": "TN"},
         {"stage": "support-services", "country": "TN"}])


def test_the_same_figures_per_cluster(agri):
    document, chain, taxonomies = agri
    clusters = {c["id"]: c for c in representation(document, agri_food_entities(), chain, taxonomies)["clusters"]}
    assert list(clusters) == ["qoot", "olive-tn"]
    qoot, olive = clusters["qoot"], clusters["olive-tn"]
    assert (qoot["node_id"], qoot["country"], qoot["knowledge_per_100_members"]) == ("lb-agri", "LB", 20.0)
    assert qoot["by_country"] == {"LB": {"members": 5, "knowledge": 1, "per_100": 20.0}}
    assert qoot["triple_helix"]["shares"] == {"companies": 0.667, "knowledge": 0.167, "public_support": 0.167}
    assert qoot["unsupported"] == [{"stage": "packaging", "country": "LB"}, {"stage": "market", "country": "LB"}]
    assert olive["by_country"] == {"TN": {"members": 6, "knowledge": 0, "per_100": 0.0}}
    assert olive["triple_helix"]["knowledge"] == 0
    assert [p["stage"] for p in olive["unsupported"]] == [s.id for s in chain.stages]


def test_knowledge_members_the_caller_gave_no_entity_for_are_read_from_the_document(agri):
    document, chain, taxonomies = agri
    figures = representation(document, [], chain, taxonomies)
    [aub] = figures["organisations"]
    assert aub["entities"] == ["lb-agri/aub"]
    assert aub["stages"] == ["support-services"]  # what formation found for its codes, nothing more
    assert aub["links"][0]["reason"] == "its activities or offers fall in support-services, as its cluster lists them"
    assert figures["by_stage"]["processing"]["knowledge"] == 0


def test_an_entity_serving_by_claim_counts_where_it_is(agri):
    document, chain, taxonomies = agri
    sfax = KnowledgeEntity("hosted:cbs", "hosted", "Centre de Biotechnologie de Sfax", "research_centre", "TN",
                           city="Sfax", research_domains=("2.9", "1.6"), serves={"agri-food": ("processing",)})
    figures = representation(document, [*agri_food_entities(), sfax], chain, taxonomies)
    assert figures["by_country"]["TN"] == {"members": 6, "knowledge": 1, "per_100": 16.7}
    assert figures["by_stage"]["processing"] == {"knowledge": 2, "countries": ["LB", "TN"]}
    assert {"stage": "processing", "country": "TN"} not in figures["unsupported"]
    # It is no cluster's member: no cluster counts it.
    assert [c["triple_helix"]["knowledge"] for c in figures["clusters"]] == [1, 0]
    # A knowledge node in a country with no cluster counts in that country, with no member to divide by.
    bologna = KnowledgeEntity("unibo", "node", "Università di Bologna", "university", "IT",
                              research_domains=("2.5",), serves={"agri-food": ()})
    figures = representation(document, [*agri_food_entities(), bologna], chain, taxonomies)
    assert figures["by_country"]["IT"] == {"members": 0, "knowledge": 1, "per_100": None}
    assert figures["by_stage"]["packaging"] == {"knowledge": 1, "countries": ["IT"]}
    assert {"stage": "packaging", "country": "TN"} in figures["unsupported"]  # IT is not a cluster's country


def test_an_organisation_listed_by_two_clusters_counts_once_in_total_and_once_in_each_country(registry):
    chain = registry.value_chains["textile-apparel"]
    clusters = textile_clusters()
    # Casablanca's cluster lists CETTEX too (it tests Moroccan fabrics): a member of both clusters.
    ma = clusters[1]
    cettex_ma = replace(clusters[0].members[-1], node_id="ma-tex", country="MA")
    clusters[1] = replace(ma, members=(*ma.members, cettex_ma))
    document = assess_value_chain(chain, clusters, registry)
    assert document["formed"] and document["countries"] == ["MA", "TN"]
    entities = [cettex_member(), replace(cettex_member(), key="ma-tex/cettex", country="MA",
                                         cluster_node_id="ma-tex"), cettex_hosted(), enim(), esith()]
    figures = representation(document, entities, chain, registry.taxonomies)
    organisations = {o["key"]: o for o in figures["organisations"]}
    # CETTEX: two members and a hosted profile, one organisation, in both countries; ESITH serves by its claim;
    # ENIM serves no chain.
    assert sorted(organisations) == ["hosted:cettex", "hosted:esith"]
    assert organisations["hosted:cettex"]["entities"] == ["ma-tex/cettex", "tn-tex/cettex"]
    assert organisations["hosted:cettex"]["countries"] == ["MA", "TN"]
    assert figures["triple_helix"]["knowledge"] == 2
    assert figures["by_country"]["MA"]["knowledge"] == 2 and figures["by_country"]["TN"]["knowledge"] == 1
    assert [c["triple_helix"]["knowledge"] for c in figures["clusters"]] == [1, 1]
    # The hosted profile's domains (2.5, 2.4) count for the members; ESITH claims apparel and designs.
    assert figures["by_stage"]["textiles"] == {"knowledge": 2, "countries": ["MA", "TN"]}
    assert figures["by_stage"]["apparel"] == {"knowledge": 2, "countries": ["MA", "TN"]}
    # The investor in Casablanca is a public or support body, not a company.
    [casa] = [c for c in figures["clusters"] if c["id"] == "casa-textile"]
    assert (casa["triple_helix"]["companies"], casa["triple_helix"]["public_support"]) == (3, 1)


def test_serving_organisations_prefer_the_organisations_own_node(agri):
    document, chain, taxonomies = agri
    [aub] = serving_organisations(document, [aub_member(), aub_node()], chain, taxonomies)
    assert aub.key == "aub" and [e.key for e in aub.serving] == ["aub", "lb-agri/aub"]


def test_the_exported_shape_is_refused_with_a_reason(agri):
    document, chain, taxonomies = agri
    with pytest.raises(ValueError, match="full document is needed"):
        representation(export_metacluster(document), [], chain, taxonomies)
