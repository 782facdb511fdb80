"""Identities are not taken on faith (issue #8, A6): the cluster a joining node's discovery document names is
validated like a profile's, an id may not pass for another node's, pending requests are bounded, and the CLI shows
what nodes wrote without letting it drive the terminal. Over real HTTP: a served hub and hostile fake nodes."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
import requests
from click.testing import CliRunner

from federation.cli import main
from federation.display import shown
from federation.hub.app import create_hub_app
from federation.hub.models import NodeRecord
from federation.signing import KeyStore, sign_request
from tests.support.clients import operator_client
from tests.support.fake_node import FakeNode

#: The registration endpoint is rate-limited per address; these tests send more than the default allows.
OPEN = {"rate_limits": {"registration": "1000 per hour"}}


@pytest.fixture
def hub_server(make_hub, serve):
    """``make(overrides) -> (hub, hub_url, operator client)``."""

    def make(overrides: dict | None = None):
        hub = make_hub(overrides={**OPEN, **(overrides or {})})
        app = create_hub_app(hub=hub)
        return hub, serve(app).url, operator_client(app, hub)

    return make


@pytest.fixture
def fake_node(tmp_path):
    """``fake_node(cluster)``: a node whose signed discovery document names ``cluster`` (whatever it is)."""
    nodes = []

    def make(cluster) -> FakeNode:
        keys = KeyStore.load_or_create(tmp_path / uuid.uuid4().hex / "keys")
        fake = FakeNode(lambda handler: handler.send_body(404, b"{}"), keys).start()
        plain = fake.discovery_document
        fake.discovery_document = lambda: {**plain(), "cluster": cluster}
        nodes.append(fake)
        return fake

    yield make
    for fake in nodes:
        fake.stop()


def ask_to_join(hub_url: str, fake: FakeNode, name: str | None = None) -> requests.Response:
    """The node's join request, signed with its key as `medmci node join` signs it."""
    request = requests.Request("POST", f"{hub_url}/api/v1/registrations",
                               json={"node_url": fake.url, "name": name}).prepare()
    kid, key = fake.keys.current
    sign_request(request, key, kid)
    with requests.Session() as session:
        return session.send(request, timeout=15)


def stored(hub) -> tuple[list, list]:
    """What the hub holds of nodes: records and audit events."""
    return hub.nodes.list(), hub.audit.events()


def names(**texts):
    return {"names": texts or {"en": "A cluster"}}


HOSTILE_CLUSTERS = [
    pytest.param({"id": "<script>alert(1)</script>", "country": "MA", **names()}, "cluster", id="script-id"),
    pytest.param({"id": "../../etc", "country": "MA", **names()}, "cluster", id="path-id"),
    pytest.param({"id": "a" * 10_000, "country": "MA", **names()}, "cluster", id="10000-char-id"),
    pytest.param({"id": "men\x00ara", "country": "MA", **names()}, "cluster", id="nul-id"),
    pytest.param({"id": "menara\u202e", "country": "MA", **names()}, "cluster", id="rlo-id"),
    pytest.param({"id": "\x1b[31mmenara", "country": "MA", **names()}, "cluster", id="ansi-id"),
    pytest.param({"id": "menara ", "country": "MA", **names()}, "cluster", id="trailing-space-id"),
    pytest.param({"id": "MENARA", "country": "MA", **names()}, "cluster", id="upper-case-id"),
    pytest.param({"id": "atlantis", "country": "Atlantis", **names()}, "cluster", id="country-atlantis"),
    pytest.param({"id": "atlantis", "country": "XX", **names()}, "cluster", id="country-not-iso"),
    pytest.param({"id": "ansi", "country": "MA", **names(en="\x1b[2J\x1b[31mpwned")}, "cluster", id="ansi-name"),
    pytest.param({"id": "bidi", "country": "MA", **names(en="Cluster \u202egnp.exe")}, "cluster", id="rlo-name"),
    pytest.param({"id": "long", "country": "MA", **names(en="x" * 301)}, "cluster", id="overlong-name"),
    pytest.param({"id": ["menara"], "country": "MA"}, "cluster", id="id-is-a-list"),
    pytest.param("menara", "url", id="cluster-is-a-string"),
]


@pytest.mark.parametrize("cluster, field", HOSTILE_CLUSTERS)
def test_a_join_naming_an_invalid_cluster_is_refused_and_records_nothing(backend, hub_server, fake_node,
                                                                         cluster, field):
    hub, hub_url, _client = hub_server()
    fake = fake_node(cluster)
    response = ask_to_join(hub_url, fake)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert field in body["errors"], body
    if "names" in cluster and not cluster["names"]["en"].isprintable():
        assert "names.en: " in body["message"], body  # the one-line reason names the field (issue #8, finding 10)
    assert stored(hub) == ([], [])


@pytest.mark.parametrize("name", ["\x1b]0;owned\x07", "Qoot\u202e", "x\x00y", "x" * 301])
def test_a_join_request_name_is_plain_bounded_text(backend, hub_server, fake_node, name):
    hub, hub_url, _client = hub_server()
    response = ask_to_join(hub_url, fake_node({"id": "qoot", "country": "LB", **names()}), name=name)
    assert response.status_code == 422, response.text
    assert "name" in response.json()["errors"]
    assert stored(hub) == ([], [])


def test_arabic_text_with_direction_marks_joins_as_the_harvest_would_take_it(backend, hub_server, fake_node):
    """The marks U+200F, U+200E and U+061C belong in Arabic names: registration refused them while the node's API and
    the harvest took them (issue #8, finding 4: one rule, federation.text). Overrides stay refused."""
    hub, hub_url, _client = hub_server()
    arabic = "\u0642\u0637\u0628 \u200fMENARA\u200e \u061c2"
    response = ask_to_join(hub_url, fake_node({"id": "menara", "country": "MA", **names(ar=arabic)}), name=arabic)
    assert response.status_code == 201, response.text
    [node] = hub.nodes.list()
    assert node["name"] == arabic
    response = ask_to_join(hub_url, fake_node({"id": "qoot", "country": "LB", **names()}), name="Qoot \u2067x")
    assert response.status_code == 422 and "found U+2067" in response.json()["errors"]["name"][0], response.text
    assert [n["id"] for n in hub.nodes.list()] == ["menara"]


def test_an_operator_registration_is_validated_the_same_way(backend, hub_server, fake_node):
    hub, _hub_url, client = hub_server()
    fake = fake_node({"id": "qoot", "country": "Atlantis", **names()})
    response = client.post("/api/v1/nodes", json={"id": "qoot", "url": fake.url})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "cluster" in response.get_json()["errors"]
    assert stored(hub) == ([], [])


@pytest.mark.parametrize("cluster_id, looks_like", [
    pytest.param("rnenara", "menara", id="rn-reads-as-m"),
    pytest.param("q00t", "qoot", id="zeros-read-as-o"),
    pytest.param("qo0t", "qoot", id="one-zero"),
    pytest.param("rnenara-ma", "menara-ma", id="node-id-too"),
])
def test_an_id_that_passes_for_another_nodes_is_refused(backend, hub_server, fake_node, cluster_id, looks_like):
    hub, hub_url, client = hub_server()
    # Known to the hub: menara (node id menara-ma) and qoot.
    menara, qoot = fake_node({"id": "menara", "country": "MA", **names()}), \
        fake_node({"id": "qoot", "country": "LB", **names()})
    assert client.post("/api/v1/nodes", json={"id": "menara-ma", "url": menara.url}).status_code == 201
    assert ask_to_join(hub_url, qoot).status_code == 201
    before = stored(hub)

    response = ask_to_join(hub_url, fake_node({"id": cluster_id, "country": "MA", **names()}))
    assert response.status_code == 409, response.text
    assert response.json()["errors"] == {"id": [f"confusable with the existing id {looks_like!r}"]}
    assert f"looks like {looks_like!r}" in response.json()["message"]
    # The operator cannot do it either, under a confusable node id.
    other = fake_node({"id": "elsewhere", "country": "TN", **names()})
    response = client.post("/api/v1/nodes", json={"id": cluster_id, "url": other.url})
    assert response.status_code == 409, response.get_data(as_text=True)
    assert stored(hub) == before


def test_distinct_ids_are_still_welcome(backend, hub_server, fake_node):
    hub, hub_url, client = hub_server()
    assert client.post("/api/v1/nodes", json={"id": "menara", "url": fake_node(
        {"id": "menara", "country": "MA", **names()}).url}).status_code == 201
    for cluster_id in ("menara-2", "ce3m"):
        assert ask_to_join(hub_url, fake_node({"id": cluster_id, "country": "MA", **names()})).status_code == 201
    assert [n["id"] for n in hub.nodes.list()] == ["ce3m", "menara", "menara-2"]


def test_pending_join_requests_are_bounded_per_address(backend, hub_server, fake_node):
    hub, hub_url, _client = hub_server({"registration": {"max_pending_per_source": 2, "max_pending": 10}})
    for cluster_id in ("one", "two"):
        assert ask_to_join(hub_url, fake_node({"id": cluster_id, "country": "MA", **names()})).status_code == 201
    third = fake_node({"id": "three", "country": "MA", **names()})
    response = ask_to_join(hub_url, third)
    assert response.status_code == 409, response.text
    assert "join requests from 127.0.0.1 already wait" in response.json()["message"]
    assert "registration.max_pending_per_source" in response.json()["message"]
    assert third.requests == []  # refused before the hub read anything of the node
    assert [n["id"] for n in hub.nodes.list()] == ["one", "two"]
    # A decision frees a place.
    hub.nodes.decide("one", "reject")
    assert ask_to_join(hub_url, third).status_code == 201


def test_pending_join_requests_are_bounded_in_total(backend, hub_server, fake_node):
    hub, hub_url, _client = hub_server({"registration": {"max_pending_per_source": 50, "max_pending": 1}})
    assert ask_to_join(hub_url, fake_node({"id": "one", "country": "MA", **names()})).status_code == 201
    response = ask_to_join(hub_url, fake_node({"id": "two", "country": "MA", **names()}))
    assert response.status_code == 409, response.text
    assert "registration.max_pending" in response.json()["message"]
    assert [n["id"] for n in hub.nodes.list()] == ["one"]
    [event] = hub.audit.events("registration.requested")
    assert event["details"]["source"] == "127.0.0.1"


# -- the CLI shows untrusted text escaped --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, escaped", [
    ("\x1b[31mred", "\\x1b[31mred"),
    ("a\x00b", "a\\x00b"),
    ("exe.\u202etxt", "exe.\\u202etxt"),
    ("line\nbreak\ttab\r", "line\\nbreak\\ttab\\r"),
    ("\x9b31m", "\\x9b31m"),  # C1 control sequence introducer
    ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
    ("قطب \u200dالزراعة", "قطب \u200dالزراعة"),  # joiners shape Arabic script: kept
    ("Cluster Ménara", "Cluster Ménara"),
])
def test_shown_escapes_control_escape_and_bidi_characters(raw, escaped):
    assert shown(raw) == escaped


def test_hub_tables_and_messages_never_send_raw_control_characters(backend, runner_env, make_hub):
    """A node name with ANSI escapes, an OSC title change and a bidi override, as an older hub stored it: `hub
    nodes`, `hub health`, `hub audit` and the JSON output show it escaped."""
    hub = make_hub("cli-hub")
    hostile = "\x1b]0;owned\x07\x1b[2J\u202eevil\x9b"
    with hub.db.session() as session:
        session.add(NodeRecord(id="legacy", url="http://127.0.0.1:9", status="pending",
                               registered_at=datetime.now(timezone.utc), consecutive_failures=0,
                               cluster_id="legacy", country="MA", name=hostile, last_error=hostile))
    instance = hub.settings.instance_path
    env = {"DATABASE_URL": hub.settings.database_url}
    for args in (["nodes"], ["health"], ["nodes", "--json"], ["approve", "legacy", "--reason", "ok"]):
        result = runner_env.invoke(main, ["hub", "--instance", str(instance), *args], env=env)
        assert result.exit_code == 0, result.output
        for char in "\x1b\x07\u202e\x9b":
            assert char not in result.output, (args, result.output)
    table = runner_env.invoke(main, ["hub", "--instance", str(instance), "nodes"], env=env).output
    assert "\\x1b]0;owned\\x07\\x1b[2J\\u202eevil\\x9b" in table


@pytest.fixture
def runner_env(monkeypatch):
    for name in ("DATABASE_URL", "MEDMCI_DATABASE_URL", "MEDMCI_HUB_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()
