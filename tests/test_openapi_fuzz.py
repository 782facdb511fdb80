"""Every operation of both OpenAPI documents, walked by schemathesis with values that fit the schema and values that
do not (wrong types, out-of-range numbers, overlong strings, missing and extra fields, wrong content types), then
by hand with the values a fuzzer rarely finds (JSON nested 1,000 levels, 2^64 ids, NUL, lone surrogates, 10,000
characters, numbers of 5,000 digits, an unknown content type), against
real node and hub servers on loopback, on SQLite and PostgreSQL: no answer is a 5xx, and every error has the one
JSON error shape.

Requests carry a token with every scope of the app, so the fuzzer reaches the body parsers and the services, not
only the 401 of the request guard; join requests are signed with a real node's key, so the hub reads their bodies
too. URLs in positive bodies point at that real node (the hub would otherwise try to resolve random host names).
The number of examples is bounded so that the whole file stays well under a minute on two cores.
"""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from federation.hub.app import create_hub_app
from federation.signing import sign_request
from tests.support.builders import cluster_doc, load_node, member_doc

#: Examples per operation and generation mode (two modes): enough to hit every field with a hostile value
#: over the runs of CI, few enough to keep the file fast.
EXAMPLES = 8
RATE_LIMITS = {"rate_limits": {"registration": "100000 per hour", "tokens": "100000 per hour",
                               "push": "100000 per minute"}}
ERROR_KEYS = {"code", "status", "error", "message", "errors"}
_URL = re.compile(r"^https?://")


def _point_urls_at(body, node_url: str):
    """Positive bodies name URLs: make them the real node's, so no random host name is resolved."""
    if isinstance(body, dict):
        return {k: (node_url if k in ("url", "node_url") and isinstance(v, str) and _URL.match(v) else v)
                for k, v in body.items()}
    return body


def _check(response: requests.Response, label: str) -> None:
    assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:500]}"
    if response.status_code >= 400 and response.status_code != 405:
        body = response.json()
        assert {"code", "status", "error", "message"} <= set(body) <= ERROR_KEYS, (label, body)
        assert body["code"] == response.status_code and body["status"] == HTTPStatus(response.status_code).phrase


def _fuzz(spec: dict, base_url: str, token: str, node_url: str, node_keys=None) -> int:
    """Walk every operation of ``spec`` in both modes; returns how many requests were sent."""
    schema = schemathesis.openapi.from_dict(spec)
    session = requests.Session()
    session.trust_env = False
    sent = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        signed = operation.path == "/api/v1/registrations"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                nonlocal sent
                if mode is GenerationMode.POSITIVE:
                    case.body = _point_urls_at(case.body, node_url)
                kwargs = case.as_transport_kwargs(base_url=base_url,
                                                  headers={"Authorization": f"Bearer {token}"})
                kwargs.pop("timeout", None)
                kwargs.pop("verify", None)
                kwargs.pop("allow_redirects", None)
                prepared = session.prepare_request(requests.Request(**kwargs))
                if signed and node_keys is not None and not isinstance(prepared.body, (type(None), bytes, str)):
                    prepared.body = b"".join(prepared.body)
                if signed and node_keys is not None:
                    kid, key = node_keys.current
                    sign_request(prepared, key, kid)
                response = session.send(prepared, timeout=10, allow_redirects=False)
                sent += 1
                _check(response, f"{label} [{mode.value}] {case.path_parameters} {case.query} {str(case.body)[:200]}")

            try:
                run()
            except Unsatisfiable:
                # Nothing to make invalid (no parameter, no body): there is no negative case to send.
                assert mode is GenerationMode.NEGATIVE, label
    return sent


#: Hand-written hostile values, sent to every operation on top of what schemathesis generates.
HUGE_ID = str(2**64)
PATH_VALUES = {"integer": [HUGE_ID, str(2**63 - 1), str(2**31)], "string": ["%00", "a%1Bb", "x" * 10_000, "%ED%A0%80"]}
JSON_BODIES = ["[" * 1000 + "]" * 1000, '{"a": ' * 1000 + "1" + "}" * 1000, '{"name": "\\u0000"}', '"\\ud800"',
               '{"node_url": "\\ud800", "name": "a\\u0000b", "nodes": ["\\u0000"], "id": ["x"], "url": {"x": 1}}',
               "9" * 5000, '{"name": "' + "x" * 10_000 + '"}', "{", "\ufeff{}", "null", "[]"]


def _hostile(spec: dict, base_url: str, token: str) -> int:
    """Every operation with hostile path values, query values, JSON bodies and a wrong content type."""
    session = requests.Session()
    session.trust_env = False
    headers = {"Authorization": f"Bearer {token}"}
    sent = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            params = [p for p in operation.get("parameters", []) + item.get("parameters", []) if p["in"] == "path"]
            urls = []
            for param in params:
                kind = param.get("schema", {}).get("type", "string")
                for value in PATH_VALUES.get(kind, PATH_VALUES["string"]):
                    urls.append(path.replace("{" + param["name"] + "}", value))
            ordinary = re.sub(r"\{[^}]+\}", "1", path)
            urls.append(ordinary + "?page=%00&page_size=99999999999999999999&formed=%00&action=%00&limit=-1")
            for url in urls:
                response = session.request(method, base_url + re.sub(r"\{[^}]+\}", "1", url), headers=headers,
                                           timeout=10)
                sent += 1
                _check(response, f"{method.upper()} {url[:120]}")
            if "requestBody" in operation:
                for body in JSON_BODIES:
                    response = session.request(method, base_url + ordinary, data=body.encode("utf-8", "surrogatepass"),
                                               headers={**headers, "Content-Type": "application/json"}, timeout=10)
                    sent += 1
                    _check(response, f"{method.upper()} {path} body {body[:60]!r}")
                response = session.request(method, base_url + ordinary, data=b"\x00\xff{", timeout=10,
                                           headers={**headers, "Content-Type": "application/x-unknown"})
                sent += 1
                _check(response, f"{method.upper()} {path} wrong content type")
    return sent


@pytest.fixture
def federation_servers(make_node, make_hub, serve):
    """A node with a cluster and members, and a hub that registered it, both served on loopback."""
    node_app = make_node("fuzz-node", RATE_LIMITS)
    load_node(node_app, cluster_doc("qoot", "LB"), [member_doc("m1", "nace-rev2:11.02")])
    node = serve(node_app)
    hub = make_hub("fuzz-hub", RATE_LIMITS)
    hub_app = create_hub_app(hub=hub)
    hub_server = serve(hub_app)
    hub.nodes.register("qoot", node.url, None, None, "test")
    _record, hub_token = hub.tokens.create("fuzz-operator", "operator")
    _record, node_token = node_app.extensions["medmci"].tokens.create("fuzz-admin", "node_admin")
    return {"node_app": node_app, "node": node, "node_token": node_token, "hub": hub, "hub_app": hub_app,
            "hub_server": hub_server, "hub_token": hub_token}


def test_no_hub_operation_answers_5xx_to_hostile_values(federation_servers):
    f = federation_servers
    spec = f["hub_app"].test_client().get("/api/v1/openapi.json").get_json()
    sent = _fuzz(spec, f["hub_server"].url, f["hub_token"], f["node"].url,
                 node_keys=f["node_app"].extensions["medmci"].keys)
    assert sent >= len(spec["paths"]) * 2
    assert _hostile(spec, f["hub_server"].url, f["hub_token"]) > len(spec["paths"]) * 3
    # The hub still answers, with its data intact: the registered node is there, its token still works.
    answer = requests.get(f["hub_server"].url + "/api/v1/nodes/qoot",
                          headers={"Authorization": f"Bearer {f['hub_token']}"}, timeout=5)
    assert answer.status_code == 200 and answer.json()["id"] == "qoot"


def test_no_node_operation_answers_5xx_to_hostile_values(federation_servers):
    f = federation_servers
    spec = f["node_app"].test_client().get("/api/v1/openapi.json").get_json()
    sent = _fuzz(spec, f["node"].url, f["node_token"], f["node"].url)
    assert sent >= len(spec["paths"]) * 2
    assert _hostile(spec, f["node"].url, f["node_token"]) > len(spec["paths"]) * 3
    answer = requests.get(f["node"].url + "/api/v1/profile", timeout=5)
    assert answer.status_code in (200, 404)
