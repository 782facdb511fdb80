"""Sub-clustering rules from YAML files (``config/subclusters/<value-chain>.yaml``; see config/README.md).

Each file rule becomes two rules of the same name: one on activity codes (priorities 100, 110, 120... in file
order) and one on keywords (1100, 1110, ...). So a member's codes decide first, across every rule, and keywords only
place members whose codes matched no rule; a third-party rule can slot in anywhere between."""

from __future__ import annotations

from federation import CodeKeywordRule, ConfigurationError, hookimpl
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
        doc = read_yaml(path)
        if not isinstance(doc, dict) or not doc.get("value_chain") or not isinstance(doc.get("rules"), list):
            raise ConfigurationError(f"{path.name}: needs value_chain and a list of rules")
        chain = doc["value_chain"]
        names_seen = set()
        for position, raw in enumerate(doc["rules"]):
            name = raw.get("name") if isinstance(raw, dict) else None
            if not name or name in names_seen or name == "other":
                raise ConfigurationError(f"{path.name}: rule #{position + 1} needs a unique name other than 'other'")
            names_seen.add(name)
            prefixes = taxonomies.pivot_prefixes(raw.get("codes") or {}, f"{path.name}: rule {name!r}")
            keywords = [str(k) for k in raw.get("keywords") or ()]
            if not prefixes and not keywords:
                raise ConfigurationError(f"{path.name}: rule {name!r} has neither codes nor keywords")
            names = raw.get("names") or {"en": name}
            if prefixes:
                rules.append(CodeKeywordRule(chain, name, names, prefixes, (), CODE_PRIORITY + 10 * position,
                                             source=path.name))
            if keywords:
                rules.append(CodeKeywordRule(chain, name, names, frozenset(), keywords,
                                             KEYWORD_PRIORITY + 10 * position, source=path.name))
    return rules
