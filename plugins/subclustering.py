"""Sub-clustering rules from YAML files (``config/subclusters/<value-chain>.yaml``; see config/README.md).

Each file rule becomes two rules of the same name: one on activity codes (priorities 100, 110, 120... in file
order) and one on keywords (1100, 1110, ...). So a member's codes decide first, across every rule, and keywords only
place members whose codes matched no rule; a third-party rule can slot in anywhere between.

The same reading serves rule sets that are not installed (hook ``medmci_read_subcluster_rules``): a file the hub
team compares with the installed rules. Only ``*.yaml`` directly in the folder are installed, so alternatives kept
in a sub-folder (``subclusters/alternatives/``) never are."""

from __future__ import annotations

from collections.abc import Mapping

from federation import CodeKeywordRule, ConfigurationError, TaxonomyIndex, hookimpl
from federation.settings import read_yaml

NAME = "subclustering"
CODE_PRIORITY = 100
KEYWORD_PRIORITY = 1100


@hookimpl
def medmci_register_subcluster_rules(settings, taxonomies, value_chains):
    folder = settings.config_path(settings.plugin_config(NAME)["path"])
    if not folder.is_dir():
        return []
    rules = []
    for path in sorted(folder.glob("*.yaml")):
        rules += read_rules(read_yaml(path), path.name, taxonomies)
    return rules


@hookimpl
def medmci_read_subcluster_rules(document, source, taxonomies):
    if not isinstance(document, Mapping) or not {"value_chain", "rules"} & set(document):
        return None  # not this plugin's format
    return read_rules(document, source, taxonomies)


def read_rules(doc: object, source: str, taxonomies: TaxonomyIndex) -> list[CodeKeywordRule]:
    """The rules of one sub-clustering document; :class:`ConfigurationError` naming ``source`` and the field."""
    if not isinstance(doc, Mapping) or not doc.get("value_chain") or not isinstance(doc.get("rules"), list):
        raise ConfigurationError(f"{source}: needs value_chain and a list of rules")
    chain = doc["value_chain"]
    if not isinstance(chain, str):
        raise ConfigurationError(f"{source}: value_chain must be a value chain's id (text)")
    rules = []
    names_seen = set()
    for position, raw in enumerate(doc["rules"]):
        where = f"{source}: rules[{position}]"
        name = raw.get("name") if isinstance(raw, Mapping) else None
        if not isinstance(name, str) or not name or name in names_seen or name == "other":
            raise ConfigurationError(f"{where}.name: rule #{position + 1} needs a unique name other than 'other'")
        names_seen.add(name)
        where = f"{where} ({name})"
        codes = raw.get("codes") or {}
        if not isinstance(codes, Mapping) or not all(isinstance(v, list) for v in codes.values()):
            raise ConfigurationError(f"{where}.codes: must map a scheme to a list of codes")
        prefixes = taxonomies.pivot_prefixes(codes, f"{where}.codes")
        keywords = raw.get("keywords") or []
        if not isinstance(keywords, list) or not all(isinstance(k, (str, int)) and str(k).strip() for k in keywords):
            raise ConfigurationError(f"{where}.keywords: must be a list of words (none empty)")
        keywords = [str(k) for k in keywords]
        if not prefixes and not keywords:
            raise ConfigurationError(f"{where}: rule {name!r} has neither codes nor keywords")
        names = raw.get("names") or {"en": name}
        if not isinstance(names, Mapping) or not all(isinstance(v, str) for v in names.values()):
            raise ConfigurationError(f"{where}.names: must map a language to a name")
        if prefixes:
            rules.append(CodeKeywordRule(chain, name, names, prefixes, (), CODE_PRIORITY + 10 * position,
                                         source=source))
        if keywords:
            rules.append(CodeKeywordRule(chain, name, names, frozenset(), keywords,
                                         KEYWORD_PRIORITY + 10 * position, source=source))
    return rules
