"""The node warns when its published profile approaches the size hubs accept (issue #10, part 2): at each publish
(logged), and as a finding of the node's checks (federation/node/size_check.py, run by federation/node/checks.py):
``node check``, ``GET /api/v1/check`` and the import report (API and CLI)."""

from __future__ import annotations

import logging

import yaml
from click.testing import CliRunner

from federation.cli import main
from federation.node.size_check import KIND, check_profile_size, profile_size_findings
from federation.settings import packaged_settings
from tests.support.builders import cluster_doc, load_node, member_doc

FINDING_KEYS = {"severity", "kind", "message", "member_id", "suggestion"}
CSV_HEADER = "id,kind,name,city,size,activities,offers,needs,export_markets,status,last_active,visibility\n"


def csv_rows(count: int, start: int = 0) -> str:
    return CSV_HEADER + "".join(f"r{i},sme,Member {i} of a long list,Beirut,small,nace-rev2:10.41,"
                                f"Olive oil and more [nace-rev2:10.41],,FR,active,,federation\n"
                                for i in range(start, start + count))


def test_the_default_threshold_is_a_fraction_of_the_hubs_default_cap():
    settings = packaged_settings()
    assert 0 < settings.get("node.profile_warn_bytes") < settings.get("harvest.max_decompressed_bytes")


def test_findings_name_the_largest_document_and_only_from_the_threshold():
    assert profile_size_findings({"public": 900, "federation": 999}, 1000) == []
    [finding] = profile_size_findings({"public": 900, "federation": 1000}, 1000)
    assert set(finding) == FINDING_KEYS
    assert (finding["severity"], finding["kind"], finding["member_id"]) == ("warning", KIND, None)
    assert "(federation audience) is 1,000 bytes" in finding["message"]
    assert "node.profile_warn_bytes" in finding["message"] and "harvest.max_decompressed_bytes" in finding["message"]
    assert "harvest.max_decompressed_bytes" in finding["suggestion"]
    assert profile_size_findings({"federation": 10**9}, 0) == []  # 0 turns the warning off
    assert profile_size_findings({}, 1000) == []


def test_publishing_over_the_threshold_is_logged_and_found_by_the_check(backend, make_node, caplog):
    app = make_node("qoot", overrides={"node": {"profile_warn_bytes": 3000}})
    node = app.extensions["medmci"]
    load_node(app, cluster_doc(), [member_doc("m0", "nace-rev2:10.41")])
    assert check_profile_size(node) == []
    caplog.set_level(logging.WARNING, logger="federation.node.service")

    for i in range(1, 30):
        node.service.create_member(member_doc(f"m{i}", "nace-rev2:10.41", visibility="federation"))
        if node.service.publication_sizes()["federation"] >= 3000:
            break
    sizes = node.service.publication_sizes()
    assert sizes["federation"] == len(node.service.publication("federation").body) >= 3000
    assert sizes["public"] < sizes["federation"]
    [finding] = check_profile_size(node)
    assert f"(federation audience) is {sizes['federation']:,} bytes" in finding["message"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and "at or over the warning threshold of 3,000 bytes" in warnings[-1]

    # Below the threshold again: no finding.
    for i in range(1, 30):
        if node.service.publication_sizes()["federation"] < 3000:
            break
        node.service.delete_member(f"m{i}")
    assert check_profile_size(node) == []


def test_the_import_report_and_the_check_endpoint_carry_the_warning(backend, make_node):
    app = make_node("qoot", overrides={"node": {"profile_warn_bytes": 4000}})
    load_node(app, cluster_doc(), [])
    client = app.test_client()
    small = client.post("/api/v1/members/import", data=csv_rows(2), content_type="text/csv")
    assert small.status_code == 200 and "checks" not in small.get_json()
    assert client.get("/api/v1/check").get_json()["total"] == 0

    big = client.post("/api/v1/members/import", data=csv_rows(40), content_type="text/csv")
    assert big.status_code == 200, big.get_data(as_text=True)
    [finding] = [f for f in big.get_json()["checks"]["findings"] if f["kind"] == KIND]
    assert set(finding) == FINDING_KEYS and finding["severity"] == "warning"
    assert "warning threshold of 4,000 bytes" in finding["message"]
    checked = client.get("/api/v1/check").get_json()
    assert [f for f in checked["findings"] if f["kind"] == KIND] == [finding]
    assert checked["counts"]["warning"] >= 1


def test_the_cli_import_and_node_check_print_the_warning(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "MEDMCI_DATABASE_URL", "MEDMCI_NODE_INSTANCE"):
        monkeypatch.delenv(name, raising=False)
    instance = tmp_path / "node"
    instance.mkdir()
    (instance / "medmci.yaml").write_text(yaml.safe_dump({"node": {"profile_warn_bytes": 4000,
                                                                   "notify_hubs": False}}))
    (tmp_path / "cluster.yaml").write_text(yaml.safe_dump(cluster_doc()))
    (tmp_path / "small.csv").write_text(csv_rows(2))
    (tmp_path / "big.csv").write_text(csv_rows(40))
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, ["node", "--instance", str(instance), *map(str, args)])
        assert result.exit_code == 0, result.output
        return result.output

    run("set-cluster", tmp_path / "cluster.yaml")
    small = run("import-members", tmp_path / "small.csv")
    assert "imported 2 members: 2 new" in small and KIND not in small
    for output in (run("import-members", tmp_path / "big.csv"), run("check")):
        assert f"  warning [{KIND}] the profile this node publishes (federation audience) is " in output
        assert "warning threshold of 4,000 bytes (node.profile_warn_bytes)" in output
        assert "      fix: shorten long member texts" in output


def test_a_threshold_of_zero_never_warns(backend, make_node):
    app = make_node("qoot", overrides={"node": {"profile_warn_bytes": 0}})
    load_node(app, cluster_doc(), [member_doc(f"m{i}", "nace-rev2:10.41") for i in range(5)])
    assert check_profile_size(app.extensions["medmci"]) == []
