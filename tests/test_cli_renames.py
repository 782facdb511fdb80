"""Renamed commands, options and settings (README "Renamed commands"): the new names work, the old ones still work
for a release, hidden from the help, with a deprecation line; plugins that fail to load are logged at ERROR."""

from __future__ import annotations

import json
import logging

import pytest
import yaml
from click.testing import CliRunner

from federation import plugin_manager
from federation.cli import main
from federation.errors import ConfigurationError, PluginError
from federation.settings import Settings
from tests.support.environment import TEST_SETTINGS


@pytest.fixture
def runner(monkeypatch):
    for name in ("DATABASE_URL", "MEDMCI_DATABASE_URL", "MEDMCI_NODE_INSTANCE", "MEDMCI_HUB_INSTANCE",
                 "MEDMCI_PLUGINS", "MEDMCI_DISABLE_PLUGINS", "MEDMCI_HARVEST__WORKERS", "MEDMCI_HARVEST__CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def invoke(runner, group, instance, *args):
    result = runner.invoke(main, [group, "--instance", str(instance), *args])
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result


@pytest.fixture
def hub_instance(tmp_path):
    path = tmp_path / "hub"
    path.mkdir()
    (path / "medmci.yaml").write_text(yaml.safe_dump(TEST_SETTINGS), encoding="utf-8")
    return path


def deprecations(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "federation.cli" and r.levelno == logging.WARNING]


@pytest.mark.parametrize("old, new, args", [
    ("jobs", "harvests", []),
    ("health", "nodes --health", ["--json"]),
])
def test_hub_listing_old_and_new_names(runner, hub_instance, caplog, old, new, args):
    caplog.set_level(logging.WARNING)
    fresh = invoke(runner, "hub", hub_instance, *new.split(), *args)
    assert deprecations(caplog) == []
    caplog.clear()
    legacy = invoke(runner, "hub", hub_instance, old, *args)
    assert legacy.output == fresh.output  # the same answer, and nothing else on the output scripts read
    assert deprecations(caplog) == [f"`medmci hub {old}` is deprecated and will be removed: use `medmci hub {new}`"]


def test_hub_nodes_health_json_has_the_health_keys(runner, hub_instance):
    assert json.loads(invoke(runner, "hub", hub_instance, "nodes", "--health", "--json").output) == []
    assert json.loads(invoke(runner, "hub", hub_instance, "nodes", "--json").output) == []


def test_old_names_are_hidden_from_the_help(runner, hub_instance, tmp_path):
    listed = invoke(runner, "hub", hub_instance, "--help").output
    assert all(f"  {name} " in listed for name in ("harvests", "nodes", "tokens"))
    assert not any(f"  {name} " in listed for name in ("jobs", "health", "token"))
    node_help = invoke(runner, "node", tmp_path / "node", "--help").output
    assert "  tokens " in node_help and "  token " not in node_help


def test_hub_tokens_and_the_old_hub_token(runner, hub_instance, caplog):
    caplog.set_level(logging.DEBUG)
    created = invoke(runner, "hub", hub_instance, "tokens", "create", "reader", "--role", "operator",
                     "--scope", "federation:read")
    secret = created.output.strip()
    assert secret.startswith("mmci_") and deprecations(caplog) == []
    legacy = invoke(runner, "hub", hub_instance, "token", "create", "reader2", "--role", "operator",
                    "--scope", "federation:read")
    assert legacy.output.strip().startswith("mmci_")
    assert deprecations(caplog) == ["`medmci hub token` is deprecated and will be removed: "
                                    "use `medmci hub tokens`"]
    listed = invoke(runner, "hub", hub_instance, "tokens", "list").output
    assert "reader" in listed and "reader2" in listed and secret not in listed
    # No token is ever logged.
    assert not any(secret in r.getMessage() or legacy.output.strip() in r.getMessage() for r in caplog.records)


def test_node_tokens_create_and_the_old_node_token(runner, tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("MEDMCI_NODE__NOTIFY_HUBS", "false")
    caplog.set_level(logging.WARNING)
    node = tmp_path / "node"
    new = invoke(runner, "node", node, "tokens", "create", "second").output.strip()
    assert new.startswith("mmci_") and deprecations(caplog) == []
    old = invoke(runner, "node", node, "token", "third").output.strip()
    assert old.startswith("mmci_") and old != new
    assert deprecations(caplog) == ["`medmci node token` is deprecated and will be removed: "
                                    "use `medmci node tokens create`"]


# -- harvest.concurrency (was harvest.workers) -------------------------------------------------------------------

def test_harvest_concurrency_is_the_setting(tmp_path, caplog):
    settings = Settings.load(tmp_path, environ={})
    assert settings.get("harvest.concurrency") == 8 == settings.get("harvest.workers")
    assert "workers" not in settings.data["harvest"]
    assert not [r for r in caplog.records if "deprecated" in r.getMessage()]


@pytest.mark.parametrize("layer", ["instance", "environment", "overrides"])
def test_the_old_harvest_workers_key_is_read_with_a_warning(tmp_path, caplog, layer):
    caplog.set_level(logging.WARNING)
    environ, overrides = {}, None
    if layer == "instance":
        (tmp_path / "medmci.yaml").write_text("harvest: {workers: 3}\n", encoding="utf-8")
    elif layer == "environment":
        environ = {"MEDMCI_HARVEST__WORKERS": "3"}
    else:
        overrides = {"harvest": {"workers": 3}}
    settings = Settings.load(tmp_path, overrides=overrides, environ=environ)
    assert settings.get("harvest.concurrency") == 3 == settings.get("harvest.workers")
    warned, = [r for r in caplog.records if r.name == "federation.settings"]
    assert warned.levelno == logging.WARNING
    assert "harvest.workers is deprecated" in warned.getMessage() and "harvest.concurrency" in warned.getMessage()


def test_the_new_key_wins_over_the_old_in_the_same_layer(tmp_path):
    (tmp_path / "medmci.yaml").write_text("harvest: {workers: 3, concurrency: 5}\n", encoding="utf-8")
    assert Settings.load(tmp_path, environ={}).get("harvest.concurrency") == 5
    # A later layer's old key still overrides an earlier layer's new key.
    assert Settings.load(tmp_path, environ={"MEDMCI_HARVEST__WORKERS": "2"}).get("harvest.concurrency") == 2


# -- plugins that fail to load -------------------------------------------------------------------------------------

def test_a_missing_extra_plugin_is_logged_at_error(tmp_path, caplog):
    settings = Settings.load(tmp_path, overrides={"plugins": {"extra": ["no_such_plugin_module"]}}, environ={})
    with pytest.raises(ConfigurationError):
        plugin_manager.get_plugin_manager(settings)
    error, = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "'no_such_plugin_module'" in error.getMessage()


def test_an_entry_point_that_fails_to_load_is_logged_at_error_by_name(tmp_path, caplog, monkeypatch):
    class BrokenEntryPoint:
        name, value, dist = "broken_plugin", "broken_pkg.plugin", None

        def load(self):
            raise ImportError("No module named 'broken_pkg'")

    def load_all(self, group, name=None):
        BrokenEntryPoint().load()

    monkeypatch.setattr(plugin_manager.pluggy.PluginManager, "load_setuptools_entrypoints", load_all)
    monkeypatch.setattr(plugin_manager.metadata, "entry_points", lambda group: [BrokenEntryPoint()])
    # Named, not a raw ImportError: the plugin, its entry point and the cause (issue #10, attribution).
    with pytest.raises(PluginError, match="plugin 'broken_plugin' .*failed to load.*broken_pkg"):
        plugin_manager.get_plugin_manager(Settings.load(tmp_path, environ={}))
    error, = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "'broken_plugin'" in error.getMessage() and "broken_pkg.plugin" in error.getMessage()
