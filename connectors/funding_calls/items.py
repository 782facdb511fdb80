"""One call of the file (a CSV row or a JSON object) as a :class:`federation.FundingCall`, with every error of it
collected (field by field, not only the first): each message names the value as the file wrote it and why."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import pycountry
from marshmallow import ValidationError as SchemaError
from marshmallow import validate

from connectors.member_import.ids import identity_key
from federation.domain import MEMBER_KINDS
from federation.eligibility import CountryLists, FundingCall
from federation.taxonomy import TaxonomyIndex
from federation.text import text_problem

from .fields import LIST_FIELDS, REQUIRED, field_of, unknown_field

#: Longest text of each one-line field (programme, title, budget, a keyword).
TEXT_LIMITS = {"programme": 200, "title": 300, "budget": 100, "keywords": 100, "link": 500}
#: Items one list field may hold (countries, kinds, topics ...).
MAX_ITEMS = 300
#: Largest minimum a call may set (partners, countries).
MAX_MINIMUM = 100
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_CODE = re.compile(r"^(?P<scheme>[a-z0-9][a-z0-9-]*):(?P<code>\S+)$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_HTTPS = validate.URL(schemes={"https"}, require_tld=True)
_KIND_SPACES = re.compile(r"[\s\-]+")


def derived_id(programme: str, title: str) -> str:
    """``call-`` and 12 hex digits of the programme's and title's normalised text: the same call imported again
    without an id updates the one already imported."""
    key = identity_key(programme) + "\x1f" + identity_key(title)
    return "call-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


class CallReader:
    """Raw values by field name -> ``(call or None, errors)``; ``errors`` is ``{field: [message, ...]}``."""

    def __init__(self, lists: CountryLists, taxonomies: TaxonomyIndex):
        self.lists = lists
        self.taxonomies = taxonomies

    def read(self, raw: Mapping[str, Any]) -> tuple[FundingCall | None, dict[str, list[str]]]:
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        for name, value in raw.items():
            field = field_of(name)
            if field is None:
                errors.setdefault(name[:64], []).append(unknown_field(name))
            elif field in values:
                errors.setdefault(field, []).append(f"given twice ({name[:64]!r} is another name of {field})")
            else:
                values[field] = value
        for field in REQUIRED:
            if _blank(values.get(field)):
                errors.setdefault(field, []).append("required")
        text = {field: self._text(values.get(field), field, errors) for field in ("programme", "title", "budget")}
        link = self._link(values.get("link"), errors)
        deadline = self._date(values.get("deadline"), "deadline", errors)
        opens = self._date(values.get("opens"), "opens", errors)
        if deadline and opens and opens > deadline:
            errors.setdefault("opens", []).append(f"{opens.isoformat()} is after the deadline {deadline.isoformat()}")
        lists = {field: self._items(values.get(field), field, errors) for field in LIST_FIELDS}
        countries, named = self._countries(lists["countries"], errors)
        kinds = frozenset(self._kind(k, "kinds", errors) for k in lists["kinds"]) - {""}
        required_kinds = tuple(tuple(self._kind(k, "required_kinds", errors) for k in item.split("|"))
                               for item in lists["required_kinds"])
        regions = tuple(self._region(r, errors) for r in lists["required_regions"])
        topics, codes, keywords = self._topics(lists["topics"], errors)
        keywords += tuple(self._keyword(k, errors) for k in lists["keywords"])
        languages = tuple(self._language(lang, errors) for lang in lists["languages"])
        minimums = {field: self._minimum(values.get(field), field, errors) for field in ("min_partners",
                                                                                         "min_countries")}
        call_id = self._id(values.get("id"), errors)
        if errors:
            return None, errors
        assert deadline is not None and link is not None  # (required: an error otherwise)  # noqa: S101
        return FundingCall(
            id=call_id or derived_id(text["programme"] or "", text["title"] or ""), programme=text["programme"] or "",
            title=text["title"] or "", deadline=deadline, link=link, opens=opens, countries=countries,
            country_lists=named, kinds=kinds, min_partners=minimums["min_partners"],
            min_countries=minimums["min_countries"], required_kinds=required_kinds, required_regions=regions,
            topics=topics, topic_codes=codes, keywords=keywords, budget=text["budget"], languages=languages), {}

    # ------------------------------------------------------------------------------------------------ values

    def _text(self, value: Any, field: str, errors: dict) -> str | None:
        if field == "budget" and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = f"{value:g}"
        if _blank(value):
            return None
        if not isinstance(value, str):
            errors.setdefault(field, []).append(f"{_shown(value)}: expected a text")
            return None
        value = " ".join(value.split())
        problem = text_problem(value)
        limit = TEXT_LIMITS[field]
        if problem:
            errors.setdefault(field, []).append(problem)
        elif len(value) > limit:
            errors.setdefault(field, []).append(f"{len(value)} characters, over the limit of {limit}")
        return value

    def _link(self, value: Any, errors: dict) -> str | None:
        text = self._text(value, "link", errors)
        if text is None:
            return None
        try:
            _HTTPS(text)
        except SchemaError:
            errors.setdefault("link", []).append(f"{_shown(text)}: not an https:// URL")
            return None
        return text

    def _date(self, value: Any, field: str, errors: dict) -> date | None:
        if _blank(value):
            return None
        text = value.strip() if isinstance(value, str) else value
        try:
            if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            errors.setdefault(field, []).append(f"{_shown(value)}: not an ISO date (YYYY-MM-DD, e.g. 2027-03-31)")
            return None

    def _items(self, value: Any, field: str, errors: dict) -> list[str]:
        """A list field's items: a text split at ``;`` (or a JSON list of texts), each stripped, blanks dropped."""
        if _blank(value):
            return []
        if isinstance(value, str):
            items: list[Any] = value.split(";")
        elif isinstance(value, list):
            items = [" | ".join(v) if field == "required_kinds" and isinstance(v, list) else v for v in value]
        else:
            errors.setdefault(field, []).append(f"{_shown(value)}: expected a list, or a text with ';' between items")
            return []
        out = []
        for item in items:
            if not isinstance(item, str):
                errors.setdefault(field, []).append(f"{_shown(item)}: expected a text")
                continue
            text = " ".join(item.split())
            if problem := text_problem(text):
                errors.setdefault(field, []).append(problem)
            elif text:
                out.append(text)
        if len(out) > MAX_ITEMS:
            errors.setdefault(field, []).append(f"{len(out)} items, over the limit of {MAX_ITEMS}")
            return []
        return out

    def _countries(self, items: list[str], errors: dict) -> tuple[frozenset[str], tuple[str, ...]]:
        countries: set[str] = set()
        named: list[str] = []
        for item in items:
            if item.casefold() in self.lists:
                named.append(item.casefold())
                countries |= self.lists[item.casefold()].countries
            elif (code := _country(item)) is not None:
                countries.add(code)
            else:
                errors.setdefault("countries", []).append(
                    f"{_shown(item)}: neither an ISO 3166-1 alpha-2 country code nor a country list (lists: "
                    f"{', '.join(self.lists)}; setting funding.country_lists)")
        return frozenset(countries), tuple(dict.fromkeys(named))

    def _region(self, item: str, errors: dict) -> str:
        if item.casefold() in self.lists:
            return item.casefold()
        code = _country(item)
        if code is None:
            errors.setdefault("required_regions", []).append(
                f"{_shown(item)}: neither a country list ({', '.join(self.lists)}; setting funding.country_lists) "
                "nor an ISO 3166-1 alpha-2 country code")
            return item
        return code

    def _kind(self, item: str, field: str, errors: dict) -> str:
        kind = _KIND_SPACES.sub("_", item.strip().casefold())
        if kind not in MEMBER_KINDS:
            errors.setdefault(field, []).append(f"{_shown(item)}: not a member kind (one of {', '.join(MEMBER_KINDS)})")
        return kind

    def _topics(self, items: list[str], errors: dict) -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]:
        """Codes (``scheme:code``, any loaded activity scheme, as their finest pivot classes) and keywords (the
        other items)."""
        classes: set[str] = set()
        codes: list[str] = []
        keywords: list[str] = []
        for item in items:
            match = _CODE.match(item)
            if match is None:
                keywords.append(self._keyword(item, errors, "topics"))
                continue
            scheme, code = match["scheme"], match["code"]
            if reason := self.taxonomies.check(scheme, code):
                errors.setdefault("topics", []).append(f"{_shown(item)}: {reason}")
                continue
            classes |= set(self.taxonomies.classes(scheme, code))
            codes.append(f"{scheme}:{code}")
        return frozenset(classes), tuple(codes), tuple(keywords)

    def _keyword(self, item: str, errors: dict, field: str = "keywords") -> str:
        if len(item) > TEXT_LIMITS["keywords"]:
            errors.setdefault(field, []).append(f"{_shown(item)}: a keyword of at most {TEXT_LIMITS['keywords']} "
                                                "characters")
        return item

    def _language(self, item: str, errors: dict) -> str:
        code = item.casefold()
        if not _LANGUAGE.match(code) or pycountry.languages.get(alpha_2=code) is None:
            errors.setdefault("languages", []).append(f"{_shown(item)}: not an ISO 639-1 language code (en, fr, ar)")
        return code

    def _minimum(self, value: Any, field: str, errors: dict) -> int:
        if _blank(value):
            return 0
        number = value
        if isinstance(value, str) and value.strip().isdigit():
            number = int(value.strip())
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= MAX_MINIMUM:
            errors.setdefault(field, []).append(f"{_shown(value)}: a whole number from 0 to {MAX_MINIMUM}")
            return 0
        return number

    def _id(self, value: Any, errors: dict) -> str | None:
        if _blank(value):
            return None
        if not isinstance(value, str) or not _ID.match(value.strip()):
            errors.setdefault("id", []).append(f"{_shown(value)}: letters, digits and . _ : - (at most 64, a letter "
                                               "or digit first)")
            return None
        return value.strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _country(item: str) -> str | None:
    code = item.strip().upper()
    if len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None:
        return code
    return None


def _shown(value: Any) -> str:
    """A value as a message quotes it: at most 80 characters of it."""
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= 80 else text[:80] + "...")
