"""The node's REST API through Flask's test client, on SQLite and PostgreSQL (``make_node`` follows ``backend``).

``app.test_client()`` carries a node_admin token (``make_node``); ``FlaskClient(app)`` is an anonymous caller. The
profile is served per audience: public to anyone, public and federation to a request signed (RFC 9421) by a hub key
the node trusts; the ``hub_keys`` fixture is such a hub.
"""

from __future__ import annotations

import io
import json
import re

import jsonschema
import pytest
import requests
from flask.testing import FlaskClient

from federation.signing import KeyStore, keys_from_jwks, sign_request, verify_document
from connectors.member_import.ids import stable_id
from tests.support.assertions import assert_error
from tests.support.builders import cluster_doc, member_doc

ERROR_KEYS = {"code", "status", "error", "message", "errors"}
CSV_HEADER = "id,kind,name,city,size,activities,offers,needs,export_markets,status,last_active,visibility\n"
#: What GET /api/v1/members/<id> adds to a member without contact details.
NO_CONTACT = {"contact": None, "contact_visibility": None}
#: What a member given none of the 1.3 fields carries.
NO_IDENTITY = {"research_domains": [], "identifiers": None, "website": None}
HUB_URL = "https://hub.example.org"
BASE = "http://localhost"  # the test client's host


# -- helpers -------------------------------------------------------------------------------------------------------


def signed_headers(keys: KeyStore, path: str, method: str = "GET") -> dict:
    """RFC 9421 headers of a request to ``path`` on the test client's host, signed with the current key of ``keys``."""
    prepared = requests.Request(method, BASE + path).prepare()
    kid, key = keys.current
    sign_request(prepared, key, kid)
    return {name: value for name, value in prepared.headers.items() if name.lower().startswith("signature")}


def get_profile(client, audience: str = "public", headers: dict | None = None):
    """GET the profile as an anonymous reader ("public") or as the hub the node trusts ("federation")."""
    headers = dict(headers or {})
    if audience == "federation":
        headers.update(signed_headers(client.application.config["TEST_HUB_KEYS"], "/api/v1/profile"))
    return FlaskClient(client.application).get("/api/v1/profile", headers=headers)


def node_keys(client) -> dict:
    """The node's public keys as its discovery document publishes them."""
    return keys_from_jwks(client.get("/.well-known/med-mci").get_json()["keys"])


def snapshot(client) -> dict:
    """Everything a failed write must leave untouched: members, cluster, and both published profiles."""
    members = client.get("/api/v1/members")
    assert members.status_code == 200
    cluster = client.get("/api/v1/cluster")
    profiles = {}
    for audience in ("public", "federation"):
        profile = get_profile(client, audience)
        profiles[audience] = ((profile.get_json()["sequence"], profile.headers["ETag"], profile.data)
                              if profile.status_code == 200 else None)
    return {"members": members.get_json(),
            "cluster": cluster.get_json() if cluster.status_code == 200 else None,
            "profiles": profiles}


def profile_of(client, audience: str = "federation") -> dict:
    """The published profile for ``audience`` (default: what the trusted hub reads, every shared member).

    Both audiences are always published together: same sequence and cluster, the public one holding exactly the
    federation one's public members.
    """
    response = get_profile(client, audience)
    assert response.status_code == 200, response.get_data(as_text=True)
    document = response.get_json()
    other = get_profile(client, "public" if audience == "federation" else "federation").get_json()
    assert other["sequence"] == document["sequence"] and other["cluster"] == document["cluster"]
    federation, public = (document, other) if audience == "federation" else (other, document)
    assert [m["id"] for m in public["members"]] == [m["id"] for m in federation["members"]
                                                    if m["audience"] == "public"]
    return document


def sequence(client) -> int:
    return profile_of(client)["sequence"]


def etags(client) -> tuple[str, str]:
    """The ETags of the public and of the federation profile."""
    return get_profile(client, "public").headers["ETag"], get_profile(client, "federation").headers["ETag"]


def member_ids(client, query: str = "") -> list[str]:
    response = client.get("/api/v1/members" + query)
    assert response.status_code == 200
    return [m["id"] for m in response.get_json()]


@pytest.fixture
def hub_keys(tmp_path) -> KeyStore:
    """The key pair of a hub the ``node`` fixture trusts."""
    return KeyStore.load_or_create(tmp_path / "trusted-hub-keys")


@pytest.fixture
def node(make_node, hub_keys):
    app = make_node("qoot")
    app.testing = True
    app.extensions["medmci"].hubs.set_public_url(BASE)  # a node that trusts a hub knows the URL it is published at
    assert app.extensions["medmci"].hubs.trust(HUB_URL, hub_keys.published()) == [hub_keys.current[0]]
    app.config["TEST_HUB_KEYS"] = hub_keys
    return app


@pytest.fixture
def anonymous(node):
    return FlaskClient(node)


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
    expected = {**doc, "needs": [], "visibility": "public", **NO_CONTACT, **NO_IDENTITY}
    assert created.get_json() == expected
    assert client.get("/api/v1/members/olive-1").get_json() == expected
    assert "olive-1" in member_ids(client)
    assert "olive-1" in {m["id"] for m in profile_of(client, "public")["members"]}

    changed = {**doc, "name": "Olive Press SARL", "size": "medium", "visibility": "federation"}
    updated = client.put("/api/v1/members/olive-1", json=changed)
    assert updated.status_code == 200
    assert updated.get_json() == {**changed, "needs": [], **NO_CONTACT, **NO_IDENTITY}
    assert client.get("/api/v1/members/olive-1").get_json()["name"] == "Olive Press SARL"
    assert client.get("/api/v1/members/olive-1").get_json()["visibility"] == "federation"
    # Now shared with the federation only.
    assert "olive-1" not in {m["id"] for m in profile_of(client, "public")["members"]}
    shared = {m["id"]: m for m in profile_of(client, "federation")["members"]}
    assert (shared["olive-1"]["name"], shared["olive-1"]["audience"]) == ("Olive Press SARL", "federation")

    deleted = client.delete("/api/v1/members/olive-1")
    assert deleted.status_code == 204
    assert deleted.data == b""
    assert_error(client.get("/api/v1/members/olive-1"), 404, "not_found")
    assert member_ids(client) == ["m-fed", "m-priv", "m-pub"]
    assert "olive-1" not in {m["id"] for m in profile_of(client)["members"]}


def test_member_contact_is_stored_and_returned_with_its_visibility(seeded):
    client = seeded
    contact = {"email": "press@olive.example.org", "phone": "+961 1 234 567", "person": "Rima Haddad"}
    visibility = {"email": "public", "phone": "federation", "person": "private"}
    doc = member_doc("olive-2", "nace-rev2:10.41", contact=contact, contact_visibility=visibility)
    created = client.post("/api/v1/members", json=doc)
    assert created.status_code == 201, created.get_data(as_text=True)
    expected = {**doc, "offers": [], "needs": [], "export_markets": [], "last_active": None,
                "visibility": "public", **NO_IDENTITY}
    assert created.get_json() == expected
    assert client.get("/api/v1/members/olive-2").get_json() == expected

    # Only some fields given: the others read back as None; a field without a visibility stays private.
    partial = member_doc("olive-2", "nace-rev2:10.41", contact={"email": "info@olive.example.org"},
                         contact_visibility={"email": "federation"})
    updated = client.put("/api/v1/members/olive-2", json=partial)
    assert updated.status_code == 200, updated.get_data(as_text=True)
    assert updated.get_json()["contact"] == {"email": "info@olive.example.org", "phone": None, "person": None}
    assert updated.get_json()["contact_visibility"] == {"email": "federation"}
    assert client.get("/api/v1/members/olive-2").get_json() == updated.get_json()


@pytest.mark.parametrize("extra, field", [
    pytest.param({"contact": {"email": "not-an-email"}}, "contact", id="bad-email"),
    pytest.param({"contact": {"phone": "call me"}}, "contact", id="bad-phone"),
    pytest.param({"contact": {"fax": "+961 1 234"}}, "contact", id="unknown-contact-field"),
    pytest.param({"contact_visibility": {"email": "everyone"}}, "contact_visibility", id="unknown-visibility"),
    pytest.param({"contact_visibility": {"fax": "public"}}, "contact_visibility", id="unknown-field-visibility"),
])
def test_bad_contact_is_refused_and_changes_nothing(seeded, extra, field):
    before = snapshot(seeded)
    assert_error(seeded.post("/api/v1/members", json=member_doc("x1", "nace-rev2:10.41", **extra)), 422,
                 "validation_error", field)
    assert snapshot(seeded) == before


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
    for audience in ("public", "federation"):
        body = assert_error(get_profile(client, audience), 404, "not_found")
        assert "cluster" in body["message"]

    assert client.put("/api/v1/cluster", json=cluster_doc()).status_code == 200
    profile = profile_of(client)
    assert profile["sequence"] == 1
    assert [m["id"] for m in profile["members"]] == ["early"]


@pytest.mark.parametrize("audience", ["public", "federation"])
def test_profile_is_signed_json_with_an_etag(seeded, audience):
    response = get_profile(seeded, audience)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    etag = response.headers.get("ETag")
    assert etag and re.fullmatch(r'"[0-9a-f]+"', etag)
    assert set(response.headers.get("Cache-Control").split(", ")) == {"no-cache", "private"}  # audience by signature
    assert {v.strip() for v in response.headers["Vary"].split(",")} >= {"Signature", "Signature-Input"}
    document = json.loads(response.data.decode("utf-8"))
    assert document["schema"] == "med-mci/profile"
    assert document["version"] == "1.3"
    assert document["audience"] == audience  # signed: the hub refuses a document made for another audience
    assert document["cluster"] == cluster_doc()
    assert document["sequence"] == 4  # the cluster, then three members
    # Signed by the node's key for this URL and this cluster (a detached JWS over the body).
    header = verify_document(response.data, response.headers["Med-MCI-Signature"], node_keys(seeded),
                             expected_htu=f"{BASE}/api/v1/profile", expected_sub="qoot")
    assert header["kid"] in node_keys(seeded)
    # Same content, same bytes, same validator.
    again = get_profile(seeded, audience)
    assert again.data == response.data
    assert again.headers["ETag"] == etag


def test_each_audience_has_its_own_publication(seeded, anonymous, tmp_path):
    public, federation = get_profile(seeded, "public"), get_profile(seeded, "federation")
    assert [m["id"] for m in public.get_json()["members"]] == ["m-pub"]
    assert [m["id"] for m in federation.get_json()["members"]] == ["m-fed", "m-pub"]
    assert public.headers["ETag"] != federation.headers["ETag"]
    # The admin's token changes nothing: the audience comes from a hub's signature, not from API tokens.
    assert seeded.get("/api/v1/profile").data == public.data
    assert anonymous.get("/api/v1/profile").data == public.data
    # One audience's validator is not the other's: no 304 across audiences.
    crossed = get_profile(seeded, "federation", {"If-None-Match": public.headers["ETag"]})
    assert crossed.status_code == 200 and crossed.data == federation.data
    crossed = get_profile(seeded, "public", {"If-None-Match": federation.headers["ETag"]})
    assert crossed.status_code == 200 and crossed.data == public.data

    # A request signed by a key the node does not know is refused, naming the key (it used to get the public
    # document, which a hub would take for the federation one); an unsigned request still reads the public one.
    stranger = KeyStore.load_or_create(tmp_path / "stranger-hub-keys")
    unknown = anonymous.get("/api/v1/profile", headers=signed_headers(stranger, "/api/v1/profile"))
    body = assert_error(unknown, 401, "signature_error")
    assert f"unknown key id {stranger.current[0]}" in body["message"] and b"m-pub" not in unknown.data


@pytest.mark.parametrize("headers, message", [
    pytest.param(lambda keys: signed_headers(keys, "/api/v1/members"), "signature does not match",
                 id="signed-for-another-url"),
    pytest.param(lambda keys: signed_headers(keys, "/api/v1/profile", "POST"), "signature does not match",
                 id="signed-for-another-method"),
    pytest.param(lambda keys: {**signed_headers(keys, "/api/v1/profile"),
                               "Signature": "medmci=:" + "A" * 86 + "==:"}, "signature does not match",
                 id="altered-signature"),
    pytest.param(lambda keys: {"Signature-Input": signed_headers(keys, "/api/v1/profile")["Signature-Input"]},
                 "malformed request signature", id="no-signature"),
])
def test_a_bad_signature_by_a_trusted_hub_key_is_401(seeded, anonymous, hub_keys, headers, message):
    response = anonymous.get("/api/v1/profile", headers=headers(hub_keys))
    body = assert_error(response, 401, "signature_error", "signature")
    assert body["message"].startswith(message)
    assert "Med-MCI-Signature" not in response.headers
    assert b"m-fed" not in response.data and b"m-pub" not in response.data


def test_profile_sequence_and_etag_change_with_every_write(seeded):
    client = seeded
    seen = [(sequence(client), *etags(client))]

    def step(response, status):
        assert response.status_code == status, response.get_data(as_text=True)
        current = (sequence(client), *etags(client))
        assert current[0] == seen[-1][0] + 1
        old = {etag for _, *pair in seen for etag in pair}
        assert current[1] not in old and current[2] not in old
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
@pytest.mark.parametrize("audience", ["public", "federation"])
def test_if_none_match_with_the_current_etag_is_304_with_empty_body(seeded, header, audience):
    etag = get_profile(seeded, audience).headers["ETag"]
    response = get_profile(seeded, audience, {"If-None-Match": header.format(etag=etag)})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag


@pytest.mark.parametrize("audience", ["public", "federation"])
def test_stale_etag_gives_200_with_the_new_profile(seeded, audience):
    old = get_profile(seeded, audience)
    assert seeded.post("/api/v1/members", json=member_doc("m-late", "nace-rev2:10.41")).status_code == 201
    response = get_profile(seeded, audience, {"If-None-Match": old.headers["ETag"]})
    assert response.status_code == 200
    assert response.headers["ETag"] != old.headers["ETag"]
    document = response.get_json()
    assert document["sequence"] == old.get_json()["sequence"] + 1
    assert "m-late" in {m["id"] for m in document["members"]}


def test_private_members_never_reach_the_profile(seeded):
    client = seeded
    federation = get_profile(client, "federation")
    members = federation.get_json()["members"]
    assert [(m["id"], m["audience"]) for m in members] == [("m-fed", "federation"), ("m-pub", "public")]
    public = get_profile(client, "public")
    assert [(m["id"], m["audience"]) for m in public.get_json()["members"]] == [("m-pub", "public")]
    for response in (public, federation):
        assert all("visibility" not in m and "contact_visibility" not in m for m in response.get_json()["members"])
        assert b"m-priv" not in response.data and b"Secret" not in response.data
    assert b"m-fed" not in public.data

    # Visibility changes move members in and out of each audience's profile.
    assert client.put("/api/v1/members/m-pub", json=member_doc("m-pub", "nace-rev2:11.02",
                                                               visibility="private")).status_code == 200
    assert client.put("/api/v1/members/m-priv", json=member_doc("m-priv", "nace-rev2:10.41",
                                                                visibility="federation")).status_code == 200
    assert [m["id"] for m in profile_of(client)["members"]] == ["m-fed", "m-priv"]
    assert profile_of(client, "public")["members"] == []

    # Private rows imported from CSV stay private too.
    csv_text = CSV_HEADER + "imp-priv,sme,Hidden Imports,,,nace-rev2:10.41,,,,,,private\n"
    assert client.post("/api/v1/members/import", data=csv_text, content_type="text/csv").status_code == 200
    assert "imp-priv" in member_ids(client, "?visibility=private")
    assert "imp-priv" not in {m["id"] for m in profile_of(client)["members"]}


def test_contact_fields_reach_only_the_audiences_their_visibility_allows(seeded):
    client = seeded
    contact = {"email": "press@olive.example.org", "phone": "+961 1 234 567", "person": "Rima Haddad"}
    for member_id, visibility in (("c-pub", "public"), ("c-fed", "federation"), ("c-priv", "private")):
        doc = member_doc(member_id, "nace-rev2:10.41", visibility=visibility, contact=contact,
                         contact_visibility={"email": "public", "phone": "federation", "person": "private"})
        assert client.post("/api/v1/members", json=doc).status_code == 201
    public = {m["id"]: m for m in profile_of(client, "public")["members"]}
    federation = {m["id"]: m for m in profile_of(client, "federation")["members"]}
    assert sorted(public) == ["c-pub", "m-pub"]
    assert sorted(federation) == ["c-fed", "c-pub", "m-fed", "m-pub"]
    assert public["c-pub"]["contact"] == {"email": "press@olive.example.org"}
    assert federation["c-pub"]["contact"] == {"email": "press@olive.example.org", "phone": "+961 1 234 567"}
    assert federation["c-fed"]["contact"] == {"email": "press@olive.example.org", "phone": "+961 1 234 567"}
    assert public["m-pub"]["contact"] is None and federation["m-fed"]["contact"] is None
    for audience in ("public", "federation"):
        data = get_profile(client, audience).data
        assert b"Rima Haddad" not in data and b"c-priv" not in data
    assert b"+961" not in get_profile(client, "public").data

    # Fields without a visibility are private: nothing is shared by default.
    quiet = member_doc("c-quiet", "nace-rev2:10.41", contact=contact)
    assert client.post("/api/v1/members", json=quiet).status_code == 201
    assert {m["id"]: m for m in profile_of(client, "federation")["members"]}["c-quiet"]["contact"] is None


def discovery_signatures_verify(response) -> list[str]:
    """Every comma-separated JWS of the discovery document verifies with the keys it publishes; their kids."""
    document = response.get_json()
    keys = keys_from_jwks(document["keys"])
    signatures = response.headers["Med-MCI-Signature"].split(",")
    return [verify_document(document, jws.strip(), keys)["kid"] for jws in signatures]


def test_discovery_document(client, anonymous):
    before = anonymous.get("/.well-known/med-mci")
    assert before.status_code == 200
    assert before.get_json()["cluster_id"] is None
    assert before.get_json()["cluster"] is None
    # The keys are there before the cluster: the node's identity exists from its first start.
    [key] = before.get_json()["keys"]
    assert key["status"] == "current" and key["kid"]
    assert discovery_signatures_verify(before) == [key["kid"]]

    assert client.put("/api/v1/cluster", json=cluster_doc("qoot")).status_code == 200
    response = anonymous.get("/.well-known/med-mci")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["schema"] == "med-mci/discovery"
    assert doc["cluster_id"] == "qoot"
    assert doc["cluster"] == {"id": "qoot", "country": "LB", "names": cluster_doc("qoot")["names"]}
    assert doc["keys"] == before.get_json()["keys"]
    assert {k["kty"] for k in doc["keys"]} == {"OKP"}
    assert all("d" not in k for k in doc["keys"])  # never a private part
    assert discovery_signatures_verify(response) == [key["kid"]]
    assert [p["version"] for p in doc["profiles"]] == ["1.3"]
    entry = doc["profiles"][0]
    assert entry["url"] == "http://localhost/api/v1/profile"
    assert entry["schema_url"] == "http://localhost/api/v1/schema/profile-1.json"
    assert entry["media_type"] == "application/json"
    # The advertised URLs answer, to anyone.
    assert anonymous.get(entry["url"].removeprefix("http://localhost")).get_json()["cluster"]["id"] == "qoot"
    assert anonymous.get(entry["schema_url"].removeprefix("http://localhost")).status_code == 200
    assert anonymous.get(doc["openapi_url"].removeprefix("http://localhost")).status_code == 200


def test_discovery_is_signed_by_every_published_key_after_a_rotation(node, client, anonymous):
    assert client.put("/api/v1/cluster", json=cluster_doc("qoot")).status_code == 200
    old_kid = anonymous.get("/.well-known/med-mci").get_json()["keys"][0]["kid"]
    new_kid = node.extensions["medmci"].keys.rotate()
    response = anonymous.get("/.well-known/med-mci")
    assert [(k["kid"], k["status"]) for k in response.get_json()["keys"]] == [(new_kid, "current"),
                                                                             (old_kid, "previous")]
    assert discovery_signatures_verify(response) == [new_kid, old_kid]
    # The profile is signed with the new key.
    profile = anonymous.get("/api/v1/profile")
    assert verify_document(profile.data, profile.headers["Med-MCI-Signature"],
                           keys_from_jwks(response.get_json()["keys"]))["kid"] == new_kid


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


def test_openapi_documents_the_members_api(anonymous):
    response = anonymous.get("/api/v1/openapi.json")
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
    # Guarded operations say which scope they need, and that they answer 401 and 403.
    for path, method, scope in (("/api/v1/members", "get", "members:write"),
                                ("/api/v1/members", "post", "members:write"),
                                ("/api/v1/members/{member_id}", "delete", "members:write"),
                                ("/api/v1/members/import", "post", "members:write"),
                                ("/api/v1/cluster", "put", "cluster:write")):
        operation = spec["paths"][path][method]
        assert operation["x-medmci-scope"] == scope, (path, method)
        assert {"401", "403"} <= set(operation["responses"]), (path, method)
    assert "x-medmci-scope" not in spec["paths"]["/api/v1/cluster"]["get"]


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
    generated_id = stable_id("No Id Yet", "Tripoli")
    assert response.get_json() == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0, "removed": 0,
                                   "dry_run": False, "published": True, "file": {"format": "csv", "encoding": "UTF-8", "delimiter": "comma"},
                                   "ids": {"created": ["a1", "a2", generated_id], "updated": [], "removed": []}}
    assert sequence(client) == before_sequence + 1

    a1 = client.get("/api/v1/members/a1").get_json()
    assert a1 == {"id": "a1", "kind": "sme", "name": "Olive Co", "city": "Beirut", "size": "small",
                  "activities": [{"scheme": "nace-rev2", "code": "10.41"}],
                  "offers": [{"text": "Contract bottling of olive oil",
                              "codes": [{"scheme": "nace-rev2", "code": "10.41"}]},
                             {"text": "Tasting tours", "codes": []}],
                  "needs": [{"text": "Glass jars", "codes": [{"scheme": "nace-rev2", "code": "23.13"}]}],
                  "export_markets": ["FR", "DE"], "status": "active", "last_active": "2024-01-02",
                  "visibility": "public", **NO_CONTACT, **NO_IDENTITY}
    assert client.get("/api/v1/members/a2").get_json()["visibility"] == "federation"
    generated = [m for m in client.get("/api/v1/members?visibility=private").get_json() if m["name"] == "No Id Yet"]
    assert len(generated) == 1 and re.fullmatch(r"m-[0-9a-f]{16}", generated[0]["id"])
    assert generated[0]["id"] == generated_id  # from its name and city: the same on every import
    assert generated[0]["status"] == "dormant"
    assert generated[0]["activities"] == [{"scheme": "nace-rev2", "code": "10.82"},
                                          {"scheme": "isic-rev4", "code": "1073"}]

    # The same rows again update the members that have ids.
    again = client.post("/api/v1/members/import", data=CSV_HEADER + "a1,sme,Olive Company,,,nace-rev2:10.41,,,,,,\n",
                        content_type="text/csv")
    assert again.get_json() == {"rows": 1, "created": 0, "updated": 1, "unchanged": 0, "removed": 0,
                                "dry_run": False, "published": True, "file": {"format": "csv", "encoding": "UTF-8", "delimiter": "comma"},
                                "ids": {"created": [], "updated": ["a1"], "removed": []}}
    assert client.get("/api/v1/members/a1").get_json()["name"] == "Olive Company"


def test_import_multipart_file_field(seeded):
    response = seeded.post("/api/v1/members/import",
                           data={"file": (io.BytesIO(GOOD_CSV.encode("utf-8")), "members.csv", "text/csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    report = response.get_json()
    assert (report["rows"], report["created"], report["updated"], report["unchanged"], report["removed"]) \
        == (3, 3, 0, 0, 0)
    assert report["ids"] == {"created": ["a1", "a2", stable_id("No Id Yet", "Tripoli")], "updated": [],
                             "removed": []}
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
    # Windows-1252 is read now (tests/test_member_import.py); text mixing UTF-8 and another encoding is not.
    pytest.param(CSV_HEADER.encode() + b"x1,sme,Caf\xc3\xa9 \xe9,,,nace-rev2:10.41,,,,,,\n", "mixes UTF-8",
                 id="mixed-encodings"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image", id="png"),
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
    assert response.get_json() == {"rows": 2, "created": 1, "updated": 1, "unchanged": 0, "removed": 2,
                                   "dry_run": False, "published": True, "file": {"format": "csv", "encoding": "UTF-8", "delimiter": "comma"},
                                   "ids": {"created": ["n1"], "updated": ["m-pub"], "removed": ["m-fed", "m-priv"]}}
    assert member_ids(client) == ["m-pub", "n1"]
    assert [m["id"] for m in profile_of(client)["members"]] == ["m-pub", "n1"]
    assert client.get("/api/v1/members/m-pub").get_json()["name"] == "Public Renamed"


def test_import_without_replace_keeps_other_members(seeded):
    response = seeded.post("/api/v1/members/import", data=CSV_HEADER + "n1,sme,New,,,nace-rev2:10.41,,,,,,\n",
                           content_type="text/csv")
    assert response.get_json() == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "removed": 0,
                                   "dry_run": False, "published": True, "file": {"format": "csv", "encoding": "UTF-8", "delimiter": "comma"},
                                   "ids": {"created": ["n1"], "updated": [], "removed": []}}
    assert member_ids(seeded) == ["m-fed", "m-priv", "m-pub", "n1"]


def test_import_csv_contact_columns(seeded):
    csv_text = (CSV_HEADER.rstrip("\n") + ",email,phone,contact_person,contact_visibility\n"
                + "k1,sme,Shared Contact,,,nace-rev2:10.41,,,,,,public,k1@example.org,+961 1 111,Nadia,federation\n"
                + "k2,sme,Quiet Contact,,,nace-rev2:10.41,,,,,,public,k2@example.org,,,\n")
    response = seeded.post("/api/v1/members/import", data=csv_text, content_type="text/csv")
    assert response.status_code == 200, response.get_data(as_text=True)
    k1 = seeded.get("/api/v1/members/k1").get_json()
    assert k1["contact"] == {"email": "k1@example.org", "phone": "+961 1 111", "person": "Nadia"}
    assert k1["contact_visibility"] == {"email": "federation", "phone": "federation", "person": "federation"}
    k2 = seeded.get("/api/v1/members/k2").get_json()
    assert k2["contact"]["email"] == "k2@example.org"
    assert k2["contact_visibility"] == {"email": "private"}  # no visibility given: private
    federation = {m["id"]: m for m in profile_of(seeded, "federation")["members"]}
    public = {m["id"]: m for m in profile_of(seeded, "public")["members"]}
    assert federation["k1"]["contact"] == {"email": "k1@example.org", "phone": "+961 1 111", "person": "Nadia"}
    assert public["k1"]["contact"] is None
    assert federation["k2"]["contact"] is None and public["k2"]["contact"] is None


def test_failed_replace_import_removes_nothing(seeded):
    before = snapshot(seeded)
    csv_text = CSV_HEADER + "n1,sme,New,,,nace-rev2:10.41,,,,,,\n" + "n2,sme,Bad,,,nace-rev2:99.99,,,,,,\n"
    assert_error(seeded.post("/api/v1/members/import?replace=true", data=csv_text, content_type="text/csv"),
                 422, "validation_error", "rows")
    assert snapshot(seeded) == before


# -- who may do what ---------------------------------------------------------------------------------------------

GUARDED = [
    pytest.param("get", "/api/v1/members", {}, "members:write", id="list-members"),
    pytest.param("get", "/api/v1/members/m-pub", {}, "members:write", id="get-member"),
    pytest.param("post", "/api/v1/members", {"json": member_doc("x1", "nace-rev2:10.41")}, "members:write",
                 id="create-member"),
    pytest.param("put", "/api/v1/members/m-pub", {"json": member_doc("m-pub", "nace-rev2:10.41", name="Hijacked")},
                 "members:write", id="update-member"),
    pytest.param("delete", "/api/v1/members/m-pub", {}, "members:write", id="delete-member"),
    pytest.param("post", "/api/v1/members/import",
                 {"data": CSV_HEADER + "x1,sme,Sneaked In,,,nace-rev2:10.41,,,,,,\n", "content_type": "text/csv"},
                 "members:write", id="import"),
    pytest.param("put", "/api/v1/cluster", {"json": cluster_doc(description={"en": "Hijacked"})}, "cluster:write",
                 id="put-cluster"),
]


@pytest.mark.parametrize("method, path, kwargs, scope", GUARDED)
def test_anonymous_callers_cannot_write_or_list_members(seeded, anonymous, method, path, kwargs, scope):
    before = snapshot(seeded)
    response = getattr(anonymous, method)(path, **kwargs)
    body = assert_error(response, 401, "unauthorized")
    assert scope in body["message"]
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="medmci"')
    assert snapshot(seeded) == before


@pytest.mark.parametrize("method, path, kwargs, scope", GUARDED)
def test_a_token_without_the_scope_is_403(node, seeded, method, path, kwargs, scope):
    other = "cluster:write" if scope == "members:write" else "members:write"
    _record, token = node.extensions["medmci"].tokens.create("narrow", "node_admin", [other])
    before = snapshot(seeded)
    response = getattr(seeded, method)(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    body = assert_error(response, 403, "forbidden")
    assert f"lacks scope '{scope}'" in body["message"] and "narrow" in body["message"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert f'scope="{scope}"' in response.headers["WWW-Authenticate"]
    assert snapshot(seeded) == before


@pytest.mark.parametrize("header, message", [
    pytest.param("Bearer mmci_000000000000_notthesecret", "unknown token", id="unknown-token"),
    pytest.param("Bearer not-a-token", "malformed token", id="malformed-token"),
    pytest.param("Basic dXNlcjpwYXNz", "unsupported authorization scheme", id="basic-auth"),
])
def test_a_bad_token_is_401_and_changes_nothing(seeded, header, message):
    before = snapshot(seeded)
    response = seeded.post("/api/v1/members", json=member_doc("x1", "nace-rev2:10.41"),
                           headers={"Authorization": header})
    body = assert_error(response, 401, "unauthorized")
    assert message in body["message"]
    assert "WWW-Authenticate" in response.headers
    assert snapshot(seeded) == before


def test_a_revoked_token_is_401(node, seeded):
    record, token = node.extensions["medmci"].tokens.create("temporary", "node_admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert seeded.get("/api/v1/members", headers=headers).status_code == 200
    node.extensions["medmci"].tokens.revoke(record["id"])
    body = assert_error(seeded.get("/api/v1/members", headers=headers), 401, "unauthorized")
    assert "revoked" in body["message"]


def test_reads_of_the_published_side_stay_open(seeded, anonymous):
    assert anonymous.get("/api/v1/cluster").get_json() == cluster_doc()
    assert anonymous.get("/.well-known/med-mci").status_code == 200
    assert anonymous.get("/api/v1/schema/profile-1.json").status_code == 200
    assert [m["id"] for m in anonymous.get("/api/v1/profile").get_json()["members"]] == ["m-pub"]


# -- the same input refused the same way everywhere (issue #8, D14) -----------------------------------------------

@pytest.fixture
def served(node, serve):
    """The node served on loopback, with its admin's headers: ``(base URL, headers)``."""
    _record, token = node.extensions["medmci"].tokens.create("http-admin", "node_admin")
    return serve(node).url, {"Authorization": f"Bearer {token}"}


def test_put_cluster_with_a_value_chain_twice_is_refused_naming_it(served):
    url, headers = served
    assert requests.put(f"{url}/api/v1/cluster", json=cluster_doc(), headers=headers, timeout=10).status_code == 200
    before = requests.get(f"{url}/api/v1/cluster", timeout=10).json()
    twice = cluster_doc(value_chains=["agri-food", "food-cosmetics", "agri-food"])
    response = requests.put(f"{url}/api/v1/cluster", json=twice, headers=headers, timeout=10)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]["value_chains"] == ["value chain 'agri-food' is listed twice"]
    assert requests.get(f"{url}/api/v1/cluster", timeout=10).json() == before
    # The published JSON Schema says so too.
    schema = requests.get(f"{url}/api/v1/schema/profile-1.json", timeout=10).json()
    assert '"uniqueItems": true' in json.dumps(schema)


@pytest.mark.parametrize("header, repeated", [
    pytest.param("id,kind,name,city,name", "name", id="name-twice"),
    pytest.param("id,kind,name,activities,visibility,activities,visibility", "activities, visibility",
                 id="two-columns-twice"),
])
def test_a_csv_with_a_repeated_column_is_refused_naming_it(served, header, repeated):
    url, headers = served
    assert requests.put(f"{url}/api/v1/cluster", json=cluster_doc(), headers=headers, timeout=10).status_code == 200
    cells = ",".join(["r1", "sme", "Real Name"] + ["x"] * (header.count(",") - 2))
    response = requests.post(f"{url}/api/v1/members/import", data=f"{header}\n{cells}\n".encode(),
                             headers={**headers, "Content-Type": "text/csv"}, timeout=10)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]["file"] == [f"repeated column(s): {repeated}; each column may appear once"]
    assert requests.get(f"{url}/api/v1/members", headers=headers, timeout=10).json() == []
