"""What an uploaded member list is: a CSV text (which encoding, which delimiter) or an .xlsx workbook, or something
to refuse with a message that says what it is and how to save it instead.

Encoding detection is small and principled rather than statistical:

1. a byte order mark says it (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE);
2. UTF-16 without a mark (Excel's "Unicode text" always writes one, other tools may not) shows as NUL bytes on
   every other position of the first kilobytes;
3. any other NUL byte means a binary file (refused);
4. a file that decodes as strict UTF-8 is UTF-8: multi-byte UTF-8 sequences almost never occur by chance in
   single-byte text;
5. otherwise Windows-1252 (Excel's "CSV" on Western Windows; a superset of ISO-8859-1's printable characters), or
   ISO-8859-1 when the file uses one of the five bytes Windows-1252 leaves undefined.

A file that holds valid multi-byte UTF-8 and also bytes that are not UTF-8 is refused (two encodings mixed, naming
the byte), rather than turning every accent and Arabic letter of it into mojibake. Other single-byte code pages
(Windows-1256 Arabic, Mac Roman) are not told apart from Windows-1252: such files should be saved as "CSV UTF-8".
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from typing import BinaryIO

from .errors import ImportFormatError

#: Bytes read for sniffing (magic numbers, UTF-16 NUL pattern, the header line's delimiter).
SNIFF_BYTES = 64 * 1024
#: Chunks the encoding check decodes (and throws away): the file is never held twice as text.
CHUNK_BYTES = 1024 * 1024
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

_BOMS = (  # longest first: UTF-32 LE's mark starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8 with BOM"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)

_SAVE_AS = 'save it from your spreadsheet as "Excel Workbook (.xlsx)" or "CSV UTF-8 (comma delimited) (.csv)"'
#: Magic numbers of files people upload by mistake: (prefix, what it is).
_MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls) or another old Office file"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"{\\rtf", "a Rich Text (.rtf) document"),
)
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Detected:
    """What the file is, as the import report shows it."""

    format: str                      # "csv" or "xlsx"
    encoding: str | None = None      # Python codec name the CSV is read with
    encoding_label: str | None = None  # what the report says ("UTF-8 with BOM", "Windows-1252")
    bom: int = 0                     # bytes of byte order mark to skip
    delimiter: str | None = None

    def describe(self) -> dict:
        return {"format": self.format, "encoding": self.encoding_label,
                "delimiter": DELIMITER_NAMES.get(self.delimiter or "", self.delimiter)}


def refuse_binary(head: bytes) -> None:
    """Raise :class:`ImportFormatError` naming the file type when ``head`` starts like a known non-list file."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise ImportFormatError(f"this file is {what}, not a member list: {_SAVE_AS}")


def detect(stream: BinaryIO) -> Detected:
    """Sniff ``stream`` (seekable, at its start; left at its start)."""
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if not head.strip(b"\r\n\t \xef\xbb\xbf\xff\xfe\x00"):
        raise ImportFormatError("the file is empty: expected a header row")
    refuse_binary(head)
    if head.startswith(ZIP_MAGIC):
        return Detected("xlsx")
    encoding, label, bom = _encoding(stream, head)
    text = head[bom:].decode(encoding, errors="replace")
    return Detected("csv", encoding, label, bom, sniff_delimiter(text))


def _encoding(stream: BinaryIO, head: bytes) -> tuple[str, str, int]:
    for mark, codec, label in _BOMS:
        if head.startswith(mark):
            if codec == "utf-8":
                _check_decodes(stream, codec, len(mark), label)
            return codec, label, len(mark)
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16, utf16.upper().replace("-LE", " LE").replace("-BE", " BE") + " (no BOM)", 0
    nul = head.find(b"\x00")
    if nul >= 0:
        raise ImportFormatError(f"this is a binary file (a NUL byte at byte {nul}), not a member list: {_SAVE_AS}")
    failure = _first_undecodable(stream, "utf-8", 0)
    if failure is None:
        return "utf-8", "UTF-8", 0
    position, had_multibyte = failure
    if had_multibyte:
        raise ImportFormatError(
            f"the file mixes UTF-8 with another encoding (a byte that is not UTF-8 at byte {position}, after valid "
            f"UTF-8 text): save it again as \"CSV UTF-8\"")
    if _first_undecodable(stream, "cp1252", 0) is None:
        return "cp1252", "Windows-1252", 0
    return "latin-1", "ISO-8859-1", 0


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text of mostly ASCII characters has a NUL in every other byte: odd ones (LE) or even ones (BE)."""
    sample = head[:4096 - 4096 % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= 0.6 * len(odd) and even.count(0) <= 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.6 * len(even) and odd.count(0) <= 0.05 * len(odd):
        return "utf-16-be"
    return None


def _check_decodes(stream: BinaryIO, codec: str, skip: int, label: str) -> None:
    failure = _first_undecodable(stream, codec, skip)
    if failure is not None:
        raise ImportFormatError(f"the file says it is {label} but byte {failure[0]} is not: save it again as "
                                f"\"CSV UTF-8\"")


def _first_undecodable(stream: BinaryIO, codec: str, skip: int) -> tuple[int, bool] | None:
    """``(byte offset, whether non-ASCII characters decoded before it)`` of the first byte ``codec`` refuses, or
    ``None``. Decodes chunk by chunk and keeps nothing; the stream is left at its start."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    stream.seek(skip)
    offset = skip  # of the chunk's first byte
    non_ascii = False
    try:
        while True:
            chunk = stream.read(CHUNK_BYTES)
            pending = len(decoder.getstate()[0])  # bytes of a character the previous chunk began
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                before = chunk[:max(0, exc.start - pending)]
                return offset - pending + exc.start, non_ascii or not before.isascii()
            non_ascii = non_ascii or not text.isascii()
            if not chunk:
                return None
            offset += len(chunk)
    finally:
        stream.seek(0)


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the one of comma, semicolon and tab it holds most often outside quotes
    (header names hold none of them); a comma when it holds none (a one-column file)."""
    line = next(iter(text.splitlines()), "")
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_dialect(delimiter: str) -> type[csv.Dialect]:
    """Excel's dialect with the detected delimiter."""
    return type("Detected", (csv.excel,), {"delimiter": delimiter})
