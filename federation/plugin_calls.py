"""Calling plugins so that every failure names its plugin: the registration hooks one implementation at a time, and
the rules plugins provide, whose errors during formation are traced back to the rule and its plugin."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pluggy

from .errors import PluginError
from .plugin_manager import plugin_error


@dataclass(frozen=True)
class Provided:
    """One item a plugin's registration hook returned, with who returned it."""

    plugin: str
    hook: str
    item: Any  # a Taxonomy, ValueChain or rule, once the hook's checks accepted it


def collect(pm: pluggy.PluginManager, hook_name: str, problems: list[PluginError] | None = None,
            accept: Callable[[object], str | None] | None = None, **kwargs) -> list[Provided]:
    """Call a registration hook implementation by implementation, in pluggy's order (last registered first), and
    flatten the lists they return.

    An implementation that raises, returns something other than a list (or ``None``), or returns an item
    ``accept`` refuses (it returns the reason) is a :class:`PluginError` naming the plugin and the hook: raised,
    or, when ``problems`` is a list, appended to it and that plugin's contribution left out."""
    out: list[Provided] = []
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        try:
            if impl.hookwrapper or impl.wrapper:
                raise _Refused("registration hooks take no wrappers: return your list instead")
            try:
                result = impl.function(*(kwargs[name] for name in impl.argnames))
            except Exception as exc:
                raise _Refused(f"raised {type(exc).__name__}: {exc}") from exc
            if result is None:
                continue
            if not isinstance(result, (list, tuple)):
                raise _Refused(f"returned {type(result).__name__}, not a list")
            for item in result:
                if accept is not None and (reason := accept(item)) is not None:
                    raise _Refused(reason)  # (the reason names the item: its chain, rule or scheme)
        except _Refused as refused:
            error = plugin_error(pm, impl.plugin_name, hook_name, str(refused))
            if problems is None:
                raise error from refused.__cause__
            problems.append(error)
            continue
        out.extend(Provided(impl.plugin_name, hook_name, item) for item in result)
    return out


class _Refused(Exception):
    """Why one implementation's answer is not used (turned into a PluginError with its plugin's name)."""


def rule_failure(exc: BaseException, rules: Iterable[object], origins: dict[int, Provided],
                 pm: pluggy.PluginManager, chain_id: str) -> PluginError | None:
    """The :class:`PluginError` of a rule that raised ``exc`` while value chain ``chain_id`` was formed: the
    outermost frame of the traceback that is a method of one of ``rules``; ``None`` when no rule is in it (then the
    error is the federation's own, and goes up as it is)."""
    by_id = {id(rule): rule for rule in rules}
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        owner = frame.f_locals.get("self")
        if owner is not None and id(owner) in by_id and by_id[id(owner)] is owner:
            origin = origins.get(id(owner))
            name = getattr(owner, "name", "") or type(owner).__name__
            cause = (f"rule {name!r} raised {type(exc).__name__}: {exc} in {frame.f_code.co_name} while forming "
                     f"value chain {chain_id!r}")
            if origin is None:
                return PluginError("?", None, "formation", cause)
            return plugin_error(pm, origin.plugin, origin.hook, cause)
        tb = tb.tb_next
    return None
