"""Plugins fail loudly (issue #10, part 3): every error raised by or about a plugin names the plugin, its
distribution, the hook and the cause; what a plugin provides is checked at load; a rule that raises fails its value
chain's formation alone; chains no plugin provides are retired; observers get the hub's context."""

from __future__ import annotations

import json
import logging
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from federation import plugin_manager
from federation.cli import main
from federation.domain import Activity, Cluster, Member
from federation.errors import ConfigurationError, PluginError
from federation.formation import form_metaclusters
from federation.hub.app import Hub
from federation.hub.models import HarvestRun, MetaClusterRow, PlacementRow
from federation.registry import Registry
from federation.settings import Settings, default_config_dir
from federation.taxonomy import Taxonomy, split_equivalents
from tests.support.builders import member_doc
from tests.support.environment import TEST_SETTINGS
from tests.support.nodes import real_node

HEADER = "from federation import *\nfrom federation import hookimpl\n"


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """``plugin("name", source)`` -> settings loading the module ``name`` (written to a folder on sys.path) through
    ``plugins.extra``, as an operator would."""
    folder = tmp_path / "plugin_modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    names = []

    def make(name: str, source: str, **plugins) -> Settings:
        (folder / f"{name}.py").write_text(HEADER + textwrap.dedent(source), encoding="utf-8")
        names.append(name)
        # In the instance's medmci.yaml, as an operator would write it: `medmci plugins --instance` reads it too.
        instance = tmp_path / "instance"
        instance.mkdir(exist_ok=True)
        (instance / "medmci.yaml").write_text(yaml.safe_dump({"plugins": {"extra": [name], **plugins}}),
                                              encoding="utf-8")
        return Settings.load(instance, environ={})

    yield make
    import sys
    for name in names:
        sys.modules.pop(name, None)


def settings_with(tmp_path, **plugins) -> Settings:
    return Settings.load(tmp_path / "instance", {"plugins": plugins}, environ={})


# -- attribution ---------------------------------------------------------------------------------------------------

class BrokenEntryPoint:
    """An installed entry point whose module does not import."""

    name, value, group = "broken_plugin", "broken_pkg.plugin", "medmci"

    class dist:  # noqa: N801 - the shape of importlib.metadata.Distribution that is read
        version = "0.3.0"
        metadata = {"Name": "medmci-broken"}

    def load(self):
        raise ImportError("No module named 'broken_pkg'")


@pytest.fixture
def broken_entry_point(monkeypatch):
    real = metadata.entry_points

    def entry_points(group):
        return [*real(group=group), BrokenEntryPoint()]

    monkeypatch.setattr(plugin_manager.metadata, "entry_points", entry_points)


def test_a_plugin_that_fails_to_import_is_named_and_stops_the_start(tmp_path, broken_entry_point):
    with pytest.raises(PluginError) as info:
        Registry.build(settings_with(tmp_path))
    error = info.value
    assert (error.plugin, error.distribution, error.hook) == ("broken_plugin", "medmci-broken 0.3.0", "import")
    assert "broken_pkg.plugin" in error.cause and "ImportError" in error.cause
    assert str(error).startswith("plugin 'broken_plugin' (distribution medmci-broken 0.3.0) failed to load")


def test_medmci_plugins_lists_a_plugin_that_fails_to_import_as_broken(tmp_path, broken_entry_point):
    result = CliRunner().invoke(main, ["plugins", "--instance", str(tmp_path / "instance"), "--json"])
    assert result.exit_code == 1, result.output
    listed = {p["name"]: p for p in json.loads(result.stdout)}
    assert listed["broken_plugin"]["status"] == "broken"
    assert listed["broken_plugin"]["distribution"] == "medmci-broken"
    assert listed["broken_plugin"]["errors"][0]["hook"] == "import"
    assert "No module named 'broken_pkg'" in listed["broken_plugin"]["errors"][0]["cause"]
    assert {listed[name]["status"] for name in ("nace_rev2", "value_chains", "formation")} == {"ok"}

    table = CliRunner().invoke(main, ["plugins", "--instance", str(tmp_path / "instance")])
    assert table.exit_code == 1
    assert "Broken plugins:" in table.stdout and "Traceback" not in table.output
    row, = [line for line in table.stdout.splitlines() if line.startswith("broken_plugin ") and "BROKEN" in line]
    assert row.split()[1:] == ["medmci-broken", "0.3.0", "BROKEN", "(below)"]


RAISES_IN_REGISTRATION = """
@hookimpl
def medmci_register_value_chains(taxonomies):
    raise KeyError("stages")
"""


def test_a_registration_hook_that_raises_names_the_plugin_and_the_hook(tmp_path, plugin):
    settings = plugin("chain_that_raises", RAISES_IN_REGISTRATION)
    with pytest.raises(PluginError) as info:
        Registry.build(settings)
    assert info.value.plugin == "chain_that_raises"
    assert info.value.hook == "medmci_register_value_chains"
    assert info.value.cause == "raised KeyError: 'stages'"
    assert isinstance(info.value.__cause__, KeyError)

    result = CliRunner().invoke(main, ["plugins", "--instance", str(settings.instance_path), "--json"])
    assert result.exit_code == 1
    listed = {p["name"]: p for p in json.loads(result.stdout)}
    assert listed["chain_that_raises"]["status"] == "broken"
    assert listed["chain_that_raises"]["hooks"] == ["medmci_register_value_chains"]
    assert listed["chain_that_raises"]["errors"][0]["hook"] == "medmci_register_value_chains"
    assert listed["value_chains"]["status"] == "ok"


@pytest.mark.parametrize("source, hook, cause", [
    ("@hookimpl\ndef medmci_register_value_chain(taxonomies):\n    return []\n",
     "medmci_register_value_chain", "did you mean 'medmci_register_value_chains'?"),
    ("@hookimpl\ndef medmci_register_value_chains(taxonomy):\n    return []\n",
     "medmci_register_value_chains", "does not fit the contract"),
    ("@hookimpl\ndef medmci_register_formation_rules():\n    return 'min-countries'\n",
     "medmci_register_formation_rules", "returned str, not a list"),
    ("@hookimpl(hookwrapper=True)\ndef medmci_register_formation_rules():\n    yield\n",
     "medmci_register_formation_rules", "registration hooks take no wrappers"),
    ("@hookimpl\ndef medmci_register_formation_rules():\n    return [object()]\n",
     "medmci_register_formation_rules", "needs the method(s) check_cluster, check_metacluster"),
], ids=["misspelt-hook", "unknown-argument", "not-a-list", "wrapper", "not-a-rule"])
def test_a_plugin_that_does_not_fit_the_contract_is_refused_by_name(tmp_path, plugin, source, hook, cause):
    name = f"misfit_{abs(hash(source)) % 10**8}"
    with pytest.raises(PluginError) as info:
        Registry.build(plugin(name, source))
    assert (info.value.plugin, info.value.hook) == (name, hook)
    assert cause in info.value.cause


# -- validation at load --------------------------------------------------------------------------------------------

def chain_source(stages: str, ecosystem: str = "None") -> str:
    return f"""
@hookimpl
def medmci_register_value_chains(taxonomies):
    return [ValueChain("test-chain", {{"en": "Test"}}, ({stages},), ecosystem={ecosystem})]
"""


PIVOT = 'taxonomies.pivot_prefixes({"nace-rev2": ["10.41"]}, "x")'


@pytest.mark.parametrize("source, cause", [
    (chain_source(f'Stage("press", {{"en": "Press"}}, "core", {PIVOT})', '"agrifood"'),
     "unknown eu-ecosystems ecosystem 'agrifood' (did you mean 'agri_food'?)"),
    (chain_source(f'Stage("press", {{"en": "Press"}}, "central", {PIVOT})'),
     "stage 'press': unknown kind 'central' (the kinds are core, enabling, support)"),
    (chain_source('Stage("press", {"en": "Press"}, "core", frozenset({"1040"}))'),
     "prefixes '1040' are not nace-rev2 codes: normalise them with taxonomies.pivot_prefixes"),
    (chain_source('Stage("press", {"en": "Press"}, "core", "10.41")'),
     "prefixes must be a set of nace-rev2 codes"),
    (chain_source(f'Stage("a", {{"en": "A"}}, "core", {PIVOT}), Stage("a", {{"en": "A"}}, "core", {PIVOT})'),
     "stage ids must be unique"),
    ("""
@hookimpl
def medmci_register_value_chains(taxonomies):
    stage = Stage("press", {"en": "Press"}, "core", taxonomies.pivot_prefixes({"nace-rev2": ["10.41"]}, "x"))
    return [ValueChain("agri-food", {"en": "Again"}, (stage,))]
""", "two plugins provide the value chain 'agri-food': 'value_chains' and this one"),
], ids=["ecosystem", "stage-kind", "isic-prefix", "string-prefixes", "stage-ids", "duplicate-chain"])
def test_a_value_chain_that_breaks_the_contract_is_refused_at_load(tmp_path, plugin, source, cause):
    name = f"bad_chain_{abs(hash(source)) % 10**8}"
    with pytest.raises(PluginError) as info:
        Registry.build(plugin(name, source))
    assert (info.value.plugin, info.value.hook) == (name, "medmci_register_value_chains")
    assert cause in info.value.cause


TAXONOMY = """
CODES = {{c: Code(c, len(c), c[:-1] or None, {{"en": c}}) for c in ("K", "K1", "K2")}}

@hookimpl
def medmci_register_taxonomies():
    return [Taxonomy("k-list", {{"en": "K"}}, dict(CODES), {crosswalks})]
"""


@pytest.mark.parametrize("crosswalks, cause", [
    ('{"nace-rev2": {"K1": ("10.41",), "K2": ("10.49", "99.99.9")}}',
     "its crosswalk points to nace-rev2 codes that nace-rev2 does not have: '10.49', '99.99.9'"),
    ('{"nace-rev2": {"K3": ("10.41",)}}', "the crosswalk to nace-rev2 names codes it lacks: 'K3'"),
], ids=["target-code", "source-code"])
def test_a_crosswalk_to_codes_that_do_not_exist_is_refused(tmp_path, plugin, crosswalks, cause):
    name = f"bad_crosswalk_{abs(hash(crosswalks)) % 10**8}"
    with pytest.raises(PluginError) as info:
        Registry.build(plugin(name, TAXONOMY.format(crosswalks=crosswalks)))
    assert (info.value.plugin, info.value.hook) == (name, "medmci_register_taxonomies")
    assert cause in info.value.cause


def test_a_subcluster_rule_with_prefixes_outside_the_pivot_is_refused(tmp_path, plugin):
    source = """
@hookimpl
def medmci_register_subcluster_rules():
    return [CodeKeywordRule("agri-food", "feed", {"en": "Feed"}, frozenset({"1080"}))]
"""
    with pytest.raises(PluginError) as info:
        Registry.build(plugin("bad_rule_prefixes", source))
    assert info.value.hook == "medmci_register_subcluster_rules"
    assert "sub-cluster rule 'feed': prefixes '1080' are not nace-rev2 codes" in info.value.cause


def test_what_refusing_would_break_is_a_warning(tmp_path, plugin, caplog):
    """A disabled name that matches nothing (a plugin disabled, then uninstalled), a crosswalk to a scheme nobody
    loads, an ecosystem that cannot be checked: the hub starts, and says so."""
    source = TAXONOMY.format(crosswalks='{"nace-rev-2": {"K1": ("10.41",)}}')
    settings = plugin("warned_crosswalk", source, disabled=["blue-food", "eu_ecosystems"])
    with caplog.at_level(logging.WARNING):
        registry = Registry.build(settings)
    assert "agri-food" in registry.value_chains
    warnings = "\n".join(registry.warnings)
    assert "plugins.disabled names 'blue-food', which matches no installed plugin" in warnings
    assert "crosswalk to 'nace-rev-2', which no loaded plugin provides: it is not used (did you mean " \
           "'nace-rev2'?)" in warnings
    assert "its ecosystem 'agri_food' is not checked: the ecosystem list 'eu-ecosystems'" in warnings
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("'blue-food'" in m for m in logged) and any("'nace-rev-2'" in m for m in logged)

    result = CliRunner().invoke(main, ["plugins", "--instance", str(settings.instance_path)])
    assert result.exit_code == 0
    assert "warning: plugins.disabled names 'blue-food'" in result.stderr


def test_a_crosswalk_cell_may_hold_several_equivalents(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("code,level,parent,label_en,nace,isic\nK,1,,K,,\nK1,2,K,K one,10.91;10.92,1080\n"
                    "K2,2,K,K two,10.41 | 10.42,\n", encoding="utf-8-sig")
    taxonomy = Taxonomy.from_csv(path, "k-list", {"en": "K"}, {"en": "label_en"},
                                 crosswalk_columns={"nace-rev2": "nace", "isic-rev4": "isic"})
    assert taxonomy.crosswalks == {"nace-rev2": {"K1": ("10.91", "10.92"), "K2": ("10.41", "10.42")},
                                   "isic-rev4": {"K1": ("1080",)}}
    assert split_equivalents(" 10.91  10.92;10.91 ") == ("10.91", "10.92")


# -- rules that raise during formation -----------------------------------------------------------------------------

FLAKY_RULE = """
BROKEN = {"on": False}

class Flaky(FormationRule):
    name = "flaky"

    def check_cluster(self, cluster, chain, chain_members):
        if BROKEN["on"] and chain.id == "agri-food":
            return Decision(len(chain_members) / 0 > 1, self.name, "never")
        return None

@hookimpl
def medmci_register_formation_rules():
    return [Flaky()]
"""

RAISING_SUBCLUSTER_RULE = """
class Picky(SubclusterRule):
    value_chain = "agri-food"
    name = "picky"

    def match(self, member, taxonomies):
        return member.name.split()[5]

@hookimpl
def medmci_register_subcluster_rules():
    return [Picky()]
"""


def two_clusters() -> list[Cluster]:
    return [Cluster(n, n, n, c, ("agri-food",), tuple(
        Member(n, f"{n}-{i}", "sme", f"member {i}", c, (Activity("nace-rev2", "11.02"),)) for i in range(3)))
        for n, c in (("a", "LB"), ("b", "TN"))]


def test_a_subcluster_rule_that_raises_is_named_with_its_plugin(tmp_path, plugin):
    registry = Registry.build(plugin("picky_rule", RAISING_SUBCLUSTER_RULE))
    with pytest.raises(PluginError) as info:
        form_metaclusters(two_clusters(), registry)
    error = info.value
    assert (error.plugin, error.hook) == ("picky_rule", "medmci_register_subcluster_rules")
    assert error.cause == ("rule 'picky' raised IndexError: list index out of range in match while forming value "
                           "chain 'agri-food'")


def test_a_rule_that_raises_in_the_nodes_checks_is_an_error_finding_naming_its_plugin(tmp_path, plugin):
    """The node runs the hub's formation rules to tell its manager about coarse codes: a plugin rule that raises
    there is a finding naming the plugin, not a crash after the import was committed."""
    from federation.node.app import Node
    from tests.support.builders import cluster_doc

    settings = plugin("picky_rule", RAISING_SUBCLUSTER_RULE)
    node = Node.build(settings.instance_path, {"database_url": f"sqlite:///{tmp_path / 'node.db'}"},
                      registry=Registry.build(settings))
    try:
        node.service.put_cluster(cluster_doc("qoot", "LB"))
        report = node.service.import_members(b"id,kind,name,activities\nw1,sme,Chateau Ksara,isic-rev4:1102\n")
        assert (report["created"], report["published"]) == (1, True)
        findings = report["checks"]["findings"]
        assert [(f["severity"], f["kind"]) for f in findings] == [("error", "plugin")]
        assert "plugin 'picky_rule'" in findings[0]["message"] and "rule 'picky' raised IndexError" in \
            findings[0]["message"]
        assert node.check()["counts"]["error"] == 1
        assert node.service.get_member("w1")["name"] == "Chateau Ksara"  # the import stands
    finally:
        node.close()


def test_an_error_of_the_federation_itself_is_not_blamed_on_a_plugin(tmp_path, plugin, monkeypatch):
    registry = Registry.build(plugin("innocent_rule", FLAKY_RULE))
    monkeypatch.setattr("federation.formation.combine", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        form_metaclusters(two_clusters(), registry)


def open_same_hub(hub: Hub, registry: Registry) -> Hub:
    """The hub's instance and database, with other plugins (a restart after a plugin was added or removed)."""
    return Hub.build(hub.settings.instance_path, {"database_url": hub.settings.get("database_url"), **TEST_SETTINGS},
                     registry=registry)


@pytest.fixture
def flaky(plugin):
    settings = plugin("flaky_rule", FLAKY_RULE)
    registry = Registry.build(settings)
    import flaky_rule
    yield registry, flaky_rule.BROKEN
    flaky_rule.BROKEN["on"] = False


def harvested_hub(make_node, make_hub, serve, registry: Registry) -> tuple[Hub, object]:
    qoot, qoot_url = real_node(make_node, serve, "qoot", "LB")
    _menara, menara_url = real_node(make_node, serve, "menara", "MA")
    hub = make_hub(registry_=registry)
    hub.nodes.register("qoot", qoot_url)
    hub.nodes.register("menara", menara_url)
    report = hub.harvester.harvest()
    assert report["formation_failures"] == [] and report["counts"]["failed"] == 0
    return hub, qoot


def computed(hub: Hub) -> dict:
    with hub.db.session() as session:
        return {row.value_chain: row.computed_at for row in session.query(MetaClusterRow)}


def runs(hub: Hub) -> list[HarvestRun]:
    with hub.db.session() as session:
        rows = session.query(HarvestRun).order_by(HarvestRun.id).all()
        session.expunge_all()
        return rows


def test_a_formation_rule_that_raises_keeps_the_last_metacluster(backend, flaky, make_node, make_hub, serve):
    registry, broken = flaky
    hub, qoot = harvested_hub(make_node, make_hub, serve, registry)
    before = hub.queries.metacluster("mc-agri-food")
    assert before["formed"] and {c["id"] for c in before["clusters"]} == {"qoot", "menara"}
    formed_at = computed(hub)

    broken["on"] = True
    qoot.extensions["medmci"].service.create_member(member_doc("qoot-new", "nace-rev2:11.02", name="New Winery"))
    report = hub.harvester.harvest()
    assert report["counts"]["new_version"] == 1
    failure, = report["formation_failures"]
    assert failure["value_chain"] == "agri-food"
    assert (failure["plugin"], failure["hook"]) == ("flaky_rule", "medmci_register_formation_rules")
    assert failure["cause"].startswith("rule 'flaky' raised ZeroDivisionError: division by zero in check_cluster")
    # The previous meta-cluster is kept whole; the run is finished as partial, with the reason; nothing runs.
    assert hub.queries.metacluster("mc-agri-food") == before
    assert "qoot-new" not in {m["member_id"] for m in hub.queries.metacluster("mc-agri-food")["members"]}
    last = runs(hub)[-1]
    assert last.status == "partial" and last.finished_at is not None
    assert "plugin 'flaky_rule'" in last.error and "agri-food" in last.error
    assert [r.status for r in runs(hub)] == ["finished", "partial"]
    assert hub.harvester.sweep() == {"runs": 0, "fetches": 0}
    # The other chains the new version touches were formed in that run.
    after = computed(hub)
    assert after["agri-food"] == formed_at["agri-food"]
    assert [chain for chain in after if after[chain] != formed_at[chain]]

    # Fixed: the next harvest forms the chain again (its stored rules are stale), with the new member.
    broken["on"] = False
    report = hub.harvester.harvest()
    assert report["formation_failures"] == []
    assert "qoot-new" in {m["member_id"] for m in hub.queries.metacluster("mc-agri-food")["members"]}
    assert runs(hub)[-1].status == "finished"


def test_a_chain_never_formed_whose_rule_raises_says_why_it_is_not_formed(backend, flaky, make_node, make_hub,
                                                                          serve):
    registry, broken = flaky
    broken["on"] = True
    _qoot, qoot_url = real_node(make_node, serve, "qoot", "LB")
    hub = make_hub(registry_=registry)
    hub.nodes.register("qoot", qoot_url)
    report = hub.harvester.harvest()
    assert [f["value_chain"] for f in report["formation_failures"]] == ["agri-food"]
    not_formed = {c["value_chain"]: c for c in hub.queries.export()["value_chains_not_formed"]}
    why, = not_formed["agri-food"]["why"]
    assert why["rule"] == "formation" and "plugin 'flaky_rule'" in why["reason"] and "ZeroDivisionError" in why["reason"]


# -- output --------------------------------------------------------------------------------------------------------

def test_export_lists_the_value_chains_not_formed_with_why(backend, registry, make_node, make_hub, serve):
    hub = make_hub()
    empty = hub.queries.export()
    assert empty["metaclusters"] == []
    assert [c["value_chain"] for c in empty["value_chains_not_formed"]] == sorted(registry.value_chains)
    assert "not formed yet" in empty["value_chains_not_formed"][0]["why"][0]["reason"]

    _qoot, qoot_url = real_node(make_node, serve, "qoot", "LB")
    hub.nodes.register("qoot", qoot_url)
    hub.harvester.harvest()
    export = hub.queries.export()
    assert export["metaclusters"] == []  # one country: min-countries refuses every chain
    agri = next(c for c in export["value_chains_not_formed"] if c["value_chain"] == "agri-food")
    assert agri["value_chain_names"]["en"] == registry.value_chains["agri-food"].names["en"]
    assert agri["why"] == [{"passed": False, "rule": "min-countries", "reason": "1 country (LB) < 2"}]


# -- removal -------------------------------------------------------------------------------------------------------

OLIVE_CHAIN = """
@hookimpl
def medmci_register_value_chains(taxonomies):
    stage = Stage("press", {"en": "Press"}, "core", taxonomies.pivot_prefixes({"nace-rev2": ["10.41"]}, "olive"))
    return [ValueChain("olive-test", {"en": "Olive test"}, (stage,))]
"""


def test_a_chain_whose_plugin_is_gone_is_retired_at_the_next_harvest(backend, plugin, make_node, make_hub,
                                                                      serve, registry):
    with_plugin = Registry.build(plugin("olive_chain", OLIVE_CHAIN))
    hub, _qoot = harvested_hub(make_node, make_hub, serve, with_plugin)
    assert "mc-olive-test" in {m["id"] for m in hub.queries.metaclusters(formed=None)}

    restarted = open_same_hub(hub, registry)  # the plugin uninstalled (or disabled), the hub restarted
    try:
        report = restarted.harvester.harvest()
        assert report["counts"]["not_modified"] == 2 and report["retired_value_chains"] == ["olive-test"]
        assert "mc-olive-test" not in {m["id"] for m in restarted.queries.metaclusters(formed=None)}
        assert "olive-test" not in {c["value_chain"] for c in restarted.queries.export()["value_chains_not_formed"]}
        with restarted.db.session() as session:
            assert session.query(PlacementRow).filter_by(metacluster_id="mc-olive-test").count() == 0
        assert "olive-test" not in {p["value_chain"] for p in restarted.queries.why("qoot")["placements"]}
        assert restarted.harvester.aggregator.retirable() == set()
    finally:
        restarted.close()


def test_hub_reform_forms_now_and_retires_chains_no_plugin_provides(tmp_path, plugin, make_node, make_hub, serve,
                                                                    database_url):
    with_plugin = Registry.build(plugin("olive_chain_cli", OLIVE_CHAIN.replace("olive-test", "olive-cli")))
    hub, _qoot = harvested_hub(make_node, make_hub, serve, with_plugin)
    instance = hub.settings.instance_path
    (instance / "medmci.yaml").write_text(yaml.safe_dump({"database_url": hub.settings.get("database_url")}),
                                          encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["hub", "--instance", str(instance), "reform", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["retired"] == ["olive-cli"] and answer["failures"] == []
    assert {c["value_chain"] for c in answer["formed"]} == set(hub.registry.value_chains) - {"olive-cli"}
    with hub.db.session() as session:
        assert session.get(MetaClusterRow, "mc-olive-cli") is None

    table = runner.invoke(main, ["hub", "--instance", str(instance), "reform", "--chain", "agri-food"])
    assert table.exit_code == 0 and "agri-food" in table.stdout and "formed" in table.stdout
    unknown = runner.invoke(main, ["hub", "--instance", str(instance), "reform", "--chain", "olive-cli"])
    assert unknown.exit_code == 2 and "no loaded plugin provides olive-cli" in unknown.output


# -- context -------------------------------------------------------------------------------------------------------

def test_an_observer_gets_the_hubs_settings_and_instance_path(make_hub):
    seen = []

    class Observer:
        @staticmethod
        @plugin_manager.hookspecs.hookimpl
        def medmci_on_harvest_completed(report, settings, instance_path):
            (Path(instance_path) / "observed.json").write_text(json.dumps(report["counts"]), encoding="utf-8")
            seen.append((settings, instance_path))

    hub = make_hub()
    hub.registry.pm.register(Observer, name="context_observer")
    try:
        report = hub.harvester.harvest()
    finally:
        hub.registry.pm.unregister(name="context_observer")
    (settings, instance_path), = seen
    assert instance_path == hub.settings.instance_path
    assert settings.get("pivot_scheme") == "nace-rev2"
    assert json.loads((hub.settings.instance_path / "observed.json").read_text()) == report["counts"]


def test_a_failing_observer_is_logged_with_its_plugin_and_hook(make_hub, caplog):
    class Broken:
        @staticmethod
        @plugin_manager.hookspecs.hookimpl
        def medmci_on_harvest_completed(report):
            raise RuntimeError("disk full")

    hub = make_hub()
    hub.registry.pm.register(Broken, name="broken_observer")
    try:
        hub.harvester.harvest()
    finally:
        hub.registry.pm.unregister(name="broken_observer")
    logged, = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert logged == ("plugin 'broken_observer' (not from an installed distribution) failed in hook "
                      "medmci_on_harvest_completed: raised RuntimeError: disk full")


def test_a_missing_pivot_is_an_error_of_the_settings_not_of_a_plugin(tmp_path):
    result = CliRunner().invoke(main, ["plugins", "--instance", str(tmp_path / "instance")],
                                env={"MEDMCI_DISABLE_PLUGINS": "nace_rev2"})
    assert result.exit_code == 1
    assert "pivot scheme 'nace-rev2' is not provided" in result.stderr
    with pytest.raises(ConfigurationError, match="pivot scheme"):
        Registry.build(settings_with(tmp_path, disabled=["nace_rev2"]))


def test_the_demo_finishes_when_a_rule_raises_and_says_which(tmp_path, plugin):
    plugin("flaky_demo_rule", FLAKY_RULE.replace('BROKEN = {"on": False}', 'BROKEN = {"on": True}'))
    demo_folder = default_config_dir() / "demo"
    path = tmp_path / "federation.yaml"
    path.write_text(yaml.safe_dump({"builtin": "replace", "plugins": {"extra": ["flaky_demo_rule"]},
                                    "clusters": [{"node": n, "path": str(demo_folder / n)} for n in ("qoot", "menara")]}),
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["demo", "--once", "--json", "--federation", str(path),
                                       "--workdir", str(tmp_path / "demo")])
    assert result.exit_code == 1
    assert ("value chain agri-food was not formed: plugin 'flaky_demo_rule' (not from an installed distribution) "
            "failed in hook medmci_register_formation_rules: rule 'flaky' raised ZeroDivisionError") in result.stderr
    export = json.loads(result.stdout)
    not_formed = {c["value_chain"]: c for c in export["value_chains_not_formed"]}
    assert "plugin 'flaky_demo_rule'" in not_formed["agri-food"]["why"][0]["reason"]
    assert export["metaclusters"], "the other value chains are formed"
