"""Funding calls from a file: CSV (UTF-8, with or without BOM; comma, semicolon or tab) or JSON (a list of objects,
or ``{"calls": [...]}``), every call checked and every error of every call reported, or the whole file refused.

The fields (:data:`~connectors.funding_calls.fields.FIELDS`, their English and French names in
:mod:`.fields`; README "Funding calls"): ``id`` (optional: derived from the programme and title), ``programme``,
``title``, ``deadline`` and ``opens`` (ISO dates), ``countries`` (ISO codes or country lists of the setting
``funding.country_lists``), ``kinds`` (member kinds), ``min_partners``, ``min_countries``, ``required_kinds`` (one
of each: ``university|research_centre`` for either), ``required_regions`` (a list name or an ISO code, one partner
from each), ``topics`` (``scheme:code`` of any loaded activity scheme, normalised through the taxonomies; other
items are keywords), ``keywords``, ``link`` (https), ``budget``, ``languages`` (ISO 639-1). Lists are ``;``
separated in a CSV cell; in JSON, a list or one text with ``;``.

Bounded: the file's bytes (``funding.max_bytes``) before anything is read, its calls (``funding.max_calls``) while
they are read. The hub's service (federation/hub/funding.py) stores the calls, all or none.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.member_import.detect import csv_dialect, refuse_binary, sniff_delimiter
from connectors.member_import.errors import ImportFormatError
from federation.eligibility import CountryLists, FundingCall
from federation.errors import ValidationError
from federation.signing.bounded import DocumentLimitError, JsonLimits, parse_bounded
from federation.taxonomy import TaxonomyIndex

from .fields import FIELDS, REQUIRED, field_of, unknown_field
from .items import CallReader

__all__ = ["FIELDS", "CallFile", "CallLimits", "read_calls"]

#: Nesting a calls document needs: {"calls": [{"required_kinds": [["university"]]}]} is 4 levels.
MAX_JSON_DEPTH = 8
#: Errors a refusal's summary quotes (all are in its details).
SUMMARISED = 3


@dataclass(frozen=True)
class CallLimits:
    """The ``funding.max_bytes`` and ``funding.max_calls`` settings."""

    max_bytes: int
    max_calls: int


@dataclass
class CallFile:
    """The calls of a file, all valid, and what the file was (``csv`` or ``json``)."""

    format: str
    calls: list[FundingCall] = field(default_factory=list)


def read_calls(data: bytes | str, limits: CallLimits, lists: CountryLists, taxonomies: TaxonomyIndex) -> CallFile:
    """Every call of the file, or :class:`federation.errors.ValidationError`: ``{"file": [why]}`` when the file as a
    whole cannot be read, else ``{"calls": [{"line" or "item", "id", "title", "errors": {field: [...]}}]}``."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limits.max_bytes:
        raise _file_error(f"the file has {len(data)} bytes, more than the {limits.max_bytes} allowed (setting "
                          "funding.max_bytes)")
    try:
        refuse_binary(data[:64])
    except ImportFormatError as exc:
        raise _file_error(str(exc).replace("a member list", "a calls file")) from None
    text = _text(data)
    is_json = text.lstrip()[:1] in ("[", "{")
    items = _json_items(data, limits) if is_json else _csv_items(text, limits)
    reader = CallReader(lists, taxonomies)
    out = CallFile("json" if is_json else "csv")
    problems: list[dict] = []
    seen: dict[str, str] = {}
    for where, raw, refused in items:
        call, errors = (None, refused) if refused else reader.read(raw)
        call_id = call.id if call is not None else str(raw.get("id") or "")
        if call is not None and call.id in seen:
            errors = {"id": [f"duplicate call id {call.id!r} (first at {seen[call.id]})"]}
        if errors:
            problems.append({**where, "id": call_id[:64], "title": str(_value(raw, "title") or "")[:120],
                             "errors": errors})
            continue
        assert call is not None  # noqa: S101 - (no errors: a call)
        seen[call.id] = " ".join(f"{k} {v}" for k, v in where.items())
        out.calls.append(call)
    if problems:
        summary = "; ".join(f"{' '.join(f'{k} {v}' for k, v in p.items() if k in ('line', 'item'))}: "
                            f"{_first(p['errors'])}" for p in problems[:SUMMARISED])
        raise ValidationError(f"{len(problems)} of {len(problems) + len(out.calls)} calls have errors; nothing was "
                              f"imported ({summary})", {"calls": problems, "format": out.format})
    if not out.calls:
        raise _file_error("the file holds no call")
    return out


def _file_error(message: str) -> ValidationError:
    return ValidationError(f"the calls file cannot be read: {message}", {"file": [message]})


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error(f"it is not UTF-8 (byte {exc.start} is not): save it as \"CSV UTF-8\" or JSON") from None


#: One call of a file: where it is (``{"line": n}`` or ``{"item": n}``), its values by field name, and what makes
#: it no call at all (``None`` when it is one).
Item = tuple[dict, dict[str, Any], "dict[str, list[str]] | None"]


def _csv_items(text: str, limits: CallLimits) -> Iterator[Item]:
    """Each non-blank data row, its line counted as the file's (the header is line 1 when it comes first)."""
    rows = csv.reader(io.StringIO(text, newline=""), csv_dialect(sniff_delimiter(text[:65536])))
    try:
        yield from _csv_rows(rows, limits)
    except csv.Error as exc:  # a cell over the csv module's field limit (131,072 characters), a stray quote...
        raise _file_error(f"line {rows.line_num}: {exc}") from None


def _csv_rows(rows: Any, limits: CallLimits) -> Iterator[Item]:
    header: list[str] | None = None
    count = 0
    for row in rows:
        if header is None:
            if not any(cell.strip() for cell in row):
                continue
            header = _header(row)
            continue
        if not any(cell.strip() for cell in row):
            continue
        count += 1
        if count > limits.max_calls:
            raise _file_error(f"it has more than {limits.max_calls} calls (setting funding.max_calls): split it")
        values = {name: cell for name, cell in zip(header, row, strict=False) if name}
        extra = [cell for cell in row[len(header):] if cell.strip()]
        yield {"line": rows.line_num}, values, ({"row": [f"{len(extra)} cell(s) beyond the header's {len(header)} "
                                                         "columns"]} if extra else None)
    if header is None:
        raise _file_error("it is empty: expected a header row")


def _header(cells: list[str]) -> list[str]:
    """The header cells, checked: every one a known field once, the required ones present; every problem at once."""
    names = [cell.strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    fields = [field_of(n) for n in names]
    problems = [unknown_field(n) for n, f in zip(names, fields, strict=True) if n and f is None]
    repeated = sorted({f for f in fields if f is not None and fields.count(f) > 1})
    if repeated:
        problems.append(f"repeated column(s): {', '.join(repeated)}")
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if problems:
        raise _file_error("; ".join(problems))
    return names


def _json_items(data: bytes, limits: CallLimits) -> Iterator[Item]:
    try:
        document = parse_bounded(data, JsonLimits(max_depth=MAX_JSON_DEPTH)).document
    except DocumentLimitError as exc:
        raise _file_error(f"the JSON is over a limit: {exc}") from None
    except ValueError as exc:
        raise _file_error(f"it is not valid JSON: {exc}") from None
    if isinstance(document, dict):
        if set(document) != {"calls"}:
            raise _file_error('a JSON calls file is a list of calls, or {"calls": [...]} with no other key')
        document = document["calls"]
    if not isinstance(document, list):
        raise _file_error('a JSON calls file is a list of calls, or {"calls": [...]}')
    if len(document) > limits.max_calls:
        raise _file_error(f"it has {len(document)} calls, more than {limits.max_calls} (setting funding.max_calls): "
                          "split it")
    for position, item in enumerate(document, start=1):
        if isinstance(item, dict):
            yield {"item": position}, item, None
        else:
            yield {"item": position}, {}, {"item": [f"expected an object (one call), not {type(item).__name__}"]}


def _value(raw: dict[str, Any], wanted: str) -> Any:
    return next((value for name, value in raw.items() if field_of(name) == wanted), None)


def _first(errors: dict[str, list[str]]) -> str:
    name, messages = next(iter(errors.items()))
    return f"{name}: {messages[0]}"
