"""Discovery read once in a while (harvest.discovery_max_age_s), over real HTTP on 127.0.0.1, on both databases.

An unchanged node costs one conditional request; the discovery document is read again after its max age, after a
push, when the profile moved (404/410 at the known URL) and when the profile is signed by a key the hub does not
know yet; an operator reset forgets it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from connectors.http_fetch import DISCOVERY_PATH
from federation.hub.models import NodeRecord
from tests.support.builders import profile_bytes
from tests.support.fake_node import FakeHandler, FakeNode, serve_json
from tests.support.hub_state import by_node, versions

CACHED = {"harvest": {"discovery_max_age_s": 3600}}
PROFILE = FakeNode.PROFILE_PATH


def asked(fake, since: int = 0) -> list[str]:
    """The paths the node was asked for, from request ``since`` on."""
    return [path for path, _headers in fake.requests[since:]]


def discovered_at(hub, node_id: str = "menara") -> datetime | None:
    with hub.db.session() as session:
        return session.get(NodeRecord, node_id).discovered_at


def harvested(make_hub, fake_node, behaviour=None):
    """A hub (discovery kept an hour) with one fake node, harvested once: discovery, then the profile."""
    body = profile_bytes("menara", "MA")
    fake = fake_node(behaviour or serve_json(body, etag='"menara-1"'))
    hub = make_hub(overrides=CACHED)
    hub.nodes.register("menara", fake.url)
    start = len(fake.requests)
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "new_version"
    assert asked(fake, start) == [DISCOVERY_PATH, PROFILE]
    assert discovered_at(hub) is not None
    return hub, fake, body


def test_an_unchanged_node_costs_one_conditional_request(backend, make_hub, fake_node):
    hub, fake, _body = harvested(make_hub, fake_node)
    first = discovered_at(hub)
    start = len(fake.requests)
    report = hub.harvester.harvest()
    assert by_node(report)["menara"]["outcome"] == "not_modified"
    assert asked(fake, start) == [PROFILE]
    assert fake.requests[-1][1]["If-None-Match"] == '"menara-1"'
    assert discovered_at(hub) == first  # not read: its age still counts from the first harvest


def test_the_discovery_is_read_again_after_its_max_age(backend, make_hub, fake_node):
    hub, fake, _body = harvested(make_hub, fake_node)
    old = datetime.now(timezone.utc) - timedelta(hours=2)
    with hub.db.session() as session:
        session.execute(update(NodeRecord).where(NodeRecord.id == "menara").values(discovered_at=old))
    start = len(fake.requests)
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "not_modified"
    assert asked(fake, start) == [DISCOVERY_PATH, PROFILE]
    assert discovered_at(hub) > old


def test_a_push_makes_the_next_fetch_read_the_discovery(backend, make_hub, fake_node):
    hub, fake, _body = harvested(make_hub, fake_node)
    fake.discovery_versions = ["1.0", "1.1"]  # the node serves a newer minor version too, and says so
    hub.nodes.request_fetch("menara")
    start = len(fake.requests)
    assert by_node(hub.harvester.harvest(due_only=True))["menara"]["outcome"] == "not_modified"
    assert asked(fake, start) == [DISCOVERY_PATH, PROFILE]


def test_a_moved_profile_is_found_again_through_the_discovery(backend, make_hub, fake_node):
    state = {"gone_once": False}
    body = profile_bytes("menara", "MA")

    def moves(h: FakeHandler) -> None:
        if state["gone_once"] is None:  # the old URL answers 410 once; the discovery names the (same) path again
            state["gone_once"] = True
            h.send_body(410, b'{"error": "gone"}')
            return
        serve_json(body, etag='"menara-1"')(h)

    hub, fake, _body = harvested(make_hub, fake_node, moves)
    state["gone_once"] = None
    start = len(fake.requests)
    report = hub.harvester.harvest()
    assert by_node(report)["menara"]["outcome"] == "not_modified", report
    assert asked(fake, start) == [PROFILE, DISCOVERY_PATH, PROFILE]
    assert hub.nodes.get("menara")["consecutive_failures"] == 0


def test_a_profile_signed_with_a_key_the_hub_does_not_know_reads_the_discovery_for_it(backend, make_hub,
                                                                                       fake_node):
    hub, fake, _body = harvested(make_hub, fake_node)
    new_kid = fake.keys.rotate()
    changed = profile_bytes("menara", "MA", sequence=2)
    fake.profile = serve_json(changed, etag='"menara-2"')
    start = len(fake.requests)
    report = hub.harvester.harvest()
    assert by_node(report)["menara"]["outcome"] == "new_version", report
    assert asked(fake, start) == [PROFILE, DISCOVERY_PATH]  # the profile, then the keys for its signature
    assert versions(hub, "menara")[-1].kid == new_kid
    assert [e["details"]["kid"] for e in hub.audit.events("key.added", "menara")][0] == new_kid


def test_a_reset_forgets_the_discovery(backend, make_hub, fake_node):
    hub, fake, _body = harvested(make_hub, fake_node)
    hub.nodes.reset("menara")
    assert discovered_at(hub) is None
    start = len(fake.requests)
    assert by_node(hub.harvester.harvest())["menara"]["outcome"] == "not_modified"
    assert asked(fake, start) == [DISCOVERY_PATH, PROFILE]


def test_a_node_that_stopped_answering_fails_without_a_discovery_detour(backend, make_hub, fake_node):
    hub, fake, _body = harvested(make_hub, fake_node)
    fake.profile = lambda h: h.send_body(500, b'{"error": "boom"}')
    start = len(fake.requests)
    report = hub.harvester.harvest()
    assert by_node(report)["menara"]["outcome"] == "failed"
    assert by_node(report)["menara"]["http_status"] == 500
    assert asked(fake, start) == [PROFILE]
    assert len(versions(hub, "menara")) == 1  # the last good version stays
