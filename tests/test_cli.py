"""The ``medmci`` command line through click's CliRunner, with instance folders under tmp_path (default SQLite)."""

from __future__ import annotations

import json
import re
import socket
from contextlib import contextmanager

import pytest
import yaml
from click.testing import CliRunner

from federation.cli import main
from federation.errors import NotFound
from federation.node.app import create_node_app
from tests.conftest import TEST_SETTINGS, cluster_doc, load_node, member_doc

PLUGIN_HOOKS = {
    "eu_ecosystems": ["medmci_register_taxonomies"],
    "formation": ["medmci_register_formation_rules"],
    "isic_rev4": ["medmci_register_taxonomies"],
    "nace_rev2": ["medmci_register_taxonomies"],
    "subclustering": ["medmci_register_subcluster_rules"],
    "value_chains": ["medmci_register_value_chains"],
}
CSV_HEADER = "id,kind,name,city,size,activities,offers,needs,export_markets,status,last_active,visibility\n"
GOOD_CSV = (CSV_HEADER
            + "g1,sme,Olive Co,Beirut,small,nace-rev2:10.41,Bottling [nace-rev2:10.41],,FR,active,2024-01-02,public\n"
            + "g2,university,Lebanese University,Beirut,,nace-rev2:85.42,,,,active,,federation\n"
            + "g3,sme,Back Office,Beirut,,nace-rev2:11.02,,,,active,,private\n")
EXPORT_KEYS = {"id", "value_chain", "countries", "clusters", "sub_clusters", "knowledge_members", "stage_coverage",
               "gaps"}

NODES = {
    "node-lb": ("qoot", "LB", [member_doc("qoot-wine", "nace-rev2:11.02"), member_doc("qoot-biscuits", "nace-rev2:10.82"),
                               member_doc("qoot-oil", "nace-rev2:10.41"),
                               member_doc("qoot-uni", "nace-rev2:85.42", kind="university", name="Qoot University")]),
    "node-ma": ("menara", "MA", [member_doc("menara-wine", "nace-rev2:11.02"),
                                 member_doc("menara-biscuits", "nace-rev2:10.82"),
                                 member_doc("menara-oil", "nace-rev2:10.41")]),
}


@pytest.fixture
def runner(monkeypatch):
    # The instance folders decide everything: no database or instance from the caller's environment.
    for name in ("DATABASE_URL", "MEDMCI_DATABASE_URL", "MEDMCI_NODE_INSTANCE", "MEDMCI_HUB_INSTANCE",
                 "MEDMCI_PLUGINS", "MEDMCI_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


@pytest.fixture
def hub_instance(tmp_path):
    path = tmp_path / "hub"
    path.mkdir()
    (path / "medmci.yaml").write_text(yaml.safe_dump(TEST_SETTINGS), encoding="utf-8")
    return path


def run(runner, *args, ok=True):
    result = runner.invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result


def assert_clean_failure(result, *expected):
    """A non-zero exit with a message, never a traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.output, result.output


@contextmanager
def node_service(instance):
    app = create_node_app(instance)
    try:
        yield app.extensions["medmci"].service
    finally:
        app.extensions["medmci"].db.dispose()


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def rows_of(output: str, first_cell: str) -> list[list[str]]:
    """The table rows (cells split on two or more spaces) whose first cell is ``first_cell``."""
    rows = [re.split(r"\s{2,}", line.strip()) for line in output.splitlines()]
    return [r for r in rows if r and r[0] == first_cell]


# -- plugins -------------------------------------------------------------------------------------------------------

def test_plugins_table(runner, tmp_path):
    result = run(runner, "plugins", "--instance", tmp_path / "hub")
    assert result.output.splitlines()[0].split() == ["PLUGIN", "DISTRIBUTION", "VERSION", "HOOKS"]
    for name, hooks in PLUGIN_HOOKS.items():
        [row] = rows_of(result.output, name)
        assert row[-1] == ", ".join(hooks)


def test_plugins_json(runner, tmp_path):
    result = run(runner, "plugins", "--instance", tmp_path / "hub", "--json")
    plugins = json.loads(result.output)
    assert {p["name"]: p["hooks"] for p in plugins} == PLUGIN_HOOKS
    assert [p["name"] for p in plugins] == sorted(PLUGIN_HOOKS)


# -- node ----------------------------------------------------------------------------------------------------------

def test_node_set_cluster_and_import_members(runner, tmp_path):
    instance = tmp_path / "node"
    cluster_file = write(tmp_path / "cluster.yaml", yaml.safe_dump(cluster_doc("qoot", "LB"), allow_unicode=True))
    result = run(runner, "node", "--instance", instance, "set-cluster", cluster_file)
    assert result.output.strip() == "cluster qoot (LB) saved"

    result = run(runner, "node", "--instance", instance, "import-members", write(tmp_path / "m.csv", GOOD_CSV))
    assert result.output.strip() == "imported 3 members: 3 new, 0 updated, 0 removed"

    with node_service(instance) as service:
        assert service.get_cluster() == cluster_doc("qoot", "LB")
        members = {m["id"]: m for m in service.list_members()}
        assert sorted(members) == ["g1", "g2", "g3"]
        assert members["g1"]["offers"] == [{"text": "Bottling", "codes": [{"scheme": "nace-rev2", "code": "10.41"}]}]
        assert members["g3"]["visibility"] == "private"
        profile = json.loads(service.publication().body)
        assert [m["id"] for m in profile["members"]] == ["g1", "g2"]

    # --replace: rows update, members absent from the file go.
    smaller = write(tmp_path / "small.csv", CSV_HEADER + "g1,sme,Olive Company,,,nace-rev2:10.41,,,,,,\n"
                    + "g4,startup,New One,,,nace-rev2:10.82,,,,,,\n")
    result = run(runner, "node", "--instance", instance, "import-members", "--replace", smaller)
    assert result.output.strip() == "imported 2 members: 1 new, 1 updated, 2 removed"
    with node_service(instance) as service:
        assert [(m["id"], m["name"]) for m in service.list_members()] == [("g1", "Olive Company"),
                                                                        ("g4", "New One")]


def test_import_members_with_bad_rows_imports_nothing(runner, tmp_path):
    instance = tmp_path / "node"
    run(runner, "node", "--instance", instance, "set-cluster",
        write(tmp_path / "c.yaml", yaml.safe_dump(cluster_doc())))
    run(runner, "node", "--instance", instance, "import-members",
        write(tmp_path / "first.csv", CSV_HEADER + "keep,sme,Kept,,,nace-rev2:10.41,,,,,,\n"))
    with node_service(instance) as service:
        sequence_before = service.publication().sequence

    bad = write(tmp_path / "bad.csv", CSV_HEADER
                + "b1,sme,Good One,,,nace-rev2:10.41,,,,,,\n"       # line 2
                + "b2,alien,Bad Kind,,,nace-rev2:10.41,,,,,,\n"     # line 3
                + "b3,sme,Good Three,,,nace-rev2:11.02,,,,,,\n"     # line 4
                + "b4,sme,Bad Code,,,nace-rev2:99.99,,,,,,\n")      # line 5
    result = run(runner, "node", "--instance", instance, "import-members", bad, ok=False)
    assert_clean_failure(result, "2 row(s) have errors; nothing was imported", "line 3 (b2)", "line 5 (b4)",
                         "unknown nace-rev2 code '99.99'")
    assert "line 2" not in result.output and "line 4" not in result.output

    with node_service(instance) as service:
        assert [m["id"] for m in service.list_members()] == ["keep"]
        assert service.publication().sequence == sequence_before

    # The same file with the bad rows fixed imports every row: nothing had been half-imported.
    fixed = write(tmp_path / "fixed.csv", bad.read_text().replace("alien", "sme").replace("99.99", "10.82"))
    result = run(runner, "node", "--instance", instance, "import-members", fixed)
    assert result.output.strip() == "imported 4 members: 4 new, 0 updated, 0 removed"


@pytest.mark.parametrize("content, expected", [
    pytest.param(yaml.safe_dump(cluster_doc(country="XX")), ["not a valid cluster", "country", "'XX'"],
                 id="bad-country"),
    pytest.param(yaml.safe_dump({"names": {"en": "No id"}, "country": "LB"}), ["not a valid cluster", "id"],
                 id="missing-id"),
    pytest.param(yaml.safe_dump(cluster_doc(value_chains=["space-mining"])), ["unknown value chain", "space-mining"],
                 id="unknown-value-chain"),
    pytest.param("id: [unclosed\n", ["not valid YAML"], id="broken-yaml"),
    pytest.param("- just\n- a list\n", ["not a valid cluster"], id="not-a-mapping"),
    pytest.param("", ["not a valid cluster"], id="empty-file"),
])
def test_set_cluster_with_an_invalid_file_fails_clearly(runner, tmp_path, content, expected):
    instance = tmp_path / "node"
    path = write(tmp_path / "cluster.yaml", content)
    result = run(runner, "node", "--instance", instance, "set-cluster", path, ok=False)
    assert_clean_failure(result, "Error:", *expected)
    assert result.exit_code == 1
    with node_service(instance) as service, pytest.raises(NotFound):
        service.get_cluster()


def test_set_cluster_with_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = run(runner, "node", "--instance", tmp_path / "node", "set-cluster", tmp_path / "nope.yaml", ok=False)
    assert_clean_failure(result, "does not exist")


# -- hub -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("node_id, url, expected", [
    pytest.param("qoot", "ftp://x", "must be an absolute http(s) URL", id="ftp-url"),
    pytest.param("qoot", "not a url", "must be an absolute http(s) URL", id="not-a-url"),
    pytest.param("qoot", "http://", "must be an absolute http(s) URL", id="no-host"),
    pytest.param("qoot", "http://qoot.example.org/?x=1", "no query or fragment", id="query"),
    pytest.param("Bad Id", "http://qoot.example.org", "lower-case slug", id="bad-id"),
])
def test_hub_register_with_bad_input_registers_nothing(runner, hub_instance, node_id, url, expected):
    result = run(runner, "hub", "--instance", hub_instance, "register", node_id, url, ok=False)
    assert_clean_failure(result, "Error:", expected)
    assert result.exit_code == 1
    listed = run(runner, "hub", "--instance", hub_instance, "nodes", "--json")
    assert json.loads(listed.output) == []


def test_hub_register_duplicate_is_refused(runner, hub_instance):
    run(runner, "hub", "--instance", hub_instance, "register", "qoot", "http://qoot.example.org")
    result = run(runner, "hub", "--instance", hub_instance, "register", "other", "http://qoot.example.org/", ok=False)
    assert_clean_failure(result, "registered already")
    listed = json.loads(run(runner, "hub", "--instance", hub_instance, "nodes", "--json").output)
    assert [(n["id"], n["url"]) for n in listed] == [("qoot", "http://qoot.example.org")]


def test_full_flow_over_http(runner, hub_instance, make_node, serve):
    urls = {}
    for node_id, (cluster_id, country, members) in NODES.items():
        app = make_node(node_id)
        load_node(app, cluster_doc(cluster_id, country), members)
        urls[node_id] = serve(app).url

    for node_id, url in urls.items():
        result = run(runner, "hub", "--instance", hub_instance, "register", node_id, url)
        assert result.output.strip() == f"registered node {node_id} at {url}"

    result = run(runner, "hub", "--instance", hub_instance, "harvest")
    assert result.output.splitlines()[0].split() == ["NODE", "OUTCOME", "HTTP", "REASON"]
    assert rows_of(result.output, "node-lb") == [["node-lb", "new_version", "200"]]
    assert rows_of(result.output, "node-ma") == [["node-ma", "new_version", "200"]]
    assert re.search(r"run 1: 2 new version, 0 not modified, 0 unchanged, 0 failed in [\d.]+ s; "
                     r"meta-clusters formed again", result.output)

    result = run(runner, "hub", "--instance", hub_instance, "metaclusters")
    [row] = rows_of(result.output, "mc-agri-food")
    assert row[:4] == ["mc-agri-food", "agri-food", "LB MA", "2"]
    assert row[4:6] == ["6", "1"]  # six chain members, one knowledge member

    result = run(runner, "hub", "--instance", hub_instance, "metaclusters", "--json")
    export = json.loads(result.output)
    assert list(export) == ["metaclusters"]
    [mc] = export["metaclusters"]
    assert EXPORT_KEYS <= set(mc)
    assert mc["id"] == "mc-agri-food" and mc["value_chain"] == "agri-food"
    assert mc["countries"] == ["LB", "MA"]
    assert [{k: c[k] for k in ("id", "name", "country")} for c in mc["clusters"]] == [
        {"id": "qoot", "name": "QOOT", "country": "LB"}, {"id": "menara", "name": "MENARA", "country": "MA"}]
    assert [(s["name"], s["members"]) for s in mc["sub_clusters"]] == [
        ("wine", ["node-lb/qoot-wine", "node-ma/menara-wine"]),
        ("snacks-confectionery", ["node-lb/qoot-biscuits", "node-ma/menara-biscuits"]),
        ("processing", ["node-lb/qoot-oil", "node-ma/menara-oil"])]
    assert [{k: m[k] for k in ("id", "name", "kind", "country")} for m in mc["knowledge_members"]] == [
        {"id": "node-lb/qoot-uni", "name": "Qoot University", "kind": "university", "country": "LB"}]
    assert mc["stage_coverage"]["processing"] == ["LB", "MA"]
    assert mc["stage_coverage"]["support-services"] == ["LB"]
    assert mc["gaps"] == ["inputs", "production", "packaging", "logistics", "market"]

    result = run(runner, "hub", "--instance", hub_instance, "why", "qoot")
    assert result.output.splitlines()[0].split() == ["VALUE", "CHAIN", "IN/OUT", "SUB-CLUSTER", "WHY"]
    [agri] = rows_of(result.output, "agri-food")
    assert agri[1] == "in" and "3 active members on agri-food ≥ 3" in agri[-1]
    [electronics] = rows_of(result.output, "electronics")
    assert electronics[1] == "out" and "no member has an activity on this chain" in electronics[-1]

    result = run(runner, "hub", "--instance", hub_instance, "why", "qoot", "--member", "qoot-wine")
    [wine] = rows_of(result.output, "agri-food")
    assert wine[:3] == ["agri-food", "in", "wine"] and "11.02" in wine[3]

    result = run(runner, "hub", "--instance", hub_instance, "nodes")
    assert [r[:2] + [r[3]] for r in rows_of(result.output, "node-lb") + rows_of(result.output, "node-ma")] == [
        ["node-lb", "active", "new_version"], ["node-ma", "active", "new_version"]]

    # Nothing changed at the nodes: the next harvest is "not modified" and forms nothing again.
    result = run(runner, "hub", "--instance", hub_instance, "harvest")
    assert rows_of(result.output, "node-lb") == [["node-lb", "not_modified", "304"]]
    assert "formed again" not in result.output


def test_why_about_an_unknown_cluster_fails_clearly(runner, hub_instance):
    result = run(runner, "hub", "--instance", hub_instance, "why", "atlantis", ok=False)
    assert_clean_failure(result, "no cluster 'atlantis'")
    assert result.exit_code == 1


def test_harvest_with_a_node_down_exits_1_with_the_reason(runner, hub_instance, make_node, serve):
    app = make_node("node-lb")
    load_node(app, cluster_doc("qoot", "LB"), NODES["node-lb"][2])
    up = serve(app).url
    down = closed_port_url()
    run(runner, "hub", "--instance", hub_instance, "register", "node-lb", up)
    run(runner, "hub", "--instance", hub_instance, "register", "node-down", down)

    result = run(runner, "hub", "--instance", hub_instance, "harvest", ok=False)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    [row] = rows_of(result.output, "node-down")
    assert row[1:3] == ["failed", "-"]
    assert "cannot connect" in row[3] and down.removeprefix("http://") in row[3]
    assert rows_of(result.output, "node-lb") == [["node-lb", "new_version", "200"]]
    assert "1 new version, 0 not modified, 0 unchanged, 1 failed" in result.output

    result = run(runner, "hub", "--instance", hub_instance, "nodes")
    [down_row] = rows_of(result.output, "node-down")
    assert down_row[:5] == ["node-down", "active", down, "failed", "1"]
    assert "cannot connect" in down_row[5]
    [up_row] = rows_of(result.output, "node-lb")
    assert up_row == ["node-lb", "active", up, "new_version", "0"]

    nodes = {n["id"]: n for n in json.loads(run(runner, "hub", "--instance", hub_instance, "nodes", "--json").output)}
    assert nodes["node-down"]["last_outcome"] == "failed"
    assert nodes["node-down"]["consecutive_failures"] == 1
    assert "cannot connect" in nodes["node-down"]["last_error"]
    assert nodes["node-lb"]["last_error"] is None
