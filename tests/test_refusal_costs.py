"""Issue #8, finding 1: what a stranger's signed-looking request may cost a node and the hub.

Over real HTTP: requests whose Signature-Input names a 200 KB key id are refused (401) with a short answer by the node
and by the hub's push endpoint; the node's audit log stays small (the headers are refused unparsed, values are cut
to 200 characters, and one client address writes a bounded number of lines a minute, the rest counted in one line).
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import requests
from waitress.server import create_server
from sqlalchemy import func, select

from federation.hub.app import create_hub_app
from federation.hub.models import AuditEvent
from federation.node.join import join_hub
from federation.node.models import NodeAuditEvent
from tests.support.builders import cluster_doc, load_node, member_doc
from tests.support.nodes import record_public_url

HUGE_KID = "k" * 200_000


def hostile_headers(kid: str = HUGE_KID) -> dict:
    return {"Signature": "medmci=:AAAA:",
            "Signature-Input": f'medmci=("@method" "@target-uri");created={int(time.time())};keyid="{kid}";'
                               f'alg="ed25519";nonce="a"'}


@contextmanager
def waitress_served(app):
    """The app under waitress, the server of `node serve` (it reads header lines of 200 KB, werkzeug's does not)."""
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    url = f"http://127.0.0.1:{server.effective_port}"
    record_public_url(app, url)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.close()
        thread.join(5)


def audit_bytes(app) -> tuple[int, int]:
    """(lines, characters) of the refusals in the node's audit log, as stored."""
    with app.extensions["medmci"].db.session() as session:
        rows = session.scalars(select(NodeAuditEvent).where(NodeAuditEvent.action == "request.refused")).all()
        return len(rows), sum(len(r.action) + len(r.actor) + len(r.message or "") + len(str(r.details))
                              for r in rows)


def test_fifty_huge_key_ids_leave_the_node_small_and_the_answers_short(backend, make_node):
    app = make_node("qoot", {"trust": {"max_refusal_lines_per_minute": 10}})
    load_node(app, cluster_doc("qoot"), [member_doc("m1", "nace-rev2:11.02", visibility="public")])
    lines_before, _size = audit_bytes(app)
    bodies = []
    with waitress_served(app) as url:
        for _ in range(50):
            response = requests.get(url + "/api/v1/profile", headers=hostile_headers(), timeout=10)
            assert response.status_code == 401
            bodies.append(response.content)
    assert max(len(b) for b in bodies) < 2000
    assert b"kkkkkkkkkk" not in bodies[0]
    assert "request signature too large" in bodies[0].decode()
    assert "trust.max_request_signature_bytes" in bodies[0].decode()

    events = app.extensions["medmci"].hubs.audit.events("request.refused", 1000)  # writes the count line
    lines, size = audit_bytes(app)
    # 10 lines for this address a minute, and one count line per minute: 11, or 22 when the run spans two minutes
    assert lines - lines_before in (11, 22) and lines_before == 0
    assert size < 22 * 1500
    counted = [e for e in events if e["details"].get("count")]
    assert sum(e["details"]["count"] for e in counted) + len(events) - len(counted) == 50
    assert counted[0]["details"]["remote"] == "127.0.0.1"
    assert "trust.max_refusal_lines_per_minute" in counted[0]["message"]


def test_a_long_key_id_under_the_header_limit_is_cut_in_the_answer_and_the_audit_line(backend, make_node, serve):
    app = make_node("qoot")
    load_node(app, cluster_doc("qoot"), [])
    server = serve(app)
    kid = "x" * 3000  # the headers stay under 4096 bytes: parsed, and refused as an unknown key
    response = requests.get(server.url + "/api/v1/profile", headers=hostile_headers(kid), timeout=10)
    assert response.status_code == 401
    answer = response.json()
    assert "unknown key id" in answer["message"]
    assert "[cut: 3000 characters]" in answer["message"]
    assert len(response.content) < 2000
    [line] = app.extensions["medmci"].hubs.audit.events("request.refused")
    assert len(line["details"]["kid"]) < 250 and line["details"]["kid"].endswith("[cut: 3000 characters]")
    assert len(line["actor"]) <= 200 and len(line["message"]) < 600


def test_the_hubs_push_endpoint_answers_a_huge_key_id_briefly_and_writes_nothing(backend, make_node, make_hub,
                                                                                   serve):
    hub = make_hub()
    hub_app = create_hub_app(hub=hub)
    app = make_node("qoot")
    load_node(app, cluster_doc("qoot"), [member_doc("m1", "nace-rev2:11.02", visibility="public")])
    node_server = serve(app)
    with waitress_served(hub_app) as hub_url:
        join_hub(app.extensions["medmci"], hub_url, node_server.url)
        hub.nodes.decide("qoot", "approve")
        with hub.db.session() as session:
            before = session.scalar(select(func.count()).select_from(AuditEvent))
        for kid in (HUGE_KID, "y" * 3000):
            response = requests.post(hub_url + "/api/v1/nodes/qoot/notify", headers=hostile_headers(kid), timeout=10)
            assert response.status_code == 401
            assert len(response.content) < 2000
            assert kid[:300] not in response.text
    with hub.db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_refusals_beyond_the_share_of_a_minute_are_counted_and_written_when_the_minute_is_over():
    from datetime import datetime, timedelta, timezone

    from federation.node.trust import RefusalCounter

    counter = RefusalCounter(per_minute=2)
    start = datetime(2026, 1, 1, 12, 0, 5, tzinfo=timezone.utc)
    assert [counter.admit("10.0.0.1", start) for _ in range(5)] == [True, True, False, False, False]
    assert counter.admit("10.0.0.2", start) is True  # each address has its own share
    assert counter.flush(start + timedelta(seconds=10)) == []  # the minute is not over: nothing to write yet
    later = start + timedelta(minutes=1)
    assert counter.admit("10.0.0.1", later) is True  # a new minute, a new share
    assert counter.flush(later) == [("10.0.0.1", 3, start)]  # the last minute's count, once
    assert counter.flush(later, force=True) == []
