"""Builds the plugin manager of one node or hub: never at import time, a fresh one per app.

A plugin that cannot be used (it does not import, it implements a hook this project does not have, its hook
arguments do not fit the contract) is a :class:`~federation.errors.PluginError` naming the plugin, its distribution,
the hook and the cause. A node or hub refuses to start with one (``strict``); ``medmci plugins`` builds the manager
with ``strict=False`` to list the broken plugins beside the others.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import os
import re
from importlib import metadata

import pluggy

from . import hookspecs
from .errors import PluginError
from .settings import Settings

log = logging.getLogger(__name__)

#: The "hook" of an error that happened before any hook was called.
IMPORT = "import"


class FederationPluginManager(pluggy.PluginManager):
    """pluggy's manager, plus what the federation needs to name a culprit: each plugin's distribution, the plugins
    that could not be loaded, and the warnings of the load (names in ``plugins.disabled`` that match nothing)."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.distributions: dict[str, metadata.Distribution | None] = {}
        self.broken: list[PluginError] = []
        self.warnings: list[str] = []

    def error(self, name: str, hook: str, cause: str) -> PluginError:
        """A :class:`PluginError` for plugin ``name``, its distribution looked up."""
        dist = self.distributions.get(name)
        return PluginError(name, _dist_label(dist), hook, cause)


def get_plugin_manager(settings: Settings, strict: bool = True) -> FederationPluginManager:
    """Specs, then every installed entry point of the group ``medmci`` (built-ins included), then the modules named
    in ``plugins.extra``; plugins named in ``plugins.disabled`` are blocked first.

    ``strict`` (a node or hub): a plugin that cannot be loaded raises its :class:`PluginError` (all of them in its
    ``errors``). Otherwise the broken plugins are left out and listed in ``pm.broken``."""
    pm = FederationPluginManager()
    disabled = [str(name) for name in settings.get("plugins.disabled") or ()]
    extra = [str(name) for name in settings.get("plugins.extra") or ()]
    for name in disabled:
        pm.set_blocked(name)
    entry_points = list(metadata.entry_points(group=hookspecs.PROJECT))
    for ep in entry_points:
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
            continue
        pm.distributions[ep.name] = ep.dist
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001 - any import error of a plugin is reported with its name
            pm.broken.append(pm.error(ep.name, IMPORT, f"entry point {ep.value!r} cannot be imported: "
                                                       f"{type(exc).__name__}: {exc}"))
            continue
        _register(pm, plugin, ep.name)
    for module_name in extra:
        if pm.is_blocked(module_name) or pm.has_plugin(module_name):
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001 - as above
            pm.broken.append(pm.error(module_name, IMPORT, f"module {module_name!r} (plugins.extra) cannot be "
                                                           f"imported: {type(exc).__name__}: {exc}"))
            continue
        _register(pm, module, module_name)
    known = sorted({ep.name for ep in entry_points} | set(extra))
    for name in disabled:
        if name not in known:
            # A warning, not a refusal: a plugin disabled and then uninstalled leaves its name behind, and a hub
            # must not stop starting for that. A typo, though, leaves the plugin on: say so loudly.
            close = difflib.get_close_matches(name, known, n=1)
            pm.warnings.append(f"plugins.disabled names {name!r}, which matches no installed plugin"
                               + (f" (did you mean {close[0]!r}?)" if close else "")
                               + f"; installed: {', '.join(known) or 'none'}")
    if strict:  # (otherwise the caller, who asked for the lists, shows them)
        for warning in pm.warnings:
            log.warning("%s", warning)
        for error in pm.broken:
            log.error("%s", error.message)
    if strict and pm.broken:
        first = pm.broken[0]
        raise PluginError(first.plugin, first.distribution, first.hook, first.cause,
                          [e.as_dict() for e in pm.broken] if len(pm.broken) > 1 else None)
    if os.environ.get("MEDMCI_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda message: log.warning("plugin trace: %s", message.rstrip()))
        pm.enable_tracing()
    return pm


def _register(pm: FederationPluginManager, plugin: object, name: str) -> None:
    """Register one plugin; one whose hooks do not fit the contract is unregistered and listed as broken."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        found = re.search(r"for hook '(\w+)'", str(exc))
        pm.broken.append(pm.error(name, found.group(1) if found else IMPORT,
                                  f"its hook implementation does not fit the contract: {_one_line(str(exc))}"))
        return
    specs = sorted(n for n in dir(hookspecs) if n.startswith(f"{hookspecs.PROJECT}_"))
    for caller in pm.get_hookcallers(plugin) or ():
        if not caller.has_spec():
            close = difflib.get_close_matches(caller.name, specs, n=1)
            pm.unregister(plugin)
            pm.broken.append(pm.error(name, caller.name, "implements a hook this project does not have"
                                      + (f" (did you mean {close[0]!r}?)" if close else "")
                                      + f"; the hooks are: {', '.join(specs)}"))
            return


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _dist_label(dist: metadata.Distribution | None) -> str | None:
    if dist is None:
        return None
    return f"{dist.metadata['Name']} {dist.version}"


def plugin_error(pm: pluggy.PluginManager, name: str, hook: str, cause: str) -> PluginError:
    """A :class:`PluginError` for plugin ``name`` of any manager (a plain pluggy one knows no distributions)."""
    if isinstance(pm, FederationPluginManager):
        return pm.error(name, hook, cause)
    return PluginError(name, None, hook, cause)


def describe_plugins(pm: pluggy.PluginManager) -> list[dict]:
    """Name, distribution, version and implemented hooks of every loaded plugin, sorted by name."""
    dists = getattr(pm, "distributions", {})
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        dist: metadata.Distribution | None = dists.get(name)
        out.append({
            "name": name,
            "module": getattr(plugin, "__name__", repr(plugin)),
            "distribution": dist.metadata["Name"] if dist else None,
            "version": dist.version if dist else None,
            "hooks": sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()),
        })
    return sorted(out, key=lambda p: p["name"])


def notify(pm: pluggy.PluginManager, hook_name: str, **kwargs) -> None:
    """Call a notification hook; a failing observer is logged (naming it) and never fails the caller."""
    hook = getattr(pm.hook, hook_name)
    for impl in reversed(hook.get_hookimpls()):
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except Exception as exc:  # observers are isolated from the work they observe
            log.exception("%s", plugin_error(pm, impl.plugin_name, hook_name,
                                             f"raised {type(exc).__name__}: {exc}").message)
