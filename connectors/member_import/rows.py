"""A row of the file as a member, with every error of the row collected (not only the first).

Two steps: :class:`RowParser` turns cells into a member dictionary of the node's member schema (lists split, codes
read, dates read, enumerations' case and spaces forgiven) and notes what it could not read; :class:`RowChecker`
validates the member against the schema and the taxonomies. Each error names the field, the value as the file
wrote it, the reason, and a suggestion when one is clear (codes: :mod:`.codes`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from marshmallow import Schema, validate
from marshmallow import ValidationError as SchemaError

from federation.profile.fastload import GiveUp, loader
from federation.profile.field_types import RESEARCH_DOMAIN_SCHEME, ROR_PATTERN
from federation.profile.reader import member_code_errors

from .codes import CodeSuggester, split_codes
from .dates import parse_date
from .headers import Header

CONTACT_COLUMNS = {"email": "email", "phone": "phone", "contact_person": "person"}
#: Columns of the member's ``identifiers`` (the same names there).
IDENTIFIER_COLUMNS = ("ror", "national_id")
LIST_SEPARATOR = ";"
ITEM_SEPARATOR = "|"
#: Columns whose values are one of a few words: compared without case, with spaces and hyphens as ``_``.
ENUM_COLUMNS = ("kind", "size", "status", "visibility", "contact_visibility")
_ITEM = re.compile(r"^(?P<text>.*?)\s*(?:\[(?P<codes>[^\[\]]*)\])?\s*$", re.S)
_ENUM_SPACES = re.compile(r"[\s\-]+")
#: A ROR id as ROR shows it, https://ror.org/05f0yaq80: the prefix is dropped.
_ROR_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?ror\.org/", re.I)
_ROR = re.compile(ROR_PATTERN)
_ROR_FORMAT = "a ROR id is 0, six letters or digits and two digits, e.g. 05f0yaq80 (or https://ror.org/05f0yaq80)"
_URL = validate.URL()  # the member schema's website check
#: Most distinct code cells a parser remembers split (a large import has a few thousand).
_SPLITS_REMEMBERED = 8192


def problem(field: str, value: Any, message: str, suggestion: str | None = None) -> dict:
    out = {"field": field, "value": value if isinstance(value, str) else str(value), "message": message}
    if suggestion:
        out["suggestion"] = suggestion
    return out


class RowParser:
    """Cells of a row -> ``(member, problems, errors)``; ``errors`` shaped like marshmallow's messages."""

    def __init__(self, header: Header, default_scheme: str | None, date_order: str, max_cell_chars: int,
                 suggester: CodeSuggester | None = None):
        self.header = header
        self.default_scheme = default_scheme
        self.date_order = date_order
        self.max_cell_chars = max_cell_chars
        self.suggester = suggester
        # Each named column with the function that reads its cells, chosen once (not per cell).
        self.columns = [(i, f, self._reader(f)) for i, f in enumerate(header.fields) if f is not None]
        self.unnamed = [i for i, f in enumerate(header.fields) if f is None]
        self._split: dict[str, list[tuple[str, str]]] = {}  # code cells repeat: each split once (read only)

    def is_blank(self, cells: Sequence) -> bool:
        return not any(c.strip() if isinstance(c, str) else c not in (None, "") for c in cells)

    def parse(self, cells: Sequence) -> tuple[dict, list[dict], dict]:
        member: dict = {}
        problems: list[dict] = []
        errors: dict = {}
        width = len(self.header.fields)
        if len(cells) > width:
            extra = [c for c in cells[width:] if (c.strip() if isinstance(c, str) else c not in (None, ""))]
            if extra:
                problems.append(problem("_row", extra[0], f"more cells than columns ({len(cells)} for {width})"))
                errors.setdefault("_row", []).append("more cells than columns")
        for index in self.unnamed:
            if index < len(cells) and str(cells[index]).strip():
                problems.append(problem("_row", cells[index], f"a value in column {index + 1}, which has no header"))
                errors.setdefault("_row", []).append(f"a value in column {index + 1}, which has no header")
        count, limit = len(cells), self.max_cell_chars
        for index, column, read in self.columns:
            if index >= count:
                continue  # a missing cell reads as an empty one
            raw = cells[index]
            if type(raw) is str:  # the usual cell (every CSV cell): no other type test
                text = raw.strip()
            elif isinstance(raw, date):
                read(member, column, raw, problems, errors)
                continue
            else:
                text = str(raw).strip()
            if not text:
                continue
            if len(text) > limit:
                message = (f"{len(text)} characters, more than the {limit} allowed "
                           f"(setting node.import.max_cell_chars)")
                problems.append(problem(column, text[:40] + "...", message))
                errors[column] = [message]
                continue
            read(member, column, text, problems, errors)
        if "contact" in member:
            # One visibility for the row's contact fields; without one they stay private (the safe default).
            level = member.pop("_contact_visibility", None) or "private"
            member["contact_visibility"] = dict.fromkeys(member["contact"], level)
        member.pop("_contact_visibility", None)
        return member, problems, errors

    def _reader(self, column: str) -> Callable[[dict, str, Any, list, dict], None]:
        """``read(member, column, value, problems, errors)`` for a column's non-empty cells."""
        if column == "last_active":
            return self._date
        if column == "activities":
            return self._activities
        if column == "research_domains":
            return _research_domains
        if column == "ror":
            return _ror
        if column == "national_id":
            return _identifier
        if column in ("offers", "needs"):
            return self._offers_or_needs
        if column == "export_markets":
            return _markets
        if column in CONTACT_COLUMNS:
            return _contact
        if column == "contact_visibility":
            return _contact_level
        if column in ENUM_COLUMNS:
            return _enum_cell
        return _text_cell

    def _date(self, member: dict, column: str, value: Any, problems: list, errors: dict) -> None:
        try:
            member[column] = parse_date(value, self.date_order).isoformat()
        except ValueError as exc:
            problems.append(problem(column, value, str(exc)))
            errors[column] = [str(exc)]

    def _activities(self, member: dict, column: str, value: Any, problems: list, errors: dict) -> None:
        member[column] = self._codes(_iso_text(value), column, None, problems, errors)

    def _offers_or_needs(self, member: dict, column: str, value: Any, problems: list, errors: dict) -> None:
        member[column] = self._items(_iso_text(value), column, problems, errors)

    def _codes(self, cell: str, column: str, item: int | None, problems: list, errors: dict) -> list[dict]:
        out: list[dict] = []
        tokens = self._split.get(cell)
        if tokens is None:
            tokens = split_codes(cell)
            if len(self._split) < _SPLITS_REMEMBERED:
                self._split[cell] = tokens
        for written_scheme, code in tokens:
            scheme = written_scheme
            if not scheme and self.default_scheme:
                scheme = self.default_scheme
            elif not scheme and self.suggester is not None:
                suggestion = self.suggester.suggest("", code)
                message = (f"the code {code!r} has no scheme: write it scheme:code"
                           + ("" if suggestion else f" (schemes: {', '.join(self.suggester.schemes)})"))
                problems.append(problem(column, code, message, suggestion))
                slot = errors.setdefault(column, {})
                if item is None:
                    slot[len(out)] = {"scheme": [message]}
                else:
                    slot.setdefault(item, {}).setdefault("codes", {})[len(out)] = {"scheme": [message]}
            out.append({"scheme": scheme, "code": code})
        return out

    def _items(self, cell: str, column: str, problems: list, errors: dict) -> list[dict]:
        out: list[dict] = []
        for part in cell.split(ITEM_SEPARATOR):
            raw = part.strip()
            if not raw:
                continue
            if "[" not in raw:  # no codes: the pattern would give the stripped text alone
                out.append({"text": raw})
                continue
            match = _ITEM.match(raw)
            if match is None:  # cannot happen: every part of the pattern is optional
                raise ValueError(f"unreadable item {raw!r}")
            item: dict = {"text": match.group("text").strip()}
            if match.group("codes"):
                item["codes"] = self._codes(match.group("codes"), column, len(out), problems, errors)
            out.append(item)
        return out


def _enum(value: str) -> str:
    return _ENUM_SPACES.sub("_", value.strip()).casefold()


# The readers of the columns that need nothing of the parser. A date cell of a workbook outside the date column
# reads as its ISO text.

def _markets(member: dict, column: str, value: Any, _problems: list, _errors: dict) -> None:
    member[column] = [c.strip().upper() for c in _iso_text(value).split(LIST_SEPARATOR) if c.strip()]


def _research_domains(member: dict, column: str, value: Any, problems: list, errors: dict) -> None:
    """FORD codes, ``4.1;2.9`` or ``ford:4.1``, separated like activities; the checker says which exist."""
    domains: list[str] = []
    for scheme, code in split_codes(_iso_text(value)):
        if scheme and scheme != RESEARCH_DOMAIN_SCHEME:
            message = (f"research domains are FORD codes, written {code} or {RESEARCH_DOMAIN_SCHEME}:{code}, "
                       f"not {scheme} codes (activity codes go in the activities column)")
            problems.append(problem(column, f"{scheme}:{code}", message))
            errors.setdefault(column, {})[len(domains)] = [message]
        domains.append(code)
    member[column] = domains


def _ror(member: dict, column: str, value: Any, problems: list, errors: dict) -> None:
    # ROR ids are case-insensitive (Crockford's base 32); the document writes them lower case, without the URL.
    written = _iso_text(value)
    ror = _ROR_PREFIX.sub("", written).strip().lower()
    member.setdefault("identifiers", {})[column] = ror
    if not _ROR.match(ror):
        message = f"not a ROR id: {_ROR_FORMAT}"
        problems.append(problem(column, written, message))
        errors.setdefault("identifiers", {})[column] = [message]


def _identifier(member: dict, column: str, value: Any, _problems: list, _errors: dict) -> None:
    member.setdefault("identifiers", {})[column] = _iso_text(value)


def _contact(member: dict, column: str, value: Any, _problems: list, _errors: dict) -> None:
    member.setdefault("contact", {})[CONTACT_COLUMNS[column]] = _iso_text(value)


def _contact_level(member: dict, _column: str, value: Any, _problems: list, _errors: dict) -> None:
    member["_contact_visibility"] = _enum(_iso_text(value))


def _enum_cell(member: dict, column: str, value: Any, _problems: list, _errors: dict) -> None:
    member[column] = _enum(_iso_text(value))


def _text_cell(member: dict, column: str, value: Any, _problems: list, _errors: dict) -> None:
    member[column] = _iso_text(value)


def _iso_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else value


class RowChecker:
    """Validates parsed members against the node's member schema and the taxonomies, collecting every error."""

    def __init__(self, schema: Schema, taxonomies, suggester: CodeSuggester):
        self.schema = schema
        self.taxonomies = taxonomies
        self.suggester = suggester
        try:
            self._fast: Callable[[dict], dict] | None = loader(schema)
        except TypeError:
            self._fast = None

    def check(self, member: dict, problems: list[dict], errors: dict) -> tuple[dict, list[dict], dict]:
        """``(loaded member, problems, errors)``: the member as the schema loads it (or as parsed, when it does
        not), every problem of the row, and the marshmallow-shaped errors."""
        if member.get("research_domains"):
            # Before the schema, whose pattern error ("4,1") would say less than the taxonomy's, with a suggestion.
            found = member_code_errors({"id": member.get("id"), "name": member.get("name"),
                                        "research_domains": member["research_domains"]}, self.taxonomies)
            added = _merge_new(errors, found)
            problems.extend(p for field, m in added.items() for p in self._flatten(member, field, m))
        loaded = None
        if not errors and self._fast is not None:
            try:
                loaded = self._fast(member)
            except GiveUp:
                loaded = None
        if loaded is None:
            try:
                loaded = self.schema.load(member)
            except SchemaError as exc:
                messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
                added = _merge_new(errors, messages)
                problems.extend(p for field, m in added.items() for p in self._flatten(member, field, m))
                loaded = member
        added = _merge_new(errors, member_code_errors(loaded, self.taxonomies))
        problems.extend(p for field, m in added.items() for p in self._flatten(loaded, field, m))
        return loaded, problems, errors

    def _flatten(self, member: Mapping, field: str, message: Any, path: tuple = ()) -> list[dict]:
        """One problem per leaf message; code errors carry the code as written and a suggestion."""
        if isinstance(message, dict):
            out = []
            for key, inner in message.items():
                out.extend(self._flatten(member, field, inner, (*path, key)))
            return out
        texts = message if isinstance(message, list) else [message]
        value, suggestion, column = _value_at(member, field, path), None, field
        if field == "contact" and path:
            column = {v: k for k, v in CONTACT_COLUMNS.items()}.get(str(path[0]), field)
        elif field == "identifiers" and path and path[0] in IDENTIFIER_COLUMNS:
            column = str(path[0])
        if path and path[-1] in ("code", "scheme") and isinstance(value, Mapping):
            suggestion = self.suggester.suggest(str(value.get("scheme", "")), str(value.get("code", "")))
            value = f"{value.get('scheme', '')}:{value.get('code', '')}"
        elif field == "research_domains" and isinstance(value, str):
            suggestion = self.suggester.suggest(RESEARCH_DOMAIN_SCHEME, value)
        elif field == "website" and isinstance(value, str) and "://" not in value:
            suggestion = _with_scheme(value)
        return [problem(column, "" if value is None else value if isinstance(value, str) else _text(value),
                        str(text), suggestion) for text in texts]


def _with_scheme(address: str) -> str | None:
    """``https://`` and a website written without it (``www.example.org``), when that makes a valid URL."""
    try:
        return _URL(f"https://{address}")
    except SchemaError:
        return None


def _merge_new(errors: dict, incoming: dict) -> dict:
    """Merge ``incoming`` (marshmallow-shaped) into ``errors``, keeping what ``errors`` says already (the parser's
    reason is the more precise one, and one code gets one error); return the parts that were new."""
    new: dict = {}
    for key, value in incoming.items():
        if key not in errors:
            errors[key] = value
            new[key] = value
        elif isinstance(value, dict) and isinstance(errors[key], dict):
            if set(value) <= {"code", "scheme"}:
                continue  # this code has its error already
            inner = _merge_new(errors[key], value)
            if inner:
                new[key] = inner
    return new


def _value_at(member: Mapping, field: str, path: tuple) -> Any:
    """The value an error path points at: the code's dict for a code's error, the field's value otherwise."""
    value: Any = member.get(field)
    for key in path:
        if key in ("code", "scheme"):
            return value
        try:
            value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, TypeError, ValueError):
            return member.get(field)
    return value


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, Mapping):
        if "scheme" in value and "code" in value:
            return f"{value['scheme']}:{value['code']}"
        return str(value.get("text", value))
    return str(value)
