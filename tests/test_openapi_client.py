"""A client generated from each OpenAPI document works against the real apps (issue 8, B10).

openapi-python-client writes a typed client package from the document the app serves; the test imports it and runs
an operator's and an anonymous reader's session over loopback. A wrong schema (a field the answer lacks, a wrong
type, an undocumented body or security scheme) fails here as it would for anyone who generates a client.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.api_servers import spec_of

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def generate(spec: dict, folder: Path, package: str):
    """Generate the client package of ``spec`` into ``folder`` and import it."""
    folder.mkdir()
    (folder / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    # The generator has no text/csv, .xlsx or PNG support of its own: an import's file body and the benchmark's
    # chart are bytes to it (as to any HTTP client).
    (folder / "config.yaml").write_text(f"package_name_override: {package}\n"
                                        "content_type_overrides: {text/csv: application/octet-stream, application/vnd.openxmlformats-"
                                        "officedocument.spreadsheetml.sheet: application/octet-stream, "
                                        "image/png: application/octet-stream}\n",
                                        encoding="utf-8")
    # The generator formats its output with ruff, which it installs beside itself.
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(GENERATOR), "generate", "--path", "spec.json", "--meta", "none",
                             "--config", "config.yaml"], cwd=folder, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr  # every operation generated
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(folder))


@pytest.fixture
def clients(servers, tmp_path):  # noqa: F811 - the imported fixture
    packages = {"hub": "medmci_hub_client_gen", "node": "medmci_node_client_gen"}
    generated = {role: generate(spec_of(servers[f"{role}_app"]), tmp_path / f"client-{role}", package)
                 for role, package in packages.items()}
    yield generated
    for name in list(sys.modules):
        if name.split(".")[0] in packages.values():
            del sys.modules[name]


def api(package, module: str):
    return importlib.import_module(f"{package.__name__}.api.{module}")


def test_a_generated_hub_client_runs_an_operators_and_an_anonymous_session(servers, clients):  # noqa: F811
    hub = clients["hub"]
    operator = hub.AuthenticatedClient(base_url=servers["hub_url"], token=servers["operator"])
    anonymous = hub.Client(base_url=servers["hub_url"])

    nodes = api(hub, "nodes.get_api_v1_nodes").sync(client=operator)
    assert sorted((n.id, n.country, n.status) for n in nodes) == [("node-lb", "LB", "active"),
                                                                   ("node-ma", "MA", "active")]
    # POST /api/v1/harvests without a body: the document says the body is optional.
    report = api(hub, "harvests.post_api_v1_harvests").sync(client=operator)
    assert report.counts.additional_properties["new_version"] == 2
    assert sorted(n.node_id for n in report.nodes) == ["node-lb", "node-ma"]
    run = api(hub, "harvests.get_api_v1_harvests_run_id").sync(report.run_id, client=operator)
    assert run.status == "finished"

    metaclusters = api(hub, "metaclusters.get_api_v1_metaclusters").sync(client=anonymous)
    assert metaclusters and all(set(m.countries) == {"LB", "MA"} for m in metaclusters)
    first = metaclusters[0]
    assert first.members_total >= len(first.members) > 0
    why = api(hub, "metaclusters.get_api_v1_clusters_cluster_id_why").sync("qoot", client=anonymous)
    assert why.cluster_id == "qoot" and why.placements

    # An anonymous write is refused in the documented error shape, parsed as such.
    refused = api(hub, "nodes.get_api_v1_nodes").sync_detailed(client=anonymous)
    assert refused.status_code == 401
    assert refused.parsed.error == "unauthorized" and "token" in refused.parsed.message

    discovery = api(hub, "admin.get_well_known_med_mci_hub").sync(client=anonymous)
    assert discovery.keys and discovery.registrations_url.endswith("/api/v1/registrations")


def test_a_generated_node_client_manages_members(servers, clients):  # noqa: F811
    node = clients["node"]
    admin = node.AuthenticatedClient(base_url=servers["node_url"], token=servers["admin"])
    cluster = api(node, "cluster.get_api_v1_cluster").sync(client=admin)
    assert (cluster.id, cluster.country) == ("qoot", "LB")

    models = importlib.import_module(f"{node.__name__}.models")
    body = models.NodeMemberInput.from_dict({"id": "gen-1", "kind": "sme", "name": "Générée SARL",
                                             "activities": [{"scheme": "nace-rev2", "code": "10.41"}],
                                             "visibility": "federation"})
    created = api(node, "members.post_api_v1_members").sync(client=admin, body=body)
    assert (created.id, created.name, created.visibility) == ("gen-1", "Générée SARL", "federation")
    listed = api(node, "members.get_api_v1_members").sync(client=admin)
    assert "gen-1" in {m.id for m in listed}
    refused = api(node, "members.post_api_v1_members").sync_detailed(client=node.Client(base_url=servers["node_url"]),
                                                                     body=body)
    assert refused.status_code == 401
