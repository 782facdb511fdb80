"""Value chains defined by YAML files (``config/value_chains/*.yaml`` by default; see config/README.md)."""

from __future__ import annotations

from pathlib import Path

from federation import RESEARCH_FIELDS_SCHEME, STAGE_KINDS, ConfigurationError, Stage, ValueChain, hookimpl
from federation.settings import read_yaml

NAME = "value_chains"


def load_value_chain(path: Path, taxonomies, ecosystem_scheme: str) -> ValueChain:
    doc = read_yaml(path)
    where = str(path.name)
    if not isinstance(doc, dict) or not doc.get("id") or not doc.get("stages"):
        raise ConfigurationError(f"{where}: a value chain needs an id and a list of stages")
    stages = []
    for position, raw in enumerate(doc["stages"]):
        if not isinstance(raw, dict) or not raw.get("id"):
            raise ConfigurationError(f"{where}: stage #{position + 1} needs an id")
        kind = raw.get("kind", "core")
        if kind not in STAGE_KINDS:
            raise ConfigurationError(f"{where}: stage {raw['id']!r}: kind must be one of {STAGE_KINDS}")
        prefixes = taxonomies.pivot_prefixes(raw.get("codes") or {}, f"{where}: stage {raw['id']!r}")
        fields = stage_fields(raw.get("fields"), taxonomies, f"{where}: stage {raw['id']!r}")
        stages.append(Stage(id=str(raw["id"]), names=raw.get("names") or {"en": raw["id"]}, kind=kind,
                            prefixes=prefixes, fields=fields))
    if len({s.id for s in stages}) != len(stages):
        raise ConfigurationError(f"{where}: stage ids must be unique")
    ecosystem = doc.get("ecosystem")
    ecosystems = taxonomies.by_scheme.get(ecosystem_scheme)
    if ecosystem and ecosystems is not None and ecosystem not in ecosystems:
        raise ConfigurationError(f"{where}: unknown {ecosystem_scheme} code {ecosystem!r}")
    return ValueChain(id=str(doc["id"]), names=doc.get("names") or {"en": doc["id"]}, stages=tuple(stages),
                      ecosystem=ecosystem, description=doc.get("description") or {}, source=where)


def stage_fields(raw: object, taxonomies, where: str) -> frozenset[str]:
    """A stage's ``fields:``, the research fields (FORD codes) that support it; checked against the FORD taxonomy
    when it is loaded (without it the codes are kept unchecked, and the registry warns). Codes must be quoted: YAML
    reads an unquoted 2.10 as the number 2.1, another field."""
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise ConfigurationError(f"{where}: fields must be a list of {RESEARCH_FIELDS_SCHEME} codes, such as "
                                 f'["4.1", "4.2"]')
    not_text = [repr(code) for code in raw if not isinstance(code, str)]
    if not_text:
        raise ConfigurationError(f"{where}: fields {', '.join(not_text)} must be quoted strings (\"2.10\", not 2.10, "
                                 f"which YAML reads as the number 2.1)")
    ford = taxonomies.by_scheme.get(RESEARCH_FIELDS_SCHEME)
    if ford is not None:
        unknown = [code for code in raw if code not in ford]
        if unknown:
            raise ConfigurationError(f"{where}: unknown {RESEARCH_FIELDS_SCHEME} code(s) "
                                     f"{', '.join(repr(c) for c in unknown)}")
    return frozenset(raw)


@hookimpl
def medmci_register_value_chains(settings, taxonomies):
    config = settings.plugin_config(NAME)
    folder = settings.config_path(config["path"])
    if not folder.is_dir():
        raise ConfigurationError(f"value chain folder {folder} does not exist")
    scheme = config["ecosystem_scheme"]
    return [load_value_chain(path, taxonomies, scheme) for path in sorted(folder.glob("*.yaml"))]
