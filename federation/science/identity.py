"""The same organisation seen twice: same-as links between knowledge entities, and one organisation per group.

A university may be a member of two clusters, run its own knowledge node and have a profile the hub hosts: four
entities, one organisation. Entities are never merged (each source says what it says); they are *linked*, and
counting goes through :func:`canonical`. What makes two entities the same, strongest first:

- ``ror``: the same ROR id (``https://ror.org/`` prefix and case ignored);
- ``national_id``: the same national identifier in the same country (spaces, dots, dashes and case ignored);
- ``website``: the same web address: the host without ``www.`` and the path, ignoring scheme, port, case, query
  and a trailing slash. The host is compared whole, not reduced to a registrable domain (no public-suffix list is
  installed, and a faculty's ``fafs.aub.edu.lb`` may well be another entity than ``aub.edu.lb``); the path counts,
  so two pages of one platform (``facebook.com/a``, ``facebook.com/b``) are two organisations;
- ``name_city``: the same normalised name and city in the same country (see :func:`normalise_name`). Common words
  ("university", "université", "جامعة") are kept: dropping them would make every "University of X" the same.

Two entities whose identifiers disagree (two different ROR ids; two national ids of one country) are never linked
by weaker evidence. Two entities of one origin (two members of one cluster, see
:attr:`federation.domain.KnowledgeEntity.origin`) are never linked: that publisher says they are two.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..domain import KnowledgeEntity

#: What can match, strongest first.
MATCHES = ("ror", "national_id", "website", "name_city")
#: Which source stands for a group of same-as entities, first preferred: the organisation's own node speaks for
#: it, then its hosted profile, then what a cluster says of it.
SOURCE_PREFERENCE = ("node", "hosted", "member")

_ROR_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?ror\.org/", re.IGNORECASE)
_ID_SEPARATORS = re.compile(r"[\s.\-/_]+")
_TATWEEL = "\u0640"  # Arabic elongation: typography, not spelling


@dataclass(frozen=True, slots=True)
class SameAs:
    """Entities ``a`` and ``b`` (keys, ``a < b``) are one organisation: ``matched`` says by what (of
    :data:`MATCHES`, strongest first), ``reason`` in words."""

    a: str
    b: str
    matched: tuple[str, ...]
    reason: str

    def as_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "matched": list(self.matched), "reason": self.reason}


def normalise_name(text: str | None) -> str:
    """A name or city as compared: NFKC, case-folded, accents and Arabic diacritics dropped, punctuation and
    symbols turned to spaces, spaces collapsed. "Université de Sfax" and "UNIVERSITE DE SFAX." are one name."""
    text = unicodedata.normalize("NFKC", text or "").casefold().replace(_TATWEEL, "")
    kept = []
    for char in unicodedata.normalize("NFKD", text):
        category = unicodedata.category(char)
        if category.startswith("M"):
            continue  # combining marks: accents, harakat, the hamza of أ
        kept.append(" " if category[0] in "PSZC" else char)
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def ror_key(entity: KnowledgeEntity) -> str | None:
    value = str(entity.identifiers.get("ror") or "").strip()
    return _ROR_PREFIX.sub("", value).lower() or None


def national_key(entity: KnowledgeEntity) -> str | None:
    """``TN:1234567A``: a national identifier means something within its country only."""
    value = _ID_SEPARATORS.sub("", str(entity.identifiers.get("national_id") or "")).casefold()
    return f"{entity.country}:{value}" if value else None


def website_key(url: str | None) -> str | None:
    """``aub.edu.lb`` for ``https://www.AUB.edu.lb/``; ``facebook.com/agrolab`` for ``facebook.com/agrolab/``."""
    url = (url or "").strip()
    if not url:
        return None
    parts = urlsplit(url if "//" in url else f"//{url}")
    try:
        host = (parts.hostname or "").rstrip(".")
    except ValueError:  # an unreadable address matches nothing
        return None
    host = host.removeprefix("www.")
    if not host:
        return None
    return host + parts.path.rstrip("/").lower()


def name_city_key(entity: KnowledgeEntity) -> str | None:
    name, city = normalise_name(entity.name), normalise_name(entity.city)
    return f"{entity.country}|{name}|{city}" if name and city else None


def _keys(entity: KnowledgeEntity) -> dict[str, str]:
    found = {"ror": ror_key(entity), "national_id": national_key(entity), "website": website_key(entity.website),
             "name_city": name_city_key(entity)}
    return {match: value for match, value in found.items() if value}


def _conflict(a: dict[str, str], b: dict[str, str], match: str) -> bool:
    """Whether an identifier stronger than ``match`` disagrees between the two."""
    stronger = MATCHES[:MATCHES.index(match)]
    return any(m in a and m in b and a[m] != b[m] for m in stronger)


def _words(match: str, value: str, entity: KnowledgeEntity) -> str:
    if match == "ror":
        return f"same ROR id {value}"
    if match == "national_id":
        return f"same national id in {entity.country} ({value.split(':', 1)[1]})"
    if match == "website":
        return f"same website {value}"
    return f"same name and city in {entity.country} ({entity.name}, {entity.city})"


def same_as_links(entities: Iterable[KnowledgeEntity]) -> list[SameAs]:
    """Links enough to join every group of same-as entities (not every pair: a group of *n* needs *n* - 1),
    each with everything its two entities share. Deterministic: sorted by keys."""
    ordered = sorted({e.key: e for e in entities}.values(), key=lambda e: e.key)
    keys = {e.key: _keys(e) for e in ordered}
    buckets: dict[tuple[str, str], list[KnowledgeEntity]] = {}
    for entity in ordered:
        for match, value in keys[entity.key].items():
            buckets.setdefault((match, value), []).append(entity)
    pairs: dict[tuple[str, str], None] = {}
    for (match, _value), bucket in buckets.items():
        firsts: dict[str, KnowledgeEntity] = {}  # the first entity of each origin in the bucket
        for entity in bucket:
            target = next((other for origin, other in firsts.items() if origin != entity.origin
                           and not _conflict(keys[other.key], keys[entity.key], match)), None)
            if target is not None:
                pairs[(target.key, entity.key)] = None
            firsts.setdefault(entity.origin, entity)
    by_key = {e.key: e for e in ordered}
    links = []
    for a, b in pairs:
        ka, kb = keys[a], keys[b]
        matched = tuple(m for m in MATCHES if m in ka and ka[m] == kb.get(m) and not _conflict(ka, kb, m))
        reason = "; ".join(_words(m, ka[m], by_key[a]) for m in matched)
        links.append(SameAs(a, b, matched, reason))
    return sorted(links, key=lambda link: (link.a, link.b))


def canonical(entities: Iterable[KnowledgeEntity], links: Iterable[SameAs]) -> dict[str, str]:
    """Each entity's key -> the key that stands for its organisation (the same for every entity of a group joined
    by ``links``, directly or through others): the group's knowledge node, else hosted profile, else member, the
    smallest key among equals. Links naming an entity not given are ignored."""
    by_key = {e.key: e for e in entities}
    parent = {key: key for key in by_key}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]  # path halving keeps the trees flat
            key = parent[key]
        return key

    for link in links:
        if link.a in parent and link.b in parent:
            parent[root(link.a)] = root(link.b)
    groups: dict[str, list[str]] = {}
    for key in by_key:
        groups.setdefault(root(key), []).append(key)
    out: dict[str, str] = {}
    for members in groups.values():
        chosen = min(members, key=lambda k: (_preference(by_key[k].source), k))
        out.update(dict.fromkeys(members, chosen))
    return out


def _preference(source: str) -> int:
    return SOURCE_PREFERENCE.index(source) if source in SOURCE_PREFERENCE else len(SOURCE_PREFERENCE)


def organisations(mapping: dict[str, str], keys: Sequence[str] | None = None) -> set[str]:
    """The organisations (canonical keys) of ``keys`` (every key of ``mapping`` by default); a key the mapping does
    not know is its own organisation."""
    return {mapping.get(key, key) for key in (mapping if keys is None else keys)}
