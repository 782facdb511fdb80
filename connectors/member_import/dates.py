"""Dates as spreadsheets write them.

Accepted: ISO ``2024-05-01`` (with a time after it, as some exports add: ``2024-05-01 00:00:00``, ``T``...),
numeric dates with ``/``, ``.`` or ``-`` in the cluster's order (setting ``node.import.date_order``: ``dmy``,
``01/05/2024`` is the 1st of May, the way of France, Lebanon and Morocco; ``mdy`` for US-made files; ``ymd``),
two-digit years (``01/05/24``: 2000-2068 like Excel and Python, then 1969-1999), and the date cells of an .xlsx
workbook (datetime values). Anything else is refused with the formats that are accepted.
"""

from __future__ import annotations

import re
from datetime import date, datetime

ORDERS = ("dmy", "mdy", "ymd")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_NUMERIC = re.compile(r"(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})(?: \d{1,2}:\d{2}(?::\d{2})?)?")


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise ValueError(f"node.import.date_order must be one of {', '.join(ORDERS)}, not {order!r}")
    return order


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        year += 2000 if year < 69 else 1900
    return year


def parse_date(value: object, order: str) -> date:
    """A date from a cell (text, or an .xlsx date); ValueError with the accepted formats otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = _ISO.fullmatch(text)
    try:
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        match = _NUMERIC.fullmatch(text)
        if match:
            first, second, third = match.group(1), match.group(3), match.group(4)
            if order == "ymd" or len(first) == 4:
                return date(_year(first), int(second), int(third))
            if order == "mdy":
                return date(_year(third), int(first), int(second))
            return date(_year(third), int(second), int(first))
    except ValueError as exc:  # a day or month out of range
        raise ValueError(f"not a date ({exc})") from exc
    example = {"dmy": "31/12/2024", "mdy": "12/31/2024", "ymd": "2024/12/31"}[order]
    raise ValueError(f"not a date: write 2024-12-31 or {example} (date order {order}: setting "
                     f"node.import.date_order)")
