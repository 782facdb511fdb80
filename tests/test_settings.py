"""Layered settings (federation.settings): packaged defaults, the instance file, MEDMCI_* variables, explicit
overrides; in that order, each over the previous."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from federation.errors import ConfigurationError
from federation.settings import INSTANCE_FILE, Settings, deep_merge, env_overrides


def write_instance(folder: Path, data) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / INSTANCE_FILE
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def load(tmp_path, environ=None, overrides=None) -> Settings:
    return Settings.load(tmp_path, overrides=overrides, environ=environ or {})


# -- packaged defaults ----------------------------------------------------------------------------------------------

def test_packaged_defaults(tmp_path, config_dir):
    settings = load(tmp_path)
    assert settings.config_dir == config_dir
    assert settings.instance_path == tmp_path
    assert settings.get("plugins.formation.min_countries") == 2
    assert settings.get("plugins.formation.min_chain_members") == 3
    assert settings.get("plugins.formation.count_dormant") is False
    assert settings.get("pivot_scheme") == "nace-rev2"
    assert settings.get("plugins.disabled") == []
    assert settings.get("harvest.timeout_s") == 10


def test_default_database_is_a_sqlite_file_in_the_instance_folder(tmp_path):
    instance = tmp_path / "not" / "yet" / "there"
    settings = load(instance)
    url = settings.database_url
    assert url == f"sqlite:///{(instance / 'medmci.sqlite3').resolve()}"
    assert instance.is_dir()       # created so SQLite can open the file


def test_a_relative_instance_folder_gives_an_absolute_sqlite_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = load(Path("inst")).database_url
    assert url == f"sqlite:///{(tmp_path / 'inst' / 'medmci.sqlite3').resolve()}"


# -- the instance file --------------------------------------------------------------------------------------------

def test_the_instance_file_overrides_defaults_key_by_key(tmp_path):
    write_instance(tmp_path, {"plugins": {"formation": {"min_countries": 4}}, "harvest": {"workers": 2}})
    settings = load(tmp_path)
    assert settings.get("plugins.formation.min_countries") == 4
    assert settings.get("plugins.formation.min_chain_members") == 3      # sibling kept
    assert settings.get("harvest.workers") == 2
    assert settings.get("harvest.timeout_s") == 10
    assert settings.get("plugins.subclustering.path") == "subclusters"


def test_an_empty_instance_file_changes_nothing(tmp_path):
    write_instance(tmp_path, "# nothing here\n")
    assert load(tmp_path).data == load(tmp_path / "elsewhere").data


@pytest.mark.parametrize("content", [
    "plugins: [unclosed\n",
    "plugins:\n  formation: {min_countries: 3\n",
    "a: b: c\n",
    "\tplugins: {}\n",
])
def test_bad_yaml_in_the_instance_file_names_the_file(tmp_path, content):
    path = write_instance(tmp_path, content)
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path)
    assert str(path) in str(info.value)
    assert "not valid YAML" in str(info.value)


@pytest.mark.parametrize("content", ["- a\n- b\n", "just a sentence\n", "42\n"])
def test_an_instance_file_that_is_not_a_mapping_names_the_file(tmp_path, content):
    path = write_instance(tmp_path, content)
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path)
    assert str(path) in str(info.value)


# -- environment --------------------------------------------------------------------------------------------------

def test_environment_overrides_the_instance_file(tmp_path):
    write_instance(tmp_path, {"plugins": {"formation": {"min_countries": 4}}})
    settings = load(tmp_path, environ={"MEDMCI_PLUGINS__FORMATION__MIN_COUNTRIES": "3"})
    value = settings.get("plugins.formation.min_countries")
    assert value == 3 and isinstance(value, int) and not isinstance(value, bool)
    assert settings.get("plugins.formation.min_chain_members") == 3


@pytest.mark.parametrize("raw, expected", [
    ("5", 5), ("2.5", 2.5), ("true", True), ("false", False), ("hello", "hello"),
    ("https://node.example.org/x", "https://node.example.org/x"), ("[unclosed", "[unclosed"), ("", ""),
])
def test_environment_values_are_yaml_scalars(tmp_path, raw, expected):
    assert load(tmp_path, environ={"MEDMCI_HARVEST__TIMEOUT_S": raw}).get("harvest.timeout_s") == expected


def test_environment_creates_new_keys_and_ignores_other_variables(tmp_path):
    settings = load(tmp_path, environ={"MEDMCI_NEW__DEEP__KEY": "x", "HOME": "/root", "MEDMCIX": "1",
                                       "OTHER_PLUGINS__FORMATION__MIN_COUNTRIES": "9"})
    assert settings.get("new.deep.key") == "x"
    assert settings.get("plugins.formation.min_countries") == 2
    assert "home" not in settings.data


def test_database_url_from_the_environment(tmp_path):
    settings = load(tmp_path, environ={"DATABASE_URL": "postgresql+psycopg://u@db/medmci"})
    assert settings.get("database_url") == "postgresql+psycopg://u@db/medmci"
    assert settings.database_url == "postgresql+psycopg://u@db/medmci"


def test_medmci_database_url_wins_over_database_url(tmp_path):
    settings = load(tmp_path, environ={"DATABASE_URL": "sqlite:///a.db",
                                       "MEDMCI_DATABASE_URL": "sqlite:///b.db"})
    assert settings.database_url == "sqlite:///b.db"


@pytest.mark.parametrize("raw, expected", [
    ("a,b", ["a", "b"]),
    (" a , b ,", ["a", "b"]),
    ("formation", ["formation"]),
])
def test_disable_plugins_is_a_comma_list(tmp_path, raw, expected):
    settings = load(tmp_path, environ={"MEDMCI_DISABLE_PLUGINS": raw})
    assert settings.get("plugins.disabled") == expected
    assert settings.get("plugins.extra") == []


def test_extra_plugins_is_a_comma_list(tmp_path):
    settings = load(tmp_path, environ={"MEDMCI_PLUGINS": "my_pkg.plugin, other"})
    assert settings.get("plugins.extra") == ["my_pkg.plugin", "other"]
    assert settings.get("plugins.disabled") == []
    # the block of plugin configurations is not replaced by the list
    assert settings.get("plugins.formation.min_countries") == 2


def test_the_environment_is_read_from_os_environ_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDMCI_PLUGINS__FORMATION__MIN_COUNTRIES", "7")
    assert Settings.load(tmp_path).get("plugins.formation.min_countries") == 7
    # an explicit environ replaces os.environ entirely
    assert Settings.load(tmp_path, environ={}).get("plugins.formation.min_countries") == 2


# -- explicit overrides -------------------------------------------------------------------------------------------

def test_explicit_overrides_win_over_everything(tmp_path):
    write_instance(tmp_path, {"plugins": {"formation": {"min_countries": 4}}, "database_url": "sqlite:///file.db"})
    settings = load(tmp_path, environ={"MEDMCI_PLUGINS__FORMATION__MIN_COUNTRIES": "3",
                                       "DATABASE_URL": "sqlite:///env.db"},
                    overrides={"plugins": {"formation": {"min_countries": 5}}, "database_url": "sqlite:///o.db"})
    assert settings.get("plugins.formation.min_countries") == 5
    assert settings.get("plugins.formation.min_chain_members") == 3
    assert settings.database_url == "sqlite:///o.db"


def test_each_layer_in_turn(tmp_path):
    key = "plugins.formation.min_countries"
    assert load(tmp_path).get(key) == 2
    write_instance(tmp_path, {"plugins": {"formation": {"min_countries": 4}}})
    assert load(tmp_path).get(key) == 4
    assert load(tmp_path, environ={"MEDMCI_PLUGINS__FORMATION__MIN_COUNTRIES": "3"}).get(key) == 3
    assert load(tmp_path, environ={"MEDMCI_PLUGINS__FORMATION__MIN_COUNTRIES": "3"},
                overrides={"plugins": {"formation": {"min_countries": 6}}}).get(key) == 6


def test_database_url_layers(tmp_path):
    write_instance(tmp_path, {"database_url": "sqlite:///file.db"})
    assert load(tmp_path).database_url == "sqlite:///file.db"
    assert load(tmp_path, environ={"DATABASE_URL": "sqlite:///env.db"}).database_url == "sqlite:///env.db"


# -- accessors ----------------------------------------------------------------------------------------------------

def test_get_with_missing_keys_and_defaults(tmp_path):
    settings = load(tmp_path)
    assert settings.get("no.such.key") is None
    assert settings.get("no.such.key", 9) == 9
    assert settings.get("pivot_scheme.deeper", "d") == "d"      # a scalar has no children


def test_plugin_config(tmp_path):
    settings = load(tmp_path, overrides={"plugins": {"broken": [1, 2], "empty": None}})
    assert settings.plugin_config("formation") == {"min_countries": 2, "min_chain_members": 3, "count_dormant": False}
    assert settings.plugin_config("unknown-plugin") == {}
    assert settings.plugin_config("empty") == {}
    with pytest.raises(ConfigurationError, match="plugins.broken must be a mapping"):
        settings.plugin_config("broken")
    # a copy: changing it does not change the settings
    settings.plugin_config("formation")["min_countries"] = 99
    assert settings.get("plugins.formation.min_countries") == 2


def test_config_path(tmp_path, config_dir):
    settings = load(tmp_path)
    assert settings.config_path("value_chains") == config_dir / "value_chains"
    assert settings.config_path(str(tmp_path)) == tmp_path


def test_config_dir_can_be_moved(tmp_path, monkeypatch):
    other = tmp_path / "cfg"
    other.mkdir()
    (other / "settings.yaml").write_text("pivot_scheme: isic-rev4\nplugins: {formation: {min_countries: 9}}\n")
    monkeypatch.setenv("MEDMCI_CONFIG_DIR", str(other))
    settings = Settings.load(tmp_path / "inst", environ={})
    assert settings.config_dir == other
    assert settings.get("pivot_scheme") == "isic-rev4"
    assert settings.get("plugins.formation.min_countries") == 9


def test_deep_merge_does_not_touch_its_inputs():
    base = {"a": {"b": 1, "c": [1]}, "d": 1}
    override = {"a": {"b": 2}, "e": {"f": 1}}
    merged = deep_merge(base, override)
    assert merged == {"a": {"b": 2, "c": [1]}, "d": 1, "e": {"f": 1}}
    merged["a"]["c"].append(2)
    merged["e"]["f"] = 5
    assert base == {"a": {"b": 1, "c": [1]}, "d": 1}
    assert override == {"a": {"b": 2}, "e": {"f": 1}}


def test_env_overrides_shape():
    assert env_overrides({"MEDMCI_A__B": "1", "MEDMCI_DISABLE_PLUGINS": "x", "MEDMCI_CONFIG_DIR": "/c",
                          "MEDMCI_TRACE_PLUGINS": "1", "PATH": "/bin"}) == {
        "a": {"b": 1}, "plugins": {"disabled": ["x"]}}


def test_a_key_given_twice_in_a_yaml_file_is_refused_with_its_line(tmp_path):
    # YAML lets the second "harvest:" replace the first silently: half of the settings would be lost.
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / INSTANCE_FILE).write_text("harvest:\n  timeout_s: 5\nlogging:\n  level: INFO\nharvest:\n  concurrency: 2\n",
                                          encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"found the key 'harvest' twice") as caught:
        Settings.load(instance)
    assert "line 5" in str(caught.value)


def test_every_packaged_yaml_file_has_each_key_once(config_dir):
    from federation.settings import read_yaml

    files = sorted(config_dir.rglob("*.yaml"))
    assert len(files) > 10
    for path in files:
        read_yaml(path)  # raises ConfigurationError on a repeated key
