"""What a hostile client can send to the node and hub APIs (issue 8, B8 and B9, and the pagination of A4), over real
HTTP on loopback, on SQLite and PostgreSQL: the token is checked before any body is read, every body is bounded,
hostile values get a 4xx in the one error shape and change nothing, and the lists that grow are paginated."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from federation.hub.app import create_hub_app
from federation.node.join import trust_hub
from tests.support.assertions import assert_error
from tests.support.builders import LB_MEMBERS, MA_MEMBERS, cluster_doc, load_node, member_doc

ERROR_KEYS = {"code", "status", "error", "message", "errors"}
#: Small limits, so that the tests send little; the defaults are 1 MB and 50 MB (config/settings.yaml).
LIMITS = {"api": {"max_body_bytes": 20_000, "max_import_bytes": 200_000, "embedded_members": 2},
          "rate_limits": {"registration": "10000 per hour", "tokens": "10000 per hour"}}


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def raw_post(base_url: str, path: str, declared_length: int, headers: dict | None = None,
             sent: bytes = b"{" * 1024) -> tuple[int, dict, float]:
    """POST that announces ``declared_length`` bytes but sends only ``sent``: the answer must come without the rest.
    Returns (status, JSON body, seconds)."""
    parts = urlsplit(base_url)
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json",
             f"Content-Length: {declared_length}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + sent)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    status = int(head.split(b" ")[1])
    return status, json.loads(body), time.monotonic() - started


@pytest.fixture
def apis(make_node, make_hub, serve):
    """Two nodes (LB, MA) served on loopback, a hub that registered and harvested them, and tokens."""
    nodes = {}
    for node_id, cluster, country, members in (("node-lb", "qoot", "LB", LB_MEMBERS),
                                                ("node-ma", "menara", "MA", MA_MEMBERS)):
        app = make_node(node_id, LIMITS)
        load_node(app, cluster_doc(cluster, country), members)
        nodes[node_id] = (app, serve(app))
    hub = make_hub("hub", LIMITS)
    hub_app = create_hub_app(hub=hub)
    hub_url = serve(hub_app).url
    for node_id, (app, server) in nodes.items():
        trust_hub(app.extensions["medmci"], hub_url)  # the nodes serve their federation members to the hub
        hub.nodes.register(node_id, server.url, None, None, "test")
    hub.harvester.harvest()
    _r, operator = hub.tokens.create("operator", "operator")
    _r, reader = hub.tokens.create("reader", "knowledge_member", entity_key="hosted:uni")
    node_app, node_server = nodes["node-lb"]
    _r, admin = node_app.extensions["medmci"].tokens.create("admin", "node_admin")
    return {"hub": hub, "hub_url": hub_url, "operator": {"Authorization": f"Bearer {operator}"},
            "reader": {"Authorization": f"Bearer {reader}"}, "node_app": node_app, "node_url": node_server.url,
            "admin": {"Authorization": f"Bearer {admin}"}}


def token_names(hub) -> list[str]:
    return sorted(t["name"] for t in hub.tokens.list())


def member_ids(node_app) -> list[str]:
    return sorted(m["id"] for m in node_app.extensions["medmci"].service.list_members(None))


# -- B8: authenticate before parsing; bounded bodies ----------------------------------------------------------------

HUB_WRITES = [("post", "/api/v1/tokens", {"name": 5, "role": "emperor", "scopes": "x"}),
              ("post", "/api/v1/nodes", {"id": "<script>", "url": "not a url"}),
              ("patch", "/api/v1/nodes/node-lb", {"status": ["x"]}),
              ("post", "/api/v1/nodes/node-lb/decision", {"decision": {"a": 1}}),
              ("post", "/api/v1/harvests", {"nodes": "everything"})]
NODE_WRITES = [("put", "/api/v1/cluster", {"id": "BAD ID", "names": []}),
               ("post", "/api/v1/members", {"kind": "dragon", "name": 7}),
               ("put", "/api/v1/members/qoot-wine", {"kind": "dragon"})]


def test_anonymous_and_unscoped_writes_are_refused_before_the_body_is_parsed(apis):
    hub, before_tokens, before_members = apis["hub"], token_names(apis["hub"]), member_ids(apis["node_app"])
    cases = [(apis["hub_url"], w) for w in HUB_WRITES] + [(apis["node_url"], w) for w in NODE_WRITES]
    for base, (method, path, body) in cases:
        anonymous = requests.request(method, base + path, json=body, timeout=5)
        refused = assert_error(anonymous, 401, "unauthorized")
        assert "errors" not in refused, refused  # no field-level details for an anonymous caller
        assert "scope" in refused["message"]
        # Malformed JSON too: 401, not 400 about the body.
        broken = requests.request(method, base + path, data=b"{not json", timeout=5,
                                  headers={"Content-Type": "application/json"})
        assert "errors" not in assert_error(broken, 401, "unauthorized")
        bad_token = requests.request(method, base + path, json=body, timeout=5,
                                     headers={"Authorization": "Bearer mmci_000000000000_nope"})
        assert "errors" not in assert_error(bad_token, 401, "unauthorized")
    for method, path, body in HUB_WRITES:  # a reader's token lacks the scope: 403, still without field details
        forbidden = requests.request(method, apis["hub_url"] + path, json=body, headers=apis["reader"], timeout=5)
        assert "errors" not in assert_error(forbidden, 403, "forbidden")
    assert token_names(hub) == before_tokens
    assert member_ids(apis["node_app"]) == before_members
    # A join request without a signature is refused before its body is read.
    unsigned = requests.post(apis["hub_url"] + "/api/v1/registrations", json={"node_url": ["x"], "name": {}},
                             timeout=5)
    assert assert_error(unsigned, 401, "signature_error")["errors"] == {"signature": ["the request is not signed"]}


@pytest.mark.parametrize("who", ["anonymous", "authorized"])
def test_a_huge_body_is_refused_with_413_before_it_is_read(apis, who):
    for base, path, headers in ((apis["hub_url"], "/api/v1/tokens", apis["operator"]),
                                (apis["hub_url"], "/api/v1/harvests", apis["operator"]),
                                (apis["node_url"], "/api/v1/members", apis["admin"]),
                                (apis["node_url"], "/api/v1/members/import", apis["admin"])):
        status, body, seconds = raw_post(base, path, 100_000_000, headers if who == "authorized" else None)
        assert status == 413, (path, body)
        assert body["error"] == "payload_too_large" and body["code"] == 413
        assert "bytes" in body["message"]
        assert seconds < 3, (path, seconds)  # answered at once: the 100 MB were never awaited
    assert token_names(apis["hub"]) == ["operator", "reader"]


def test_the_csv_import_has_its_own_larger_limit(apis):
    url, headers = apis["node_url"] + "/api/v1/members/import", {**apis["admin"], "Content-Type": "text/csv"}
    header = "id,kind,name,city,activities\n"
    rows = "".join(f"bulk-{i:05d},sme,Bulk member number {i},Beirut,nace-rev2:11.02\n" for i in range(600))
    csv = (header + rows).encode()
    assert 20_000 < len(csv) < 200_000  # over the body limit, under the import limit
    answer = requests.post(url, data=csv, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["created"] == 600
    too_big = requests.post(url, data=csv * 8, headers=headers, timeout=30)
    assert len(csv * 8) > 200_000
    assert_error(too_big, 413, "payload_too_large")
    assert len(member_ids(apis["node_app"])) == 600 + len(LB_MEMBERS)
    # The same size as JSON on another endpoint is refused: the import's limit is its own.
    assert_error(requests.post(apis["node_url"] + "/api/v1/members", data=csv, timeout=5,
                               headers={**apis["admin"], "Content-Type": "application/json"}), 413)


def test_a_chunked_body_over_the_limit_is_413(apis):
    def chunks():
        for _ in range(100):
            yield b" " * 1000

    answer = requests.post(apis["hub_url"] + "/api/v1/tokens", data=chunks(), timeout=10,
                           headers={**apis["operator"], "Content-Type": "application/json"})
    assert_error(answer, 413, "payload_too_large")
    assert token_names(apis["hub"]) == ["operator", "reader"]
    # A chunked body under the limit is read whole.
    small = requests.post(apis["hub_url"] + "/api/v1/tokens", timeout=10,
                          data=iter([b'{"name": "chunked",', b' "role": "operator", "scopes": ["audit:read"]}']),
                          headers={**apis["operator"], "Content-Type": "application/json"})
    assert small.status_code == 201 and small.json()["name"] == "chunked"


# -- B9: no 500s ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("levels", [33, 1000, 9000])  # 9000 levels: 18 kB, under the body limit
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(apis, levels):
    body = deep(levels)
    for base, method, path, headers in ((apis["hub_url"], "post", "/api/v1/tokens", apis["operator"]),
                                        (apis["hub_url"], "post", "/api/v1/harvests", apis["operator"]),
                                        (apis["hub_url"], "patch", "/api/v1/nodes/node-lb", apis["operator"]),
                                        (apis["node_url"], "put", "/api/v1/cluster", apis["admin"]),
                                        (apis["node_url"], "post", "/api/v1/members", apis["admin"])):
        nested = '{"name": ' + body[:len(body) // 2] + "1" + body[len(body) // 2:] + "}" if levels < 50 else body
        answer = requests.request(method, base + path, data=nested.encode(), timeout=10,
                                  headers={**headers, "Content-Type": "application/json"})
        refused = assert_error(answer, 400, "bad_request")
        assert "nested deeper than 32 levels" in refused["message"], refused
    assert token_names(apis["hub"]) == ["operator", "reader"]
    assert apis["hub"].queries.runs_page()[0] == 1  # the fixture's harvest only: no run was started


@pytest.mark.parametrize("digits", [101, 5000])
def test_a_number_of_too_many_digits_is_a_400_without_interpreter_advice(apis, digits):
    answer = requests.post(apis["hub_url"] + "/api/v1/tokens", data=b'{"name": ' + b"9" * digits + b"}",
                           headers={**apis["operator"], "Content-Type": "application/json"}, timeout=5)
    refused = assert_error(answer, 400, "bad_request")
    assert refused["message"] == f"the body has a number of {digits} digits (at most 100)"
    assert "sys." not in answer.text
    assert token_names(apis["hub"]) == ["operator", "reader"]


def test_an_overlong_path_id_is_a_short_404_that_does_not_echo_it(apis):
    answer = requests.get(apis["hub_url"] + "/api/v1/clusters/" + "a" * 20_000 + "/why", timeout=10)
    refused = assert_error(answer, 404, "not_found")
    assert refused["message"] == "no such cluster_id: the path gives 20000 characters, ids have at most 200"
    assert len(answer.content) < 500


@pytest.mark.parametrize("path", ["/api/v1/nodes/node-lb/versions/18446744073709551616",
                                  "/api/v1/nodes/node-lb/versions/9223372036854775807",
                                  "/api/v1/nodes/node-lb/versions/2147483648",
                                  "/api/v1/harvests/18446744073709551616",
                                  "/api/v1/harvests/2147483648"])
def test_path_ids_beyond_the_database_integer_are_404(apis, path):
    assert_error(requests.get(apis["hub_url"] + path, headers=apis["operator"], timeout=5), 404, "not_found")


def test_the_largest_path_id_is_an_ordinary_404(apis):
    answer = requests.get(apis["hub_url"] + "/api/v1/harvests/2147483647", headers=apis["operator"], timeout=5)
    assert "no harvest run 2147483647" in assert_error(answer, 404, "not_found")["message"]


@pytest.mark.parametrize("text, problem", [("bad\x00name", "control characters"), ("bad\x1b[31mname", "control"),
                                           ("\ud800", "lone surrogate")])
def test_nul_control_characters_and_lone_surrogates_are_422_and_change_nothing(apis, text, problem):
    raw = json.dumps({"name": text, "role": "operator"}).encode()  # ensure_ascii: \u0000, \ud800 as escapes
    answer = requests.post(apis["hub_url"] + "/api/v1/tokens", data=raw, timeout=5,
                           headers={**apis["operator"], "Content-Type": "application/json"})
    refused = assert_error(answer, 422, "validation_error")
    assert problem in refused["errors"]["name"][0], refused
    member = json.dumps(member_doc("evil", "nace-rev2:11.02", name="Evil", city=text)).encode()
    answer = requests.post(apis["node_url"] + "/api/v1/members", data=member, timeout=5,
                           headers={**apis["admin"], "Content-Type": "application/json"})
    assert problem in assert_error(answer, 422, "validation_error")["errors"]["city"][0]
    cluster = json.dumps(cluster_doc("qoot", "LB", names={"en": text})).encode()
    answer = requests.put(apis["node_url"] + "/api/v1/cluster", data=cluster, timeout=5,
                          headers={**apis["admin"], "Content-Type": "application/json"})
    assert problem in assert_error(answer, 422, "validation_error")["errors"]["names"]["en"][0]
    assert token_names(apis["hub"]) == ["operator", "reader"]
    assert "evil" not in member_ids(apis["node_app"])
    assert apis["node_app"].extensions["medmci"].service.get_cluster()["names"]["en"] == "QOOT"


@pytest.mark.parametrize("field", ["name", "city"])
def test_bidi_overrides_in_a_member_are_422_like_at_the_hub_and_marks_are_welcome(apis, field):
    """Issue #8, finding 4: the node refused ESC but took U+202E in a member's name or city, which the hub's
    registration refused. One rule now (federation.text); the Arabic marks (RLM) stay allowed."""
    url = apis["node_url"] + "/api/v1/members"
    headers = {**apis["admin"], "Content-Type": "application/json"}
    for i, char in enumerate("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"):
        doc = member_doc(f"evil-{i}", "nace-rev2:11.02", **{field: f"Evil {char}eman"})
        refused = assert_error(requests.post(url, data=json.dumps(doc), headers=headers, timeout=5), 422,
                               "validation_error")
        assert f"found U+{ord(char):04X}" in refused["errors"][field][0], refused
    doc = member_doc("arabic", "nace-rev2:11.02", **{field: "\u0642\u0637\u0628 \u200fABC\u200e \u061c1"})
    answer = requests.post(url, data=json.dumps(doc), headers=headers, timeout=5)
    assert answer.status_code == 201, answer.text
    assert answer.json()[field] == doc[field]
    assert [m for m in member_ids(apis["node_app"]) if m.startswith("evil")] == []
    # The hub's request guards apply the same rule to a path or query value.
    answer = requests.get(apis["hub_url"] + "/api/v1/audit?node_id=x%E2%80%AEy", headers=apis["operator"], timeout=5)
    assert "found U+202E" in assert_error(answer, 422, "validation_error")["message"]


def test_a_json_body_with_a_duplicate_key_is_400_naming_the_key(apis):
    """Issue #8, finding 11: {"name":"a","name":"b"} was taken (the last one won); signed documents refuse it."""
    raw = b'{"name": "first", "role": "operator", "name": "second"}'
    answer = requests.post(apis["hub_url"] + "/api/v1/tokens", data=raw, timeout=5,
                           headers={**apis["operator"], "Content-Type": "application/json"})
    refused = assert_error(answer, 400, "bad_request")
    assert "'name'" in refused["message"] and "duplicate key 'name'" in refused["errors"]["json"][0], refused
    assert token_names(apis["hub"]) == ["operator", "reader"]
    nested = json.dumps(member_doc("dup", "nace-rev2:11.02")).replace('"city": "Beirut"',
                                                                      '"city": "Beirut", "city": "Tyre"')
    answer = requests.post(apis["node_url"] + "/api/v1/members", data=nested, timeout=5,
                           headers={**apis["admin"], "Content-Type": "application/json"})
    assert "'city'" in assert_error(answer, 400, "bad_request")["message"]
    assert "dup" not in member_ids(apis["node_app"])


@pytest.mark.parametrize("path", ["/api/v1/nodes/%00", "/api/v1/nodes/a%1Bb/versions",
                                  "/api/v1/audit?action=%00", "/api/v1/audit?node_id=x%00y",
                                  "/api/v1/metaclusters/%00", "/api/v1/clusters/%00/why"])
def test_control_characters_in_the_path_or_query_are_422(apis, path):
    answer = requests.get(apis["hub_url"] + path, headers=apis["operator"], timeout=5)
    assert "control characters" in assert_error(answer, 422, "validation_error")["message"]
    answer = requests.get(apis["node_url"] + "/api/v1/members/%00", headers=apis["admin"], timeout=5)
    assert_error(answer, 422, "validation_error")


def test_overlong_strings_and_wrong_types_are_422_and_wrong_content_types_are_not_json(apis):
    long = "x" * 10_000
    for body, field in (({"name": long, "role": "operator"}, "name"), ({"name": ["a"], "role": "operator"}, "name"),
                        ({"name": "a", "role": "operator", "node_id": {"x": 1}}, "node_id"),
                        ({"name": "a", "role": "operator", "scopes": [None, 1]}, "scopes")):
        answer = requests.post(apis["hub_url"] + "/api/v1/tokens", json=body, headers=apis["operator"], timeout=5)
        assert field in assert_error(answer, 422, "validation_error")["errors"]
    assert_error(requests.get(apis["hub_url"] + "/api/v1/nodes/" + long, headers=apis["operator"], timeout=5),
                 404, "not_found")
    # JSON sent as text/plain is not read as JSON: the fields are missing.
    answer = requests.post(apis["hub_url"] + "/api/v1/tokens", data=json.dumps({"name": "a", "role": "operator"}),
                           headers={**apis["operator"], "Content-Type": "text/plain"}, timeout=5)
    assert "name" in assert_error(answer, 422, "validation_error")["errors"]
    assert token_names(apis["hub"]) == ["operator", "reader"]


# -- A4: paginated lists -------------------------------------------------------------------------------------------

def pages(url: str, headers: dict, page_size: int) -> tuple[list, list[dict]]:
    items, metas, page = [], [], 1
    while True:
        answer = requests.get(url, params={"page": page, "page_size": page_size}, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text[:300]
        meta = json.loads(answer.headers["X-Pagination"])
        metas.append(meta)
        assert len(answer.json()) <= page_size
        items += answer.json()
        if "next_page" not in meta:
            return items, metas
        page = meta["next_page"]


def test_large_lists_are_paginated_with_the_total_in_x_pagination(apis):
    hub, url, operator = apis["hub"], apis["hub_url"], apis["operator"]
    for i in range(5):
        requests.post(url + "/api/v1/tokens", json={"name": f"t{i}", "role": "operator", "scopes": ["federation:read"]},
                      headers=operator, timeout=5).raise_for_status()
    events, metas = pages(url + "/api/v1/audit", operator, 2)
    assert metas[0]["total"] == len(events) >= 5 and len(metas) == metas[0]["total_pages"]
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)  # newest first, no repeats
    assert [e["action"] for e in events[:5]] == ["token.created"] * 5
    assert requests.get(url + "/api/v1/audit?limit=1", headers=operator, timeout=5).json() == events[:1]
    nodes, metas = pages(url + "/api/v1/nodes", operator, 1)
    assert [n["id"] for n in nodes] == ["node-lb", "node-ma"] and metas[0]["total"] == 2
    clusters, _ = pages(url + "/api/v1/clusters", {}, 1)
    assert sorted(c["id"] for c in clusters) == ["menara", "qoot"]
    versions, _ = pages(url + "/api/v1/nodes/node-lb/versions", operator, 1)
    assert len(versions) == 1 and versions[0]["size"] > 0
    runs, _ = pages(url + "/api/v1/harvests", operator, 1)
    assert len(runs) == 1
    # A page far past the end is an empty page, not a database error; a page size over the maximum is a 422.
    past = requests.get(url + "/api/v1/audit", params={"page": 2**70}, headers=operator, timeout=5)
    assert past.status_code == 200 and past.json() == []
    assert_error(requests.get(url + "/api/v1/nodes", params={"page_size": 10_001}, headers=operator, timeout=5),
                 422, "validation_error")


def same_members(shown: list[dict], stored: list[dict]) -> bool:
    """The API shows each stored member in order, through its response schema (which leaves out e.g. audience)."""
    return [m["id"] for m in shown] == [m["id"] for m in stored] and all(
        all(value == full[key] for key, value in member.items()) for member, full in zip(shown, stored))


def test_metacluster_members_are_embedded_up_to_a_limit_and_paginated_in_full(apis):
    hub, url = apis["hub"], apis["hub_url"]
    full = hub.queries.metacluster("agri-food", federation=True)
    assert len(full["members"]) > 2
    for headers, federation in (({}, False), (apis["reader"], True)):
        whole = hub.queries.metacluster("agri-food", federation=federation)
        [listed] = [m for m in requests.get(url + "/api/v1/metaclusters", headers=headers, timeout=5).json()
                    if m["value_chain"] == "agri-food"]
        one = requests.get(url + "/api/v1/metaclusters/agri-food", headers=headers, timeout=5).json()
        for document in (listed, one):
            assert same_members(document["members"], whole["members"][:2])
            assert document["members_total"] == len(whole["members"])
            assert document["knowledge_members_total"] == len(whole["knowledge_members"])
            assert all(len(s["members"]) <= 2 for s in document["sub_clusters"])
        members, metas = pages(url + f"/api/v1/metaclusters/{one['id']}/members", headers, 2)
        assert same_members(members, whole["members"]) and metas[0]["total"] == len(whole["members"])
        knowledge, _ = pages(url + "/api/v1/metaclusters/agri-food/knowledge-members", headers, 1)
        assert same_members(knowledge, whole["knowledge_members"]) and knowledge
    # Anonymous readers never see the federation-only member, on any page.
    anonymous, _ = pages(url + "/api/v1/metaclusters/agri-food/members", {}, 100)
    assert "node-lb/qoot-oil" not in {m["id"] for m in anonymous}
    assert "node-lb/qoot-oil" in {m["id"] for m in full["members"]}
    metaclusters, metas = pages(url + "/api/v1/metaclusters?formed=all", {}, 1)
    assert metas[0]["total"] == len(metaclusters) == len(hub.queries.metaclusters(None, False))


def test_the_wsgi_server_buffers_no_more_than_the_largest_limit_of_its_app(apis):
    from federation.web import largest_body_limit

    assert largest_body_limit(apis["node_app"]) == 200_000  # the node's CSV import
    hub_app = create_hub_app(hub=apis["hub"])
    # The hub's largest is the funding calls file an operator posts (POST /api/v1/calls).
    assert largest_body_limit(hub_app) == apis["hub"].settings.get("funding.max_bytes") == 2_000_000
