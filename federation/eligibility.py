"""Funding calls and who may apply: the plain objects eligibility rules read and the gaps they report.

No database and no Flask: the hub's service (``federation/hub/funding.py``) builds a :class:`Consortium` from a
meta-cluster or a pilot, the connector (``connectors/funding_calls/``) builds each :class:`FundingCall` from a file,
and the rules are plugins (hook ``medmci_eligibility_rules``; the built-ins are ``plugins/eligibility.py``).

A consortium is the pool a proposal could draw its partners from. Only its *eligible partners* count for a call:
those from the call's countries and of its kinds (:meth:`Consortium.eligible_for`), so "3 partners from 3 countries"
is asked of the partners who could really sign. A rule answers with :class:`Gap` objects: what is missing, in words
a hub team can act on ("needs a partner from an EU member state"), and what kind of partner would fill it (the
hub then names candidates of the federation that match).

Country lists (the ISO codes of a programme's area) are configuration, the setting ``funding.country_lists``:
:meth:`CountryLists.from_settings` reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from .errors import ConfigurationError

#: What the hub counts as a consortium's partners: the clusters themselves, their members, knowledge entities.
PARTNER_SOURCES = ("cluster", "member", "knowledge")
#: The kind a cluster organisation has when it is a partner of its own: clusters support their members.
CLUSTER_KIND = "support_organisation"
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LIST_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class CountryList:
    """A named list of countries (``interreg-next-med``) and how a gap names one of them ("a country of Interreg
    NEXT MED")."""

    name: str
    label: str
    countries: frozenset[str]


class CountryLists(Mapping[str, CountryList]):
    """The configured country lists by name (``funding.country_lists``)."""

    def __init__(self, lists: Iterable[CountryList] = ()):
        self._lists = {entry.name: entry for entry in lists}

    def __getitem__(self, name: str) -> CountryList:
        return self._lists[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)

    @classmethod
    def from_settings(cls, settings) -> CountryLists:
        """``funding.country_lists``: a list of ``{name, label, countries}``, where ``countries`` is a list of ISO
        3166-1 alpha-2 codes or the key of another setting that holds one (``regions.eu``). A wrong entry is a
        :class:`ConfigurationError` naming it."""
        entries = settings.get("funding.country_lists")
        if not isinstance(entries, list):
            raise ConfigurationError("settings: funding.country_lists must be a list of {name, label, countries}")
        lists: list[CountryList] = []
        for position, entry in enumerate(entries):
            where = f"settings: funding.country_lists[{position}]"
            if not isinstance(entry, dict) or set(entry) != {"name", "label", "countries"}:
                raise ConfigurationError(f"{where}: expected exactly name, label and countries")
            name, label, countries = entry["name"], entry["label"], entry["countries"]
            if not isinstance(name, str) or not _LIST_NAME.match(name):
                raise ConfigurationError(f"{where}: name {name!r}: lower-case letters, digits and '-'")
            if not isinstance(label, str) or not label.strip():
                raise ConfigurationError(f"{where} ({name}): label must be a text")
            if isinstance(countries, str):  # another setting's list, kept in one place (regions.eu)
                where, countries = f"{where} ({name}: {countries})", settings.get(countries)
            if not isinstance(countries, list) or not countries or not all(
                    isinstance(c, str) and _COUNTRY.match(c) for c in countries):
                raise ConfigurationError(f"{where}: countries must be a non-empty list of ISO 3166-1 alpha-2 codes")
            if name in {entry.name for entry in lists}:
                raise ConfigurationError(f"{where}: a second list named {name!r}")
            lists.append(CountryList(name, label.strip(), frozenset(countries)))
        return cls(lists)

    def label(self, region: str) -> str:
        """How a gap names a required region: a list's label, or the country itself for an ISO code."""
        entry = self._lists.get(region)
        return entry.label if entry is not None else region

    def countries(self, region: str) -> frozenset[str]:
        """The countries of a list name, or the one country of an ISO code."""
        entry = self._lists.get(region)
        return entry.countries if entry is not None else frozenset((region,))


@dataclass(frozen=True)
class FundingCall:
    """One call for proposals, as imported (``connectors/funding_calls/``).

    ``countries`` is every eligible country (the call's codes and the lists it names, expanded; empty: any
    country), ``country_lists`` the list names as the file gave them; ``kinds`` the eligible member kinds (empty:
    any). ``required_kinds`` holds one tuple per requirement, of kinds any one of which meets it ("a university or
    a research centre"); ``required_regions`` list names or ISO codes, one partner from each. ``topics`` are the
    call's codes in the pivot scheme (finest classes), ``topic_codes`` as the file wrote them."""

    id: str
    programme: str
    title: str
    deadline: date
    link: str
    opens: date | None = None
    countries: frozenset[str] = frozenset()
    country_lists: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset()
    min_partners: int = 0
    min_countries: int = 0
    required_kinds: tuple[tuple[str, ...], ...] = ()
    required_regions: tuple[str, ...] = ()
    topics: frozenset[str] = frozenset()
    topic_codes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    budget: str | None = None
    languages: tuple[str, ...] = ()

    def is_open(self, today: date) -> bool:
        """Applications still possible: the deadline is today or later (a call not open yet counts: it will be)."""
        return self.deadline >= today


@dataclass(frozen=True)
class Partner:
    """A possible partner of a proposal: a cluster, a member of one, or a knowledge entity.

    ``codes`` are its activity and offer codes in the pivot scheme (finest classes); ``words`` what its name,
    offers and keywords say, lower-cased, for keyword topics."""

    key: str
    name: str
    kind: str
    country: str
    source: str  # one of PARTNER_SOURCES
    codes: frozenset[str] = frozenset()
    words: str = ""
    audience: str = "public"


@dataclass(frozen=True)
class Consortium:
    """The partners a meta-cluster (or a pilot) could apply with, each organisation once."""

    id: str
    kind: str  # "metacluster" or "pilot"
    name: str
    value_chain: str
    partners: tuple[Partner, ...]

    def eligible_for(self, call: FundingCall) -> tuple[Partner, ...]:
        """The partners from the call's countries and of its kinds: the only ones its rules count."""
        return tuple(p for p in self.partners if (not call.countries or p.country in call.countries)
                     and (not call.kinds or p.kind in call.kinds))

    def countries(self, call: FundingCall) -> list[str]:
        return sorted({p.country for p in self.eligible_for(call)})


@dataclass(frozen=True)
class Gap:
    """What keeps a consortium from applying, and who would fill it.

    ``text`` says it ("needs a partner from an EU member state", "needs 3 countries, has 2: LB, MA"). A partner
    fills the gap when it is from one of ``countries`` (empty: any of the call's), of one of ``kinds`` (empty: any
    of the call's), works on one of ``codes`` (pivot codes) or says one of ``keywords`` (both empty: any) and, with
    ``new_country``, comes from a country the consortium's eligible partners lack. ``fillable`` is False when no
    partner can fill it (the deadline has passed)."""

    text: str
    countries: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    new_country: bool = False
    fillable: bool = True


class EligibilityRule:
    """One condition of a call, checked against a consortium (hook ``medmci_eligibility_rules``).

    Subclass it, give it a ``name`` and return the gaps from :meth:`check` (an empty list: the condition is met).
    A rule is asked about every call; a rule that does not apply to a call (the call sets no such condition)
    returns ``[]``."""

    name: str = ""

    def check(self, call: FundingCall, consortium: Consortium) -> list[Gap]:
        raise NotImplementedError


@dataclass(frozen=True)
class Verdict:
    """A call for one consortium: eligible when no rule found a gap."""

    call: FundingCall
    gaps: tuple[tuple[str, Gap], ...] = field(default_factory=tuple)  # (rule name, gap)

    @property
    def eligible(self) -> bool:
        return not self.gaps


def check_rule(rule: object) -> str | None:
    """Why a plugin's answer is not an eligibility rule, or ``None`` (the registration check)."""
    if not isinstance(rule, EligibilityRule):
        return f"returned {type(rule).__name__}, not an EligibilityRule"
    if not isinstance(rule.name, str) or not rule.name:
        return f"{type(rule).__name__} has no name"
    if type(rule).check is EligibilityRule.check:
        return f"{type(rule).__name__} ({rule.name}) has no check method"
    return None


def check_gaps(gaps: object, rule: EligibilityRule) -> Sequence[Gap]:
    """A rule's answer, or :class:`TypeError` saying what is wrong with it (the caller names the plugin)."""
    if not isinstance(gaps, (list, tuple)) or not all(isinstance(g, Gap) for g in gaps):
        raise TypeError(f"rule {rule.name!r} returned {type(gaps).__name__}, not a list of Gap")
    for gap in gaps:
        if not isinstance(gap.text, str) or not gap.text or len(gap.text) > 500:
            raise TypeError(f"rule {rule.name!r} returned a gap without a text of at most 500 characters")
    return gaps


#: How a gap names one partner of each member kind.
KIND_WORDS = {"sme": "an SME", "startup": "a startup", "large_company": "a large company",
              "university": "a university", "research_centre": "a research centre",
              "technology_centre": "a technology centre", "tto": "a technology-transfer office (TTO)",
              "support_organisation": "a support organisation", "investor": "an investor",
              "public_body": "a public body"}


def kind_words(kinds: Iterable[str]) -> str:
    """``("university", "research_centre")`` -> "a university or a research centre"."""
    return " or ".join(KIND_WORDS.get(kind, f"a {kind.replace('_', ' ')}") for kind in kinds)


def call_to_dict(call: FundingCall) -> dict:
    """A call as data (stored by the hub, served by its API): dates as ISO text, sets as sorted lists."""
    return {"id": call.id, "programme": call.programme, "title": call.title, "deadline": call.deadline.isoformat(),
            "opens": call.opens.isoformat() if call.opens else None, "countries": sorted(call.countries),
            "country_lists": list(call.country_lists), "kinds": sorted(call.kinds),
            "min_partners": call.min_partners, "min_countries": call.min_countries,
            "required_kinds": [list(kinds) for kinds in call.required_kinds],
            "required_regions": list(call.required_regions), "topics": sorted(call.topics),
            "topic_codes": list(call.topic_codes), "keywords": list(call.keywords), "link": call.link,
            "budget": call.budget, "languages": list(call.languages)}


def call_from_dict(data: Mapping) -> FundingCall:
    """The inverse of :func:`call_to_dict`."""
    return FundingCall(
        id=data["id"], programme=data["programme"], title=data["title"],
        deadline=date.fromisoformat(data["deadline"]), link=data["link"],
        opens=date.fromisoformat(data["opens"]) if data.get("opens") else None,
        countries=frozenset(data.get("countries") or ()), country_lists=tuple(data.get("country_lists") or ()),
        kinds=frozenset(data.get("kinds") or ()), min_partners=int(data.get("min_partners") or 0),
        min_countries=int(data.get("min_countries") or 0),
        required_kinds=tuple(tuple(kinds) for kinds in data.get("required_kinds") or ()),
        required_regions=tuple(data.get("required_regions") or ()), topics=frozenset(data.get("topics") or ()),
        topic_codes=tuple(data.get("topic_codes") or ()), keywords=tuple(data.get("keywords") or ()),
        budget=data.get("budget"), languages=tuple(data.get("languages") or ()))
