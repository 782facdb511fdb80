"""The plugin contract: built-ins load like third-party plugins, a real third-party distribution changes the
meta-clusters, plugins can be disabled or added by module name, and every hook is documented and tested."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from federation import hookspecs
from federation.domain import Activity, Cluster, Member
from federation.errors import ConfigurationError
from federation.formation import form_metaclusters
from federation.pilots.teams import Constraints, Participant, propose_teams
from federation.plugin_manager import describe_plugins, get_plugin_manager
from federation.registry import Registry
from federation.settings import Settings
from tests.support.nodes import real_node

PLUGIN_SOURCE = Path(__file__).parent / "plugins" / "medmci_blue_food"
BUILTINS = {"nace_rev2", "isic_rev4", "eu_ecosystems", "value_chains", "formation", "subclustering",
            "team_formation"}
HOOKS = sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("medmci_"))


@pytest.fixture(scope="module")
def third_party_site(tmp_path_factory, registry):
    """Build and install the example distribution into a folder put on sys.path, as pip would for a user.

    (Depends on ``registry`` so the shared registry of other tests is built before, without this plugin.)"""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(PLUGIN_SOURCE)], check=True,
                   cwd=tmp_path_factory.mktemp("build"))
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("medmci_blue_food")]:
        del sys.modules[name]


def fishing_clusters() -> list[Cluster]:
    """Two countries, each with fish farms, a processor and a fish trader."""
    clusters = []
    for node, country in (("lb-sea", "LB"), ("tn-sea", "TN")):
        members = tuple(Member(node, f"{node}-{i}", "sme", f"{node} {code}", country, (Activity("nace-rev2", code),),
                               text=f"{node} {code}")
                        for i, code in enumerate(["03.21", "03.11", "10.20", "46.38"]))
        clusters.append(Cluster(node, node, node, country, (), members))
    return clusters


def settings(tmp_path, **plugins) -> Settings:
    return Settings.load(tmp_path, {"plugins": plugins} if plugins else None)


def test_builtins_are_loaded_through_entry_points(tmp_path):
    described = {p["name"]: p for p in describe_plugins(get_plugin_manager(settings(tmp_path)))}
    assert BUILTINS <= set(described)
    for name in BUILTINS:
        assert described[name]["distribution"] == "medmci-federation"
    assert described["nace_rev2"]["hooks"] == ["medmci_register_taxonomies"]
    assert described["subclustering"]["hooks"] == ["medmci_read_subcluster_rules", "medmci_register_subcluster_rules"]


def test_core_never_names_a_builtin_plugin():
    core = Path(__file__).parent.parent / "federation"
    offenders = [str(p) for p in core.rglob("*.py") if "plugins." in p.read_text(encoding="utf-8")
                 and any(f"plugins.{name}" in p.read_text(encoding="utf-8") for name in BUILTINS)]
    assert offenders == []


def test_third_party_distribution_changes_the_metaclusters(tmp_path, third_party_site):
    registry = Registry.build(settings(tmp_path))
    described = {p["name"]: p for p in describe_plugins(registry.pm)}
    assert described["blue_food"]["distribution"] == "medmci-blue-food"
    assert described["blue_food"]["hooks"] == ["medmci_register_subcluster_rules", "medmci_register_value_chains"]

    formed = {m["id"]: m for m in form_metaclusters(fishing_clusters(), registry) if m["formed"]}
    # Fishing is also the agri-food chain's production stage; the plugin adds a chain of its own.
    assert sorted(formed) == ["mc-agri-food", "mc-blue-food"]
    blue = formed["mc-blue-food"]
    assert blue["countries"] == ["LB", "TN"]
    subs = {s["name"]: s["members"] for s in blue["sub_clusters"]}
    assert subs["aquaculture"] == ["lb-sea/lb-sea-0", "tn-sea/tn-sea-0"]
    assert len(subs["other"]) == 6
    assert blue["gaps"] == []


def test_the_same_federation_without_the_plugin_has_no_blue_food(tmp_path, third_party_site):
    registry = Registry.build(settings(tmp_path, disabled=["blue_food"]))
    assert "blue_food" not in {p["name"] for p in describe_plugins(registry.pm)}
    assert [m["id"] for m in form_metaclusters(fishing_clusters(), registry) if m["formed"]] == ["mc-agri-food"]


def test_a_module_named_in_settings_is_loaded(tmp_path, monkeypatch):
    plugin_dir = tmp_path / "extra"
    plugin_dir.mkdir()
    (plugin_dir / "strict_formation.py").write_text(
        "from federation import Decision, FormationRule, hookimpl\n"
        "class NoTunisia(FormationRule):\n"
        "    name = 'no-tunisia'\n"
        "    def check_cluster(self, cluster, chain, chain_members):\n"
        "        return Decision(cluster.country != 'TN', self.name, 'test rule')\n"
        "@hookimpl\n"
        "def medmci_register_formation_rules():\n"
        "    return [NoTunisia()]\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(plugin_dir))
    registry = Registry.build(settings(tmp_path, extra=["strict_formation"]))
    assert "no-tunisia" in [r.name for r in registry.formation_rules]
    clusters = [Cluster(n, n, n, c, ("agri-food",), tuple(
        Member(n, f"{n}-{i}", "sme", "x", c, (Activity("nace-rev2", "11.02"),)) for i in range(3)))
        for n, c in (("a", "LB"), ("b", "TN"))]
    agri = next(m for m in form_metaclusters(clusters, registry) if m["value_chain"] == "agri-food")
    assert agri["formed"] is False
    assert [c["id"] for c in agri["excluded_clusters"]] == ["b"]


def test_a_missing_extra_module_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigurationError, match="no_such_plugin_module"):
        get_plugin_manager(settings(tmp_path, extra=["no_such_plugin_module"]))


def test_disabling_the_pivot_taxonomy_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigurationError, match="pivot scheme 'nace-rev2'"):
        Registry.build(settings(tmp_path, disabled=["nace_rev2"]))


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook))
    assert doc and ":return:" in doc and "Example::" in doc
    for parameter in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert f":param {parameter}:" in doc


@pytest.mark.checks_the_session
@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook, hook_calls):
    """Datasette's rule: a hook no test makes run is a contract nobody checks. Runs after every other test of the
    session and looks at the hooks they ran (tests/support/hook_calls.py)."""
    if not hook_calls.other_tests:
        pytest.skip("checks the hooks the other tests of the session ran, and none was selected")
    assert hook in hook_calls.called, (f"no test of this session ran the hook {hook} (run this check with the "
                                       "whole suite or the whole of tests/test_plugin_manager.py)")


def test_hook_register_taxonomies(registry):
    assert {"nace-rev2", "isic-rev4", "eu-ecosystems"} <= set(registry.taxonomies.by_scheme)


def test_hook_register_value_chains(registry):
    assert set(registry.value_chains) == {"agri-food", "food-cosmetics", "textile-apparel", "electronics",
                                          "bioeconomy-waste"}
    agri = registry.value_chains["agri-food"]
    assert agri.stages[-1].kind == "support" and agri.ecosystem == "agri_food"


def test_hook_register_formation_rules(registry):
    assert [r.name for r in registry.formation_rules] == ["min-chain-members", "min-countries"]


def test_hook_register_subcluster_rules(registry):
    names = [r.name for r in registry.subcluster_rules["agri-food"]]
    assert {"wine", "snacks-confectionery", "agri-fresh", "processing"} <= set(names)


def test_hook_form_teams(tmp_path):
    """The built-in answers through the hook (tests/test_pilot_teams.py tests it in full)."""
    people = [Participant("qoot", "cluster", "QOOT", "LB", "MENA", frozenset({"export"})),
              Participant("andalucia", "cluster", "Agro Andalucia", "ES", "EU", frozenset({"export"})),
              Participant("usj", "knowledge", "USJ", "LB", "MENA")]
    loaded = settings(tmp_path)
    teams = propose_teams(get_plugin_manager(loaded), None, people, Constraints((2, 3)), loaded)
    assert [(t.members, t.score) for t in teams] == [(("qoot", "andalucia", "usj"), 1)]


def test_hook_on_harvest_completed(make_node, make_hub, serve):
    """Observers see the report of a real harvest: two node servers on loopback, fetched over HTTP."""
    seen = []

    class Observer:
        @staticmethod
        @hookspecs.hookimpl
        def medmci_on_harvest_completed(report):
            seen.append(report)

    class Broken:
        @staticmethod
        @hookspecs.hookimpl
        def medmci_on_harvest_completed(report):
            raise RuntimeError("a broken observer must not fail the harvest")

    hub = make_hub()
    for cluster_id, country in (("qoot", "LB"), ("menara", "MA")):
        _app, url = real_node(make_node, serve, cluster_id, country)
        hub.nodes.register(cluster_id, url)
    hub.registry.pm.register(Observer, name="observer")
    hub.registry.pm.register(Broken, name="broken")
    try:
        report = hub.harvester.harvest()
    finally:
        hub.registry.pm.unregister(name="observer")
        hub.registry.pm.unregister(name="broken")
    assert seen == [report]
    assert report["counts"] == {"new_version": 2, "not_modified": 0, "unchanged": 0, "failed": 0}


def test_hook_match_scorers(registry):
    from federation.matching import load_scorers

    loaded = load_scorers(registry.pm, registry.settings, registry.taxonomies, registry.value_chains)
    assert [s.name for s in loaded.scorers] == ["codes", "value_chain", "text", "countries", "languages"]
