"""The ``medmci`` command line through click's CliRunner, with instance folders under tmp_path (default SQLite).

Registering a node reads its signed discovery document, so the hub commands work with real node servers
(``make_node`` + ``serve``, or a node instance made with the CLI and served in-process).
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

import pytest
import yaml

from federation.cli import main
from federation.errors import NotFound, Unauthorized
from federation.hub.app import Hub, create_hub_app
from federation.node.app import create_node_app
from tests.support.assertions import assert_clean_failure
from tests.support.builders import cluster_doc, load_node, member_doc
from tests.support.environment import BUILTIN_PLUGIN_HOOKS as PLUGIN_HOOKS
from tests.support.servers import closed_port_url

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


def run(runner, *args, ok=True):
    result = runner.invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result


@contextmanager
def node_context(instance):
    app = create_node_app(instance)
    try:
        yield app.extensions["medmci"]
    finally:
        app.extensions["medmci"].db.dispose()


@contextmanager
def node_service(instance):
    with node_context(instance) as context:
        yield context.service


@contextmanager
def hub_at(instance):
    hub = Hub.build(instance)
    try:
        yield hub
    finally:
        hub.harvester.client.close()
        hub.db.dispose()


def live_node(make_node, serve, node_id: str):
    """A node server of ``NODES[node_id]``: ``(app, server)``."""
    cluster_id, country, members = NODES[node_id]
    app = make_node(node_id)
    load_node(app, cluster_doc(cluster_id, country), members)
    return app, serve(app)


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


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
    assert result.output.strip() == ("file: csv, UTF-8, comma-delimited\n"
                                     "imported 3 members: 3 new, 0 updated, 0 unchanged, 0 removed")

    with node_service(instance) as service:
        assert service.get_cluster() == cluster_doc("qoot", "LB")
        members = {m["id"]: m for m in service.list_members()}
        assert sorted(members) == ["g1", "g2", "g3"]
        assert members["g1"]["offers"] == [{"text": "Bottling", "codes": [{"scheme": "nace-rev2", "code": "10.41"}]}]
        assert members["g3"]["visibility"] == "private"
        profile = json.loads(service.publication("federation").body)
        assert [(m["id"], m["audience"]) for m in profile["members"]] == [("g1", "public"), ("g2", "federation")]
        public = json.loads(service.publication("public").body)
        assert [m["id"] for m in public["members"]] == ["g1"]
        assert public["sequence"] == profile["sequence"]

    # --replace: rows update, members absent from the file go.
    smaller = write(tmp_path / "small.csv", CSV_HEADER + "g1,sme,Olive Company,,,nace-rev2:10.41,,,,,,\n"
                    + "g4,startup,New One,,,nace-rev2:10.82,,,,,,\n")
    result = run(runner, "node", "--instance", instance, "import-members", "--replace", smaller)
    assert result.output.strip() == ("file: csv, UTF-8, comma-delimited\n"
                                     "imported 2 members: 1 new, 1 updated, 0 unchanged, 2 removed")
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
    assert result.output.strip() == ("file: csv, UTF-8, comma-delimited\n"
                                     "imported 4 members: 4 new, 0 updated, 0 unchanged, 0 removed")


@pytest.mark.parametrize("content, expected", [
    pytest.param(yaml.safe_dump(cluster_doc(country="XX")), ["not a valid cluster", "country", "'XX'"],
                 id="bad-country"),
    pytest.param(yaml.safe_dump({"names": {"en": "No id"}, "country": "LB"}), ["not a valid cluster", "id"],
                 id="missing-id"),
    pytest.param(yaml.safe_dump(cluster_doc(value_chains=["space-mining"])), ["unknown value chain", "space-mining"],
                 id="unknown-value-chain"),
    pytest.param(yaml.safe_dump(cluster_doc(value_chains=["agri-food", "agri-food"])),
                 ["not a valid cluster", "value chain 'agri-food' is listed twice"], id="value-chain-twice"),
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


def test_set_cluster_with_a_bad_cooperation_block_saves_nothing(runner, tmp_path):
    instance = tmp_path / "node"
    path = write(tmp_path / "cluster.yaml", yaml.safe_dump({**cluster_doc(), "cooperation": {
        "priority_topics": ["export", "world_peace"], "opportunities": {"offers": [], "needs": []}}}))
    result = run(runner, "node", "--instance", instance, "set-cluster", path, ok=False)
    assert_clean_failure(result, "Error:", "cooperation.priority_topics.1: Must be one of")
    with node_service(instance) as service, pytest.raises(NotFound):
        service.get_cluster()
    # Without the unknown topic: still refused, the opportunities are the node's to derive.
    path = write(tmp_path / "cluster.yaml", yaml.safe_dump({**cluster_doc(), "cooperation": {
        "priority_topics": ["export"], "opportunities": {"offers": [], "needs": []}}}))
    assert_clean_failure(run(runner, "node", "--instance", instance, "set-cluster", path, ok=False),
                         "cooperation.opportunities: Unknown field")
    path = write(tmp_path / "cluster.yaml", yaml.safe_dump({**cluster_doc(), "cooperation": {
        "priority_topics": ["export"]}}))
    assert run(runner, "node", "--instance", instance, "set-cluster", path).output.strip() == \
        "cluster qoot (LB) saved with its cooperation profile"
    with node_service(instance) as service:
        assert service.get_cooperation()["priority_topics"] == ["export"]


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


def test_hub_register_duplicate_is_refused(runner, hub_instance, make_node, serve):
    _app, server = live_node(make_node, serve, "node-lb")
    _app, other = live_node(make_node, serve, "node-ma")
    run(runner, "hub", "--instance", hub_instance, "register", "qoot", server.url)
    for node_id, url, expected in (("other", server.url + "/", "a node is registered already at"),
                                   ("qoot", other.url, "node 'qoot' is registered already")):
        result = run(runner, "hub", "--instance", hub_instance, "register", node_id, url, ok=False)
        assert_clean_failure(result, "Error:", expected)
        assert result.exit_code == 1
    listed = json.loads(run(runner, "hub", "--instance", hub_instance, "nodes", "--json").output)
    assert [(n["id"], n["url"], n["cluster_id"]) for n in listed] == [("qoot", server.url, "qoot")]


def test_hub_register_refuses_nodes_it_cannot_read(runner, hub_instance, make_node, serve):
    empty = serve(make_node("empty")).url  # a node without a cluster profile yet
    _app, lebanon = live_node(make_node, serve, "node-lb")
    for args, expected in (((closed_port_url(),), ["cannot read the node's discovery document", "cannot connect"]),
                           ((empty,), ["no cluster"]),
                           ((lebanon.url, "--country", "MA"), ["in LB, not MA"])):
        result = run(runner, "hub", "--instance", hub_instance, "register", "new", *args, ok=False)
        assert_clean_failure(result, "Error:", *expected)
        assert result.exit_code == 1
    assert json.loads(run(runner, "hub", "--instance", hub_instance, "nodes", "--json").output) == []
    # The right country is accepted: it is a check, the identity comes from the node.
    result = run(runner, "hub", "--instance", hub_instance, "register", "new", lebanon.url, "--country", "LB")
    assert result.output.strip() == f"registered node new (qoot, LB) at {lebanon.url}"


def test_full_flow_over_http(runner, hub_instance, make_node, serve):
    urls = {}
    for node_id, (cluster_id, country, members) in NODES.items():
        app = make_node(node_id)
        load_node(app, cluster_doc(cluster_id, country), members)
        urls[node_id] = serve(app).url

    for node_id, url in urls.items():
        result = run(runner, "hub", "--instance", hub_instance, "register", node_id, url)
        cluster_id, country, _members = NODES[node_id]
        assert result.output.strip() == f"registered node {node_id} ({cluster_id}, {country}) at {url}"

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
    assert list(export) == ["metaclusters", "value_chains_not_formed"]  # issue #10: the chains without one, why
    assert "agri-food" not in {c["value_chain"] for c in export["value_chains_not_formed"]}
    assert all(c["why"] and not any(d["passed"] for d in c["why"]) for c in export["value_chains_not_formed"])
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
    _app, server = live_node(make_node, serve, "node-lb")
    up = server.url
    _app, going = live_node(make_node, serve, "node-ma")
    down = going.url
    run(runner, "hub", "--instance", hub_instance, "register", "node-lb", up)
    run(runner, "hub", "--instance", hub_instance, "register", "node-down", down)
    going.stop()  # registered while it answered; gone by the harvest

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


# -- identities and tokens -----------------------------------------------------------------------------------------

def shown_token(output: str, label: str) -> str:
    """The token printed after ``label`` (and nowhere else)."""
    [line] = [line for line in output.splitlines() if line.startswith(label)]
    token = line.removeprefix(label).strip()
    assert re.fullmatch(r"mmci_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}", token), line
    return token


def test_node_init_prints_its_key_and_an_admin_token_once(runner, tmp_path):
    instance = tmp_path / "node"
    result = run(runner, "node", "--instance", instance, "init")
    token = shown_token(result.output, "admin token (shown once, store it now):")
    [key_line] = [line for line in result.output.splitlines() if line.startswith("node key:")]
    with node_context(instance) as context:
        kid = context.keys.current[0]
        assert key_line.startswith(f"node key: {kid} ")
        assert [k["kid"] for k in context.keys.published()] == [kid]
        principal = context.tokens.authenticate(f"Bearer {token}")
        assert (principal.role, principal.scopes) == ("node_admin",
                                                      frozenset({"members:write", "cluster:write", "tokens:admin"}))
        secret = token.split("_", 2)[2]
        assert all(secret not in json.dumps(t, default=str) for t in context.tokens.list())

    # Again: the same key, and no second token (the first one was shown once).
    again = run(runner, "node", "--instance", instance, "init")
    assert f"node key: {kid} " in again.output
    assert "mmci_" not in again.output and "exists already" in again.output
    with node_context(instance) as context:
        assert context.keys.current[0] == kid
        assert context.tokens.count() == 1


def test_node_admin_token_opens_the_node_api(runner, tmp_path):
    instance = tmp_path / "node"
    token = shown_token(run(runner, "node", "--instance", instance, "init").output,
                        "admin token (shown once, store it now):")
    more = run(runner, "node", "--instance", instance, "token", "importer").output.strip()
    app = create_node_app(instance)
    try:
        client = app.test_client()
        assert client.get("/api/v1/members").status_code == 401
        for value in (token, more):
            assert client.get("/api/v1/members", headers={"Authorization": f"Bearer {value}"}).status_code == 200
        assert [t["name"] for t in app.extensions["medmci"].tokens.list()] == ["admin", "importer"]
    finally:
        app.extensions["medmci"].db.dispose()


def test_hub_init_prints_an_operator_token_once(runner, hub_instance):
    result = run(runner, "hub", "--instance", hub_instance, "init")
    token = shown_token(result.output, "operator token (shown once, store it now):")
    with hub_at(hub_instance) as hub:
        kid = hub.keys.current[0]
        assert f"hub key: {kid}" in result.output
        principal = hub.tokens.authenticate(f"Bearer {token}")
        assert principal.role == "operator"
        assert principal.scopes == frozenset({"nodes:write", "harvest:run", "tokens:admin", "audit:read",
                                              "federation:read", "registrations:decide", "pilots:write",
                                              "knowledge:write", "matches:write", "calls:write"})
        [event] = hub.audit.events("token.created")
        assert (event["actor"], event["details"]["role"]) == ("cli", "operator")

    again = run(runner, "hub", "--instance", hub_instance, "init")
    assert f"hub key: {kid}" in again.output
    assert "mmci_" not in again.output and "exists already" in again.output
    with hub_at(hub_instance) as hub:
        assert hub.tokens.count() == 1


def test_hub_token_create_list_revoke_and_audit(runner, hub_instance):
    hub = ("hub", "--instance", hub_instance)
    token = run(runner, *hub, "token", "create", "partner", "--role", "operator", "--scope",
                "federation:read").output.strip()
    assert re.fullmatch(r"mmci_[0-9a-f]{12}_[A-Za-z0-9_-]{40,}", token)
    token_id, secret = token.split("_", 2)[1:]
    narrow = run(runner, *hub, "token", "create", "harvester", "--role", "operator", "--scope", "harvest:run",
                 "--scope", "federation:read").output.strip()

    listed = run(runner, *hub, "token", "list").output
    assert listed.splitlines()[0].split() == ["ID", "NAME", "ROLE", "NODE", "SCOPES", "REVOKED"]
    assert rows_of(listed, token_id) == [[token_id, "partner", "operator", "federation:read"]]
    [row] = rows_of(listed, narrow.split("_", 2)[1])
    assert row[1:] == ["harvester", "operator", "federation:read harvest:run"]
    assert secret not in listed and narrow.split("_", 2)[2] not in listed

    with hub_at(hub_instance) as hub_:
        assert hub_.tokens.authenticate(f"Bearer {token}").scopes == {"federation:read"}
    result = run(runner, *hub, "token", "revoke", token_id)
    assert result.output.strip() == f"token {token_id} revoked"
    with hub_at(hub_instance) as hub_, pytest.raises(Unauthorized, match="revoked"):
        hub_.tokens.authenticate(f"Bearer {token}")
    [row] = rows_of(run(runner, *hub, "token", "list").output, token_id)
    # The revocation time, in the ISO form the other commands print.
    assert len(row) == 5 and re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00", row[4]), row

    events = json.loads(run(runner, *hub, "audit", "--action", "token.", "--json").output)
    assert [(e["action"], e["actor"], e["details"]["name"]) for e in events] == [
        ("token.revoked", "cli", "partner"), ("token.created", "cli", "harvester"),
        ("token.created", "cli", "partner")]
    table = run(runner, *hub, "audit").output
    assert table.splitlines()[0].split() == ["AT", "ACTOR", "ACTION", "NODE", "DETAILS"]
    assert len([line for line in table.splitlines() if "token.created" in line]) == 2
    assert secret not in table
    assert [e["action"] for e in json.loads(run(runner, *hub, "audit", "--limit", "1", "--json").output)] == [
        "token.revoked"]


@pytest.mark.parametrize("args, expected", [
    pytest.param(("--role", "node_operator"), ["node_id", "bound to a node_id"], id="node-operator-without-node"),
    pytest.param(("--role", "node_operator", "--node", "ghost"), ["no node 'ghost'"], id="unknown-node"),
    pytest.param(("--role", "knowledge_member", "--scope", "nodes:write"), ["scopes", "'nodes:write'"],
                 id="scope-beyond-the-role"),
    pytest.param(("--role", "node_admin"), ["Invalid value for '--role'"], id="a-node-role"),
])
def test_hub_token_create_with_bad_input_creates_nothing(runner, hub_instance, args, expected):
    result = run(runner, "hub", "--instance", hub_instance, "token", "create", "bad", *args, ok=False)
    assert_clean_failure(result, *expected)
    assert "mmci_" not in result.output
    with hub_at(hub_instance) as hub:
        assert hub.tokens.list() == [] and hub.audit.events() == []


def test_hub_token_revoke_of_an_unknown_token_fails_clearly(runner, hub_instance):
    result = run(runner, "hub", "--instance", hub_instance, "token", "revoke", "0000deadbeef", ok=False)
    assert_clean_failure(result, "no token '0000deadbeef'")
    assert result.exit_code == 1


# -- joining, decisions, trusting the hub --------------------------------------------------------------------------

def cli_node(runner, tmp_path, serve, name="node"):
    """A node made with the CLI (cluster qoot, LB; GOOD_CSV: g1 public, g2 federation, g3 private), served
    in-process from the same instance: ``(instance, url)``."""
    instance = tmp_path / name
    run(runner, "node", "--instance", instance, "set-cluster",
        write(tmp_path / f"{name}-cluster.yaml", yaml.safe_dump(cluster_doc("qoot", "LB"))))
    run(runner, "node", "--instance", instance, "import-members", write(tmp_path / f"{name}.csv", GOOD_CSV))
    return instance, serve(create_node_app(instance)).url


def cluster_member_ids(hub_instance, federation: bool = True) -> list[str]:
    with hub_at(hub_instance) as hub:
        return [m["id"] for m in hub.queries.cluster_members("qoot", federation)]


def test_join_then_the_operators_decisions(runner, hub_instance, tmp_path, serve):
    instance, node_url = cli_node(runner, tmp_path, serve)
    hub_url = serve(create_hub_app(hub_instance)).url
    hub = ("hub", "--instance", hub_instance)

    result = run(runner, "node", "--instance", instance, "join", hub_url, "--node-url", node_url, "--name",
                 "Qoot node")
    # The node also read the hub's signed catalogue (the built-in value chains, NACE and ISIC).
    assert result.output.strip().splitlines() == ["asked to join as qoot (LB): status pending; trusting 1 hub key(s)",
                                                  "hub catalogue read: 5 value chain(s), 2 scheme(s)"]
    [node] = json.loads(run(runner, *hub, "nodes", "--json").output)
    assert (node["id"], node["url"], node["name"], node["status"]) == ("qoot", node_url, "Qoot node", "pending")

    # Pending: not harvested, refused by name, not resumable.
    result = run(runner, *hub, "harvest")
    assert rows_of(result.output, "qoot") == []
    assert "0 new version, 0 not modified, 0 unchanged, 0 failed" in result.output
    assert_clean_failure(run(runner, *hub, "harvest", "--node", "qoot", ok=False), "not approved for harvest",
                         "qoot (pending)")
    assert_clean_failure(run(runner, *hub, "resume", "qoot", ok=False), "approve it first")

    assert run(runner, *hub, "approve", "qoot", "--reason", "known cluster").output.strip() == "node qoot: active"
    result = run(runner, *hub, "harvest")
    assert rows_of(result.output, "qoot") == [["qoot", "new_version", "200"]]
    # The node trusts the hub since it joined: its federation member is at the hub, for federation readers only.
    assert cluster_member_ids(hub_instance) == ["g1", "g2"]
    assert cluster_member_ids(hub_instance, federation=False) == ["g1"]

    assert run(runner, *hub, "suspend", "qoot", "--reason", "unpaid").output.strip() == "node qoot: suspended"
    assert rows_of(run(runner, *hub, "harvest").output, "qoot") == []
    assert_clean_failure(run(runner, *hub, "pause", "qoot", ok=False), "approve it first")
    # Decisions follow the state machine: a suspended node is approved again, never rejected.
    assert_clean_failure(run(runner, *hub, "reject", "qoot", ok=False), "node 'qoot' is suspended: only approve")
    assert_clean_failure(run(runner, *hub, "suspend", "qoot", ok=False), "node 'qoot' is suspended")
    assert_clean_failure(run(runner, *hub, "harvest", "--node", "qoot", ok=False), "qoot (suspended)")
    assert_clean_failure(run(runner, *hub, "approve", "ghost", ok=False), "no node 'ghost'")

    events = json.loads(run(runner, *hub, "audit", "--action", "registration.", "--json").output)
    assert [(e["action"], e["actor"], e["node_id"]) for e in events] == [
        ("registration.suspended", "cli", "qoot"),
        ("registration.approved", "cli", "qoot"), ("registration.requested", "node:qoot", "qoot")]
    assert events[1]["details"]["reason"] == "known cluster" and events[0]["details"]["reason"] == "unpaid"


def test_a_registered_node_shares_federation_members_once_it_trusts_the_hub(runner, hub_instance, tmp_path, serve):
    instance, node_url = cli_node(runner, tmp_path, serve)
    hub_url = serve(create_hub_app(hub_instance)).url
    hub = ("hub", "--instance", hub_instance)
    run(runner, *hub, "register", "node-lb", node_url)
    # The node does not know the hub's key: it refuses the hub's signed request (401, naming the key) rather than
    # answering with its public members as if the hub were anonymous; `hub health` shows why.
    [row] = rows_of(run(runner, *hub, "harvest", ok=False).output, "node-lb")
    assert row[:3] == ["node-lb", "failed", "401"] and "unknown key id" in row[3]
    [health] = json.loads(run(runner, *hub, "health", "--json").output)
    assert "unknown key id" in health["last_error"] and "trust-hub" in health["last_error"]

    result = run(runner, "node", "--instance", instance, "trust-hub", hub_url)
    assert result.output.strip().splitlines() == [f"trusting 1 new key(s) of {hub_url}",
                                                  "hub catalogue read: 5 value chain(s), 2 scheme(s)"]
    assert rows_of(run(runner, *hub, "harvest").output, "node-lb") == [["node-lb", "new_version", "200"]]
    assert cluster_member_ids(hub_instance) == ["g1", "g2"]
    assert cluster_member_ids(hub_instance, federation=False) == ["g1"]
    # Trusting again adds nothing.
    assert run(runner, "node", "--instance", instance, "trust-hub", hub_url).output.strip().splitlines() == \
        [f"trusting 0 new key(s) of {hub_url}", "hub catalogue read: 5 value chain(s), 2 scheme(s)"]


def test_node_trust_hub_of_something_that_is_no_hub_fails_clearly(runner, tmp_path):
    result = run(runner, "node", "--instance", tmp_path / "node", "trust-hub", closed_port_url(), ok=False)
    assert_clean_failure(result, "no public URL")  # a node that trusts a hub must know the URL it is published at
    result = run(runner, "node", "--instance", tmp_path / "node", "trust-hub", closed_port_url(), "--public-url",
                 "https://node.example.org", ok=False)
    assert_clean_failure(result, "cannot reach the hub")
    assert result.exit_code == 1
