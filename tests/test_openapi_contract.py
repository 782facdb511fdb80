"""The OpenAPI documents tell the truth (issue 8, B10): both are valid OpenAPI 3.1, declare their security schemes and
each operation's scheme and scope, document the discovery documents, use standard formats and the real content
types; and real requests and answers of both apps, over loopback, validate against them.

The client side is openapi-core (a maintained OpenAPI 3.0/3.1 request and response validator that runs offline,
on the spec dict): every call of a scripted session is checked against the spec before it is sent and its answer
after, so an undocumented parameter, a wrong content type, a missing security requirement or a body that does not
match its schema fails the test. tests/test_openapi_client.py also generates a client from each document and uses
it.
"""

from __future__ import annotations

import json

import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_spec_validator import validate as validate_spec

from tests.support.api_servers import spec_of
from tests.support.builders import cluster_doc, member_doc


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield path, method, operation


class CheckedClient:
    """Sends requests over HTTP, validating each request and its answer against an OpenAPI document."""

    def __init__(self, spec: dict, base_url: str, token: str | None = None):
        # openapi-core hands a text/csv body over as bytes: read it as the text the document says it is.
        # Same for the JSON Schema (application/schema+json), which it does not know to be JSON.
        config = Config(extra_media_type_deserializers={"text/csv": lambda body: body.decode("utf-8"),
                                                        "application/schema+json": json.loads})
        self.openapi = OpenAPI.from_dict({**spec, "servers": [{"url": base_url}]}, config=config)
        self.base_url = base_url
        self.token = token
        self.session = requests.Session()
        self.session.trust_env = False
        self.checked: list[str] = []

    def call(self, method: str, path: str, *, auth: bool = True, valid: bool = True, **kwargs) -> requests.Response:
        """``valid=False``: a request meant to be refused (no token, bad body); only its answer is checked."""
        headers = {**kwargs.pop("headers", {})}
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = requests.Request(method, self.base_url + path, headers=headers, **kwargs)
        prepared = self.session.prepare_request(request)
        if valid:
            self.openapi.validate_request(RequestsOpenAPIRequest(prepared))
        response = self.session.send(prepared, timeout=30)
        self.openapi.validate_response(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(response))
        self.checked.append(f"{method} {path} -> {response.status_code}")
        return response


def test_both_documents_are_valid_openapi_with_security_schemes_and_scopes(servers):
    for app in (servers["hub_app"], servers["node_app"]):
        spec = spec_of(app)
        validate_spec(spec)
        schemes = spec["components"]["securitySchemes"]
        assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
        assert schemes["httpSignature"]["type"] == "apiKey" and "RFC 9421" in schemes["httpSignature"]["description"]
        assert '"format": "url"' not in json.dumps(spec)
        for path, method, operation in operations(spec):
            scope = operation.get("x-medmci-scope")
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                assert {"400", "413", "422"} <= set(operation["responses"]), (method, path)  # bad, big, invalid
            if scope:  # a token with this scope, and the 401/403 that say otherwise
                assert operation["security"] == [{"bearerAuth": [scope]}], (method, path)
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
    hub = {(p, m): o for p, m, o in operations(spec_of(servers["hub_app"]))}
    assert hub[("/api/v1/registrations", "post")]["security"] == [{"httpSignature": []}]
    assert {"bearerAuth": ["push:write"]} in hub[("/api/v1/nodes/{node_id}/notify", "post")]["security"]
    assert hub[("/api/v1/metaclusters", "get")]["security"] == [{}, {"bearerAuth": ["federation:read"]}]
    assert hub[("/api/v1/harvests", "post")]["requestBody"]["required"] is False
    for path in ("/api/v1/nodes", "/api/v1/audit", "/api/v1/metaclusters", "/api/v1/clusters",
                 "/api/v1/nodes/{node_id}/versions", "/api/v1/harvests", "/api/v1/metaclusters/{metacluster_id}/members"):
        operation = hub[(path, "get")]
        assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"] if p["in"] == "query"}, path
        assert "X-Pagination" in operation["responses"]["200"]["headers"], path
    node = {(p, m): o for p, m, o in operations(spec_of(servers["node_app"]))}
    assert node[("/api/v1/profile", "get")]["security"] == [{}, {"httpSignature": []}]


def test_the_documents_describe_discovery_formats_content_types_and_keys(servers):
    hub_spec, node_spec = spec_of(servers["hub_app"]), spec_of(servers["node_app"])
    hub_schemas, node_schemas = hub_spec["components"]["schemas"], node_spec["components"]["schemas"]
    discovery = node_spec["paths"]["/.well-known/med-mci"]["get"]["responses"]["200"]["content"]["application/json"]
    assert discovery["schema"] == {"$ref": "#/components/schemas/Discovery"}
    assert {"schema", "cluster_id", "cluster", "keys", "profiles", "openapi_url"} <= set(
        node_schemas["Discovery"]["properties"])
    hub_discovery = hub_spec["paths"]["/.well-known/med-mci-hub"]["get"]["responses"]["200"]["content"]
    assert hub_discovery["application/json"]["schema"] == {"$ref": "#/components/schemas/HubDiscovery"}
    assert hub_schemas["HubDiscovery"]["properties"]["registrations_url"]["format"] == "uri"
    assert node_schemas["Cluster"]["properties"]["website"]["format"] == "uri"
    assert node_schemas["Cluster"]["properties"]["names"]["propertyNames"] == {"enum": ["en", "fr", "ar"]}
    assert node_schemas["Cluster"]["properties"]["description"]["propertyNames"] == {"enum": ["en", "fr", "ar"]}
    assert node_schemas["NodeMember"]["properties"]["contact_visibility"]["propertyNames"] == {
        "enum": ["email", "phone", "person"]}
    assert hub_schemas["NodeRegistration"]["properties"]["url"]["format"] == "uri"
    for spec in (hub_spec, node_spec):
        content = spec["paths"]["/api/v1/schema/profile-{major}.json"]["get"]["responses"]["200"]["content"]
        assert list(content) == ["application/schema+json"]
    answer = requests.get(servers["hub_url"] + "/api/v1/schema/profile-1.json", timeout=5)
    assert answer.headers["Content-Type"].split(";")[0] == "application/schema+json"
    published = answer.json()
    assert published["$schema"].startswith("https://json-schema.org/")
    assert published["$defs"]["Cluster"]["properties"]["names"]["propertyNames"] == {"enum": ["en", "fr", "ar"]}


def test_a_session_of_real_calls_to_the_hub_validates_against_its_document(servers):
    client = CheckedClient(spec_of(servers["hub_app"]), servers["hub_url"], servers["operator"])
    assert client.call("GET", "/.well-known/med-mci-hub", auth=False).json()["schema"] == "med-mci/hub"
    # POST /api/v1/harvests without a body: documented optional, and it is.
    report = client.call("POST", "/api/v1/harvests").json()
    assert report["counts"]["new_version"] == 2
    metaclusters = client.call("GET", "/api/v1/metaclusters", auth=False).json()
    assert [m["id"] for m in metaclusters] == ["mc-agri-food"]
    client.call("GET", "/api/v1/metaclusters", params={"formed": "all", "page": 1, "page_size": 2})
    client.call("GET", "/api/v1/metaclusters/mc-agri-food/members", params={"page_size": 3})
    client.call("GET", "/api/v1/metaclusters/mc-agri-food/knowledge-members", auth=False)
    client.call("GET", "/api/v1/metaclusters/mc-agri-food")
    assert {c["id"] for c in client.call("GET", "/api/v1/clusters").json()} == {"qoot", "menara"}
    client.call("GET", "/api/v1/clusters/qoot/why", auth=False)
    client.call("GET", "/api/v1/clusters/qoot/members/qoot-wine/why")
    nodes = client.call("GET", "/api/v1/nodes", params={"page_size": 1})
    assert json.loads(nodes.headers["X-Pagination"])["total"] == 2
    [version] = client.call("GET", "/api/v1/nodes/node-lb/versions").json()
    client.call("GET", f"/api/v1/nodes/node-lb/versions/{version['id']}")
    [run] = client.call("GET", "/api/v1/harvests").json()
    client.call("GET", f"/api/v1/harvests/{run['id']}")
    created = client.call("POST", "/api/v1/tokens", json={"name": "reader", "role": "operator", "scopes": ["federation:read"]}).json()
    client.call("GET", "/api/v1/tokens")
    client.call("DELETE", f"/api/v1/tokens/{created['id']}")
    client.call("GET", "/api/v1/audit", params={"action": "token."})
    client.call("PATCH", "/api/v1/nodes/node-ma", json={"status": "paused"})
    client.call("POST", "/api/v1/nodes/node-ma/reset")
    for path in ("/api/v1/plugins", "/api/v1/taxonomies", "/api/v1/value-chains", "/api/v1/schema/profile-1.json"):
        client.call("GET", path, auth=False)
    # Errors are documented too: each answer below is checked against its documented error response.
    assert client.call("GET", "/api/v1/nodes", auth=False, valid=False).status_code == 401
    assert client.call("GET", "/api/v1/metaclusters/nope").status_code == 404
    assert client.call("POST", "/api/v1/tokens", json={"name": "x", "role": "emperor"},
                       valid=False).status_code == 422
    assert client.call("POST", "/api/v1/tokens", data=b"[" * 50 + b"]" * 50, valid=False,
                       headers={"Content-Type": "application/json"}).status_code == 400
    assert client.call("POST", "/api/v1/tokens", data=b" " * 1_000_001, valid=False,
                       headers={"Content-Type": "application/json"}).status_code == 413
    assert len(client.checked) >= 25


def test_a_session_of_real_calls_to_the_node_validates_against_its_document(servers):
    client = CheckedClient(spec_of(servers["node_app"]), servers["node_url"], servers["admin"])
    discovery = client.call("GET", "/.well-known/med-mci", auth=False).json()
    assert discovery["cluster"]["id"] == "qoot" and discovery["keys"]
    assert client.call("GET", "/api/v1/cluster", auth=False).json()["id"] == "qoot"
    client.call("PUT", "/api/v1/cluster", json=cluster_doc("qoot", "LB", names={"en": "QOOT", "ar": "قووت"}))
    created = client.call("POST", "/api/v1/members", json=member_doc("new-one", "nace-rev2:10.41",
                                                                     contact_visibility={"email": "federation"}))
    assert created.status_code == 201
    client.call("GET", "/api/v1/members", params={"visibility": "public"})
    client.call("GET", "/api/v1/members/new-one")
    client.call("PUT", "/api/v1/members/new-one", json=member_doc("new-one", "nace-rev2:10.41", city="Tripoli"))
    client.call("DELETE", "/api/v1/members/new-one")
    imported = client.call("POST", "/api/v1/members/import", data=b"id,kind,name\ncsv-1,sme,From CSV\n",
                           headers={"Content-Type": "text/csv"})
    assert imported.json()["created"] == 1
    profile = client.call("GET", "/api/v1/profile", auth=False)
    assert profile.json()["cluster"]["id"] == "qoot" and "Med-MCI-Signature" in profile.headers
    assert client.call("GET", "/api/v1/members", auth=False, valid=False).status_code == 401
    assert client.call("GET", "/api/v1/members/ghost").status_code == 404
    assert len(client.checked) >= 12
