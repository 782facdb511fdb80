"""Builds the plugin manager of one node or hub: never at import time, a fresh one per app."""

from __future__ import annotations

import importlib
import logging
import os
from importlib import metadata

import pluggy

from . import hookspecs
from .errors import ConfigurationError
from .settings import Settings

log = logging.getLogger(__name__)


def get_plugin_manager(settings: Settings) -> pluggy.PluginManager:
    """Specs, then every installed entry point of the group ``medmci`` (built-ins included), then the modules named
    in ``plugins.extra``; plugins named in ``plugins.disabled`` are blocked first."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in settings.get("plugins.disabled") or ():
        pm.set_blocked(name)
    _load_entry_points(pm)
    for module_name in settings.get("plugins.extra") or ():
        if pm.is_blocked(module_name) or pm.has_plugin(module_name):
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            log.error("plugin %r (plugins.extra) cannot be imported: %s", module_name, exc)
            raise ConfigurationError(f"plugin module {module_name!r} cannot be imported: {exc}") from exc
        pm.register(module, name=module_name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        log.error("plugin %r implements a hook this project does not have: %s", pm.get_name(exc.plugin) or exc.plugin,
                  exc)
        raise
    if os.environ.get("MEDMCI_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda message: log.warning("plugin trace: %s", message.rstrip()))
        pm.enable_tracing()
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """pluggy's ``load_setuptools_entrypoints``; a plugin that fails to load is logged at ERROR with its name and
    distribution before the error goes up (a node or hub does not start without its plugins)."""
    try:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    except Exception as exc:
        for ep in metadata.entry_points(group=hookspecs.PROJECT):
            if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
                continue
            try:
                ep.load()
            except Exception:  # noqa: BLE001 - only naming the culprit; the original error goes up
                log.error("plugin %r (entry point %s of %s) failed to load: %s: %s", ep.name, ep.value,
                          ep.dist.name if ep.dist else "?", type(exc).__name__, exc)
                break
        else:
            log.error("a plugin of the entry-point group %r failed to load: %s: %s", hookspecs.PROJECT,
                      type(exc).__name__, exc)
        raise


def describe_plugins(pm: pluggy.PluginManager) -> list[dict]:
    """Name, distribution, version and implemented hooks of every loaded plugin, sorted by name."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        dist = dists.get(id(plugin))
        out.append({
            "name": name,
            "module": getattr(plugin, "__name__", repr(plugin)),
            "distribution": dist.metadata["Name"] if dist else None,
            "version": dist.version if dist else None,
            "hooks": sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()),
        })
    return sorted(out, key=lambda p: p["name"])


def notify(pm: pluggy.PluginManager, hook_name: str, **kwargs) -> None:
    """Call a notification hook; a failing observer is logged and never fails the caller."""
    hook = getattr(pm.hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except Exception:  # observers are isolated from the work they observe
            log.exception("plugin %s failed in %s", impl.plugin_name, hook_name)
