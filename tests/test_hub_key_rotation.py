"""Issue #8, C12: `medmci hub rotate-key`.

The hub makes a new key current and tells each node that trusts it with a message signed by the old key (POST
/api/v1/trusted-hubs/rotate, RFC 9421); the node trusts the new key and keeps the old one for
trust.hub_key_grace_days. A harvest worker built before the rotation signs with the new key without a restart.
Two real nodes that joined a real hub over HTTP, the CLI over the hub's instance folder, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
import yaml
from click.testing import CliRunner

from federation.cli import main
from federation.hub.app import Hub, create_hub_app
from federation.node.join import join_hub, trust_hub
from federation.node.models import TrustedHubKey
from federation.signing import KeyStore, public_jwk, sign_request
from tests.support.builders import cluster_doc, load_node, member_doc
from tests.support.environment import TEST_SETTINGS

ROTATE = "/api/v1/trusted-hubs/rotate"


def joined_node(make_node, serve, hub, hub_url: str, cluster_id: str, country: str):
    app = make_node(cluster_id, trust_hub=False)  # it trusts the hub because it joined it, nothing else
    load_node(app, cluster_doc(cluster_id, country), [
        member_doc(f"{cluster_id}-pub", "nace-rev2:11.02"),
        member_doc(f"{cluster_id}-fed", "nace-rev2:10.82", visibility="federation")])
    server = serve(app)
    join_hub(app.extensions["medmci"], hub_url, server.url)
    hub.nodes.decide(cluster_id, "approve")
    return app, server


def trusted(app) -> dict[str, tuple]:
    return {k["kid"]: (k["not_after"], k["replaced_by"]) for k in app.extensions["medmci"].hubs.list()}


def signed_kids(hub) -> list[str]:
    """Record the keyid of every request the hub's client signs from now on."""
    kids: list[str] = []
    session = hub.harvester.client.session
    original = session.send

    def recording(request, **kwargs):
        if "Signature-Input" in request.headers:  # (discovery documents are read unsigned)
            kids.append(request.headers["Signature-Input"].split('keyid="')[1].split('"')[0])
        return original(request, **kwargs)

    session.send = recording
    return kids


def test_rotate_key_tells_each_node_with_the_old_key_and_workers_follow(backend, make_node, make_hub, serve,
                                                                         database_url):
    hub = make_hub()
    instance = Path(hub.settings.instance_path)
    settings = {"database_url": hub.settings.database_url, **TEST_SETTINGS}
    (instance / "medmci.yaml").write_text(yaml.safe_dump(settings))  # what the CLI and the workers read
    hub_url = serve(create_hub_app(hub=hub)).url
    nodes = {cid: joined_node(make_node, serve, hub, hub_url, cid, country)
             for cid, country in (("qoot", "LB"), ("menara", "MA"))}
    old_kid = hub.keys.current[0]
    worker = Hub.build(instance, settings, worker=True)  # a harvest worker, started before the rotation
    try:
        assert worker.harvester.harvest()["counts"]["new_version"] == 2

        result = CliRunner().invoke(main, ["hub", "--instance", str(instance), "rotate-key"],
                                    env={"DATABASE_URL": hub.settings.database_url})
        assert result.exit_code == 0, result.output
        new_kid = hub.keys.current[0]  # the serving hub's store follows keys.json too
        assert new_kid != old_kid and f"new hub key: {new_kid}" in result.output
        assert [line.split()[:2] for line in result.output.splitlines()[-2:]] == [["menara", "yes"], ["qoot", "yes"]]

        before = datetime.now(timezone.utc)
        for app, _server in nodes.values():
            keys = trusted(app)
            assert keys[new_kid] == (None, None)
            not_after, replaced_by = keys[old_kid]
            assert replaced_by == new_kid
            assert timedelta(days=6.9) < not_after - before < timedelta(days=7.1)  # trust.hub_key_grace_days
            [line] = app.extensions["medmci"].hubs.audit.events("hub_key.rotated")
            assert line["details"] == {"kid": new_kid, "previous": old_kid,
                                       "previous_until": not_after.isoformat(timespec="seconds")}
        assert [e["node_id"] for e in hub.audit.events("hub_key.announced")] == ["qoot", "menara"]
        assert hub.audit.events("hub_key.rotated")[0]["details"] == {"kid": new_kid, "previous": old_kid}

        # The worker, not restarted, signs with the new key, and the nodes serve it their federation members.
        kids = signed_kids(worker)
        for cid, (app, _server) in nodes.items():
            app.extensions["medmci"].service.create_member(member_doc(f"{cid}-fed2", "nace-rev2:10.41",
                                                                      visibility="federation"))
        report = worker.harvester.harvest()
        assert report["counts"]["new_version"] == 2, report["nodes"]
        assert kids and set(kids) == {new_kid}
        assert {m["id"] for m in hub.queries.cluster_members("qoot")} == {"qoot-pub", "qoot-fed", "qoot-fed2"}
        assert all(app.extensions["medmci"].hubs.audit.events("request.refused") == [] for app, _ in nodes.values())
    finally:
        worker.close()

    # A node that trusts the hub only now accepts the old key (published as "previous") for the grace period only.
    late = make_node("atlas", trust_hub=False)
    assert sorted(trust_hub(late.extensions["medmci"], hub_url, public_url="https://atlas.example.org")) == \
        sorted([new_kid, old_kid])
    late_keys = trusted(late)
    assert late_keys[new_kid] == (None, None) and late_keys[old_kid][0] is not None

    # Once the grace period is over, the old key is refused, saying why.
    app, server = nodes["qoot"]
    with app.extensions["medmci"].db.session() as session:
        session.get(TrustedHubKey, old_kid).not_after = datetime.now(timezone.utc) - timedelta(seconds=1)
    old = KeyStore.load(instance / "keys").private_key(old_kid)
    prepared = requests.Request("GET", server.url + "/api/v1/profile").prepare()
    sign_request(prepared, old, old_kid)
    response = requests.get(server.url + "/api/v1/profile", headers=dict(prepared.headers), timeout=5)
    assert response.status_code == 401
    assert f"hub key {old_kid} was rotated out (replaced by {new_kid})" in response.json()["message"]
    assert b"qoot-fed" not in response.content


def test_a_rotation_message_must_be_signed_by_a_trusted_hub_key_for_this_node(backend, make_node, make_hub, serve,
                                                                              tmp_path):
    hub = make_hub()
    hub_url = serve(create_hub_app(hub=hub)).url
    app, server = joined_node(make_node, serve, hub, hub_url, "qoot", "LB")
    stranger = KeyStore.load_or_create(tmp_path / "stranger")
    body = json.dumps({"new_key": public_jwk(stranger.private_key(stranger.current[0]).public_key())}).encode()

    def post(key_store, url=server.url + ROTATE, send_to=None):
        prepared = requests.Request("POST", url, data=body, headers={"Content-Type": "application/json"}).prepare()
        if key_store is not None:
            kid, key = key_store.current
            sign_request(prepared, key, kid)
        return requests.post(send_to or url, data=body, headers=dict(prepared.headers), timeout=5)

    unsigned = post(None)
    assert unsigned.status_code == 401 and "unsigned" in unsigned.json()["message"]
    by_stranger = post(stranger)
    assert by_stranger.status_code == 401 and "unknown key id" in by_stranger.json()["message"]
    elsewhere = post(hub.keys, url="http://other-node.example" + ROTATE, send_to=server.url + ROTATE)
    assert elsewhere.status_code == 401
    assert trusted(app).keys() == {hub.keys.current[0]}  # nothing was trusted
    assert len(app.extensions["medmci"].hubs.audit.events("request.refused")) == 3

    good = post(hub.keys)
    assert good.status_code == 200, good.text
    assert good.json()["trusted"] == stranger.current[0]
    assert set(trusted(app)) == {hub.keys.current[0], stranger.current[0]}
