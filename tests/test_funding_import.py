"""The funding-calls connector (connectors/funding_calls/) and the hub's import (federation/hub/funding.py): CSV and
JSON, English and French headers, every kind of bad call with its message, nothing stored on an error, the bounds."""

from __future__ import annotations

import json

import pytest

from connectors.funding_calls import CallLimits, read_calls
from federation.eligibility import CountryLists
from federation.errors import ValidationError
from federation.settings import Settings

HEADER = "programme,title,deadline,link"
GOOD = "Interreg NEXT MED,Green SMEs,2027-06-30,https://www.interregnextmed.eu/"


@pytest.fixture(scope="module")
def lists(tmp_path_factory) -> CountryLists:
    return CountryLists.from_settings(Settings.load(tmp_path_factory.mktemp("lists")))


@pytest.fixture
def read(lists, registry):
    def reader(data, max_bytes: int = 100_000, max_calls: int = 50):
        return read_calls(data, CallLimits(max_bytes, max_calls), lists, registry.taxonomies)

    return reader


def refusal(read, data, **limits) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        read(data, **limits)
    return caught.value


def test_a_french_csv_with_bom_and_semicolons_is_read_with_every_field(read):
    text = ("\ufeffIdentifiant;Programme;Titre;Date limite;Ouverture;Pays éligibles;Types d'entités;"
            "Partenaires minimum;Pays minimum;Types requis;Régions requises;Thèmes;Mots-clés;Lien;Montant;Langues\n"
            "np-1;Interreg NEXT MED;PME vertes;2027-06-30;2027-01-10;interreg-next-med;SME;3;3;"
            "University|research centre;eu;\"nace-rev2:10.41;isic-rev4:1080;huile d'olive\";agro;"
            "https://www.interregnextmed.eu/;EUR 2 000 000;\"fr;ar\"\n")
    calls = read(text.encode("utf-8")).calls
    call, = calls
    assert (call.id, call.programme, call.deadline.isoformat(), call.opens.isoformat()) == \
        ("np-1", "Interreg NEXT MED", "2027-06-30", "2027-01-10")
    assert call.country_lists == ("interreg-next-med",) and {"LB", "TN", "ES", "TR", "DZ"} <= call.countries
    assert "MA" not in call.countries  # Morocco takes no part in NEXT MED
    assert call.kinds == {"sme"}
    assert call.required_kinds == (("university", "research_centre"),)
    assert call.required_regions == ("eu",)
    # ISIC 1080 stands for NACE 10.91 and 10.92: the pivot classes of both codes, the words as keywords.
    assert call.topics == {"10.41", "10.91", "10.92"}
    assert call.topic_codes == ("nace-rev2:10.41", "isic-rev4:1080")
    assert call.keywords == ("huile d'olive", "agro")
    assert (call.min_partners, call.min_countries, call.budget, call.languages) == (3, 3, "EUR 2 000 000",
                                                                                     ("fr", "ar"))


def test_json_as_a_list_or_under_calls_gives_the_same_calls_and_ids_are_derived(read):
    item = {"programme": "PRIMA", "title": "Short supply chains", "deadline": "2027-04-20",
            "link": "https://prima-med.org/", "countries": ["prima"], "kinds": "sme;university",
            "required_kinds": [["university", "research_centre"]], "min_partners": 3, "budget": 1500000}
    as_list, wrapped = read(json.dumps([item])), read(json.dumps({"calls": [item]}))
    assert as_list.format == wrapped.format == "json"
    assert as_list.calls == wrapped.calls
    call, = as_list.calls
    assert call.id.startswith("call-") and call.id == read(json.dumps([{**item, "budget": "x"}])).calls[0].id
    assert call.kinds == {"sme", "university"} and call.budget == "1.5e+06"
    assert "MA" in call.countries and "LV" not in call.countries


@pytest.mark.parametrize(("cells", "field", "message"), [
    ("P,,2027-06-30,https://a.eu", "title", "required"),
    ("P,T,30/06/2027,https://a.eu", "deadline", "'30/06/2027': not an ISO date (YYYY-MM-DD"),
    ("P,T,2027-02-30,https://a.eu", "deadline", "not an ISO date"),
    ("P,T,2027-06-30,http://a.eu", "link", "'http://a.eu': not an https:// URL"),
    ("P,T,2027-06-30,https://a.eu,XX", "countries", "'XX': neither an ISO 3166-1 alpha-2 country code nor a country "
                                                    "list (lists: eu, mena, interreg-next-med"),
    ("P,T,2027-06-30,https://a.eu,,robot", "kinds", "'robot': not a member kind (one of sme"),
    ("P,T,2027-06-30,https://a.eu,,,-1", "min_partners", "'-1': a whole number from 0 to 100"),
    ("P,T,2027-06-30,https://a.eu,,,,somewhere", "required_regions", "'somewhere': neither a country list"),
    ("P,T,2027-06-30,https://a.eu,,,,,nace-rev2:99.99", "topics", "'nace-rev2:99.99': unknown nace-rev2 code"),
    ("P,T,2027-06-30,https://a.eu,,,,,naf:10.41", "topics", "unknown scheme 'naf'"),
    ("P,T,2027-06-30,https://a.eu,,,,,,english", "languages", "'english': not an ISO 639-1 language code"),
    ("P,T,2027-06-30,https://a.eu,,,,,,,2028-01-01", "opens", "2028-01-01 is after the deadline 2027-06-30"),
    ("P,T\u202e,2027-06-30,https://a.eu", "title", "bidirectional formatting characters are not allowed"),
    ("P,T,2027-06-30,https://a.eu,,,,,,,,one,two", "row", "2 cell(s) beyond the header's 11 columns"),
])
def test_every_bad_cell_is_named_with_its_line_field_and_why(read, cells, field, message):
    header = HEADER + ",countries,kinds,min_partners,required_regions,topics,languages,opens"
    error = refusal(read, f"{header}\n{GOOD}\n{cells}\n")
    problem, = error.errors["calls"]
    assert problem["line"] == 3
    assert any(message in text for text in problem["errors"][field]), problem["errors"]
    assert error.message.startswith("1 of 2 calls have errors; nothing was imported (line 3: ")


def test_json_items_are_named_by_position_and_unknown_fields_get_the_closest_name(read):
    error = refusal(read, json.dumps([{"programme": "P", "title": "T", "deadline": "2027-01-01",
                                       "link": "https://a.eu", "min_partner": 2}, "not a call",
                                      {"id": "x y", "programme": "P", "title": "T2", "deadline": "2027-01-01",
                                       "link": "https://a.eu"}]))
    first, second, third = error.errors["calls"]
    assert first["item"] == 1 and "unknown field 'min_partner' (did you mean min_partners?)" in \
        first["errors"]["min_partner"][0]
    assert second == {"item": 2, "id": "", "title": "", "errors": {"item": ["expected an object (one call), not str"]}}
    assert third["item"] == 3 and third["errors"]["id"][0].startswith("'x y': letters, digits")


def test_a_call_id_given_twice_is_refused_at_its_second_line(read):
    error = refusal(read, f"id,{HEADER}\nc1,{GOOD}\nc1,{GOOD}\n")
    assert error.errors["calls"] == [{"line": 3, "id": "c1", "title": "Green SMEs",
                                      "errors": {"id": ["duplicate call id 'c1' (first at line 2)"]}}]


@pytest.mark.parametrize(("data", "message"), [
    (b"programme,title,deadline,link\nP,Caf\xe9,2027-01-01,https://a.eu\n", "it is not UTF-8 (byte 35 is not)"),
    (b"%PDF-1.7 ...", "this file is a PDF document, not a calls file"),
    ("programme,titel,deadline\n".encode(), "unknown field 'titel' (did you mean title?)"),
    ("programme,title,deadline\n".encode(), "missing column(s): link"),
    ("programme,title,title,deadline,link\n".encode(), "repeated column(s): title"),
    (f"{HEADER}\n".encode(), "the file holds no call"),
    (b'{"calls": [], "more": 1}', 'a JSON calls file is a list of calls, or {"calls": [...]} with no other key'),
    (b"[{]", "it is not valid JSON"),
    (b"[[[[[[[[[[1]]]]]]]]]]", "over a limit"),
    (f'{HEADER}\nP,"{"a" * 200_000}",2027-01-01,https://a.eu\n'.encode(), "line 2: field larger than field limit"),
])
def test_a_file_that_cannot_be_read_is_refused_whole(read, data, message):
    error = refusal(read, data, max_bytes=300_000)
    assert message in error.errors["file"][0]
    assert error.message.startswith("the calls file cannot be read: ")


def test_the_bounds_are_checked_before_the_calls_are(read):
    body = f"{HEADER}\n" + "".join(f"P,T{n},2027-06-30,https://a.eu\n" for n in range(4))
    assert "more than the 20 allowed (setting funding.max_bytes)" in refusal(read, body, max_bytes=20).message
    assert "more than 3 calls (setting funding.max_calls)" in refusal(read, body, max_calls=3).message
    items = json.dumps([{"programme": "P"}] * 4)
    assert "4 calls, more than 3 (setting funding.max_calls)" in refusal(read, items, max_calls=3).message


def test_the_hub_upserts_by_id_audits_and_stores_nothing_when_a_call_is_wrong(make_hub, config_dir):
    hub = make_hub()
    first = hub.funding.import_file((config_dir / "demo" / "funding_calls.csv").read_bytes(), "cli")
    assert first["format"] == "csv" and first["calls"] == 5 and len(first["created"]) == 5
    again = hub.funding.import_file((config_dir / "demo" / "funding_calls.json").read_bytes(), "operator:alice")
    assert again == {"format": "json", "calls": 5, "created": [], "updated": [], "unchanged": 5}
    changed = (config_dir / "demo" / "funding_calls.csv").read_text(encoding="utf-8").replace("2027-04-20",
                                                                                              "2027-04-27")
    assert hub.funding.import_file(changed, "cli")["updated"] == ["sample-prima-agrifood"]
    assert hub.funding.get("sample-prima-agrifood")["deadline"] == "2027-04-27"
    before = hub.funding.page(True, 0, None)
    with pytest.raises(ValidationError):
        hub.funding.import_file(f"id,{HEADER}\nsample-prima-agrifood,P,New,2027-06-30,https://a.eu\n"
                                f"new-one,P,T,2027-13-01,https://a.eu\n", "cli")
    assert hub.funding.page(True, 0, None) == before  # the good line was not stored either
    events = hub.audit.events("calls.")
    assert [(e["actor"], len(e["details"]["created"]), e["details"]["updated"]) for e in events] == [
        ("cli", 0, ["sample-prima-agrifood"]), ("operator:alice", 0, []), ("cli", 5, [])]
