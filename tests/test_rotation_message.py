"""Issue #8, finding 8: a node's answers to a hub's key-rotation message, validly signed, say what is wrong.

Over real HTTP, signed (RFC 9421) by the test hub's key, which the node trusts: a message over
``trust.max_rotation_bytes`` is a 413 stating that limit (not the app's 1 MB), and a larger setting lets the same
message through; a malformed JWK is a 422 validation error naming ``new_key``, not a 401, and nothing is trusted.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import requests

from federation.signing import KeyStore, public_jwk, sign_request
from tests.support.environment import TEST_HUB

ROTATE = "/api/v1/trusted-hubs/rotate"


def signed_post(tmp_path, url: str, body: bytes) -> requests.Response:
    kid, key = KeyStore.load(tmp_path / TEST_HUB / "keys").current
    prepared = requests.Request("POST", url + ROTATE, data=body, headers={"Content-Type": "application/json"}).prepare()
    sign_request(prepared, key, kid)
    with requests.Session() as session:
        return session.send(prepared, timeout=10)


def new_key_message(tmp_path, padding: int = 0) -> tuple[str, bytes]:
    kid, key = KeyStore.load_or_create(tmp_path / "next-hub-key").current
    message = {"new_key": public_jwk(key.public_key(), kid)}
    if padding:
        message["padding"] = "p" * padding
    return kid, json.dumps(message).encode()


def trusted(app) -> set[str]:
    return {k["kid"] for k in app.extensions["medmci"].hubs.list()}


def test_an_oversized_rotation_message_gets_413_stating_its_setting(backend, make_node, serve, tmp_path):
    app = make_node("qoot")
    server = serve(app)
    new_kid, body = new_key_message(tmp_path, padding=19_900)
    assert 20_000 < len(body) < 21_000
    response = signed_post(tmp_path, server.url, body)
    assert response.status_code == 413
    assert "16384 bytes" in response.json()["message"] and "1000000" not in response.json()["message"]
    assert new_kid not in trusted(app)

    roomy = make_node("roomy", {"trust": {"max_rotation_bytes": 32_768}})
    roomy_server = serve(roomy)
    response = signed_post(tmp_path, roomy_server.url, body)
    assert response.status_code == 200, response.text
    assert response.json()["trusted"] == new_kid and new_kid in trusted(roomy)


def test_a_malformed_key_in_a_signed_rotation_message_is_a_422_naming_the_key(backend, make_node, serve, tmp_path):
    app = make_node("qoot")
    server = serve(app)
    before = trusted(app)
    for jwk in ({"kty": "OKP", "crv": "Ed25519", "x": "short"}, {"kty": "RSA", "crv": "x" * 5000, "x": "AAAA"},
                {"kty": "OKP", "crv": "Ed25519", "x": "A" * 43, "kid": "not-its-thumbprint"}):
        response = signed_post(tmp_path, server.url, json.dumps({"new_key": jwk}).encode())
        assert response.status_code == 422, response.text
        answer = response.json()
        assert answer["error"] == "validation_error" and "new_key" in answer["errors"]
        assert "malformed key" in answer["message"] and len(response.content) < 2000
    assert trusted(app) == before
    assert app.extensions["medmci"].hubs.audit.events("hub_key.rotated") == []
