"""Activity codes in a cell, and the code a mistyped one most likely means.

A cell holds ``scheme:code`` tokens separated by ``;`` or spaces. A token without a scheme takes the cluster's
default scheme (setting ``node.import.default_scheme``) when it has one; without one it is refused, with the codes
of every scheme it could be. Codes are never rewritten silently: a code a taxonomy does not have is refused, with a
suggestion when one is clear.

How a suggestion is found, the same way for every activity taxonomy loaded (no scheme's format is written here):
each code is indexed by its *compact* form, its letters and digits only (``10.71`` -> ``1071``), without a leading
section letter (``C10.71`` -> ``1071``, NACE's way of writing a class with its section) and, for all-digit codes,
without leading zeros (a spreadsheet that took ``0111`` for a number wrote ``111``). A token's candidates are the
codes with its compact form; the candidates written most like the token win (the same separators in the same
places, ``10,71`` -> ``10.71``, beat the compact form alone), so ``1071`` gives ``isic-rev4:1071`` first and
``nace-rev2:10.71`` too. Research domains (FORD codes, no activity list) are suggested the same way among FORD's
codes alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from federation.profile.field_types import RESEARCH_DOMAIN_SCHEME

_TOKENS = re.compile(r"[;\s]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_SEPARATORS = re.compile(r"[,\-/_ ]")


def split_codes(cell: str) -> list[tuple[str, str]]:
    """``nace-rev2:10.41;isic-rev4:1104`` (or space-separated) -> ``[(scheme, code)]``, scheme ``""`` when the
    token has none."""
    out = []
    for token in _TOKENS.split(cell.strip()):
        if token:
            scheme, sep, code = token.partition(":")
            out.append((scheme.strip().lower(), code.strip()) if sep else ("", token))
    return out


def compact(code: str) -> str:
    """Letters and digits of a code, upper case, without a leading section letter before digits, and without
    leading zeros when all digits."""
    text = _NOT_ALNUM.sub("", code).upper()
    if len(text) > 1 and text[0].isalpha() and text[1:].isdigit():
        text = text[1:]
    if text.isdigit():
        text = text.lstrip("0") or "0"
    return text


def _shape(code: str) -> str:
    """A code with the separators people type instead of a dot made dots, and no section letter."""
    text = _SEPARATORS.sub(".", code.strip()).upper()
    if len(text) > 1 and text[0].isalpha() and (text[1].isdigit() or text[1] == "."):
        text = text[1:].lstrip(".")
    return text


@dataclass(frozen=True)
class Candidate:
    scheme: str
    code: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.code}"


class CodeSuggester:
    """Candidates for a token, over the activity taxonomies of a :class:`federation.taxonomy.TaxonomyIndex`."""

    def __init__(self, taxonomies):
        self.taxonomies = taxonomies
        self.schemes = tuple(taxonomies.activity_schemes)
        # Research domains (FORD) are indexed too, for a domain's own suggestions, never offered for an activity.
        self._indexed = (*self.schemes, *((RESEARCH_DOMAIN_SCHEME,) if RESEARCH_DOMAIN_SCHEME in taxonomies.by_scheme
                                          and RESEARCH_DOMAIN_SCHEME not in self.schemes else ()))
        self._index: dict[str, list[Candidate]] = {}
        for scheme in self._indexed:
            for code in taxonomies.by_scheme[scheme].codes:
                self._index.setdefault(compact(code), []).append(Candidate(scheme, code))

    def known(self, scheme: str, code: str) -> bool:
        return self.taxonomies.check(scheme, code) is None

    def candidates(self, code: str, schemes: Iterable[str] | None = None) -> list[tuple[int, Candidate]]:
        """``(tier, candidate)`` for the codes ``code`` may mean, best first: tier 0 the exact spelling, 1 the same
        shape (``10,71`` for ``10.71``), 2 the same compact form only."""
        allowed = set(self.schemes if schemes is None else schemes)
        shape = _shape(code)
        ranked = []
        for candidate in self._index.get(compact(code), ()):
            if candidate.scheme in allowed:
                tier = 0 if candidate.code == code.strip() else 1 if candidate.code.upper() == shape else 2
                ranked.append((tier, candidate))
        return sorted(ranked, key=lambda item: (item[0], item[1].scheme, item[1].code))

    def suggest(self, scheme: str, code: str) -> str | None:
        """A suggestion for an unknown or scheme-less code: ``"nace-rev2:10.71"`` when the scheme is given and one
        of its codes is clearly meant, ``"isic-rev4:1071 or nace-rev2:10.71"`` when several schemes have a
        candidate; ``None`` when nothing is close. A research domain (``ford``) is looked for among FORD codes
        only: ``4,1`` gives ``ford:4.1``."""
        if scheme in self._indexed:
            ranked = self.candidates(code, [scheme])
            if ranked:
                best = ranked[0][0]
                return " or ".join(str(c) for tier, c in ranked if tier == best)
            if scheme not in self.schemes:
                return None  # no activity code is meant for a research domain
        ranked = self.candidates(code)  # no scheme, an unknown one, or the right code under another scheme
        return " or ".join(str(c) for _tier, c in ranked[:4]) or None
