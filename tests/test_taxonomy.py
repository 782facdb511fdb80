"""Taxonomies as the default plugins provide them: NACE Rev. 2, ISIC Rev. 4 and the EU ecosystems list; the index
that validates codes and normalises them to the pivot scheme (federation.taxonomy)."""

from __future__ import annotations

from collections import Counter

import pytest

from federation.errors import ConfigurationError
from federation.taxonomy import Code, Taxonomy, TaxonomyIndex

NACE = "nace-rev2"
ISIC = "isic-rev4"


@pytest.fixture(scope="module")
def index(registry) -> TaxonomyIndex:
    return registry.taxonomies


def level_counts(taxonomy: Taxonomy) -> dict[int, int]:
    return dict(Counter(code.level for code in taxonomy.codes.values()))


def label_languages(taxonomy: Taxonomy) -> set[str]:
    return {lang for code in taxonomy.codes.values() for lang in code.labels}


# -- the loaded code lists ---------------------------------------------------------------------------------------

def test_loaded_schemes_and_pivot(index):
    assert set(index.by_scheme) == {NACE, ISIC, "eu-ecosystems", "ford"}
    assert index.pivot == NACE
    assert index.activity_schemes == [ISIC, NACE]


def test_ford_is_the_oecd_research_fields_list_not_an_activity_scheme(index):
    ford = index.by_scheme["ford"]
    assert not ford.activity
    assert sorted(c.code for c in ford.codes.values() if c.level == 1) == ["1", "2", "3", "4", "5", "6"]
    assert len([c for c in ford.codes.values() if c.level == 2]) == 42
    assert ford.codes["2.9"].parent == "2"
    assert ford.label("2.9") == "Industrial biotechnology"
    assert ford.label("4.1", "ar") == "Agriculture, forestry, and fisheries"  # English is the fallback


def test_nace_rev2_has_the_official_structure(index):
    nace = index.by_scheme[NACE]
    # sections, divisions, groups, classes
    assert level_counts(nace) == {1: 21, 2: 88, 3: 272, 4: 615}
    assert len(nace.codes) == 21 + 88 + 272 + 615
    assert nace.activity is True


def test_nace_rev2_has_english_and_french_labels(index):
    nace = index.by_scheme[NACE]
    assert label_languages(nace) == {"en", "fr"}
    assert nace.label("10.41", "en") == "Manufacture of oils and fats"
    assert nace.label("10.41", "fr") == "Fabrication d'huiles et graisses"
    assert nace.label("C", "fr") == "INDUSTRIE MANUFACTURIÈRE"
    # every code is labelled in both languages
    assert all(set(c.labels) == {"en", "fr"} for c in nace.codes.values())


def test_isic_rev4_has_the_official_structure_and_arabic_labels(index):
    isic = index.by_scheme[ISIC]
    assert level_counts(isic) == {1: 21, 2: 88, 3: 238, 4: 419}
    assert label_languages(isic) == {"en", "ar"}
    assert isic.label("1040", "en") == "Manufacture of vegetable and animal oils and fats"
    assert isic.label("1040", "ar") == "صُنع الزيوت والدهون النباتية والحيوانية"
    assert all("ar" in c.labels and "en" in c.labels for c in isic.codes.values())


def test_label_falls_back_to_english_for_a_missing_language(index):
    assert index.by_scheme[NACE].label("10.41", "ar") == "Manufacture of oils and fats"
    assert index.by_scheme[ISIC].label("1040", "fr") == "Manufacture of vegetable and animal oils and fats"


@pytest.mark.parametrize("scheme", [NACE, ISIC])
def test_hierarchy_is_consistent(index, scheme):
    """Every parent exists and sits exactly one level above its child; sections have no parent."""
    taxonomy = index.by_scheme[scheme]
    for code in taxonomy.codes.values():
        if code.level == 1:
            assert code.parent is None, code
        else:
            assert code.parent in taxonomy.codes, code
            assert taxonomy.codes[code.parent].level == code.level - 1, code


def test_codes_keep_leading_zeros_and_ancestors_go_up_to_the_section(index):
    nace, isic = index.by_scheme[NACE], index.by_scheme[ISIC]
    assert "01.11" in nace and "0111" in isic and "111" not in isic
    assert nace.ancestors("10.41") == ("10.41", "10.4", "10", "C")
    assert isic.ancestors("0111") == ("0111", "011", "01", "A")


def test_eu_ecosystems_is_a_taxonomy_but_not_an_activity_scheme(index):
    ecosystems = index.by_scheme["eu-ecosystems"]
    assert ecosystems.activity is False
    assert len(ecosystems.codes) == 14
    assert "agri_food" in ecosystems
    assert "eu-ecosystems" not in index.activity_schemes
    reason = index.check("eu-ecosystems", "agri_food")
    assert reason is not None
    assert "unknown scheme 'eu-ecosystems'" in reason


# -- concordance ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("isic_code, nace_codes", [
    ("1101", {"11.01"}),                                # spirits: one to one
    ("1073", {"10.82"}),                                # cocoa, chocolate, confectionery: one to one
    ("0121", {"01.21"}),                                # grapes: one to one
    ("1102", {"11.02", "11.03", "11.04"}),              # wines: NACE splits wine, cider/fruit wine, other fermented
    ("1040", {"10.41", "10.42"}),                       # oils and fats; margarine
    ("1079", {"10.83", "10.84", "10.86", "10.89"}),     # other food products n.e.c.
    ("104", {"10.4"}),                                  # groups map too
    ("C", {"C"}),                                       # and sections
])
def test_isic_codes_normalise_to_their_nace_equivalents(index, isic_code, nace_codes):
    assert index.normalise(ISIC, isic_code) == frozenset(nace_codes)


def test_one_to_many_isic_classes_map_to_several_nace_classes(index):
    assert len(index.normalise(ISIC, "1079")) > 1
    assert len(index.normalise(ISIC, "1040")) > 1
    nace = index.by_scheme[NACE]
    assert all(nace.codes[c].level == 4 for c in index.normalise(ISIC, "1079"))


def test_every_isic_class_has_a_nace_class_equivalent(index):
    isic, nace = index.by_scheme[ISIC], index.by_scheme[NACE]
    classes = [c for c in isic.codes.values() if c.level == 4]
    assert len(classes) == 419
    for code in classes:
        equivalents = index.normalise(ISIC, code.code)
        assert equivalents, code.code
        assert all(nace.codes[e].level == 4 for e in equivalents), code.code


def test_pivot_codes_normalise_to_themselves_and_unknown_ones_to_nothing(index):
    assert index.normalise(NACE, "10.41") == frozenset({"10.41"})
    assert index.normalise(ISIC, "9999") == frozenset()
    assert index.normalise("no-such-scheme", "1") == frozenset()


# -- under(): is a code below one of the prefixes? ----------------------------------------------------------------

@pytest.mark.parametrize("scheme, code, prefixes, expected", [
    (NACE, "10.41", {"10.4"}, "10.4"),                  # below a group
    (NACE, "10.41", {"10"}, "10"),                      # below a division
    (NACE, "10.41", {"10.41"}, "10.41"),                # the prefix itself
    (NACE, "10.41", {"10.42", "11"}, None),             # a sibling does not contain it
    (NACE, "10.4", {"10.41"}, None),                    # a coarser code is not under a finer prefix
    (ISIC, "1073", {"10.82"}, "10.82"),                 # one-to-one concordance
    (ISIC, "1079", {"10.8"}, "10.8"),                   # all four equivalents are under 10.8
    (ISIC, "1079", {"10.83"}, None),                    # split class: one equivalent is not enough
    (ISIC, "1079", {"10.83", "10.84"}, None),           # nor are two of four
    (ISIC, "1102", {"11.02", "11.03"}, None),           # wines: 11.04 is not covered
    (ISIC, "1102", {"11.0"}, "11.0"),                   # the group covers all three
    (ISIC, "1040", {"10.41"}, None),
    (ISIC, "1040", {"10.4", "20"}, "10.4"),
    (ISIC, "9999", {"10"}, None),                       # unknown code
])
def test_under(index, scheme, code, prefixes, expected):
    assert index.under(scheme, code, frozenset(prefixes)) == expected


def test_under_a_split_class_matches_when_every_equivalent_is_covered(index):
    hit = index.under(ISIC, "1079", frozenset({"10.83", "10.84", "10.86", "10.89"}))
    assert hit in {"10.83", "10.84", "10.86", "10.89"}


# -- check() --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme, code", [(NACE, "10.41"), (NACE, "C"), (ISIC, "1104"), (ISIC, "0111")])
def test_check_accepts_known_codes(index, scheme, code):
    assert index.check(scheme, code) is None


@pytest.mark.parametrize("scheme, code, message", [
    ("naics", "311", "unknown scheme 'naics' (known: isic-rev4, nace-rev2)"),
    ("", "10.41", "unknown scheme '' (known: isic-rev4, nace-rev2)"),
    ("NACE-REV2", "10.41", "unknown scheme 'NACE-REV2' (known: isic-rev4, nace-rev2)"),
    ("eu-ecosystems", "agri_food", "unknown scheme 'eu-ecosystems' (known: isic-rev4, nace-rev2)"),
    (NACE, "99.99", "unknown nace-rev2 code '99.99'"),
    (NACE, "1041", "unknown nace-rev2 code '1041'"),       # an ISIC-shaped code in NACE
    (NACE, "10.410", "unknown nace-rev2 code '10.410'"),
    (ISIC, "10.41", "unknown isic-rev4 code '10.41'"),     # a NACE-shaped code in ISIC
    (ISIC, "111", "unknown isic-rev4 code '111'"),         # leading zero dropped
    (ISIC, "", "unknown isic-rev4 code ''"),
])
def test_check_explains_unknown_schemes_and_codes(index, scheme, code, message):
    assert index.check(scheme, code) == message


# -- pivot_prefixes() -------------------------------------------------------------------------------------------

def test_pivot_prefixes_normalise_config_codes(index):
    prefixes = index.pivot_prefixes({NACE: ["10.41", "11"], ISIC: ["1079", 1101]}, "test.yaml: stage 'x'")
    assert prefixes == frozenset({"10.41", "11", "10.83", "10.84", "10.86", "10.89", "11.01"})
    assert index.pivot_prefixes({}, "x") == frozenset()
    assert index.pivot_prefixes(None, "x") == frozenset()


@pytest.mark.parametrize("codes, reason", [
    ({NACE: ["10.41", "99.99"]}, "unknown nace-rev2 code '99.99'"),
    ({ISIC: ["10.41"]}, "unknown isic-rev4 code '10.41'"),
    ({"naics": ["311"]}, "unknown scheme 'naics'"),
    ({"eu-ecosystems": ["agri_food"]}, "unknown scheme 'eu-ecosystems'"),
])
def test_pivot_prefixes_refuse_unknown_codes_naming_the_place(index, codes, reason):
    where = "agri-food.yaml: stage 'inputs'"
    with pytest.raises(ConfigurationError) as info:
        index.pivot_prefixes(codes, where)
    assert str(info.value).startswith(f"{where}: ")
    assert reason in str(info.value)


# -- TaxonomyIndex construction -----------------------------------------------------------------------------------

def tiny(scheme: str, codes=("A", "A1"), crosswalks=None, activity=True) -> Taxonomy:
    out = {}
    for code in codes:
        parent = code[:-1] or None
        out[code] = Code(code, len(code), parent, {"en": f"{scheme} {code}"})
    return Taxonomy(scheme=scheme, names={"en": scheme}, codes=out, crosswalks=crosswalks or {}, activity=activity)


def test_index_refuses_two_taxonomies_with_the_same_scheme():
    with pytest.raises(ConfigurationError, match="two plugins provide the taxonomy 'alpha'"):
        TaxonomyIndex([tiny("alpha"), tiny("beta"), tiny("alpha")], pivot="alpha")


def test_index_refuses_a_pivot_no_plugin_provides():
    with pytest.raises(ConfigurationError) as info:
        TaxonomyIndex([tiny("alpha"), tiny("beta")], pivot="gamma")
    message = str(info.value)
    assert "'gamma'" in message
    assert "alpha, beta" in message
    with pytest.raises(ConfigurationError, match="loaded: none"):
        TaxonomyIndex([], pivot="alpha")


def test_crosswalks_work_declared_either_way_round():
    pivot = tiny("pivot", codes=("P", "P1", "P2"), crosswalks={"left": {"P1": ("L1",), "P2": ("L1",)}})
    left = tiny("left", codes=("L", "L1"))
    right = tiny("right", codes=("R", "R1"), crosswalks={"pivot": {"R1": ("P2",)}})
    index = TaxonomyIndex([pivot, left, right], pivot="pivot")
    assert index.normalise("left", "L1") == frozenset({"P1", "P2"})      # derived from the pivot's table
    assert index.normalise("right", "R1") == frozenset({"P2"})           # declared by the other scheme
    assert index.normalise("left", "L") == frozenset()                   # no concordance for it


def test_pivot_prefixes_refuse_a_code_without_pivot_equivalent():
    pivot = tiny("pivot", codes=("P", "P1"), crosswalks={"left": {"P1": ("L1",)}})
    left = tiny("left", codes=("L", "L1"))
    index = TaxonomyIndex([pivot, left], pivot="pivot")
    assert index.pivot_prefixes({"left": ["L1"]}, "f.yaml") == frozenset({"P1"})
    with pytest.raises(ConfigurationError, match=r"^f\.yaml: left code 'L' has no pivot equivalent$"):
        index.pivot_prefixes({"left": ["L"]}, "f.yaml")


def test_activity_schemes_leave_out_non_activity_lists():
    index = TaxonomyIndex([tiny("alpha"), tiny("labels", activity=False)], pivot="alpha")
    assert index.activity_schemes == ["alpha"]
    assert index.check("labels", "A") == "unknown scheme 'labels' (known: alpha)"
    assert index.check("alpha", "A1") is None
