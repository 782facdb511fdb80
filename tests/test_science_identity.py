"""Same-as links: one organisation seen from several sources (a cluster's member, its own knowledge node, a hosted
profile), matched by ROR id, national id, website or name and city; never two entities of one publisher; canonical
groups for counting."""

from __future__ import annotations

from dataclasses import replace

import pytest

from federation.domain import KnowledgeEntity
from federation.science.identity import (
    canonical,
    name_city_key,
    normalise_name,
    organisations,
    same_as_links,
    website_key,
)
from tests.support.science_data import aub_member, aub_node, cettex_hosted, cettex_member, enim, inrap, unibo


def entity(key: str, source: str, name: str, country: str = "TN", **fields) -> KnowledgeEntity:
    return KnowledgeEntity(key, source, name, fields.pop("kind", "university"), country, **fields)


@pytest.mark.parametrize("raw, expected", [
    ("Université de Sfax", "universite de sfax"),
    ("UNIVERSITE  DE SFAX.", "universite de sfax"),
    ("Institut Supérieur des Études Technologiques (ISET) de Sousse", "institut superieur des etudes "
                                                                      "technologiques iset de sousse"),
    ("جامعة صفاقس", "جامعة صفاقس"),
    ("الجامعة اللبنانيّة", "الجامعة اللبنانية"),  # a shadda is a mark, not a letter
    ("جـــامعة", "جامعة"),  # tatweel is typography
    ("أكاديمية", "اكاديمية"),  # the hamza over the alef is dropped, as an accent is
    ("Ｕｎｉｖｅｒｓｉｔé", "universite"),  # full-width letters (NFKC)
    ("I.N.R.A.T.", "inrat"),  # a dotted acronym is the acronym
    ("Université d'Alger 1", "universite d alger 1"),  # a lone letter stays a word
])
def test_names_are_compared_without_case_accents_or_punctuation(raw, expected):
    assert normalise_name(raw) == expected


def test_common_words_are_kept():
    assert normalise_name("Université de Tunis") != normalise_name("Tunis")
    assert name_city_key(entity("a", "node", "Université de Tunis", city="Tunis")) == \
        "TN|universite de tunis|tunis"


@pytest.mark.parametrize("url, key", [
    ("https://www.aub.edu.lb/", "aub.edu.lb"),
    ("http://AUB.edu.lb", "aub.edu.lb"),
    ("aub.edu.lb", "aub.edu.lb"),
    ("https://aub.edu.lb:443/?lang=en", "aub.edu.lb"),
    ("https://fafs.aub.edu.lb", "fafs.aub.edu.lb"),  # a faculty's host is its own
    ("https://www.facebook.com/AgroLab/", "facebook.com/agrolab"),
    ("", None),
    ("https://[broken", None),
])
def test_website_keys(url, key):
    assert website_key(url) == key


def test_the_same_university_from_its_cluster_and_its_own_node_is_linked_by_all_it_shares():
    links = same_as_links([aub_member(), aub_node(), inrap(), unibo()])
    assert [link.as_dict() for link in links] == [{
        "a": "aub", "b": "lb-agri/aub", "matched": ["ror", "website", "name_city"],
        "reason": "same ROR id 04pznsd21; same website aub.edu.lb; same name and city in LB "
                  "(American University of Beirut, Beirut)"}]


def test_a_technical_centre_listed_by_its_cluster_and_hosted_by_the_hub_is_linked_by_website():
    links = same_as_links([cettex_member(), cettex_hosted(), enim()])
    assert [(link.a, link.b, link.matched) for link in links] == [("hosted:cettex", "tn-tex/cettex", ("website",))]
    assert links[0].reason == "same website cettex.com.tn"


def test_national_ids_match_within_a_country_only():
    a = entity("hosted:a", "hosted", "INRAP", identifiers={"national_id": "0123456A"})
    b = entity("b", "node", "Institut National de Recherche", identifiers={"national_id": "0123-456 a"})
    c = entity("c", "node", "Another", country="MA", identifiers={"national_id": "0123456A"})
    links = same_as_links([a, b, c])
    assert [(link.a, link.b, link.matched, link.reason) for link in links] == [
        ("b", "hosted:a", ("national_id",), "same national id in TN (0123456a)")]


def test_name_and_city_link_when_nothing_stronger_disagrees():
    member = entity("tn-agri/inrat", "member", "I.N.R.A.T.", city="Tunis", cluster_node_id="tn-agri")
    hosted = entity("hosted:inrat", "hosted", "INRAT", city="TUNIS")
    node = entity("inrat", "node", "inrat", city="Tunis", identifiers={"ror": "03mqd8v25"})
    assert [(link.a, link.b, link.matched) for link in same_as_links([member, hosted, node])] == [
        ("hosted:inrat", "inrat", ("name_city",)), ("hosted:inrat", "tn-agri/inrat", ("name_city",))]
    assert set(canonical([member, hosted, node], same_as_links([member, hosted, node])).values()) == {"inrat"}
    # Another city is another organisation (a university's campus in another town is not linked by name alone).
    elsewhere = replace(hosted, city="Sfax")
    assert [(link.a, link.b) for link in same_as_links([member, elsewhere])] == []


def test_different_ror_ids_veto_a_weaker_match():
    a = entity("a", "node", "Université de Sousse", city="Sousse", identifiers={"ror": "00dmpgj58"})
    b = entity("b", "node", "Université de Sousse", city="Sousse", identifiers={"ror": "05p2x8k05"})
    c = entity("hosted:c", "hosted", "Universite de Sousse", city="Sousse")
    links = same_as_links([a, b, c])
    # c is like both; a and b are not one: c joins the first it may, never a to b directly.
    assert [(link.a, link.b) for link in links] == [("a", "hosted:c")]
    groups = canonical([a, b, c], links)
    assert groups["a"] == groups["hosted:c"] == "a" and groups["b"] == "b"


def test_two_members_of_one_cluster_are_never_linked():
    one = entity("tn-agri/f1", "member", "Université de Carthage", city="Tunis", website="https://ucar.rnu.tn",
                 cluster_node_id="tn-agri")
    two = replace(one, key="tn-agri/f2")
    assert same_as_links([one, two]) == []
    # A third entity like both joins both: the organisation is counted once.
    own = entity("ucar", "node", "Université de Carthage", city="Tunis", website="https://www.ucar.rnu.tn/")
    links = same_as_links([one, two, own])
    assert [(link.a, link.b) for link in links] == [("tn-agri/f1", "ucar"), ("tn-agri/f2", "ucar")]
    assert set(canonical([one, two, own], links).values()) == {"ucar"}


def test_canonical_prefers_the_organisations_own_node_then_its_hosted_profile():
    member, node = aub_member(), aub_node()
    hosted = entity("hosted:aub", "hosted", "American University of Beirut", country="LB", city="Beirut",
                    identifiers={"ror": "04pznsd21"})
    everyone = [member, node, hosted, inrap()]
    mapping = canonical(everyone, same_as_links(everyone))
    assert mapping == {"lb-agri/aub": "aub", "aub": "aub", "hosted:aub": "aub", "inrap": "inrap"}
    assert canonical([member, hosted], same_as_links([member, hosted])) == {"lb-agri/aub": "hosted:aub",
                                                                            "hosted:aub": "hosted:aub"}
    assert organisations(mapping) == {"aub", "inrap"}
    assert organisations(mapping, ["lb-agri/aub", "hosted:aub", "unknown"]) == {"aub", "unknown"}


def test_links_to_entities_not_given_are_ignored():
    links = same_as_links([aub_member(), aub_node()])
    assert canonical([aub_member()], links) == {"lb-agri/aub": "lb-agri/aub"}


def test_the_links_do_not_depend_on_the_order_of_the_entities():
    everyone = [aub_member(), aub_node(), cettex_member(), cettex_hosted(), enim(), inrap(), unibo()]
    assert same_as_links(everyone) == same_as_links(list(reversed(everyone)))


def test_a_value_shared_by_more_entities_than_the_bound_links_none_of_them():
    """Two hostile clusters listing thousands of members with one website (and a ROR id each, so no join ever
    succeeds) would make every pair of them a join attempt: a value shared by more than ``max_shared`` entities
    identifies no one organisation and is not used (the work per value is bounded by the square of the bound)."""
    def member(node: str, number: int) -> KnowledgeEntity:
        return entity(f"{node}/m{number}", "member", f"Lab {node} {number}", cluster_node_id=node,
                      website="https://platform.example/", identifiers={"ror": f"0{node}{number:06d}"[:9]})

    shared = [member(node, number) for node in ("aa", "bb") for number in range(3)]
    node = entity("node-x", "node", "X University", website="https://platform.example")
    assert same_as_links([*shared[:1], node], max_shared=6)  # a value few share still links
    assert same_as_links([*shared, node], max_shared=6) == []  # seven share it: no link is made of it
    # The ROR id of one of them still links it to its own node.
    own = entity("node-y", "node", "Y", identifiers={"ror": shared[0].identifiers["ror"]})
    assert [(link.a, link.matched) for link in same_as_links([*shared, node, own], max_shared=6)] == [
        ("aa/m0", ("ror",))]
