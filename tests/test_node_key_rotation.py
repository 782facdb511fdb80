"""Issue #8, finding 6: `medmci node rotate-key` reaches a running node at once.

A node served on loopback; the CLI (another process's view: its own app over the same instance) rotates its key.
Without a restart, the discovery document lists the new key as current (the old one as previous, both signing it)
and the profile is signed by the new key. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import requests
from click.testing import CliRunner

from federation.cli import main
from federation.node.api import SIGNATURE_HEADER
from federation.signing import keys_from_jwks, verify_document
from tests.support.builders import cluster_doc, load_node, member_doc


def signer(response: requests.Response, keys: dict) -> str:
    """The kid of the node's detached JWS over the answer (checked with ``keys``)."""
    return verify_document(response.content, response.headers[SIGNATURE_HEADER], keys, max_age_s=None)["kid"]


def test_a_served_node_signs_with_its_new_key_as_soon_as_the_cli_rotates_it(backend, make_node, serve, tmp_path):
    app = make_node("qoot")
    load_node(app, cluster_doc("qoot"), [member_doc("m1", "nace-rev2:11.02", visibility="public")])
    server = serve(app)
    before = requests.get(server.url + "/.well-known/med-mci", timeout=5).json()
    [old] = [k["kid"] for k in before["keys"] if k["status"] == "current"]
    old_keys = keys_from_jwks([{k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "kid")}
                               for jwk in before["keys"]])
    assert signer(requests.get(server.url + "/api/v1/profile", timeout=5), old_keys) == old

    env = {"DATABASE_URL": app.extensions["medmci"].settings.database_url, "MEDMCI_NODE__NOTIFY_HUBS": "false"}
    result = CliRunner().invoke(main, ["node", "--instance", str(tmp_path / "qoot"), "rotate-key"], env=env)
    assert result.exit_code == 0, result.output
    new = result.output.strip().rsplit(" ", 1)[-1]
    assert new != old

    discovery = requests.get(server.url + "/.well-known/med-mci", timeout=5)
    statuses = {k["kid"]: k["status"] for k in discovery.json()["keys"]}
    assert statuses == {new: "current", old: "previous"}
    keys = keys_from_jwks([{k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "kid")}
                           for jwk in discovery.json()["keys"]])
    signatures = discovery.headers[SIGNATURE_HEADER].split(",")
    assert sorted(verify_document(discovery.content, jws, keys, max_age_s=None)["kid"] for jws in signatures) == \
        sorted([new, old])
    profile = requests.get(server.url + "/api/v1/profile", timeout=5)
    assert profile.status_code == 200 and signer(profile, keys) == new
    assert new not in old_keys  # what a hub that knew only the old key would refuse until it reads discovery
