"""The profile document: reading it (federation.profile.reader), its marshmallow schema, and the JSON Schema derived
from it (federation.profile.jsonschema)."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timezone

import pytest
from jsonschema import Draft202012Validator

from federation.errors import UnsupportedVersion, ValidationError
from federation.node.service import render_profile
from federation.profile import CURRENT_VERSION, PROFILE_SCHEMA_ID, SUPPORTED_VERSIONS, ProfileSchema, read_profile
from federation.profile.jsonschema import profile_json_schema
from tests.support.builders import cluster_doc, member_doc


def profile_doc(members=None, **top) -> dict:
    doc = {"schema": "med-mci/profile", "version": "1.0", "sequence": 5,
           "published_at": "2025-03-01T10:00:00+02:00",
           "cluster": cluster_doc("qoot", "LB"),
           "members": members if members is not None else [
               member_doc("m1", "nace-rev2:11.02", name="Château Example"),
               member_doc("m2", "isic-rev4:1073", "nace-rev2:10.82", kind="startup",
                          offers=[{"text": "Chocolate bars", "codes": [{"scheme": "nace-rev2", "code": "10.82"}]}],
                          needs=[{"text": "Cocoa butter"}], export_markets=["FR", "AE"], last_active="2024-11-30"),
           ]}
    doc.update(top)
    return doc


def refused(raw, registry=None, value_chains=None, error=ValidationError) -> ValidationError:
    taxonomies = registry.taxonomies if registry is not None else None
    with pytest.raises(error) as info:
        read_profile(raw, taxonomies, value_chains)
    return info.value


def flat(errors) -> str:
    return json.dumps(errors, ensure_ascii=False, default=str)


# -- accepted documents -------------------------------------------------------------------------------------------

def test_reads_a_valid_document(registry):
    profile = read_profile(json.dumps(profile_doc()).encode("utf-8"), registry.taxonomies,
                           registry.value_chains)
    assert profile["schema"] == PROFILE_SCHEMA_ID
    assert profile["version"] == "1.0"
    assert profile["sequence"] == 5
    assert profile["published_at"] == datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
    assert profile["published_at"].utcoffset() is not None
    assert profile["cluster"]["id"] == "qoot"
    assert profile["cluster"]["country"] == "LB"
    assert profile["cluster"]["value_chains"] == ["agri-food"]
    assert [m["id"] for m in profile["members"]] == ["m1", "m2"]
    m1, m2 = profile["members"]
    assert m1["name"] == "Château Example"
    assert m1["activities"] == [{"scheme": "nace-rev2", "code": "11.02"}]
    # defaults of optional fields
    assert m1["offers"] == [] and m1["needs"] == [] and m1["export_markets"] == []
    assert m1["last_active"] is None
    assert m2["kind"] == "startup"
    assert m2["offers"] == [{"text": "Chocolate bars", "codes": [{"scheme": "nace-rev2", "code": "10.82"}]}]
    assert m2["needs"] == [{"text": "Cocoa butter", "codes": []}]
    assert m2["export_markets"] == ["FR", "AE"]
    assert m2["last_active"] == date(2024, 11, 30)


@pytest.mark.parametrize("as_type", [bytes, str, dict])
def test_reads_bytes_text_or_a_mapping(registry, as_type):
    doc = profile_doc()
    raw = {bytes: json.dumps(doc).encode("utf-8"), str: json.dumps(doc), dict: doc}[as_type]
    assert [m["id"] for m in read_profile(raw, registry.taxonomies)["members"]] == ["m1", "m2"]


def test_codes_are_not_checked_without_taxonomies():
    doc = profile_doc(members=[member_doc("m1", "nace-rev2:99.99")])
    assert read_profile(doc)["members"][0]["activities"] == [{"scheme": "nace-rev2", "code": "99.99"}]


def test_a_newer_minor_version_is_read_and_its_new_fields_ignored(registry):
    doc = profile_doc(version="1.7", licence="CC-BY-4.0")
    profile = read_profile(json.dumps(doc), registry.taxonomies)
    assert "licence" not in profile
    assert profile["version"] == "1.7"
    assert [m["id"] for m in profile["members"]] == ["m1", "m2"]


@pytest.mark.parametrize("where", ["cluster", "member", "offer"])
def test_a_newer_minor_version_may_add_optional_fields_anywhere(registry, where):
    """A 1.x minor version only adds optional fields; they may be in the cluster or a member, not only on top."""
    doc = profile_doc(version="1.7")  # above the highest minor this software knows (1.1)
    target = {"cluster": lambda d: d["cluster"], "member": lambda d: d["members"][0],
              "offer": lambda d: d["members"][1]["offers"][0]}[where](doc)
    target["added_in_1_7"] = {"anything": True}
    profile = read_profile(doc, registry.taxonomies)
    assert flat(profile).count("added_in_1_7") == 0
    assert [m["id"] for m in profile["members"]] == ["m1", "m2"]


def test_version_1_1_members_carry_their_audience_and_shared_contact(registry):
    doc = profile_doc(version="1.1", members=[
        member_doc("m1", "nace-rev2:11.02", audience="federation",
                   contact={"email": "info@m1.example", "phone": "+961 1 234 567", "person": "Rima"}),
        member_doc("m2", "nace-rev2:10.82", contact=None)])
    m1, m2 = read_profile(json.dumps(doc), registry.taxonomies)["members"]
    assert m1["audience"] == "federation"
    assert m1["contact"] == {"email": "info@m1.example", "phone": "+961 1 234 567", "person": "Rima"}
    assert (m2["audience"], m2["contact"]) == ("public", None)


def test_a_1_0_document_is_read_as_public_members_without_contact(registry):
    members = read_profile(json.dumps(profile_doc(version="1.0")), registry.taxonomies)["members"]
    assert [(m["audience"], m["contact"]) for m in members] == [("public", None), ("public", None)]


@pytest.mark.parametrize("member, field", [
    (member_doc("m1", audience="private"), "audience"),  # private members never leave the node
    (member_doc("m1", audience="anyone"), "audience"),
    (member_doc("m1", contact={"email": "not an address"}), "contact"),
    (member_doc("m1", contact={"phone": "call me"}), "contact"),
])
def test_bad_audience_or_contact_is_refused(member, field):
    error = refused(profile_doc(version="1.1", members=[member]))
    assert field in flat(error.errors)


def test_current_version_is_one_three():
    """1.1 added a member's audience and contact, 1.2 the document's audience and withdrawn ids, 1.3 the knowledge
    profile, the cooperation profile and a member's research domains, identifiers and website; the hub reads 1.0 to
    1.3 documents alike."""
    assert CURRENT_VERSION == "1.3"
    assert SUPPORTED_VERSIONS == {1: (ProfileSchema, 3)}


# -- refused documents --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"{not json",
    b'{"schema": "med-mci/profile",',
    b"\xff\xfe\x00garbage",          # not UTF-8 / UTF-16 JSON
    b"",
    "",
])
def test_malformed_json_is_refused(raw):
    error = refused(raw)
    assert type(error) is ValidationError
    assert "not valid JSON" in error.message


@pytest.mark.parametrize("raw", ["[]", "[1, 2]", '"profile"', "42", "null", "true"])
def test_a_document_must_be_a_json_object(raw):
    error = refused(raw)
    assert error.message == "profile must be a JSON object"


@pytest.mark.parametrize("raw", ["[" * 100_000, '{"a":' * 100_000, "[" * 100_000 + "]" * 100_000])
def test_deeply_nested_json_is_refused_not_a_crash(raw):
    error = refused(raw)
    assert isinstance(error, ValidationError)
    assert "nested too deeply" in error.message or "not valid JSON" in error.message


@pytest.mark.parametrize("schema_id", ["med-mci/profiles", "other/profile", "", None, 1])
def test_a_document_of_another_schema_is_refused(schema_id):
    doc = profile_doc(schema=schema_id)
    error = refused(doc, error=UnsupportedVersion)
    assert "schema" in error.errors
    assert "med-mci/profile" in error.message


def test_a_document_without_schema_is_refused():
    doc = profile_doc()
    del doc["schema"]
    assert "schema" in refused(doc, error=UnsupportedVersion).errors


@pytest.mark.parametrize("version", ["2.0", "3.1", "0.9"])
def test_an_unknown_major_version_is_refused(version):
    error = refused(profile_doc(version=version), error=UnsupportedVersion)
    assert f"profile version {version} is not supported" in error.message
    assert "1.x" in error.message
    assert "version" in error.errors


MALFORMED_VERSIONS = ["abc", "1", "1.", ".1", "1.0.1", "v1.0", " 1.0", "1.0 ", "1.x", "1.-1", "", 1.0, 1, None,
                      ["1.0"],
                      # str.isdigit() is true for these, int() refuses them: they must not crash the reader
                      "1.²", "².0", "1.①"]


@pytest.mark.parametrize("version", MALFORMED_VERSIONS)
def test_a_malformed_version_is_refused(version):
    error = refused(profile_doc(version=version), error=UnsupportedVersion)
    assert "version" in error.message


@pytest.mark.parametrize("version", ["1.٣", "١.0"])
def test_a_version_with_non_ascii_digits_is_refused(version):
    """Versions are ASCII ('1.0'); the published JSON Schema's pattern (ECMA-262 \\d) says so too."""
    refused(profile_doc(version=version))


@pytest.mark.parametrize("version", ["abc", "1.0.1", 1.0, None])
def test_a_malformed_version_error_names_the_field(version):
    """Like every other refusal, the field-level errors say which field is wrong (the API returns them)."""
    error = refused(profile_doc(version=version), error=UnsupportedVersion)
    assert "version" in error.errors


def test_a_document_without_version_is_refused():
    doc = profile_doc()
    del doc["version"]
    error = refused(doc, error=UnsupportedVersion)
    assert "version" in error.message


def set_path(doc: dict, path: tuple, value) -> dict:
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def del_path(doc: dict, path: tuple) -> dict:
    node = doc
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return doc


@pytest.mark.parametrize("path, value, error_path", [
    (("sequence",), "5", ("sequence",)),
    (("sequence",), 5.5, ("sequence",)),
    (("sequence",), -1, ("sequence",)),
    (("sequence",), True, ("sequence",)),
    (("members",), {"m1": {}}, ("members",)),
    (("members",), "m1", ("members",)),
    (("members",), None, ("members",)),
    (("cluster",), [], ("cluster",)),
    (("published_at",), "2025-03-01T10:00:00", ("published_at",)),      # naive
    (("published_at",), "yesterday", ("published_at",)),
    (("cluster", "country"), "XX", ("cluster", "country")),              # not assigned
    (("cluster", "country"), "lb", ("cluster", "country")),              # lower case
    (("cluster", "country"), "LBN", ("cluster", "country")),             # alpha-3
    (("cluster", "id"), "Qoot Cluster", ("cluster", "id")),
    (("cluster", "names"), {}, ("cluster", "names")),
    (("cluster", "names"), {"de": "Qoot"}, ("cluster", "names")),
    (("cluster", "website"), "not a url", ("cluster", "website")),
    (("members", 0, "kind"), "company", ("members", "0", "kind")),
    (("members", 0, "id"), "has space", ("members", "0", "id")),
    (("members", 0, "name"), "", ("members", "0", "name")),
    (("members", 0, "size"), "huge", ("members", "0", "size")),
    (("members", 0, "status"), "closed", ("members", "0", "status")),
    (("members", 0, "activities"), "nace-rev2:11.02", ("members", "0", "activities")),
    (("members", 0, "activities"), [{"scheme": "nace-rev2"}], ("members", "0", "activities")),
    (("members", 1, "export_markets"), ["FR", "XX"], ("members", "1", "export_markets")),
    (("members", 1, "export_markets"), ["fr"], ("members", "1", "export_markets")),
    (("members", 1, "last_active"), "30/11/2024", ("members", "1", "last_active")),
    (("members", 1, "offers"), [{"codes": []}], ("members", "1", "offers")),
])
def test_schema_errors_name_the_field(path, value, error_path):
    error = refused(set_path(profile_doc(), path, value))
    assert type(error) is ValidationError
    node = json.loads(flat(error.errors))
    for key in error_path:
        assert key in node, (error_path, error.errors)
        node = node[key]


@pytest.mark.parametrize("path", [("sequence",), ("published_at",), ("cluster",), ("members",),
                                  ("cluster", "country"), ("cluster", "names"), ("members", 0, "kind"),
                                  ("members", 0, "id"), ("members", 0, "name")])
def test_required_fields_are_required(path):
    error = refused(del_path(profile_doc(), path))
    node = json.loads(flat(error.errors))
    for key in path:
        node = node[str(key)]
    assert node


@pytest.mark.parametrize("where", ["top", "cluster", "member"])
def test_unknown_fields_are_refused_at_the_known_version(where):
    doc = profile_doc()
    target = {"top": doc, "cluster": doc["cluster"], "member": doc["members"][0]}[where]
    target["colour"] = "blue"
    error = refused(doc)
    assert "colour" in flat(error.errors)


def test_duplicate_member_ids_are_refused():
    doc = profile_doc(members=[member_doc("m1", "nace-rev2:11.02"), member_doc("m2"), member_doc("m1")])
    error = refused(doc)
    assert error.errors["members"][2]["id"] == ["duplicate member id 'm1'"]


def test_member_ids_differing_in_case_are_distinct():
    doc = profile_doc(members=[member_doc("m1"), member_doc("M1")])
    assert [m["id"] for m in read_profile(doc)["members"]] == ["m1", "M1"]


# -- codes and value chains against the registry ----------------------------------------------------------------

def test_an_unknown_activity_code_is_refused_naming_member_and_code(registry):
    doc = profile_doc(members=[member_doc("m1", "nace-rev2:11.02"),
                               member_doc("olive-7", "nace-rev2:10.41", "nace-rev2:99.99")])
    error = refused(doc, registry)
    assert "olive-7" in error.message and "99.99" in error.message
    message = error.errors["members"][1]["activities"][1]["code"][0]
    assert message == "member 'olive-7': unknown nace-rev2 code '99.99'"
    assert 0 not in error.errors["members"]
    assert 0 not in error.errors["members"][1]["activities"]


def test_an_unknown_scheme_is_refused(registry):
    doc = profile_doc(members=[member_doc("m1", "naics:311")])
    error = refused(doc, registry)
    message = error.errors["members"][0]["activities"][0]["code"][0]
    assert message.startswith("member 'm1': unknown scheme 'naics'")
    assert "isic-rev4, nace-rev2" in message


def test_ecosystem_codes_are_not_activities(registry):
    error = refused(profile_doc(members=[member_doc("m1", "eu-ecosystems:agri_food")]), registry)
    assert "unknown scheme 'eu-ecosystems'" in error.message


def test_codes_of_offers_and_needs_are_checked(registry):
    m = member_doc("m1", "nace-rev2:11.02",
                   offers=[{"text": "ok", "codes": [{"scheme": "nace-rev2", "code": "11.02"}]}],
                   needs=[{"text": "bottles", "codes": [{"scheme": "isic-rev4", "code": "2310"},
                                                        {"scheme": "isic-rev4", "code": "23.13"}]}])
    error = refused(profile_doc(members=[m]), registry)
    assert error.errors == {"members": {0: {"needs": {0: {"codes": {1: {"code": [
        "member 'm1': unknown isic-rev4 code '23.13'"]}}}}}}}


def test_an_unknown_value_chain_is_refused(registry):
    doc = profile_doc()
    doc["cluster"]["value_chains"] = ["agri-food", "space-mining"]
    error = refused(doc, registry, value_chains=registry.value_chains)
    message = error.errors["cluster"]["value_chains"][1][0]
    assert message.startswith("unknown value chain 'space-mining'")
    assert "agri-food" in message
    assert "space-mining" in error.message
    # without a list of known chains, the claim is not checked
    assert read_profile(doc, registry.taxonomies)["cluster"]["value_chains"] == ["agri-food", "space-mining"]


def test_every_member_error_is_reported(registry):
    doc = profile_doc(members=[member_doc("a", "nace-rev2:00.00"), member_doc("b", "nace-rev2:11.02"),
                               member_doc("c", "isic-rev4:ZZZZ")])
    error = refused(doc, registry)
    assert set(error.errors["members"]) == {0, 2}


# -- JSON Schema ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = profile_json_schema()
    Draft202012Validator.check_schema(schema)
    # Formats asserted too (JSON Schema 2020-12 only annotates them by default): "email" is one of the checks.
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def rendered() -> dict:
    cluster = cluster_doc("menara", "MA", website=None)
    members = [
        member_doc("m1", "nace-rev2:10.41", "isic-rev4:1040", offers=[{"text": "Olive oil [bulk]", "codes": [
            {"scheme": "nace-rev2", "code": "10.41"}]}], needs=[{"text": "Bottles", "codes": []}],
                   export_markets=["FR", "DE"], last_active=date(2024, 6, 1), audience="federation",
                   contact={"email": "sales@m1.example", "phone": "+212 5 22 00 00 00", "person": None}),
        member_doc("m2", kind="university", city=None, size=None, last_active=None, status="dormant"),
    ]
    body = render_profile(cluster, members, 7, datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    return json.loads(body)


def test_json_schema_describes_the_current_version():
    schema = profile_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:med-mci/profile:1.3"
    assert set(schema["required"]) >= {"schema", "version", "sequence", "published_at", "cluster", "members"}
    # a fresh copy each time
    schema["title"] = "changed"
    assert profile_json_schema()["title"] != "changed"


def test_json_schema_accepts_what_the_node_renders(validator, registry):
    doc = rendered()
    assert list(validator.iter_errors(doc)) == []
    # and the reader accepts the same document
    profile = read_profile(json.dumps(doc), registry.taxonomies)
    assert profile["members"][1]["status"] == "dormant"
    assert profile["members"][0]["audience"] == "federation"
    assert profile["members"][0]["contact"]["email"] == "sales@m1.example"


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda d: d["members"][0].__setitem__("kind", "company"), id="bad-kind"),
    pytest.param(lambda d: d.pop("cluster"), id="missing-cluster"),
    pytest.param(lambda d: d["cluster"].__setitem__("country", "lb"), id="lower-case-country"),
    pytest.param(lambda d: d.__setitem__("sequence", "7"), id="sequence-as-text"),
    pytest.param(lambda d: d["members"][0].__setitem__("colour", "blue"), id="unknown-member-field"),
    pytest.param(lambda d: d["members"][0]["activities"][0].pop("code"), id="activity-without-code"),
    pytest.param(lambda d: d["members"][0].__setitem__("audience", "private"), id="private-audience"),
    pytest.param(lambda d: d["members"][0]["contact"].__setitem__("email", "nobody"), id="bad-contact-email"),
    pytest.param(lambda d: d["members"][0]["contact"].__setitem__("phone", "call me"), id="bad-contact-phone"),
    pytest.param(lambda d: d["members"][0]["contact"].__setitem__("fax", "+1 234"), id="unknown-contact-field"),
])
def test_json_schema_rejects_what_the_reader_rejects(validator, mutate):
    doc = rendered()
    mutate(doc)
    assert list(validator.iter_errors(doc)), "the JSON Schema accepted a bad document"
    with pytest.raises(ValidationError):
        read_profile(copy.deepcopy(doc))


# -- the fast path through the schema (federation/profile/fastload.py) ---------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from marshmallow import ValidationError as SchemaError  # noqa: E402

from federation.profile import reader  # noqa: E402

_ABSENT = object()
_CODE = st.sampled_from([{"scheme": "nace-rev2", "code": "10.41"}, {"scheme": "isic-rev4", "code": "1073"},
                         {"scheme": "nace-rev2"}, {"scheme": "", "code": "1"}, {"scheme": "s", "code": "x" * 17},
                         {"scheme": "s", "code": "1", "extra": 1}, {"scheme": 1, "code": "1"}, "10.41", None])
_TEXT_WITH_CODES = st.fixed_dictionaries(
    {}, optional={"text": st.sampled_from(["Dates", "", "x" * 2001, None, 5]),
                  "codes": st.lists(_CODE, max_size=3) | st.sampled_from([None, "10.41", {}]),
                  "extra": st.just(1)}) | st.sampled_from([None, "offer", []])
_FIELDS = {
    "id": st.sampled_from(["m1", "m2", "a.b:c-d_e", "", "a b", "x" * 129, "abc\n", 5, None, "é"]),
    "kind": st.sampled_from(["sme", "university", "robot", None, 1, "SME", ["sme"], {"sme": 1}]),
    "name": st.sampled_from(["A", "Zeytouna زيتونة", "", "x" * 301, None, 3, ["A"]]),
    "city": st.sampled_from(["Town", None, "x" * 121, 5, ""]),
    "size": st.sampled_from(["small", "huge", None, "micro", ["small"]]),
    "activities": st.lists(_CODE, max_size=3) | st.sampled_from([None, "10.41", [{"scheme": "s", "code": "1"}] * 51]),
    "offers": st.lists(_TEXT_WITH_CODES, max_size=2) | st.sampled_from([None, {}]),
    "needs": st.lists(_TEXT_WITH_CODES, max_size=2),
    "export_markets": st.lists(st.sampled_from(["LB", "FR", "XX", "lb", "L", 1, None, ["LB"], {}]), max_size=3)
    | st.sampled_from([None, "LB"]),
    "status": st.sampled_from(["active", "dormant", "zombie", None]),
    "last_active": st.sampled_from([None, "2026-01-02", "2026-13-01", "yesterday", 5, "2026-01-02T10:00:00"]),
    "audience": st.sampled_from(["public", "federation", "world", None]),
    "contact": st.sampled_from([None, {}, {"email": "a@b.org"}, {"email": "bad"}, {"phone": "+33 1 23"},
                                {"person": ""}, {"x": 1}, "someone", {"email": None, "phone": None}]),
    # 1.3
    "research_domains": st.lists(st.sampled_from(["2.9", "4", "2.10", "2.9.1", "", 2.9, None]), max_size=3)
    | st.sampled_from([None, "2.9", ["4"] * 51]),
    "identifiers": st.sampled_from([None, {}, {"ror": "05f0yaq80"}, {"ror": "05F0YAQ80"}, {"national_id": "R-1"},
                                    {"national_id": ""}, {"ror": None, "national_id": None}, {"isni": "1"}, "ror"]),
    "website": st.sampled_from([None, "https://m1.example.org", "not a url", "ftp://x.example", 5,
                                "https://" + "x" * 500 + ".org"]),
    "unknown": st.just(1),
}
_MEMBER = st.fixed_dictionaries({}, optional=_FIELDS) | st.sampled_from([None, "m1", []])
_VALID_MEMBER = st.builds(lambda i, kind, extra: member_doc(f"m{i}", "nace-rev2:10.41", kind=kind, **extra),
                          st.integers(0, 5), st.sampled_from(["sme", "university"]),
                          st.fixed_dictionaries({}, optional={k: v for k, v in _FIELDS.items()
                                                               if k not in ("id", "kind", "unknown")}))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_MEMBER | _VALID_MEMBER, max_size=4), st.sampled_from([{}, {"sequence": -1}, {"cluster": None}]))
def test_the_fast_path_accepts_only_what_marshmallow_accepts_with_the_same_result(members, top):
    doc = profile_doc(members, **top)
    schema = reader._schema(ProfileSchema)
    fast = reader._fast_load(schema, copy.deepcopy(doc))
    try:
        expected = schema.load(copy.deepcopy(doc))
    except SchemaError:
        assert fast is None  # refused: marshmallow words the refusal
        return
    if fast is not None:
        assert fast == expected
        assert [list(m) for m in fast["members"]] == [list(m) for m in expected["members"]]  # same key order


def test_the_fast_path_takes_the_usual_document():
    doc = profile_doc()
    schema = reader._schema(ProfileSchema)
    assert reader._fast_load(schema, doc) == schema.load(doc)
    assert read_profile(json.dumps(doc)) == schema.load(doc)
