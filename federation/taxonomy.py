"""Classifications of economic activity (and other code lists), as provided by taxonomy plugins.

A :class:`Taxonomy` is a scheme (``nace-rev2``), its codes with parents and multilingual labels, and optional
crosswalks to other schemes. The :class:`TaxonomyIndex` puts all loaded taxonomies together: it validates codes and
normalises any code to the *pivot* scheme (a setting), so that a member tagged in ISIC Rev. 4 and one tagged in
NACE Rev. 2 are classified the same way.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import ConfigurationError


@dataclass(frozen=True)
class Code:
    code: str
    level: int
    parent: str | None
    labels: Mapping[str, str]


@dataclass
class Taxonomy:
    """One code list.

    :param scheme: stable identifier used in documents (``nace-rev2``).
    :param names: the taxonomy's name by language tag.
    :param codes: every code, by code.
    :param crosswalks: ``{other_scheme: {code: (codes in other_scheme, ...)}}``; one direction is enough, the index
        derives the reverse.
    :param activity: whether members may tag activities with it (an ecosystem list is a taxonomy, but not one of
        activities).
    """

    scheme: str
    names: Mapping[str, str]
    codes: dict[str, Code]
    crosswalks: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    activity: bool = True
    source: str = ""

    def __contains__(self, code: str) -> bool:
        return code in self.codes

    def ancestors(self, code: str) -> tuple[str, ...]:
        """The code and every code above it, nearest first."""
        chain = []
        current: str | None = code
        while current is not None:
            chain.append(current)
            current = self.codes[current].parent
        return tuple(chain)

    def label(self, code: str, lang: str = "en") -> str:
        labels = self.codes[code].labels
        return labels.get(lang) or labels.get("en") or next(iter(labels.values()), code)

    @classmethod
    def from_csv(cls, path: Path, scheme: str, names: Mapping[str, str], label_columns: Mapping[str, str],
                 crosswalk_column: tuple[str, str] | None = None, source: str = "",
                 activity: bool = True, crosswalk_columns: Mapping[str, str] | None = None) -> Taxonomy:
        """Read a ``code,level,parent,label_*`` file (every column as text: leading zeros matter).

        ``crosswalk_columns`` (``{other_scheme: column}``, or the single pair ``crosswalk_column``) name the
        columns holding each code's equivalents in another scheme; a cell may hold several, separated by ``;``,
        ``|`` or spaces. The format is described in full in the ``medmci_register_taxonomies`` hook's docs."""
        columns = dict(crosswalk_columns or {})
        if crosswalk_column:
            columns[crosswalk_column[0]] = crosswalk_column[1]
        codes: dict[str, Code] = {}
        crosswalks: dict[str, dict[str, tuple[str, ...]]] = {other: {} for other in columns}
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                code = row["code"]
                labels = {lang: row[col] for lang, col in label_columns.items() if row.get(col)}
                codes[code] = Code(code, int(row.get("level") or 1), row.get("parent") or None, labels)
                for other, column in columns.items():
                    if equivalents := split_equivalents(row.get(column)):
                        crosswalks[other][code] = equivalents
        return cls(scheme=scheme, names=names, codes=codes, crosswalks=crosswalks, source=source,
                   activity=activity)


def split_equivalents(cell: str | None) -> tuple[str, ...]:
    """The codes of one crosswalk cell: ``"10.91;10.92"``, ``"10.91 | 10.92"`` or ``"10.91 10.92"``."""
    return tuple(dict.fromkeys(part for part in re.split(r"[;|\s]+", cell or "") if part))


class TaxonomyIndex:
    """All loaded taxonomies, with code validation and normalisation to the pivot scheme."""

    def __init__(self, taxonomies: Iterable[Taxonomy], pivot: str):
        self.by_scheme: dict[str, Taxonomy] = {}
        for taxonomy in taxonomies:
            if taxonomy.scheme in self.by_scheme:
                raise ConfigurationError(f"two plugins provide the taxonomy {taxonomy.scheme!r}")
            self.by_scheme[taxonomy.scheme] = taxonomy
        if pivot not in self.by_scheme:
            raise ConfigurationError(
                f"pivot scheme {pivot!r} is not provided by any loaded taxonomy plugin "
                f"(loaded: {', '.join(sorted(self.by_scheme)) or 'none'})")
        self.pivot = pivot
        self._to_pivot = self._pivot_crosswalks()
        # Normalisation is pure and called for every member activity: cache it per index.
        self.normalise = lru_cache(maxsize=None)(self._normalise)
        self._children: dict[str, list[str]] = {}
        for code in self.by_scheme[pivot].codes.values():
            if code.parent is not None:
                self._children.setdefault(code.parent, []).append(code.code)
        self.classes = lru_cache(maxsize=None)(self._classes)
        # So is ``coverage``, called for every member, rule and stage: (scheme, code, prefixes) -> answer. Bounded by
        # the codes in use times the prefix sets of the configured stages and rules.
        self._under: dict[tuple[str, str, frozenset[str]], tuple] = {}
        self._known: set[tuple[str, str]] = set()  # (scheme, code) pairs check() found known

    @property
    def activity_schemes(self) -> list[str]:
        return sorted(s for s, t in self.by_scheme.items() if t.activity)

    def _pivot_crosswalks(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """For each scheme, code -> pivot codes: crosswalks declared either way round."""
        maps: dict[str, dict[str, list[str]]] = {}
        pivot_tax = self.by_scheme[self.pivot]
        for other, table in pivot_tax.crosswalks.items():
            reverse = maps.setdefault(other, {})
            for pivot_code, others in table.items():
                for code in others:
                    reverse.setdefault(code, []).append(pivot_code)
        for scheme, taxonomy in self.by_scheme.items():
            if self.pivot in taxonomy.crosswalks:
                direct = maps.setdefault(scheme, {})
                for code, pivots in taxonomy.crosswalks[self.pivot].items():
                    direct.setdefault(code, []).extend(pivots)
        return {scheme: {code: tuple(dict.fromkeys(p)) for code, p in table.items()}
                for scheme, table in maps.items()}

    def check(self, scheme: str, code: str) -> str | None:
        """``None`` when the code is known; otherwise the reason it is not."""
        if (scheme, code) in self._known:
            return None
        reason = self._check(scheme, code)
        if reason is None:
            self._known.add((scheme, code))  # only known codes: bounded by the taxonomies
        return reason

    def _check(self, scheme: str, code: str) -> str | None:
        taxonomy = self.by_scheme.get(scheme)
        if taxonomy is None or not taxonomy.activity:
            return (f"unknown scheme {scheme!r} (known: {', '.join(self.activity_schemes)})")
        if code not in taxonomy:
            return f"unknown {scheme} code {code!r}"
        return None

    def _normalise(self, scheme: str, code: str) -> frozenset[str]:
        """The pivot codes a code stands for: itself in the pivot scheme, its concordance otherwise."""
        if scheme == self.pivot:
            return frozenset((code,))
        return frozenset(self._to_pivot.get(scheme, {}).get(code, ()))

    def _classes(self, scheme: str, code: str) -> tuple[str, ...]:
        """The finest pivot codes a code stands for, sorted: its pivot equivalents, each down to the codes under it
        that have no children (a NACE class for itself, a NACE group for its classes, an ISIC class for the NACE
        classes the concordance maps it to). Matching asks about every one of them (see :meth:`coverage`), so a
        coarse code is never classified more precisely than it says."""
        found: set[str] = set()
        pending = list(self.normalise(scheme, code))
        while pending:
            current = pending.pop()
            children = self._children.get(current)
            if children:
                pending.extend(children)
            else:
                found.add(current)
        return tuple(sorted(found))  # sorted: the same reasons in every process

    def coverage(self, scheme: str, code: str, prefixes: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(covered, missing)``: the pivot classes of ``code`` (see :meth:`classes`) that fall under one of
        ``prefixes``, and those that do not."""
        return self._coverage_of(scheme, code, prefixes)[1:]

    def under(self, scheme: str, code: str, prefixes: frozenset[str]) -> str | None:
        """The pivot prefix that contains the (first) pivot class of ``code`` when every class of it falls under
        one of ``prefixes``; ``None`` when any does not."""
        return self._coverage_of(scheme, code, prefixes)[0]

    def _coverage_of(self, scheme: str, code: str, prefixes: frozenset[str]):
        key = (scheme, code, prefixes)
        try:
            return self._under[key]
        except KeyError:
            pass
        except TypeError:  # prefixes given as a set: not kept
            return self._find_coverage(scheme, code, prefixes)
        found = self._under[key] = self._find_coverage(scheme, code, prefixes)
        return found

    def _find_coverage(self, scheme: str, code: str, prefixes: frozenset[str]):
        pivot_tax = self.by_scheme[self.pivot]
        covered: list[str] = []
        missing: list[str] = []
        first = None
        for pivot_class in self.classes(scheme, code):
            hit = next((a for a in pivot_tax.ancestors(pivot_class) if a in prefixes), None)
            (missing if hit is None else covered).append(pivot_class)
            first = first or hit
        return (first if covered and not missing else None), tuple(covered), tuple(missing)

    def pivot_prefixes(self, codes: Mapping[str, Iterable[str]], where: str) -> frozenset[str]:
        """Turn ``{scheme: [prefix, ...]}`` of a config file into pivot prefixes, refusing unknown codes."""
        out: set[str] = set()
        for scheme, prefixes in (codes or {}).items():
            for given in prefixes or ():
                prefix = str(given)
                if reason := self.check(scheme, prefix):
                    raise ConfigurationError(f"{where}: {reason}")
                equivalents = self.normalise(scheme, prefix)
                if not equivalents:
                    raise ConfigurationError(f"{where}: {scheme} code {prefix!r} has no {self.pivot} equivalent")
                out |= equivalents
        return frozenset(out)
