"""The example plugin of docs/plugins.md, installed exactly as the docs ship it (docs/example_plugin/), run in the demo
federation with the docs' own federation file (``medmci demo --federation``); and that file's checks."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from federation.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "example_plugin"
FEDERATION_FILE = EXAMPLE / "demo" / "federation.yaml"
HOOKS = ["medmci_on_harvest_completed", "medmci_register_formation_rules", "medmci_register_subcluster_rules",
         "medmci_register_taxonomies", "medmci_register_value_chains"]


@pytest.fixture(scope="module")
def example_site(tmp_path_factory, registry):
    """pip-install docs/example_plugin (a copy: the build leaves files beside the sources) into a folder put on
    sys.path, offline and without build isolation, as the blue-food test does.

    (Depends on ``registry`` so the shared registry of other tests is built before, without this plugin.)"""
    source = tmp_path_factory.mktemp("example") / "example_plugin"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(source)], check=True,
                   cwd=tmp_path_factory.mktemp("build"))
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("medmci_aromatic_plants")]:
        del sys.modules[name]


def test_the_installed_plugin_is_exactly_the_documented_example(example_site):
    installed = example_site / "medmci_aromatic_plants"
    documented = EXAMPLE / "src" / "medmci_aromatic_plants"
    for name in ("__init__.py", "aromatic_plants.csv"):
        assert (installed / name).read_bytes() == (documented / name).read_bytes()


def test_medmci_plugins_lists_the_example_with_its_hooks(example_site, tmp_path):
    result = CliRunner().invoke(main, ["plugins", "--instance", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    listed = {p["name"]: p for p in json.loads(result.stdout)}
    example = listed["aromatic_plants"]
    assert (example["distribution"], example["version"], example["status"]) == ("medmci-aromatic-plants", "1.0.0",
                                                                               "ok")
    assert example["hooks"] == HOOKS


def test_the_example_runs_in_the_demo_with_the_documented_federation_file(example_site, tmp_path):
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--once", "--json", "--federation", str(FEDERATION_FILE),
                                       "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    export = json.loads(result.stdout)
    # builtin: add: the demo's story (invitations, the agri-food pilot) runs as without the file.
    assert set(export) == {"metaclusters", "value_chains_not_formed", "invitations", "pilots", "matches",
                           "subcluster_comparison", "benchmark", "freshness", "funding_calls", "dormant",
                           "member_services"}
    by_chain = {m["value_chain"]: m for m in export["metaclusters"]}
    # builtin: add: the built-in chains are still formed, and the plugin's chain joins them.
    assert {"agri-food", "aromatic-plants"} <= set(by_chain)
    plants = by_chain["aromatic-plants"]
    clusters = {c["id"] for c in plants["clusters"]}
    assert {"lb-herbs", "tn-aromatics"} <= clusters
    assert {"LB", "TN"} <= set(plants["countries"])
    # The formation rule reads codes of any scheme (ISIC 0128, NACE 02.30, the plugin's own MAP1) as growers, and
    # takes min_growers from the federation file's plugins block.
    needs, = [d for d in plants["decisions"] if d["rule"] == "needs-growers"]
    assert needs["passed"] and needs["reason"].endswith("≥ 2")
    subs = {s["name"]: set(s["members"]) for s in plants["sub_clusters"]}
    assert {"lb-herbs/lbh-2", "tn-aromatics/tna-3"} <= subs["organic"]         # OrganicRule (priority 50)
    assert {"lb-herbs/lbh-3", "tn-aromatics/tna-2"} <= subs["essential-oils"]  # the plugin's code MAP3 -> 20.53
    assert "lb-herbs/lbh-1" in subs["other"]
    assert [k["name"] for k in plants["knowledge_members"] if k["cluster_id"] == "lb-herbs"] == [
        "Lebanese Institute of Plant Sciences"]
    assert "trade" in plants["gaps"]  # no example member wholesales
    assert isinstance(export["value_chains_not_formed"], list)
    # The observer wrote into the hub's instance folder.
    written = json.loads((workdir / "hub" / "aromatic_plants" / "last-harvest.json").read_text(encoding="utf-8"))
    # 9 built-in clusters, the 2 of the example, and the built-in knowledge node
    assert written["counts"]["new_version"] == 12 and written["formation_failures"] == []


def write_federation(folder: Path, spec: dict, clusters: dict[str, str] = ()) -> Path:
    """A federation file in ``folder`` and a cluster folder per ``{node: country}``, copied from the example's."""
    for node in clusters:
        (folder / node).mkdir(parents=True)
        cluster = yaml.safe_load((EXAMPLE / "demo" / "lb-herbs" / "cluster.yaml").read_text(encoding="utf-8"))
        cluster["id"] = node
        cluster["value_chains"] = []
        (folder / node / "cluster.yaml").write_text(yaml.safe_dump(cluster), encoding="utf-8")
        (folder / node / "members.csv").write_text("id,kind,name,city,size,activities,offers,needs,export_markets,"
                                                   "status,last_active,visibility\n", encoding="utf-8")
    path = folder / "federation.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


@pytest.mark.parametrize("spec, clusters, message", [
    ({"builtin": "merge", "clusters": []}, {}, "builtin must be one of add, replace, not 'merge'"),
    ({"clusters": [{"node": "qoot", "path": "qoot"}]}, {"qoot": "LB"},
     "node 'qoot' is in the demo twice (a built-in node: rename yours, or builtin: replace)"),
    ({"clusters": [{"node": "nowhere", "path": "missing"}]}, {},
     "cluster #1 (nowhere): missing/ lacks cluster.yaml and members.csv"),
    ({"builtin": "replace", "clusters": []}, {}, "builtin: replace needs at least one"),
    ({"clusters": [], "database_url": "sqlite://"}, {}, "unknown key(s) 'database_url'"),
    ({"builtin": "replace", "clusters": [{"node": "other-id", "path": "mine"}]}, {"mine": "LB"},
     "the cluster id 'mine' must be the node id 'other-id'"),
], ids=["builtin", "duplicate", "missing-folder", "replace-empty", "unknown-key", "id-mismatch"])
def test_a_wrong_federation_file_is_refused_before_anything_starts(tmp_path, spec, clusters, message):
    path = write_federation(tmp_path, spec, clusters)
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--once", "--federation", str(path), "--workdir", str(workdir)])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not workdir.exists()  # nothing started, nothing written
