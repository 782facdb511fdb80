"""The sub-clustering rule sets a comparison may apply: the installed ones, by name, and rule sets that are not
installed (a file, a request's document, a saved alternative), read by the hook ``medmci_read_subcluster_rules``
and checked as installed rules are, but never handed to formation.

Names: ``installed`` (every installed rule of the chain, as formation applies them); a plugin's name (only the
installed rules that plugin provides for the chain); the name of a saved alternative (``<name>.yaml`` in the
folder ``subclusters.alternatives_path``). A file or a request's document is bounded by
``subclusters.max_rule_set_bytes`` and ``subclusters.max_rules``, checked before it is read further.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadRequest, ConfigurationError, FederationError, NotFound, PluginError
from ..plugin_checks import SubclusterRuleCheck
from ..plugin_manager import plugin_error
from ..registry import Registry
from ..rules import SubclusterRule
from ..settings import parse_yaml

INSTALLED = "installed"
HOOK = "medmci_read_subcluster_rules"
#: A saved alternative's name: a file name without folders (a name from a request never reaches another folder).
ALTERNATIVE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class RuleSet:
    """Sub-clustering rules of one value chain, ordered as formation tries them (priority, then given order)."""

    name: str  # as the comparison names it: installed, a plugin's name, an alternative's name, a file's name
    source: str  # where it comes from, in words
    rules: tuple[SubclusterRule, ...]

    @property
    def sub_clusters(self) -> list[str]:
        """The sub-clusters it defines, in the order of their first rule."""
        return list(dict.fromkeys(rule.name for rule in self.rules))

    @property
    def names(self) -> dict[str, dict]:
        """Each sub-cluster's names by language (of its first rule)."""
        out: dict[str, dict] = {}
        for rule in self.rules:
            out.setdefault(rule.name, dict(rule.names))
        return out


def ordered(rules) -> tuple[SubclusterRule, ...]:
    return tuple(sorted(rules, key=lambda r: r.priority))  # stable, as Registry.build orders installed rules


class RuleSets:
    """Finds and reads rule sets for one hub (its registry, with the plugins' hooks, and its settings)."""

    def __init__(self, registry: Registry):
        self.registry = registry
        settings = registry.settings
        self.max_bytes = int(settings.get("subclusters.max_rule_set_bytes"))
        self.max_rules = int(settings.get("subclusters.max_rules"))
        self.alternatives = settings.config_path(settings.get("subclusters.alternatives_path"))

    def named(self, chain_id: str, name: str) -> RuleSet:
        """``installed``, a plugin's installed rules, or a saved alternative; :class:`NotFound` naming what
        exists."""
        installed = self.registry.subcluster_rules.get(chain_id, [])
        if name == INSTALLED:
            return RuleSet(INSTALLED, "the installed rules", tuple(installed))
        by_plugin = [r for r in installed if (o := self.registry.origins.get(id(r))) is not None and o.plugin == name]
        if by_plugin:
            return RuleSet(name, f"the installed rules of plugin {name}", tuple(by_plugin))
        path = self.alternatives / f"{name}.yaml"
        if ALTERNATIVE_NAME.fullmatch(name) and path.is_file():  # named by its file name: no folder of the hub shown
            return self.from_file(chain_id, path, name, f"saved alternative {path.name}")
        raise NotFound(f"no sub-clustering rule set {name!r} for {chain_id}: known are "
                       f"{', '.join(self.known(chain_id))} (or give a rule file)")

    def known(self, chain_id: str) -> list[str]:
        """The names :meth:`named` accepts for ``chain_id``'s installed rules, and the saved alternatives."""
        plugins = {o.plugin for r in self.registry.subcluster_rules.get(chain_id, [])
                   if (o := self.registry.origins.get(id(r))) is not None}
        saved = sorted(p.stem for p in self.alternatives.glob("*.yaml")) if self.alternatives.is_dir() else []
        return [INSTALLED, *sorted(plugins), *saved]

    def resolve(self, chain_id: str, spec: str) -> RuleSet:
        """A name or a path (the CLI's ``--rules``): a path when it names a YAML file or has a folder in it."""
        if spec.endswith((".yaml", ".yml", ".json")) or "/" in spec or "\\" in spec:
            return self.from_file(chain_id, Path(spec), Path(spec).name)
        return self.named(chain_id, spec)

    def from_file(self, chain_id: str, path: Path, name: str, source: str | None = None) -> RuleSet:
        """A rule file read without installing it; :class:`BadRequest` naming the file (``source``, else its path)
        and the field."""
        source = source or str(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise BadRequest(f"{source}: cannot read the rule file ({exc.strerror or exc})") from exc
        if size > self.max_bytes:
            raise BadRequest(f"{source}: {size} bytes, over subclusters.max_rule_set_bytes ({self.max_bytes})")
        try:
            with open(path, "rb") as fh:
                text = fh.read(self.max_bytes + 1).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadRequest(f"{source}: cannot read the rule file as UTF-8 text ({exc})") from exc
        return self.from_text(chain_id, text, source, name)

    def from_text(self, chain_id: str, text: str, source: str, name: str) -> RuleSet:
        if len(text.encode("utf-8")) > self.max_bytes:
            raise BadRequest(f"{source}: over subclusters.max_rule_set_bytes ({self.max_bytes} bytes)")
        try:
            document = parse_yaml(text, source)
        except ConfigurationError as exc:
            raise BadRequest(exc.message) from exc
        return self.from_document(chain_id, document, source, name)

    def from_document(self, chain_id: str, document: object, source: str, name: str) -> RuleSet:
        """A parsed rule set (a request's JSON, a file's YAML), read by the first plugin that knows its format and
        checked as installed rules are. Bad document: :class:`BadRequest` naming ``source`` and the field."""
        listed = document.get("rules") if isinstance(document, Mapping) else None
        if isinstance(listed, list) and len(listed) > self.max_rules:
            raise BadRequest(f"{source}: rules: {len(listed)} rules, over subclusters.max_rules ({self.max_rules})")
        plugin, rules = self._read(document, source)
        if not rules:
            raise BadRequest(f"{source}: rules: the rule set defines no rule")
        chains = sorted({str(getattr(rule, "value_chain", "")) for rule in rules})
        if chains != [chain_id]:  # the document's fault (before the checks that blame the plugin)
            raise BadRequest(f"{source}: value_chain: the rules are for {', '.join(chains)}, not {chain_id}")
        check = SubclusterRuleCheck(self.registry.taxonomies, self.registry.value_chains)
        for rule in rules:
            if (reason := check(rule)) is not None:
                raise plugin_error(self.registry.pm, plugin, HOOK, reason)
        if len({rule.name for rule in rules}) > self.max_rules:
            raise BadRequest(f"{source}: rules: over subclusters.max_rules ({self.max_rules})")
        return RuleSet(name, source, ordered(rules))

    def _read(self, document: object, source: str) -> tuple[str, list[SubclusterRule]]:
        """The first plugin's answer (pluggy's order, one by one so a failure names its plugin)."""
        arguments = {"document": document, "source": source, "settings": self.registry.settings,
                     "taxonomies": self.registry.taxonomies, "value_chains": self.registry.value_chains}
        pm = self.registry.pm
        for impl in reversed(getattr(pm.hook, HOOK).get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                raise plugin_error(pm, impl.plugin_name, HOOK, "this hook takes no wrappers: return a list or None")
            try:
                result = impl.function(*(arguments[name] for name in impl.argnames))
            except PluginError:
                raise
            except ConfigurationError as exc:  # the document's fault, as the plugin says
                raise BadRequest(exc.message, exc.errors) from exc
            except FederationError:
                raise
            except Exception as exc:
                raise plugin_error(pm, impl.plugin_name, HOOK, f"raised {type(exc).__name__}: {exc}") from exc
            if result is None:
                continue
            if not isinstance(result, (list, tuple)):
                raise plugin_error(pm, impl.plugin_name, HOOK, f"returned {type(result).__name__}, not a list")
            return impl.plugin_name, list(result)
        raise BadRequest(f"{source}: no plugin reads this rule set: expected the shape of a sub-clustering file "
                         f"(value_chain, and a list of rules with name, names, codes, keywords)")
