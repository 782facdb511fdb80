"""What plugins provide, checked when it is loaded: each check returns the reason an item is refused (``None``: it
is accepted), and :func:`federation.plugin_calls.collect` turns the reason into an error naming the plugin.

Refused (the node or hub does not start): a taxonomy whose crosswalk names codes its own scheme or the target
scheme lacks; a value chain with an unknown stage kind, stage prefixes that are not codes of the pivot scheme, stage
fields that are not FORD codes (when the FORD list is loaded), or an ecosystem code the ecosystem list lacks; a rule
for a value chain nobody provides, or whose prefixes are not pivot codes. Warned about (refusing would stop a running
federation for something harmless): a crosswalk to a scheme no loaded plugin provides, an ecosystem or stage fields
that cannot be checked because their list is not loaded, a name in
``plugins.disabled`` that matches no installed plugin (see :mod:`federation.plugin_manager`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from .domain import RESEARCH_FIELDS_SCHEME, STAGE_KINDS, Stage, ValueChain
from .taxonomy import Taxonomy, TaxonomyIndex

#: How many offending codes a message quotes.
QUOTED = 5

#: Longest value-chain id the hub stores (its meta-cluster rows' key column).
MAX_CHAIN_ID = 64


def _quoted(codes: Iterable[str]) -> str:
    codes = sorted(set(codes))
    shown = ", ".join(repr(c) for c in codes[:QUOTED])
    return shown + (f" and {len(codes) - QUOTED} more" if len(codes) > QUOTED else "")


def check_taxonomy_shape(item: object) -> str | None:
    if not isinstance(item, Taxonomy):
        return f"not a federation.Taxonomy but {type(item).__name__}"
    if not isinstance(item.scheme, str) or not item.scheme:
        return "a taxonomy needs a scheme (a non-empty string)"
    missing_parents = [c.code for c in item.codes.values() if c.parent is not None and c.parent not in item.codes]
    if missing_parents:
        return f"taxonomy {item.scheme!r}: codes whose parent is not in the list: {_quoted(missing_parents)}"
    for other, table in item.crosswalks.items():
        unknown = [code for code in table if code not in item.codes]
        if unknown:
            return f"taxonomy {item.scheme!r}: the crosswalk to {other} names codes it lacks: {_quoted(unknown)}"
    return None


def check_crosswalk_targets(taxonomy: Taxonomy, by_scheme: Mapping[str, Taxonomy],
                            warnings: list[str]) -> str | None:
    """Every code a crosswalk points to must be in the target scheme; a target scheme nobody loaded is a warning
    (the crosswalk is unused: harmless unless the scheme's name is misspelt)."""
    for other, table in taxonomy.crosswalks.items():
        target = by_scheme.get(other)
        if target is None:
            close = difflib.get_close_matches(other, list(by_scheme), n=1)
            warnings.append(f"taxonomy {taxonomy.scheme!r} has a crosswalk to {other!r}, which no loaded plugin "
                            "provides: it is not used" + (f" (did you mean {close[0]!r}?)" if close else ""))
            continue
        unknown = [code for codes in table.values() for code in codes if code not in target.codes]
        if unknown:
            return (f"taxonomy {taxonomy.scheme!r}: its crosswalk points to {other} codes that {other} does not "
                    f"have: {_quoted(unknown)}")
    return None


class ValueChainCheck:
    """Checks one value chain against the loaded taxonomies (a callable for ``collect``'s ``accept``)."""

    def __init__(self, taxonomies: TaxonomyIndex, ecosystem_scheme: str | None, warnings: list[str]):
        self.taxonomies = taxonomies
        self.ecosystem_scheme = ecosystem_scheme
        self.warnings = warnings

    def __call__(self, chain: object) -> str | None:
        if not isinstance(chain, ValueChain):
            return f"not a federation.ValueChain but {type(chain).__name__}"
        if not isinstance(chain.id, str) or not chain.id or len(chain.id) > MAX_CHAIN_ID:
            return f"a value chain id is a non-empty string of at most {MAX_CHAIN_ID} characters"
        if not chain.stages:
            return f"value chain {chain.id!r} has no stage"
        ids = [getattr(stage, "id", None) for stage in chain.stages]
        if len(set(ids)) != len(ids):
            return f"value chain {chain.id!r}: stage ids must be unique"
        for stage in chain.stages:
            if reason := self._stage(stage) or self._fields(chain, stage):
                return f"value chain {chain.id!r}: {reason}"
        return self._ecosystem(chain)

    def _stage(self, stage: object) -> str | None:
        if not isinstance(stage, Stage):
            return f"a stage is a federation.Stage, not {type(stage).__name__}"
        if stage.kind not in STAGE_KINDS:
            return f"stage {stage.id!r}: unknown kind {stage.kind!r} (the kinds are {', '.join(STAGE_KINDS)})"
        return prefixes_reason(self.taxonomies, stage.prefixes, f"stage {stage.id!r}")

    def _fields(self, chain: ValueChain, stage: Stage) -> str | None:
        """A stage's research fields: a set of FORD codes; unchecked (with a warning) when FORD is not loaded."""
        if isinstance(stage.fields, (str, bytes)) or not isinstance(stage.fields, Iterable) \
                or not all(isinstance(code, str) for code in stage.fields):
            return f"stage {stage.id!r}: fields must be a set of {RESEARCH_FIELDS_SCHEME} codes (strings)"
        if not stage.fields:
            return None
        ford = self.taxonomies.by_scheme.get(RESEARCH_FIELDS_SCHEME)
        if ford is None:
            warning = (f"value chain {chain.id!r}: its stages' fields are not checked: no loaded plugin provides "
                       f"the {RESEARCH_FIELDS_SCHEME!r} list")
            if warning not in self.warnings:  # once per chain, not once per stage
                self.warnings.append(warning)
            return None
        unknown = [code for code in stage.fields if code not in ford]
        if unknown:
            return f"stage {stage.id!r}: fields {_quoted(unknown)} are not {RESEARCH_FIELDS_SCHEME} codes"
        return None

    def _ecosystem(self, chain: ValueChain) -> str | None:
        if chain.ecosystem is None:
            return None
        ecosystems = self.taxonomies.by_scheme.get(self.ecosystem_scheme or "")
        if ecosystems is None:
            self.warnings.append(f"value chain {chain.id!r}: its ecosystem {chain.ecosystem!r} is not checked: the "
                                 f"ecosystem list {self.ecosystem_scheme!r} (setting ecosystem_scheme) is not loaded")
            return None
        if chain.ecosystem not in ecosystems:
            close = difflib.get_close_matches(str(chain.ecosystem), list(ecosystems.codes), n=1)
            return (f"unknown {self.ecosystem_scheme} ecosystem {chain.ecosystem!r}"
                    + (f" (did you mean {close[0]!r}?)" if close else ""))
        return None


def prefixes_reason(taxonomies: TaxonomyIndex, prefixes: object, where: str) -> str | None:
    """Prefixes must be codes of the pivot scheme (what ``taxonomies.pivot_prefixes`` returns)."""
    if isinstance(prefixes, (str, bytes)) or not isinstance(prefixes, Iterable):
        return (f"{where}: prefixes must be a set of {taxonomies.pivot} codes (from taxonomies.pivot_prefixes), "
                f"not {type(prefixes).__name__}")
    pivot = taxonomies.by_scheme[taxonomies.pivot]
    unknown = [str(p) for p in prefixes if p not in pivot]
    if unknown:
        return (f"{where}: prefixes {_quoted(unknown)} are not {taxonomies.pivot} codes: normalise them with "
                "taxonomies.pivot_prefixes({scheme: [codes]}, where)")
    return None


def check_formation_rule(rule: object) -> str | None:
    missing = [m for m in ("check_cluster", "check_metacluster") if not callable(getattr(rule, m, None))]
    if missing:
        return f"a formation rule needs the method(s) {', '.join(missing)} (subclass federation.FormationRule)"
    name = getattr(rule, "name", None)
    if not isinstance(name, str) or not name:
        return "a formation rule needs a name (a non-empty string): verdicts quote it"
    return None


class SubclusterRuleCheck:
    """Checks one sub-clustering rule against the loaded value chains and taxonomies."""

    def __init__(self, taxonomies: TaxonomyIndex, value_chains: Mapping[str, ValueChain]):
        self.taxonomies = taxonomies
        self.value_chains = value_chains

    def __call__(self, rule: object) -> str | None:
        if not callable(getattr(rule, "match", None)):
            return "a sub-clustering rule needs a match method (subclass federation.SubclusterRule)"
        name = getattr(rule, "name", None)
        if not isinstance(name, str) or not name or name == "other":
            return "a sub-clustering rule needs a name other than 'other' (the members no rule places)"
        if not isinstance(getattr(rule, "priority", None), (int, float)):
            return f"sub-cluster rule {name!r}: priority must be a number"
        chain = getattr(rule, "value_chain", None)
        if chain not in self.value_chains:
            return (f"sub-cluster rule {name!r} is for value chain {chain!r}, which no plugin provides "
                    f"(loaded: {', '.join(sorted(self.value_chains)) or 'none'})")
        prefixes = getattr(rule, "prefixes", None)  # (CodeKeywordRule's; a rule of its own may have none)
        if prefixes is not None:
            return prefixes_reason(self.taxonomies, prefixes, f"sub-cluster rule {name!r}")
        return None
