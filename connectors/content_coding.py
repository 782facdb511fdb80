"""The content codings the hub's client accepts from nodes, decoded incrementally with bounded output.

The client asks for ``gzip`` only (``Accept-Encoding: gzip``). A body in gzip is inflated a slice at a time, never
more than :data:`SLICE` bytes per step, so the caller can count the decoded bytes against its cap and stop: a gzip
bomb costs the hub at most the cap plus one slice, whatever its ratio. A coding the client did not ask for (br,
deflate, zstd, compress, or several codings stacked) is refused, not guessed at.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

#: What the hub's client sends as Accept-Encoding: the only coding it decodes (identity is always acceptable).
ACCEPT_ENCODING = "gzip"
#: The most decoded bytes one inflate step produces.
SLICE = 64 * 1024
_GZIP_NAMES = ("gzip", "x-gzip")  # RFC 9110 8.4.1.3: a recipient should treat x-gzip as gzip
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream
_MAX_SHOWN = 60  # characters of an unexpected Content-Encoding repeated in a refusal


class ContentCodingError(ValueError):
    """A body whose coding the client did not ask for, or whose gzip stream is not valid."""


class IdentityDecoder:
    """No content coding: the bytes as they came."""

    name = "identity"

    def decode(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def finish(self) -> None:
        """Nothing is buffered: every body is complete."""


class GzipDecoder:
    """Inflates a gzip body (one member or several, RFC 1952) as its bytes arrive, :data:`SLICE` bytes at a time."""

    name = "gzip"

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj(_GZIP_WBITS)
        self._started = False  # some input since the current member began

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of ``data``, in slices; the caller stops iterating when its cap is reached."""
        pending = data
        while pending:
            if self._inflater.eof:  # the previous member ended: what follows is the next member
                self._inflater, self._started = zlib.decompressobj(_GZIP_WBITS), False
            self._started = True
            try:
                out = self._inflater.decompress(pending, SLICE)
            except zlib.error as exc:
                raise ContentCodingError(f"the gzip body is not valid ({exc})") from exc
            if out:
                yield out
            pending = self._inflater.unused_data if self._inflater.eof else self._inflater.unconsumed_tail

    def finish(self) -> None:
        """Refuse a body that ended inside a gzip member (cut off, or never a whole gzip stream)."""
        if not self._started:
            raise ContentCodingError("the body is empty but says it is gzip")
        if not self._inflater.eof:
            raise ContentCodingError("the gzip body ends before its gzip stream does (cut off)")


def decoder_for(content_encoding: str | None) -> IdentityDecoder | GzipDecoder:
    """The decoder of a response's Content-Encoding header (None or empty: identity); ContentCodingError for a
    coding the client did not ask for."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return IdentityDecoder()
    if len(codings) == 1 and codings[0] in _GZIP_NAMES:
        return GzipDecoder()
    shown = (content_encoding or "")[:_MAX_SHOWN]
    shown = "".join(ch if " " <= ch <= "~" else "?" for ch in shown)
    raise ContentCodingError(f"the response has Content-Encoding {shown!r}, which the hub did not ask for (it "
                             f"accepts {ACCEPT_ENCODING} or no coding)")
