"""Member import from a CSV file: the reading side without validation, kept for callers of its first version.

The import itself lives in :mod:`connectors.member_import` (formats, encodings, headers, every error of every row);
:func:`read_members_csv` reads a file with the packaged settings and returns the parsed rows.
"""

from __future__ import annotations

from dataclasses import replace

from .member_import import COLUMNS, REQUIRED_COLUMNS, ImportOptions, open_member_file
from .member_import.errors import ImportFormatError
from .member_import.rows import CONTACT_COLUMNS, ITEM_SEPARATOR, LIST_SEPARATOR, RowParser

#: The import's errors about a file as a whole (the name of its first version).
CSVFormatError = ImportFormatError

__all__ = [
    "COLUMNS",
    "CONTACT_COLUMNS",
    "ITEM_SEPARATOR",
    "LIST_SEPARATOR",
    "REQUIRED_COLUMNS",
    "CSVFormatError",
    "read_members_csv",
]


def read_members_csv(data: bytes | str) -> list[tuple[int, dict]]:
    """``[(line_number, member_dict), ...]`` of a member file (no default scheme: a code without one keeps an
    empty scheme, for validation to name); raises :class:`CSVFormatError` when the file or a row cannot be read."""
    options = replace(ImportOptions(), default_scheme=None)
    members = open_member_file(data, options)
    parser = RowParser(members.header, None, options.date_order, options.max_cell_chars)
    out = []
    for line, cells in members:
        member, problems, _errors = parser.parse(cells)
        if problems:
            first = problems[0]
            raise CSVFormatError(f"line {line}: {first['message'].split(' (')[0]}")
        out.append((line, member))
    return out
