"""The node's REST API through Flask's test client, on SQLite and PostgreSQL (``make_node`` follows ``backend``)."""

from __future__ import annotations

import io
import json
import re
from http import HTTPStatus

import jsonschema
import pytest

from tests.conftest import cluster_doc, member_doc

ERROR_KEYS = {"code", "status", "error", "message", "errors"}
CSV_HEADER = "id,kind,name,city,size,activities,offers,needs,export_markets,status,last_active,visibility\n"


# -- helpers -------------------------------------------------------------------------------------------------------

def assert_error(response, status: int, error: str, field: str | None = None) -> dict:
    """The one JSON error shape: {"code", "status", "error", "message", "errors"} ("errors" only with details)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict)
    assert {"code", "status", "error", "message"} <= set(body) <= ERROR_KEYS, body
    assert body["code"] == status
    assert body["status"] == HTTPStatus(status).phrase
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    if "errors" in body:
        # Documented (ErrorSchema, OpenAPI): "Field-level details: field -> messages", i.e. an object.
        assert isinstance(body["errors"], dict), f"errors must be an object (field -> messages): {body['errors']!r}"
    if field is not None:
        assert field in body.get("errors", {}), body
    return body


def snapshot(client) -> dict:
    """Everything a failed write must leave untouched: members, cluster, and the published profile."""
    members = client.get("/api/v1/members")
    assert members.status_code == 200
    cluster = client.get("/api/v1/cluster")
    profile = client.get("/api/v1/profile")
    return {"members": members.get_json(),
            "cluster": cluster.get_json() if cluster.status_code == 200 else None,
            "profile": (profile.get_json()["sequence"], profile.headers["ETag"], profile.data)
            if profile.status_code == 200 else None}


def profile_of(client) -> dict:
    response = client.get("/api/v1/profile")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def sequence(client) -> int:
    return profile_of(client)["sequence"]


def member_ids(client, query: str = "") -> list[str]:
    response = client.get("/api/v1/members" + query)
    assert response.status_code == 200
    return [m["id"] for m in response.get_json()]


@pytest.fixture
def node(make_node):
    app = make_node("qoot")
    app.testing = True
    return app


@pytest.fixture
def client(node):
    return node.test_client()


@pytest.fixture
def seeded(client):
    """A cluster with one public, one federation and one private member."""
    assert client.put("/api/v1/cluster", json=cluster_doc()).status_code == 200
    for member_id, visibility, code in (("m-pub", "public", "nace-rev2:11.02"),
                                        ("m-fed", "federation", "nace-rev2:10.82"),
                                        ("m-priv", "private", "nace-rev2:10.41")):
        response = client.post("/api/v1/members",
                               json=member_doc(member_id, code, name=f"Secret {member_id}" if visibility == "private"
                                               else None, visibility=visibility))
        assert response.status_code == 201, response.get_data(as_text=True)
    return client


# -- cluster -------------------------------------------------------------------------------------------------------

def test_cluster_is_404_with_error_shape_before_it_exists(client):
    body = assert_error(client.get("/api/v1/cluster"), 404, "not_found")
    assert "PUT /api/v1/cluster" in body["message"]


def test_put_then_get_cluster(client):
    doc = cluster_doc("qoot", "LB")
    response = client.put("/api/v1/cluster", json=doc)
    assert response.status_code == 200
    assert response.get_json() == doc
    assert client.get("/api/v1/cluster").get_json() == doc

    # PUT replaces the whole profile; left-out optional fields fall back to their defaults.
    minimal = {"id": "qoot", "names": {"ar": "قوت"}, "country": "LB"}
    response = client.put("/api/v1/cluster", json=minimal)
    assert response.status_code == 200
    expected = {**minimal, "website": None, "value_chains": [], "description": {}}
    assert response.get_json() == expected
    assert client.get("/api/v1/cluster").get_json() == expected


# -- members -------------------------------------------------------------------------------------------------------

def test_member_create_get_update_delete(seeded):
    client = seeded
    doc = member_doc("olive-1", "nace-rev2:10.41", name="Olive Press", export_markets=["FR", "DE"],
                     offers=[{"text": "Contract bottling", "codes": [{"scheme": "nace-rev2", "code": "10.41"}]}],
                     last_active="2024-05-01")
    created = client.post("/api/v1/members", json=doc)
    assert created.status_code == 201
    expected = {**doc, "needs": [], "visibility": "public"}
    assert created.get_json() == expected
    assert client.get("/api/v1/members/olive-1").get_json() == expected
    assert "olive-1" in member_ids(client)

    changed = {**doc, "name": "Olive Press SARL", "size": "medium", "visibility": "federation"}
    updated = client.put("/api/v1/members/olive-1", json=changed)
    assert updated.status_code == 200
    assert updated.get_json() == {**changed, "needs": []}
    assert client.get("/api/v1/members/olive-1").get_json()["name"] == "Olive Press SARL"
    assert client.get("/api/v1/members/olive-1").get_json()["visibility"] == "federation"

    deleted = client.delete("/api/v1/members/olive-1")
    assert deleted.status_code == 204
    assert deleted.data == b""
    assert_error(client.get("/api/v1/members/olive-1"), 404, "not_found")
    assert member_ids(client) == ["m-fed", "m-priv", "m-pub"]
    assert "olive-1" not in {m["id"] for m in profile_of(client)["members"]}


def test_member_id_is_generated_when_left_out(seeded):
    client = seeded
    doc = member_doc("unused", "nace-rev2:10.41")
    del doc["id"]
    first = client.post("/api/v1/members", json=doc)
    second = client.post("/api/v1/members", json=doc)
    assert first.status_code == second.status_code == 201
    first_id, second_id = first.get_json()["id"], second.get_json()["id"]
    assert re.fullmatch(r"m-[0-9a-f]{16}", first_id)
    assert first_id != second_id
    assert client.get(f"/api/v1/members/{first_id}").get_json()["name"] == doc["name"]
    assert {first_id, second_id} <= set(member_ids(client))
    assert {first_id, second_id} <= {m["id"] for m in profile_of(client)["members"]}


@pytest.mark.parametrize("visibility, expected", [
    ("private", ["m-priv"]),
    ("federation", ["m-fed"]),
    ("public", ["m-pub"]),
    (None, ["m-fed", "m-priv", "m-pub"]),
])
def test_list_members_by_visibility(seeded, visibility, expected):
    response = seeded.get("/api/v1/members" + (f"?visibility={visibility}" if visibility else ""))
    assert response.status_code == 200
    members = response.get_json()
    assert [m["id"] for m in members] == expected
    if visibility:
        assert {m["visibility"] for m in members} == {visibility}


def test_list_members_refuses_unknown_visibility(seeded):
    body = assert_error(seeded.get("/api/v1/members?visibility=secret"), 422, "validation_error", "visibility")
    assert body["errors"]["visibility"]


# -- profile -------------------------------------------------------------------------------------------------------

def test_profile_is_404_with_error_shape_before_a_cluster_exists(client):
    # Members may be entered before the cluster; nothing is published until the cluster exists.
    assert client.post("/api/v1/members", json=member_doc("early", "nace-rev2:10.41")).status_code == 201
    body = assert_error(client.get("/api/v1/profile"), 404, "not_found")
    assert "cluster" in body["message"]

    assert client.put("/api/v1/cluster", json=cluster_doc()).status_code == 200
    profile = profile_of(client)
    assert profile["sequence"] == 1
    assert [m["id"] for m in profile["members"]] == ["early"]


def test_profile_is_json_with_an_etag(seeded):
    response = seeded.get("/api/v1/profile")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    etag = response.headers.get("ETag")
    assert etag and re.fullmatch(r'"[0-9a-f]+"', etag)
    assert response.headers.get("Cache-Control") == "no-cache"
    document = json.loads(response.data.decode("utf-8"))
    assert document["schema"] == "med-mci/profile"
    assert document["version"] == "1.0"
    assert document["cluster"] == cluster_doc()
    assert document["sequence"] == 4  # the cluster, then three members
    # Same content, same bytes, same validator.
    again = seeded.get("/api/v1/profile")
    assert again.data == response.data
    assert again.headers["ETag"] == etag


def test_profile_sequence_and_etag_change_with_every_write(seeded):
    client = seeded
    seen = [(sequence(client), client.get("/api/v1/profile").headers["ETag"])]

    def step(response, status):
        assert response.status_code == status, response.get_data(as_text=True)
        current = (sequence(client), client.get("/api/v1/profile").headers["ETag"])
        assert current[0] == seen[-1][0] + 1
        assert current[1] not in {etag for _, etag in seen}
        seen.append(current)

    step(client.post("/api/v1/members", json=member_doc("m-new", "nace-rev2:10.41")), 201)
    step(client.put("/api/v1/members/m-new", json=member_doc("m-new", "nace-rev2:10.41", name="Renamed")), 200)
    step(client.delete("/api/v1/members/m-new"), 204)
    step(client.put("/api/v1/cluster", json=cluster_doc(description={"en": "Changed"})), 200)
    step(client.post("/api/v1/members/import", data=CSV_HEADER + "c1,sme,Imported,,,nace-rev2:10.41,,,,,,\n",
                     content_type="text/csv"), 200)


@pytest.mark.parametrize("header", [
    pytest.param("{etag}", id="exact"),
    pytest.param('"0000", {etag}', id="in-a-list"),
    pytest.param("W/{etag}", id="weak-form"),  # RFC 9110 13.1.2: If-None-Match uses the weak comparison
    pytest.param("*", id="any"),
])
def test_if_none_match_with_the_current_etag_is_304_with_empty_body(seeded, header):
    etag = seeded.get("/api/v1/profile").headers["ETag"]
    response = seeded.get("/api/v1/profile", headers={"If-None-Match": header.format(etag=etag)})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag


def test_stale_etag_gives_200_with_the_new_profile(seeded):
    old = seeded.get("/api/v1/profile")
    assert seeded.post("/api/v1/members", json=member_doc("m-late", "nace-rev2:10.41")).status_code == 201
    response = seeded.get("/api/v1/profile", headers={"If-None-Match": old.headers["ETag"]})
    assert response.status_code == 200
    assert response.headers["ETag"] != old.headers["ETag"]
    document = response.get_json()
    assert document["sequence"] == old.get_json()["sequence"] + 1
    assert "m-late" in {m["id"] for m in document["members"]}


def test_private_members_never_reach_the_profile(seeded):
    client = seeded
    response = client.get("/api/v1/profile")
    members = response.get_json()["members"]
    assert [m["id"] for m in members] == ["m-fed", "m-pub"]
    assert all("visibility" not in m for m in members)
    assert b"m-priv" not in response.data and b"Secret" not in response.data

    # Visibility changes move members in and out of the profile.
    assert client.put("/api/v1/members/m-pub", json=member_doc("m-pub", "nace-rev2:11.02",
                                                               visibility="private")).status_code == 200
    assert client.put("/api/v1/members/m-priv", json=member_doc("m-priv", "nace-rev2:10.41",
                                                                visibility="federation")).status_code == 200
    assert [m["id"] for m in profile_of(client)["members"]] == ["m-fed", "m-priv"]

    # Private rows imported from CSV stay private too.
    csv_text = CSV_HEADER + "imp-priv,sme,Hidden Imports,,,nace-rev2:10.41,,,,,,private\n"
    assert client.post("/api/v1/members/import", data=csv_text, content_type="text/csv").status_code == 200
    assert "imp-priv" in member_ids(client, "?visibility=private")
    assert "imp-priv" not in {m["id"] for m in profile_of(client)["members"]}


def test_discovery_document(client):
    before = client.get("/.well-known/med-mci")
    assert before.status_code == 200
    assert before.get_json()["cluster_id"] is None

    assert client.put("/api/v1/cluster", json=cluster_doc("qoot")).status_code == 200
    response = client.get("/.well-known/med-mci")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["schema"] == "med-mci/discovery"
    assert doc["cluster_id"] == "qoot"
    assert [p["version"] for p in doc["profiles"]] == ["1.0"]
    entry = doc["profiles"][0]
    assert entry["url"] == "http://localhost/api/v1/profile"
    assert entry["schema_url"] == "http://localhost/api/v1/schema/profile-1.json"
    assert entry["media_type"] == "application/json"
    # The advertised URLs answer.
    assert client.get(entry["url"].removeprefix("http://localhost")).get_json()["cluster"]["id"] == "qoot"
    assert client.get(entry["schema_url"].removeprefix("http://localhost")).status_code == 200
    assert client.get(doc["openapi_url"].removeprefix("http://localhost")).status_code == 200


def test_discovery_uses_the_configured_public_url(make_node):
    app = make_node("public", {"node": {"public_url": "https://node.example.org/"}})
    client = app.test_client()
    client.put("/api/v1/cluster", json=cluster_doc())
    entry = client.get("/.well-known/med-mci").get_json()["profiles"][0]
    assert entry["url"] == "https://node.example.org/api/v1/profile"
    assert entry["schema_url"] == "https://node.example.org/api/v1/schema/profile-1.json"


def test_profile_json_schema_describes_the_profile(seeded):
    response = seeded.get("/api/v1/schema/profile-1.json")
    assert response.status_code == 200
    assert response.mimetype == "application/schema+json"
    schema = response.get_json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert {"schema", "version", "sequence", "published_at", "cluster", "members"} <= set(schema["required"])
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    profile = profile_of(seeded)
    assert list(validator.iter_errors(profile)) == []
    broken = json.loads(json.dumps(profile))
    del broken["members"][0]["kind"]
    assert list(validator.iter_errors(broken)), "a member without kind must not validate"


def test_unknown_profile_schema_version_is_404(client):
    body = assert_error(client.get("/api/v1/schema/profile-2.json"), 404, "not_found")
    assert "2" in body["message"]


def test_openapi_documents_the_members_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Med-MCI node"
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/members"])
    assert {"get", "put", "delete"} <= set(spec["paths"]["/api/v1/members/{member_id}"])
    assert "post" in spec["paths"]["/api/v1/members/import"]
    assert "/api/v1/profile" in spec["paths"]
    visibility = [p for p in spec["paths"]["/api/v1/members"]["get"]["parameters"] if p["name"] == "visibility"]
    assert visibility and visibility[0]["schema"]["enum"] == ["public", "federation", "private"]


# -- bad input: 4xx, the error shape naming the field, and nothing changed ------------------------------------------

BAD_MEMBERS = [
    pytest.param(dict(data="{\"id\": \"x\", ", content_type="application/json"), 400, "bad_request", None, None,
                 id="malformed-json"),
    pytest.param(dict(json={"id": "x1", "kind": 3, "name": ["not", "a", "string"]}), 422, "validation_error",
                 "kind", None, id="wrong-types"),
    pytest.param(dict(json=member_doc("x1", "nace-rev2:10.41", kind="alien")), 422, "validation_error", "kind",
                 None, id="unknown-kind"),
    pytest.param(dict(json=member_doc("x1", "nace-rev2:99.99")), 422, "validation_error", "activities",
                 ["'x1'", "99.99"], id="unknown-activity-code"),
    pytest.param(dict(json=member_doc("x1", "nace-rev2:10.41",
                                      offers=[{"text": "Odd", "codes": [{"scheme": "nace-rev2", "code": "77.77"}]}])),
                 422, "validation_error", "offers", ["'x1'", "77.77"], id="unknown-offer-code"),
    pytest.param(dict(json=member_doc("x1", "naics:311")), 422, "validation_error", "activities",
                 ["'x1'", "naics"], id="unknown-scheme"),
    pytest.param(dict(json=member_doc("x1", "nace-rev2:10.41", export_markets=["XX"])), 422, "validation_error",
                 "export_markets", None, id="bad-country"),
    pytest.param(dict(json=member_doc("x1", "nace-rev2:10.41", export_markets=["fr"])), 422, "validation_error",
                 "export_markets", None, id="lower-case-country"),
    pytest.param(dict(json=member_doc("bad id!", "nace-rev2:10.41")), 422, "validation_error", "id", None,
                 id="bad-id"),
    pytest.param(dict(json={"id": "x1", "name": "No kind"}), 422, "validation_error", "kind", None,
                 id="missing-kind"),
    pytest.param(dict(json=member_doc("x1", "nace-rev2:10.41", visibility="secret")), 422, "validation_error",
                 "visibility", None, id="unknown-visibility"),
    pytest.param(dict(json=member_doc("m-pub", "nace-rev2:10.41", name="Impostor")), 409, "conflict", "id",
                 ["m-pub"], id="duplicate-id"),
]


@pytest.mark.parametrize("request_kwargs, status, error, field, in_message", BAD_MEMBERS)
def test_bad_member_is_refused_and_changes_nothing(seeded, request_kwargs, status, error, field, in_message):
    before = snapshot(seeded)
    body = assert_error(seeded.post("/api/v1/members", **request_kwargs), status, error, field)
    for text in in_message or ():
        assert text in body["message"]
    assert snapshot(seeded) == before


def test_unknown_activity_code_error_names_member_and_code_in_the_field(seeded):
    body = assert_error(seeded.post("/api/v1/members", json=member_doc("x9", "nace-rev2:10.41", "nace-rev2:99.99")),
                        422, "validation_error", "activities")
    assert body["errors"]["activities"] == {"1": {"code": ["member 'x9': unknown nace-rev2 code '99.99'"]}}


BAD_CLUSTERS = [
    pytest.param(dict(data="{oops", content_type="application/json"), 400, "bad_request", None, None,
                 id="malformed-json"),
    pytest.param(dict(json=cluster_doc(country="XX")), 422, "validation_error", "country", ["XX"], id="bad-country"),
    pytest.param(dict(json=cluster_doc(country="lb")), 422, "validation_error", "country", None,
                 id="lower-case-country"),
    pytest.param(dict(json=cluster_doc(value_chains=["agri-food", "space-mining"])), 422, "validation_error",
                 "value_chains", ["space-mining"], id="unknown-value-chain"),
    pytest.param(dict(json={**cluster_doc(), "names": "QOOT"}), 422, "validation_error", "names", None,
                 id="wrong-type"),
    pytest.param(dict(json={"id": "qoot", "country": "LB"}), 422, "validation_error", "names", None,
                 id="missing-names"),
    pytest.param(dict(json=cluster_doc("Not A Slug")), 422, "validation_error", "id", None, id="bad-id"),
]


@pytest.mark.parametrize("request_kwargs, status, error, field, in_message", BAD_CLUSTERS)
def test_bad_cluster_is_refused_and_changes_nothing(seeded, request_kwargs, status, error, field, in_message):
    before = snapshot(seeded)
    body = assert_error(seeded.put("/api/v1/cluster", **request_kwargs), status, error, field)
    for text in in_message or ():
        assert text in body["message"] or text in json.dumps(body["errors"])
    assert snapshot(seeded) == before


def test_member_id_cannot_change_on_put(seeded):
    before = snapshot(seeded)
    body = assert_error(seeded.put("/api/v1/members/m-pub", json=member_doc("m-other", "nace-rev2:11.02")),
                        422, "validation_error", "id")
    assert "id" in body["message"]
    assert snapshot(seeded) == before
    assert_error(seeded.get("/api/v1/members/m-other"), 404, "not_found")


def test_put_with_unknown_code_changes_nothing(seeded):
    before = snapshot(seeded)
    assert_error(seeded.put("/api/v1/members/m-pub", json=member_doc("m-pub", "nace-rev2:99.99", name="Changed")),
                 422, "validation_error", "activities")
    assert snapshot(seeded) == before


@pytest.mark.parametrize("method, kwargs", [
    ("get", {}),
    ("put", {"json": member_doc("ghost", "nace-rev2:10.41")}),
    ("delete", {}),
])
def test_unknown_member_is_404(seeded, method, kwargs):
    before = snapshot(seeded)
    body = assert_error(getattr(seeded, method)("/api/v1/members/ghost", **kwargs), 404, "not_found")
    assert "ghost" in body["message"]
    assert snapshot(seeded) == before


# -- CSV import ----------------------------------------------------------------------------------------------------

GOOD_CSV = (CSV_HEADER
            + "a1,sme,Olive Co,Beirut,small,nace-rev2:10.41,Contract bottling of olive oil [nace-rev2:10.41] | "
              "Tasting tours,Glass jars [nace-rev2:23.13],FR;de,active,2024-01-02,public\n"
            + "a2,university,Lebanese University,Beirut,,nace-rev2:85.42,,,,active,,federation\n"
            + ",startup,No Id Yet,Tripoli,micro,nace-rev2:10.82;isic-rev4:1073,,,,dormant,,private\n")


def test_import_csv_body(seeded):
    client = seeded
    before_sequence = sequence(client)
    response = client.post("/api/v1/members/import", data=GOOD_CSV.encode("utf-8"), content_type="text/csv")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"rows": 3, "created": 3, "updated": 0, "removed": 0}
    assert sequence(client) == before_sequence + 1

    a1 = client.get("/api/v1/members/a1").get_json()
    assert a1 == {"id": "a1", "kind": "sme", "name": "Olive Co", "city": "Beirut", "size": "small",
                  "activities": [{"scheme": "nace-rev2", "code": "10.41"}],
                  "offers": [{"text": "Contract bottling of olive oil",
                              "codes": [{"scheme": "nace-rev2", "code": "10.41"}]},
                             {"text": "Tasting tours", "codes": []}],
                  "needs": [{"text": "Glass jars", "codes": [{"scheme": "nace-rev2", "code": "23.13"}]}],
                  "export_markets": ["FR", "DE"], "status": "active", "last_active": "2024-01-02",
                  "visibility": "public"}
    assert client.get("/api/v1/members/a2").get_json()["visibility"] == "federation"
    generated = [m for m in client.get("/api/v1/members?visibility=private").get_json() if m["name"] == "No Id Yet"]
    assert len(generated) == 1 and re.fullmatch(r"m-[0-9a-f]{16}", generated[0]["id"])
    assert generated[0]["status"] == "dormant"
    assert generated[0]["activities"] == [{"scheme": "nace-rev2", "code": "10.82"},
                                          {"scheme": "isic-rev4", "code": "1073"}]

    # The same rows again update the members that have ids.
    again = client.post("/api/v1/members/import", data=CSV_HEADER + "a1,sme,Olive Company,,,nace-rev2:10.41,,,,,,\n",
                        content_type="text/csv")
    assert again.get_json() == {"rows": 1, "created": 0, "updated": 1, "removed": 0}
    assert client.get("/api/v1/members/a1").get_json()["name"] == "Olive Company"


def test_import_multipart_file_field(seeded):
    response = seeded.post("/api/v1/members/import",
                           data={"file": (io.BytesIO(GOOD_CSV.encode("utf-8")), "members.csv", "text/csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"rows": 3, "created": 3, "updated": 0, "removed": 0}
    assert {"a1", "a2"} <= set(member_ids(seeded))
    assert {"a1", "a2"} <= {m["id"] for m in profile_of(seeded)["members"]}


def test_import_with_bad_rows_imports_nothing(seeded):
    csv_text = (CSV_HEADER
                + "b1,sme,Good One,,,nace-rev2:10.41,,,,,,\n"          # line 2
                + "b2,alien,Bad Kind,,,nace-rev2:10.41,,,,,,\n"        # line 3
                + "b3,sme,Good Three,,,nace-rev2:11.02,,,,,,\n"        # line 4
                + "b4,sme,Bad Code,,,nace-rev2:99.99,,,,,,\n"          # line 5
                + "b5,sme,Good Five,,,nace-rev2:10.82,,,,,,\n")        # line 6
    before = snapshot(seeded)
    body = assert_error(seeded.post("/api/v1/members/import", data=csv_text, content_type="text/csv"),
                        422, "validation_error", "rows")
    rows = body["errors"]["rows"]
    assert [(r["line"], r["id"]) for r in rows] == [(3, "b2"), (5, "b4")]
    assert "kind" in rows[0]["errors"]
    assert rows[1]["errors"] == {"activities": {"0": {"code": ["member 'b4': unknown nace-rev2 code '99.99'"]}}}
    assert "line 3" in body["message"] and "line 5" in body["message"]
    assert "nothing was imported" in body["message"]
    assert snapshot(seeded) == before


def test_import_refuses_duplicate_ids_within_the_file(seeded):
    csv_text = (CSV_HEADER + "d1,sme,First,,,nace-rev2:10.41,,,,,,\n" + "d2,sme,Other,,,nace-rev2:10.41,,,,,,\n"
                + "d1,sme,Second,,,nace-rev2:10.41,,,,,,\n")
    before = snapshot(seeded)
    body = assert_error(seeded.post("/api/v1/members/import", data=csv_text, content_type="text/csv"),
                        422, "validation_error", "rows")
    assert [(r["line"], r["id"]) for r in body["errors"]["rows"]] == [(4, "d1")]
    assert "first on line 2" in body["errors"]["rows"][0]["errors"]["id"][0]
    assert snapshot(seeded) == before


@pytest.mark.parametrize("data, expected_in_errors", [
    pytest.param(CSV_HEADER.encode() + b"x1,sme,Caf\xe9 Latin-1,,,nace-rev2:10.41,,,,,,\n", "UTF-8", id="not-utf8"),
    pytest.param(b"id,kind,name,colour\nx1,sme,Red Co,red\n", "colour", id="unknown-column"),
    pytest.param(b"id,name\nx1,No Kind Column\n", "kind", id="missing-column"),
    pytest.param(b"", "empty", id="empty-file"),
    pytest.param(CSV_HEADER.encode(), "no rows", id="header-only"),
])
def test_import_refuses_unreadable_files(seeded, data, expected_in_errors):
    before = snapshot(seeded)
    body = assert_error(seeded.post("/api/v1/members/import", data=data, content_type="text/csv"),
                        422, "validation_error", "file")
    assert expected_in_errors in body["errors"]["file"][0]
    assert snapshot(seeded) == before


def test_import_replace_removes_members_absent_from_the_file(seeded):
    client = seeded
    csv_text = CSV_HEADER + "m-pub,sme,Public Renamed,,,nace-rev2:11.02,,,,,,\n" + "n1,sme,New,,,nace-rev2:10.41,,,,,,\n"
    response = client.post("/api/v1/members/import?replace=true", data=csv_text, content_type="text/csv")
    assert response.status_code == 200
    assert response.get_json() == {"rows": 2, "created": 1, "updated": 1, "removed": 2}
    assert member_ids(client) == ["m-pub", "n1"]
    assert [m["id"] for m in profile_of(client)["members"]] == ["m-pub", "n1"]
    assert client.get("/api/v1/members/m-pub").get_json()["name"] == "Public Renamed"


def test_import_without_replace_keeps_other_members(seeded):
    response = seeded.post("/api/v1/members/import", data=CSV_HEADER + "n1,sme,New,,,nace-rev2:10.41,,,,,,\n",
                           content_type="text/csv")
    assert response.get_json() == {"rows": 1, "created": 1, "updated": 0, "removed": 0}
    assert member_ids(seeded) == ["m-fed", "m-priv", "m-pub", "n1"]


def test_failed_replace_import_removes_nothing(seeded):
    before = snapshot(seeded)
    csv_text = CSV_HEADER + "n1,sme,New,,,nace-rev2:10.41,,,,,,\n" + "n2,sme,Bad,,,nace-rev2:99.99,,,,,,\n"
    assert_error(seeded.post("/api/v1/members/import?replace=true", data=csv_text, content_type="text/csv"),
                 422, "validation_error", "rows")
    assert snapshot(seeded) == before
