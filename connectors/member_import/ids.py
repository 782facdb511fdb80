"""Stable ids for rows that have none, derived from the member's identity: its name and its city.

Both are normalised so that the same organisation written a little differently gets the same id:

1. Unicode NFKC (full-width and compatibility forms, ligatures, as their plain letters);
2. case folded (``Straße`` and ``STRASSE`` alike);
3. punctuation, symbols, spaces and controls (Unicode categories P*, S*, Z*, C*) removed, so ``Olive-Press,
   S.A.R.L.``, ``Olive Press SARL`` and ``olive  press   sarl`` are one name (collapsing spaces, then dropping
   them, so that where punctuation stood never splits a word differently).

Accents are kept (``Café`` is not ``Cafe``): they tell names apart in French and in transliterated Arabic. The id
is ``m-`` and the first 16 hex digits of SHA-256 over ``name``, a unit separator and ``city``: the same file
imported twice gives the same ids, so it changes nothing, and two id-less rows with the same name and city are one
member written twice (the import reports the duplicate).
"""

from __future__ import annotations

import hashlib
import unicodedata

_DROP = {"P", "S", "Z", "C"}  # punctuation, symbols, separators (spaces), controls


def identity_key(text: str | None) -> str:
    """The normalised form of a name or a city (see the module's docstring)."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(c for c in text if unicodedata.category(c)[0] not in _DROP)


def stable_id(name: str | None, city: str | None) -> str:
    """``m-`` + 16 hex digits, the same for the same normalised name and city."""
    key = identity_key(name) + "\x1f" + identity_key(city)
    return "m-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
