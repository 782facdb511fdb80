"""Node identity and signatures: the key store, detached JWS over JCS documents, RFC 9421 hub requests over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, jsonify, request
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from federation.errors import ConfigurationError, SignatureError, ValidationError
from federation.serving import BackgroundServer
from federation.signing import (KEYS_FILE, HubRequestSigner, KeyStore, b64url_decode, b64url_encode,
                                jwk_to_public_key, keys_from_jwks, public_jwk, received_url, sign_document,
                                sign_request, thumbprint, verify_document, verify_request)

NOW = 1_750_000_000


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def reason(excinfo) -> str:
    error = excinfo.value
    assert isinstance(error, SignatureError) and error.status == 401
    assert error.message.startswith(error.errors["signature"][0])
    return error.errors["signature"][0]


@pytest.fixture
def key():
    private = Ed25519PrivateKey.generate()
    return thumbprint(private), private


@pytest.fixture
def keys(key):
    kid, private = key
    return {kid: private.public_key()}


# --- key store -----------------------------------------------------------------------------------------------------

def test_key_store_creates_a_private_folder_and_key_files_even_with_an_open_umask(tmp_path):
    folder = tmp_path / "instance" / "keys"
    old_umask = os.umask(0)
    try:
        store = KeyStore.load_or_create(folder)
    finally:
        os.umask(old_umask)
    kid, private = store.current
    assert mode(folder) == 0o700
    assert mode(folder / f"{kid}.pem") == 0o600
    assert kid == thumbprint(private.public_key())
    metadata = json.loads((folder / KEYS_FILE).read_text())["keys"]
    assert metadata == [{"kid": kid, "created": metadata[0]["created"], "status": "current", "retired_at": None}]
    assert (folder / f"{kid}.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_key_store_reloads_the_same_key(tmp_path):
    first = KeyStore.load_or_create(tmp_path / "keys")
    again = KeyStore.load_or_create(tmp_path / "keys")
    assert again.current[0] == first.current[0]
    jws = sign_document({"a": 1}, again.current[1], again.current[0])
    assert verify_document({"a": 1}, jws, first.public_keys())["kid"] == first.current[0]


def test_rotation_keeps_the_previous_keys_published_and_at_most_two(tmp_path):
    store = KeyStore.load_or_create(tmp_path / "keys")
    first = store.current[0]
    second = store.rotate()
    assert store.current[0] == second != first
    published = store.published()
    assert [(jwk["kid"], jwk["status"]) for jwk in published] == [(second, "current"), (first, "previous")]
    assert all(set(jwk) == {"kty", "crv", "x", "kid", "status", "created"} and "d" not in jwk for jwk in published)
    assert store.private_key(first) is not None
    retired = json.loads((tmp_path / "keys" / KEYS_FILE).read_text())["keys"][1]
    assert retired["status"] == "previous" and retired["retired_at"].endswith("Z")

    third, fourth = store.rotate(), store.rotate()
    assert [jwk["kid"] for jwk in store.published()] == [fourth, third, second]
    assert not (tmp_path / "keys" / f"{first}.pem").exists()
    with pytest.raises(KeyError):
        store.private_key(first)
    reloaded = KeyStore.load_or_create(tmp_path / "keys")
    assert reloaded.published() == store.published()
    assert keys_from_jwks(reloaded.published()).keys() == {fourth, third, second}


def test_key_store_refuses_a_private_key_readable_by_others(tmp_path):
    store = KeyStore.load_or_create(tmp_path / "keys")
    os.chmod(tmp_path / "keys" / f"{store.current[0]}.pem", 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        KeyStore.load_or_create(tmp_path / "keys")


def test_key_store_refuses_keys_without_their_metadata(tmp_path):
    KeyStore.load_or_create(tmp_path / "keys")
    (tmp_path / "keys" / KEYS_FILE).unlink()
    with pytest.raises(ConfigurationError, match=KEYS_FILE):
        KeyStore.load_or_create(tmp_path / "keys")


# --- JWK and thumbprint --------------------------------------------------------------------------------------------

# RFC 8037 appendix A: the Ed25519 example key, its RFC 7638 thumbprint and a JWS made with it.
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
RFC8037_SIGNING_INPUT = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
RFC8037_SIGNATURE = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"


def test_thumbprint_and_jwk_follow_the_rfc_8037_example():
    public = jwk_to_public_key({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X})
    assert thumbprint(public) == RFC8037_THUMBPRINT
    assert thumbprint(public) == thumbprint(public)  # stable
    public.verify(b64url_decode(RFC8037_SIGNATURE), RFC8037_SIGNING_INPUT)
    assert public_jwk(public) == {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": RFC8037_THUMBPRINT}


@pytest.mark.parametrize("jwk", [
    "not a dict",
    {"kty": "RSA", "crv": "Ed25519", "x": RFC8037_X},
    {"kty": "OKP", "crv": "X25519", "x": RFC8037_X},
    {"kty": "OKP", "crv": "Ed25519"},
    {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X[:-4]},
    {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X + "="},
    {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"},
])
def test_malformed_jwks_are_refused(jwk):
    with pytest.raises(SignatureError) as excinfo:
        jwk_to_public_key(jwk)
    assert reason(excinfo) == "malformed key"


def test_a_jwk_whose_kid_is_not_its_thumbprint_is_refused():
    with pytest.raises(SignatureError) as excinfo:
        keys_from_jwks([{"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": "someone-else"}])
    assert reason(excinfo) == "malformed key"


# --- documents -----------------------------------------------------------------------------------------------------

DOCUMENT = {"schema": "med-mci/profile", "cluster": {"id": "c-1", "name": "Blue food"},
            "members": [{"id": "m-1", "name": "Acme", "share": 0.5}, {"id": "m-2", "name": "Bravo"}]}
SAME_DOCUMENT_BYTES = (b'{\n  "members": [ {"name": "Acme", "share": 5e-1, "id": "m-1"},'
                       b' {"id": "m-2", "name": "Bravo"}],'
                       b'\n  "cluster": {"name": "Blue food", "id": "c-1"},  "schema": "med-mci/profile"\n}\n')


def test_round_trip_returns_the_protected_header(key, keys):
    kid, private = key
    jws = sign_document(DOCUMENT, private, kid, htu="https://node.example/api/v1/profile", sub="c-1", created=NOW)
    assert jws.count(".") == 2 and ".." in jws
    header = verify_document(DOCUMENT, jws, keys, now=NOW + 5, expected_htu="https://node.example/api/v1/profile",
                             expected_sub="c-1")
    assert header == {"alg": "EdDSA", "kid": kid, "typ": "med-mci+jws", "iat": NOW,
                      "htu": "https://node.example/api/v1/profile", "sub": "c-1"}


def test_same_canonical_json_verifies_whatever_the_whitespace_and_member_order(key, keys):
    kid, private = key
    from_dict = sign_document(DOCUMENT, private, kid, created=NOW)
    from_bytes = sign_document(SAME_DOCUMENT_BYTES, private, kid, created=NOW)
    assert from_dict == from_bytes
    assert verify_document(SAME_DOCUMENT_BYTES, from_dict, keys, now=NOW)["kid"] == kid
    assert verify_document(json.dumps(DOCUMENT).encode(), from_bytes, keys, now=NOW)["kid"] == kid


def test_old_signatures_verify_without_an_age_limit(key, keys):
    """``hub verify`` re-checks stored bytes long after the fetch."""
    kid, private = key
    jws = sign_document(DOCUMENT, private, kid, created=NOW)
    assert verify_document(DOCUMENT, jws, keys, now=NOW + 10 * 365 * 86400, max_age_s=None)["iat"] == NOW


def refusal(document, jws, keys, **options) -> str:
    options.setdefault("now", NOW)
    with pytest.raises(SignatureError) as excinfo:
        verify_document(document, jws, keys, **options)
    return reason(excinfo)


@pytest.mark.parametrize("jws", [None, "", "  "])
def test_unsigned(keys, jws):
    assert refusal(DOCUMENT, jws, keys) == "unsigned"


def test_tampered_member_name(key, keys):
    kid, private = key
    jws = sign_document(DOCUMENT, private, kid, created=NOW)
    tampered = json.loads(json.dumps(DOCUMENT))
    tampered["members"][0]["name"] = "Acme Holdings"
    assert refusal(tampered, jws, keys) == "signature does not match (document altered or wrong key)"
    assert refusal(SAME_DOCUMENT_BYTES.replace(b"Bravo", b"Brav0"), jws, keys) == \
        "signature does not match (document altered or wrong key)"


def test_wrong_key(key):
    kid, private = key
    jws = sign_document(DOCUMENT, private, kid, created=NOW)
    impostor = {kid: Ed25519PrivateKey.generate().public_key()}
    assert refusal(DOCUMENT, jws, impostor) == "signature does not match (document altered or wrong key)"


def test_unknown_key_id(key):
    kid, private = key
    jws = sign_document(DOCUMENT, private, kid, created=NOW)
    other = Ed25519PrivateKey.generate().public_key()
    assert refusal(DOCUMENT, jws, {thumbprint(other): other}) == f"unknown key id {kid}"


def test_replayed_signature_is_too_old(key, keys):
    kid, private = key
    jws = sign_document(DOCUMENT, private, kid, created=NOW)
    assert refusal(DOCUMENT, jws, keys, now=NOW + 10_000) == \
        "signature too old (created 10000 s ago, limit 300 s): replayed?"
    assert verify_document(DOCUMENT, jws, keys, now=NOW + 300)["iat"] == NOW


def test_signature_created_in_the_future(key, keys):
    kid, private = key
    jws = sign_document(DOCUMENT, private, kid, created=NOW + 3600)
    assert refusal(DOCUMENT, jws, keys) == "signature created in the future"
    assert verify_document(DOCUMENT, sign_document(DOCUMENT, private, kid, created=NOW + 30), keys, now=NOW)


def _forged(header: dict, signature: str = b64url_encode(bytes(64))) -> str:
    return b64url_encode(json.dumps(header).encode()) + ".." + signature


@pytest.mark.parametrize("jws", [
    "garbage",
    "a.b",
    "a..b..c",
    "..",
    "eyJhbGciOiJFZERTQSJ9.eyJ9.AAAA",  # an attached payload: not detached
    "!!!.." + b64url_encode(bytes(64)),
    b64url_encode(b"not json") + ".." + b64url_encode(bytes(64)),
    b64url_encode(b"[1, 2]") + ".." + b64url_encode(bytes(64)),
    b64url_encode(b'{"alg": "EdDSA", "alg": "EdDSA"}') + ".." + b64url_encode(bytes(64)),
    _forged({"kid": "k", "typ": "med-mci+jws", "iat": NOW}),
    _forged({"alg": "EdDSA", "typ": "med-mci+jws", "iat": NOW}),
    _forged({"alg": "EdDSA", "kid": "k", "typ": "JWT", "iat": NOW}),
    _forged({"alg": "EdDSA", "kid": "k", "typ": "med-mci+jws", "iat": "yesterday"}),
    _forged({"alg": "EdDSA", "kid": "k", "typ": "med-mci+jws", "iat": NOW, "crit": ["exp"], "exp": 1}),
    _forged({"alg": "EdDSA", "kid": "k", "typ": "med-mci+jws", "iat": NOW, "htu": 5}),
    _forged({"alg": "EdDSA", "kid": "k", "typ": "med-mci+jws", "iat": NOW}, b64url_encode(bytes(63))),
    _forged({"alg": "EdDSA", "kid": "k", "typ": "med-mci+jws", "iat": NOW}, b64url_encode(bytes(64)) + "=="),
    12345,
])
def test_malformed_signatures(keys, jws):
    assert refusal(DOCUMENT, jws, keys) == "malformed signature"


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "ES256", "Ed25519"])
def test_other_algorithms_are_refused(key, keys, alg):
    kid, _private = key
    jws = _forged({"alg": alg, "kid": kid, "typ": "med-mci+jws", "iat": NOW})
    assert refusal(DOCUMENT, jws, keys) == "unsupported algorithm"


def test_a_valid_signature_with_another_alg_header_is_still_refused(key, keys):
    """The header is signed, so changing alg breaks the signature; but alg is refused before anything else."""
    kid, private = key
    header, _, signature = sign_document(DOCUMENT, private, kid, created=NOW).partition("..")
    decoded = json.loads(b64url_decode(header))
    assert refusal(DOCUMENT, _forged({**decoded, "alg": "HS256"}, signature), keys) == "unsupported algorithm"


def test_signed_for_another_url(key, keys):
    kid, private = key
    jws = sign_document(DOCUMENT, private, kid, created=NOW, htu="https://node-a.example/api/v1/profile")
    assert refusal(DOCUMENT, jws, keys, expected_htu="https://node-b.example/api/v1/profile") == \
        "signed for another URL"
    unbound = sign_document(DOCUMENT, private, kid, created=NOW)
    assert refusal(DOCUMENT, unbound, keys, expected_htu="https://node-a.example/api/v1/profile") == \
        "signed for another URL"
    assert verify_document(DOCUMENT, jws, keys, now=NOW, expected_htu="HTTPS://Node-A.example:443/api/v1/profile")


def test_signed_for_another_cluster(key, keys):
    kid, private = key
    jws = sign_document(DOCUMENT, private, kid, created=NOW, sub="c-1")
    assert refusal(DOCUMENT, jws, keys, expected_sub="c-2") == "signed for another cluster"
    assert refusal(DOCUMENT, sign_document(DOCUMENT, private, kid, created=NOW), keys, expected_sub="c-1") == \
        "signed for another cluster"


@pytest.mark.parametrize("document", [b"{not json", b'{"a": 1, "a": 2}', b'{"a": NaN}', b'{"a": 1e400}',
                                      b'{"a": 9007199254740993}', "\ufeff{}".encode()])
def test_documents_that_are_not_strict_json_are_refused(key, keys, document):
    kid, private = key
    jws = sign_document({"a": 1}, private, kid, created=NOW)
    assert refusal(document, jws, keys) == "malformed document"
    with pytest.raises(ValidationError):
        sign_document(document, private, kid)


# --- requests: RFC 9421 over real HTTP ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hub_key():
    private = Ed25519PrivateKey.generate()
    return thumbprint(private), private


@pytest.fixture(scope="module")
def node(hub_key):
    """A node whose federation endpoints accept requests signed by the hub's key."""
    trusted = {hub_key[0]: hub_key[1].public_key()}
    app = Flask(__name__)

    def check(url: str):
        try:
            kid = verify_request(request.method, url, request.headers, request.get_data(), trusted)
        except SignatureError as error:
            return jsonify(message=error.message, errors=error.errors), 401
        return jsonify(kid=kid)

    @app.route("/api/v1/federation/<path:rest>", methods=["GET", "POST", "PUT"])
    def federation(rest):
        return check(request.url)

    @app.route("/wire/<path:rest>", methods=["GET"])
    def wire(rest):
        return check(received_url(request))

    with BackgroundServer(app) as server:
        yield server


@pytest.fixture
def session():
    with requests.Session() as session:
        session.trust_env = False
        yield session


def refused(response) -> str:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["message"].startswith(body["errors"]["signature"][0])
    return body["errors"]["signature"][0]


def test_signed_get_and_post_are_accepted(node, hub_key, session):
    kid, private = hub_key
    signer = HubRequestSigner(private, kid)
    response = session.get(f"{node.url}/api/v1/federation/members", params={"page": "2"}, auth=signer)
    assert response.status_code == 200, response.text
    assert response.json() == {"kid": kid}
    assert "content-digest" not in response.request.headers
    response = session.post(f"{node.url}/api/v1/federation/harvest", json={"since": 1}, auth=signer)
    assert response.status_code == 200, response.text
    assert response.request.headers["Content-Digest"].startswith("sha-256=:")
    assert '"content-digest"' in response.request.headers["Signature-Input"]


def test_received_url_keeps_the_percent_escapes_that_request_url_loses(node, hub_key, session):
    kid, private = hub_key
    params = {"since": "2025-01-01T00:00:00+00:00", "q": "blue économie"}
    signer = HubRequestSigner(private, kid)
    assert session.get(f"{node.url}/wire/members", params=params, auth=signer).json() == {"kid": kid}
    # werkzeug's request.url decodes %3A and re-encodes as it likes ("signature does not match"), and turns
    # %C3%A9 into a non-ASCII IRI that is no URI at all ("malformed request signature").
    assert refused(session.get(f"{node.url}/api/v1/federation/members", params={"since": params["since"]},
                               auth=signer)) == "signature does not match"
    assert refused(session.get(f"{node.url}/api/v1/federation/members", params={"q": params["q"]},
                               auth=signer)) == "malformed request signature"


def prepared(session, method, url, private, kid, **kwargs) -> requests.PreparedRequest:
    return session.prepare_request(requests.Request(method, url, auth=HubRequestSigner(private, kid), **kwargs))


def test_tampered_query_string(node, hub_key, session):
    kid, private = hub_key
    request_ = prepared(session, "GET", f"{node.url}/api/v1/federation/members?visibility=federation", private, kid)
    request_.url = request_.url.replace("visibility=federation", "visibility=private")
    assert refused(session.send(request_)) == "signature does not match"


def test_changed_body_fails_the_content_digest(node, hub_key, session):
    kid, private = hub_key
    request_ = prepared(session, "PUT", f"{node.url}/api/v1/federation/x", private, kid, json={"amount": 100})
    request_.body = b'{"amount": 900}'  # same length: only the digest can tell
    assert refused(session.send(request_)) == "content digest mismatch"


def test_changed_body_and_digest_fail_the_signature(node, hub_key, session):
    kid, private = hub_key
    request_ = prepared(session, "PUT", f"{node.url}/api/v1/federation/x", private, kid, json={"amount": 100})
    request_.body = b'{"amount": 900}'
    digest = base64.b64encode(hashlib.sha256(request_.body).digest()).decode()
    request_.headers["Content-Digest"] = f"sha-256=:{digest}:"
    assert refused(session.send(request_)) == "signature does not match"


def test_old_request_signature(node, hub_key, session):
    kid, private = hub_key
    request_ = session.prepare_request(requests.Request("GET", f"{node.url}/api/v1/federation/members"))
    sign_request(request_, private, kid, created=int(time.time()) - 3600)
    assert refused(session.send(request_)) == "request signature too old"


def test_request_signed_with_an_unknown_key(node, session):
    other = Ed25519PrivateKey.generate()
    response = session.get(f"{node.url}/api/v1/federation/members", auth=HubRequestSigner(other, thumbprint(other)))
    assert refused(response) == "unknown key id"


def test_unsigned_request(node, session):
    assert refused(session.get(f"{node.url}/api/v1/federation/members")) == "unsigned request"


# --- requests: the refusals that need no server --------------------------------------------------------------------

URL = "https://node.example/api/v1/federation/members?page=2"


def signed_headers(private, kid, *, method="GET", url=URL, body=None, created=None) -> dict:
    request_ = requests.Request(method, url, data=body).prepare()
    sign_request(request_, private, kid, created=created)
    return dict(request_.headers)


def request_refusal(method, url, headers, body, keys, **options) -> str:
    with pytest.raises(SignatureError) as excinfo:
        verify_request(method, url, headers, body, keys, **options)
    return reason(excinfo)


def test_request_round_trip_with_injected_clock(key, keys):
    kid, private = key
    headers = signed_headers(private, kid, created=NOW)
    assert verify_request("GET", URL, headers, b"", keys, now=NOW + 10) == kid
    assert verify_request("GET", "HTTPS://node.example:443/api/v1/federation/members?page=2", headers, None, keys,
                          now=NOW) == kid
    assert request_refusal("GET", URL, headers, b"", keys, now=NOW + 301) == "request signature too old"
    assert request_refusal("GET", URL, headers, b"", keys, now=NOW - 3600) == "request signature created in the future"
    assert request_refusal("POST", URL, headers, b"", keys, now=NOW) == "signature does not match"


def test_a_signature_that_does_not_cover_the_target_uri(key, keys):
    kid, private = key
    request_ = requests.Request("GET", URL).prepare()
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                      key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: private})
                      ).sign(request_, key_id=kid, covered_component_ids=("@method", "@authority"))
    assert request_refusal("GET", URL, request_.headers, b"", keys) == "signature does not cover @method/@target-uri"


def test_a_body_without_a_signed_digest_is_refused(key, keys):
    kid, private = key
    headers = signed_headers(private, kid)
    assert request_refusal("GET", URL, headers, b"smuggled", keys) == "signature does not cover content-digest"


@pytest.mark.parametrize("headers", [
    {"Signature-Input": 'medmci=("@method" "@target-uri");created=1;keyid="k"'},
    {"Signature-Input": "not a dictionary (", "Signature": "medmci=:AAAA:"},
    {"Signature-Input": 'a=("@method" "@target-uri");created=1;keyid="k"', "Signature": "b=:AAAA:"},
    {"Signature-Input": 'a=("@method" "@target-uri");keyid="k"', "Signature": "a=:AAAA:"},
    {"Signature-Input": 'a=("@method" "@target-uri");created=1', "Signature": "a=:AAAA:"},
])
def test_malformed_request_signatures(keys, headers):
    assert request_refusal("GET", URL, headers, b"", keys) == "malformed request signature"


def test_another_request_signature_algorithm_is_refused(key, keys):
    kid, _private = key
    headers = {"Signature-Input": f'a=("@method" "@target-uri");created={NOW};keyid="{kid}";alg="hmac-sha256"',
               "Signature": "a=:AAAA:"}
    assert request_refusal("GET", URL, headers, b"", keys, now=NOW) == "unsupported algorithm"


# -- the fast path of canonical JSON -------------------------------------------------------------------------------

from hypothesis import HealthCheck, example, given, settings, strategies as st  # noqa: E402
import rfc8785  # noqa: E402

from federation.signing import _is_plain, _plain_canonical, canonical_json  # noqa: E402

# Any Unicode text (controls, quotes, backslashes, U+2028, U+FFFF, astral characters), lone surrogates included.
_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12) | \
    st.sampled_from(["", "é", "\u2028", "\x7f", "\x00\x1f", '"\\/', "\ud800", "\U0001F600", "\uffff", "\ue000"])
_NUMBERS = st.integers(min_value=-2**60, max_value=2**60) | \
    st.sampled_from([0, -1, 2**53 - 1, -(2**53 - 1), 2**53, -(2**53)]) | \
    st.floats(allow_nan=False, allow_infinity=False)
_JSON = st.recursive(st.none() | st.booleans() | _NUMBERS | _TEXT,
                     lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_TEXT, inner, max_size=5),
                     max_leaves=30)


def _reference(document):
    try:
        return rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, ValueError):
        return None


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
@example({"\U0001F600": 1, "\uffff": 2, "\ue000": 3, "a": 4})  # UTF-16 and code-point orders differ here
@example({"a": 1.0, "b": 1e21, "c": -0.0})
@example(["\ud800"])
def test_canonical_json_equals_rfc8785_on_any_document(document):
    expected = _reference(document)
    if _is_plain(document):
        fast = _plain_canonical(document)
        assert fast is None or fast == expected  # None: the reference implementation decides
    if expected is None:
        with pytest.raises(ValueError):
            canonical_json(document)
        return
    assert canonical_json(document) == expected
    # and from bytes (parsed strictly first), with any whitespace and member order
    body = json.dumps(document, ensure_ascii=True, indent=1).encode()
    assert canonical_json(body) == _reference(json.loads(body)) == expected
    try:
        raw = json.dumps(document, ensure_ascii=False).encode("utf-8")  # characters as UTF-8, not escapes
    except UnicodeEncodeError:
        return  # a lone surrogate cannot be UTF-8
    assert canonical_json(raw) == expected


@pytest.mark.parametrize("document", [
    {"members": [{"name": "Zeytouna \u2014 \u0632\u064a\u062a\u0648\u0646\u0629", "codes": ["10.41"]}],
     "sequence": 3, "ok": True, "none": None},
    {"\u00e9": "\u00e9", "e": "\n\t\"\\\x01"},
])
def test_profile_like_documents_take_the_fast_path(document):
    assert _is_plain(document)
    assert _plain_canonical(document) == rfc8785.dumps(document)
