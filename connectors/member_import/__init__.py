"""Member import: the member lists clusters really keep, as CSV (UTF-8 with or without BOM, UTF-16, Windows-1252;
comma, semicolon or tab) or .xlsx, turned into members of the node's schema with every error of every row.

- :mod:`.detect`: what the file is (format, encoding, delimiter), or a refusal saying what it is instead;
- :mod:`.sources`: its rows, streamed;
- :mod:`.headers`: which column is which field (case, spaces, French and Arabic names);
- :mod:`.rows`: a row as a member, every error collected; :mod:`.codes`: code suggestions; :mod:`.dates`;
- :mod:`.ids`: stable ids for rows without one.

The all-or-nothing write is the node service's (federation/node/service.py, ``import_members``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .detect import Detected, detect
from .errors import ImportFormatError
from .headers import COLUMNS, REQUIRED_COLUMNS, Header, read_header
from .options import ImportOptions
from .sources import records as read_records

__all__ = ["COLUMNS", "REQUIRED_COLUMNS", "Detected", "Header", "ImportFormatError", "ImportOptions",
           "MemberFile", "as_stream", "open_member_file"]


def as_stream(data: bytes | str | BinaryIO) -> BinaryIO:
    """A seekable binary stream over the upload (bytes are wrapped, not copied; text is encoded as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(data)
    return data


@dataclass
class MemberFile:
    """An opened member list: what it is, its header, and its data rows (``(line, cells)``, blank ones skipped,
    at most ``max_rows``: one more refuses the file)."""

    detected: Detected
    header: Header
    _rows: Iterator[tuple[int, list]]
    max_rows: int

    def __iter__(self) -> Iterator[tuple[int, list]]:
        count = 0
        for line, cells in self._rows:
            if not any(c.strip() if isinstance(c, str) else c not in (None, "") for c in cells):
                continue
            count += 1
            if count > self.max_rows:
                raise ImportFormatError(f"the file has more than {self.max_rows} member rows (setting "
                                        f"node.import.max_rows): split it, or raise the setting")
            yield line, cells


def open_member_file(data: bytes | str | BinaryIO, options: ImportOptions) -> MemberFile:
    """Detect the file, read its header; raise :class:`ImportFormatError` when it cannot be read as a whole."""
    stream = as_stream(data)
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > options.max_bytes:
        raise ImportFormatError(f"the file has {size} bytes, more than the {options.max_bytes} allowed (setting "
                                f"api.max_import_bytes)")
    detected = detect(stream)
    records = read_records(stream, detected, options)
    for _line, cells in records:
        if any(c.strip() if isinstance(c, str) else c not in (None, "") for c in cells):
            header = read_header([c if isinstance(c, str) else str(c) for c in cells], options.max_columns)
            return MemberFile(detected, header, records, options.max_rows)
    raise ImportFormatError("the file is empty: expected a header row")
