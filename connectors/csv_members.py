"""Member import from a CSV file (format: config/README.md, "members.csv").

Turns rows into member dictionaries of the node's member schema. Parsing only: validation against the schema and
the taxonomies, and the all-or-nothing write, are the node service's job.
"""

from __future__ import annotations

import csv
import io
import re

COLUMNS = ("id", "kind", "name", "city", "size", "activities", "offers", "needs", "export_markets", "status",
           "last_active", "visibility", "email", "phone", "contact_person", "contact_visibility")
CONTACT_COLUMNS = {"email": "email", "phone": "phone", "contact_person": "person"}
REQUIRED_COLUMNS = ("kind", "name")
LIST_SEPARATOR = ";"
ITEM_SEPARATOR = "|"
_ITEM = re.compile(r"^(?P<text>.*?)\s*(?:\[(?P<codes>[^\[\]]*)\])?\s*$", re.S)


class CSVFormatError(ValueError):
    """The file as a whole cannot be read (encoding, header)."""


def _codes(cell: str) -> list[dict]:
    """``nace-rev2:10.41;isic-rev4:1104`` (or space-separated) -> [{"scheme", "code"}]; a token without a colon is
    kept with an empty scheme so that validation names it."""
    out = []
    for token in re.split(r"[;\s]+", cell.strip()):
        if not token:
            continue
        scheme, sep, code = token.partition(":")
        out.append({"scheme": scheme, "code": code} if sep else {"scheme": "", "code": token})
    return out


def _items(cell: str) -> list[dict]:
    out = []
    for part in cell.split(ITEM_SEPARATOR):
        raw = part.strip()
        if not raw:
            continue
        match = _ITEM.match(raw)
        if match is None:  # cannot happen: every part of the pattern is optional
            raise ValueError(f"unreadable item {raw!r}")
        item = {"text": match.group("text").strip()}
        if match.group("codes"):
            item["codes"] = _codes(match.group("codes"))
        out.append(item)
    return out


def row_to_member(row: dict) -> dict:
    """One CSV row as a member dictionary; empty cells are left out so the schema's defaults apply."""
    member: dict = {}
    for column in COLUMNS:
        value = (row.get(column) or "").strip()
        if not value:
            continue
        if column == "activities":
            member[column] = _codes(value)
        elif column in ("offers", "needs"):
            member[column] = _items(value)
        elif column == "export_markets":
            member[column] = [c.strip().upper() for c in value.split(LIST_SEPARATOR) if c.strip()]
        elif column in CONTACT_COLUMNS:
            member.setdefault("contact", {})[CONTACT_COLUMNS[column]] = value
        elif column == "contact_visibility":
            pass  # applied below, to the contact fields the row has
        else:
            member[column] = value
    if "contact" in member:
        # One visibility for the row's contact fields; without one they stay private (the safe default).
        level = (row.get("contact_visibility") or "").strip() or "private"
        member["contact_visibility"] = dict.fromkeys(member["contact"], level)
    return member


def read_members_csv(data: bytes | str) -> list[tuple[int, dict]]:
    """``[(line_number, member_dict), ...]``; raises :class:`CSVFormatError` when the file cannot be read."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CSVFormatError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    data = data.removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(data, newline=""))
    header = reader.fieldnames or []
    if not header:
        raise CSVFormatError("the file is empty: expected a header row")
    # csv.DictReader keeps the last of two columns of the same name: a file that says two things is refused.
    seen: set[str] = set()
    repeated: list[str] = []
    for column in header:
        if column in seen and column not in repeated:
            repeated.append(column)
        seen.add(column)
    if repeated:
        raise CSVFormatError(f"repeated column(s): {', '.join(repeated)}; each column may appear once")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CSVFormatError(f"missing column(s): {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise CSVFormatError(f"unknown column(s): {', '.join(unknown)}; expected {', '.join(COLUMNS)}")
    rows = []
    try:
        for row in reader:
            if None in row:
                raise CSVFormatError(f"line {reader.line_num}: more cells than columns")
            if not any((v or "").strip() for v in row.values()):
                continue
            rows.append((reader.line_num, row_to_member(row)))
    except csv.Error as exc:
        raise CSVFormatError(f"line {reader.line_num}: {exc}") from exc
    return rows
