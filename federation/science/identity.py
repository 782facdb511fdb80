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

Two entities whose identifiers disagree (two different ROR ids; two national ids of one country) are never in one
group, whatever else they share, nor through a third entity like both. Two entities of one origin (two members of
one cluster, see :attr:`federation.domain.KnowledgeEntity.origin`) are never linked directly: that publisher says
they are two (a third entity like both, such as the university's own node, still joins them: then they are two
units of one organisation, counted once).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..domain import KnowledgeEntity

log = logging.getLogger(__name__)

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
    symbols turned to spaces, spaces collapsed, dotted acronyms joined. "Université de Sfax" and "UNIVERSITE DE
    SFAX." are one name, and so are "I.N.R.A.T." and "INRAT"."""
    text = unicodedata.normalize("NFKC", text or "").casefold().replace(_TATWEEL, "")
    kept = []
    for char in unicodedata.normalize("NFKD", text):
        category = unicodedata.category(char)
        if category.startswith("M"):
            continue  # combining marks: accents, harakat, the hamza of أ
        kept.append(" " if category[0] in "PSZC" else char)
    return " ".join(_acronyms_joined(unicodedata.normalize("NFC", "".join(kept)).split()))


def _acronyms_joined(words: list[str]) -> list[str]:
    """``I.N.R.A.T.`` became ``i n r a t``: runs of two or more one-letter words are one word again (``inrat``), so
    an acronym with dots is the acronym without; a lone letter (``d`` of ``d'Alger``) stays."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1:
            run.append(word)
            continue
        out.extend(["".join(run)] if len(run) > 1 else run)
        run = []
        if word:
            out.append(word)
    return out


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
    try:
        parts = urlsplit(url if "//" in url else f"//{url}")
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


#: The identifiers a group may hold one of only: two ROR ids (or two national ids of one country) are two
#: organisations, whatever else they share.
IDENTIFIERS = ("ror", "national_id")


class _Groups:
    """Union-find over entity keys that refuses a union joining two different identifiers of one kind."""

    def __init__(self, keys: dict[str, dict[str, str]]):
        self.parent = {key: key for key in keys}
        # root -> the identifiers of its group ({"ror": {...}, "national_id": {"TN:...": ...}})
        self.ids = {key: {kind: {found[kind]} if kind in found else set() for kind in IDENTIFIERS}
                    for key, found in keys.items()}

    def root(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]  # path halving keeps the trees flat
            key = self.parent[key]
        return key

    def join(self, a: str, b: str) -> bool:
        """Join the groups of ``a`` and ``b`` unless they are one already or their identifiers disagree."""
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return False
        ids_a, ids_b = self.ids[ra], self.ids[rb]
        if ids_a["ror"] and ids_b["ror"] and ids_a["ror"] != ids_b["ror"]:
            return False  # the common refusal, decided without building the merged sets
        merged = {kind: ids_a[kind] | ids_b[kind] for kind in IDENTIFIERS}
        national_countries = [value.split(":", 1)[0] for value in merged["national_id"]]
        if len(merged["ror"]) > 1 or len(national_countries) != len(set(national_countries)):
            return False
        self.parent[ra] = rb
        self.ids[rb] = merged
        return True


def _words(match: str, value: str, entity: KnowledgeEntity) -> str:
    if match == "ror":
        return f"same ROR id {value}"
    if match == "national_id":
        return f"same national id in {entity.country} ({value.split(':', 1)[1]})"
    if match == "website":
        return f"same website {value}"
    return f"same name and city in {entity.country} ({entity.name}, {entity.city})"


def same_as_links(entities: Iterable[KnowledgeEntity], max_shared: int | None = None) -> list[SameAs]:
    """Links enough to join every group of same-as entities (not every pair: a group of *n* needs *n* - 1),
    each with everything its two entities share. Matches are tried strongest first, and a link that would put two
    ROR ids, or two national ids of one country, in one group is not made. Deterministic: sorted by keys.

    A value (website, name and city, identifier) shared by more than ``max_shared`` entities identifies no one
    organisation (a platform's address, a name every cluster lists): it links none of them, and is logged. Every
    pair of a value's entities is a join attempt, so this bounds the work: without it, two clusters listing
    thousands of members with one website and a ROR id each (no join ever succeeds) cost minutes per read."""
    ordered = sorted({e.key: e for e in entities}.values(), key=lambda e: e.key)
    keys = {e.key: _keys(e) for e in ordered}
    buckets: dict[tuple[str, str], dict[str, list[KnowledgeEntity]]] = {}  # (match, value) -> origin -> entities
    for entity in ordered:
        for match, value in keys[entity.key].items():
            buckets.setdefault((match, value), {}).setdefault(entity.origin, []).append(entity)
    groups = _Groups(keys)
    pairs: list[tuple[str, str]] = []
    for (match, value), by_origin in sorted(buckets.items(), key=lambda item: (MATCHES.index(item[0][0]),
                                                                                  item[0][1])):
        if len(by_origin) < 2:
            continue  # one publisher's entities only: never linked
        shared = sum(len(mine) for mine in by_origin.values())
        if max_shared is not None and shared > max_shared:
            log.warning("same-as: %s %r is shared by %d entities, more than %d: not used to link them", match,
                        value[:200], shared, max_shared)
            continue
        for origin, mine in by_origin.items():
            for entity in mine:
                for other_origin, others in by_origin.items():
                    if other_origin == origin:
                        continue
                    for other in others:
                        if groups.join(entity.key, other.key):
                            pairs.append((min(entity.key, other.key), max(entity.key, other.key)))
    by_key = {e.key: e for e in ordered}
    links = []
    for a, b in pairs:
        ka, kb = keys[a], keys[b]
        matched = tuple(m for m in MATCHES if m in ka and ka[m] == kb.get(m))
        links.append(SameAs(a, b, matched, "; ".join(_words(m, ka[m], by_key[a]) for m in matched)))
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
