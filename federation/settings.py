"""Layered settings: packaged defaults, the instance file, then ``MEDMCI_*`` environment variables.

The packaged defaults live in ``config/settings.yaml`` at the top of the repository, installed as package data of
``medmci_config`` and read through importlib.resources (another folder can be named with ``MEDMCI_CONFIG_DIR``).
Plugins read their block with ``settings.plugin_config(name)``.

That file is the one place a setting's default is written: code reads ``settings.get("harvest.timeout_s")`` without a
default of its own, and dataclasses whose fields are
settings take their defaults from it with :func:`packaged_default` (tests/test_settings.py checks both ways).
Renamed keys (:data:`RENAMED`) are still accepted under their old name, with a deprecation warning in the log.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigurationError

ENV_PREFIX = "MEDMCI_"
INSTANCE_FILE = "medmci.yaml"
SETTINGS_FILE = "settings.yaml"

#: Old key -> new key. The old key is read as the new one for a release, with a deprecation warning.
RENAMED: Mapping[str, str] = {
    # "workers" also names the `hub worker` processes; the number of fetches at once is `--concurrency` there.
    "harvest.workers": "harvest.concurrency",
}

log = logging.getLogger(__name__)


def default_config_dir() -> Path:
    """The packaged defaults (the repository's ``config/``, installed as the package ``medmci_config``), unless
    ``MEDMCI_CONFIG_DIR`` names another folder."""
    if env := os.environ.get("MEDMCI_CONFIG_DIR"):
        return Path(env)
    # Installed from a wheel or in editable mode alike; always a real folder (pip installs wheels unzipped).
    return Path(str(resources.files("medmci_config")))


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping: YAML lets the second silently replace the
    first, so a settings block written twice (or a value chain with two ``stages:``) would lose half of itself."""

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                continue  # an unhashable key: the safe loader's own error says so
            if key in seen:
                raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                        f"found the key {key!r} twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except FileNotFoundError as exc:
        raise ConfigurationError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from exc


class _NoAliasLoader(_StrictLoader):
    """The strict loader, refusing aliases (``*name``): text from outside (a rule set posted to the hub) could
    otherwise nest references to one list until walking it takes forever (billion laughs)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted here",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


def parse_yaml(text: str, where: str) -> Any:
    """YAML text from outside the configuration (bounded by its caller): strict as :func:`read_yaml`, and without
    aliases. :class:`ConfigurationError` naming ``where``."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{where}: not valid YAML: {exc}") from exc
    except RecursionError:  # the composer recurses once per level: "[[[[..." within the byte bound
        raise ConfigurationError(f"{where}: not valid YAML: nested too deeply") from None


def _mapping(value: Any, path: Path) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{path}: must be a mapping of settings, not {type(value).__name__}")
    return dict(value)


def deep_merge(base: dict, override: Mapping) -> dict:
    """A copy of ``base`` with ``override`` merged in, dictionaries key by key."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def env_overrides(environ: Mapping[str, str]) -> dict:
    """``MEDMCI_A__B=v`` becomes ``{"a": {"b": v}}``; values are parsed as YAML scalars (numbers, booleans)."""
    out: dict = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in ("MEDMCI_CONFIG_DIR", "MEDMCI_PLUGINS",
                                                      "MEDMCI_DISABLE_PLUGINS", "MEDMCI_TRACE_PLUGINS"):
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        try:
            node[path[-1]] = yaml.safe_load(raw) if raw else raw
        except yaml.YAMLError:
            node[path[-1]] = raw
    if "DATABASE_URL" in environ and "MEDMCI_DATABASE_URL" not in environ:
        out["database_url"] = environ["DATABASE_URL"]
    for env_name, key in (("MEDMCI_PLUGINS", "extra"), ("MEDMCI_DISABLE_PLUGINS", "disabled")):
        if environ.get(env_name):
            names = [n.strip() for n in environ[env_name].split(",") if n.strip()]
            out.setdefault("plugins", {})[key] = names
    return out


def _pop_path(data: dict, dotted: str) -> tuple[bool, Any]:
    *parents, last = dotted.split(".")
    node: Any = data
    for part in parents:
        node = node.get(part) if isinstance(node, Mapping) else None
    if isinstance(node, dict) and last in node:
        return True, node.pop(last)
    return False, None


def rename_deprecated(layer: dict, source: str) -> dict:
    """``layer`` (one of the settings' layers) with the old keys of :data:`RENAMED` moved to their new names; a
    new key set in the same layer wins. Each old key found is logged as deprecated, naming ``source``."""
    for old, new in RENAMED.items():
        found, value = _pop_path(layer, old)
        if not found:
            continue
        log.warning("%s: the setting %s is deprecated and will be removed: use %s", source, old, new)
        *parents, last = new.split(".")
        node = layer
        for part in parents:
            node = node.setdefault(part, {})
        node.setdefault(last, value)
    return layer


@lru_cache(maxsize=4)
def _packaged(path: Path) -> Settings:
    return Settings(data=_mapping(read_yaml(path / SETTINGS_FILE), path / SETTINGS_FILE), config_dir=path,
                    instance_path=Path("."))


def packaged_settings() -> Settings:
    """The packaged defaults alone (config/settings.yaml, or ``MEDMCI_CONFIG_DIR``'s): read once per folder."""
    return _packaged(default_config_dir())


def packaged_default(dotted: str, kind: Callable[[Any], Any] = lambda value: value) -> Callable[[], Any]:
    """A ``default_factory`` for a dataclass field that holds a setting: its packaged default, through ``kind``
    (``int``, ``float``, a timedelta maker), so the number is written in config/settings.yaml only."""
    return lambda: kind(packaged_settings().get(dotted))


@dataclass
class Settings:
    """The resolved settings of one node or hub."""

    data: dict
    config_dir: Path
    instance_path: Path

    @classmethod
    def load(cls, instance_path: str | os.PathLike, overrides: Mapping | None = None,
             environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        config_dir = default_config_dir()
        data = _mapping(read_yaml(config_dir / SETTINGS_FILE), config_dir / SETTINGS_FILE)
        instance_path = Path(instance_path)
        instance_file = instance_path / INSTANCE_FILE
        if instance_file.exists():
            data = deep_merge(data, rename_deprecated(_mapping(read_yaml(instance_file), instance_file),
                                                      str(instance_file)))
        data = deep_merge(data, rename_deprecated(env_overrides(environ), "environment"))
        if overrides:
            data = deep_merge(data, rename_deprecated(copy.deepcopy(dict(overrides)), "overrides"))
        return cls(data=data, config_dir=config_dir, instance_path=instance_path)

    def get(self, dotted: str, default: Any = None) -> Any:
        """The value of ``dotted`` (``harvest.timeout_s``); ``default`` when it is not set. The code passes no
        default of its own: config/settings.yaml gives every key it reads one (tests/test_settings_defaults.py).
        An old key of :data:`RENAMED` reads its new one."""
        dotted = RENAMED.get(dotted, dotted)
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def plugin_config(self, name: str) -> dict:
        """The ``plugins.<name>`` block: the configuration a plugin reads, empty when there is none."""
        block = self.get(f"plugins.{name}", {}) or {}
        if not isinstance(block, Mapping):
            raise ConfigurationError(f"settings: plugins.{name} must be a mapping")
        return dict(block)

    def config_path(self, relative: str) -> Path:
        """A path under the config folder (absolute paths are kept as they are)."""
        path = Path(relative)
        return path if path.is_absolute() else self.config_dir / path

    @property
    def database_url(self) -> str:
        url = self.get("database_url") or ""
        if url:
            return url
        self.instance_path.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.instance_path / 'medmci.sqlite3').resolve()}"
