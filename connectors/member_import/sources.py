"""The rows of a member list, one at a time: ``(line, cells)`` from a CSV text or from an .xlsx workbook's first
sheet. Nothing here holds the whole file: a CSV is decoded as it is read, a workbook is read in openpyxl's
read-only (streaming) mode.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import BinaryIO

from .detect import Detected, csv_dialect
from .errors import ImportFormatError
from .options import ImportOptions

_SAVE_AS = 'save it from your spreadsheet as "Excel Workbook (.xlsx)" or "CSV UTF-8 (comma delimited) (.csv)"'


def records(stream: BinaryIO, detected: Detected, options: ImportOptions) -> Iterator[tuple[int, list]]:
    """``(line, cells)`` of every record, the header first (line numbers are the file's: physical lines of a CSV,
    row numbers of a sheet)."""
    if detected.format == "xlsx":
        return _xlsx_rows(stream, options)
    return _csv_rows(stream, detected)


def _csv_rows(stream: BinaryIO, detected: Detected) -> Iterator[tuple[int, list]]:
    stream.seek(detected.bom)
    text = io.TextIOWrapper(stream, encoding=detected.encoding, newline="")
    try:
        reader = csv.reader(text, csv_dialect(detected.delimiter or ","))
        try:
            for cells in reader:
                yield reader.line_num, cells
        except csv.Error as exc:
            raise ImportFormatError(f"line {reader.line_num + 1}: {exc}") from exc
        except UnicodeDecodeError as exc:  # detection read the whole file, so only a file changed since
            raise ImportFormatError(f"the file is not {detected.encoding_label} text ({exc.reason})") from exc
    finally:
        if not stream.closed:
            text.detach()  # the caller's stream stays open (a generator dropped unfinished may close later)


def check_zip(stream: BinaryIO, options: ImportOptions) -> zipfile.ZipFile:
    """The workbook's zip, after its directory said it is an .xlsx whose parts are not too large once
    uncompressed (what a zip declares is what zipfile lets out: a part that inflates further fails its read)."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFormatError(f"this looks like a zip file but cannot be read ({exc}): {_SAVE_AS}") from exc
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names:
        what = ("an OpenDocument file (.ods/.odt)" if "mimetype" in names and "content.xml" in names
                else "a Word document (.docx)" if "word/document.xml" in names
                else "a zip archive")
        archive.close()
        raise ImportFormatError(f"this file is {what}, not an Excel workbook or a CSV file: {_SAVE_AS}")
    declared = sum(info.file_size for info in archive.infolist())
    if declared > options.xlsx_max_uncompressed_bytes:
        archive.close()
        raise ImportFormatError(
            f"this workbook would take {declared} bytes uncompressed, more than the "
            f"{options.xlsx_max_uncompressed_bytes} allowed (setting node.import.xlsx_max_uncompressed_bytes): "
            f"save its member sheet alone, or as CSV")
    return archive


def _xlsx_rows(stream: BinaryIO, options: ImportOptions) -> Iterator[tuple[int, list]]:
    from openpyxl import load_workbook  # only workbooks need it

    check_zip(stream, options).close()
    stream.seek(0)
    try:
        # read_only: rows stream from the sheet's XML; data_only: a formula cell gives the value Excel saved with
        # it, never the formula (nothing is evaluated).
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        raise ImportFormatError(f"this Excel workbook cannot be read ({type(exc).__name__}: {exc}): "
                                f"{_SAVE_AS}") from exc
    try:
        sheet = workbook.worksheets[0]
        width = options.max_columns + 1  # one more than allowed, so the header check sees the excess
        for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=width), start=1):
            yield number, [cell_text(v) for v in values]
    finally:
        workbook.close()


def cell_text(value) -> object:
    """A workbook cell as the CSV would write it: text stays text, whole numbers lose their ``.0``, dates stay
    dates (the date column reads them as they are; a date elsewhere is written ISO)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value
    if isinstance(value, time):
        return value.isoformat()
    return str(value)
