"""Canonical JSON (RFC 8785, JCS): the bytes a document signature covers, whatever the whitespace and member order.

Most documents are *plain* (no floats, integers in the exact range, member names in the BMP): for them
``json.dumps`` writes the JCS bytes, much faster than the reference implementation (``rfc8785``), which decides
everything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import rfc8785

from .base64url import b64url_encode
from .bounded import ASTRAL, INT_MAX, INT_MIN, ParsedDocument, parse_noting_plain
from .refusals import refuse


def _is_plain(value: Any) -> bool:
    """Only objects with string names in the BMP, arrays, strings, integers in the exact range, booleans, null."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for name in item:
                if type(name) is not str or (not name.isascii() and ASTRAL.search(name)):
                    return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is int:
            if not INT_MIN <= item <= INT_MAX:
                return False
        elif kind is not str and kind is not bool and item is not None:
            return False  # floats (ECMAScript number form), tuples, subclasses...: the reference implementation
    return True


def _plain_canonical(document: Any) -> bytes | None:
    """RFC 8785 bytes of a *plain* document the fast way, or None (then the reference implementation decides).

    For such documents ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes exactly
    the JCS bytes: the same escapes (two-character forms for quote, backslash, backspace, form feed, newline,
    carriage return and tab; six-character forms in lower-case hex for the other controls; nothing else escaped),
    integers as digits, and member names sorted by code point, which is UTF-16 order for names in the BMP.
    Strings that are not valid Unicode (lone surrogates) fail to encode: None. tests/test_signing.py checks the
    equality on generated documents.
    """
    try:
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
        return None


def canonical_json(document: dict | list | bytes | ParsedDocument) -> bytes:
    """RFC 8785 bytes of a document; bytes are parsed (strictly) as JSON first. Raises ValueError."""
    value: Any  # the parsed document
    if isinstance(document, ParsedDocument):
        value, plain = document.document, document.plain
    elif isinstance(document, (bytes, bytearray, memoryview)):
        try:
            value, plain = parse_noting_plain(bytes(document))
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise ValueError(f"not valid JSON ({exc})") from exc
    else:
        value = document
        try:
            plain = _is_plain(value)
        except RecursionError:
            plain = False
    if plain:
        fast = _plain_canonical(value)
        if fast is not None:
            return fast
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, RecursionError) as exc:
        raise ValueError(f"cannot be canonicalised per RFC 8785 ({exc!r})") from exc


@dataclass(frozen=True)
class Canonical:
    """A document's signing payload (base64url of its RFC 8785 bytes), computed once for every signature on it."""

    encoded: str

    @classmethod
    def of(cls, document: dict | list | bytes | ParsedDocument | Canonical) -> Canonical:
        """The payload of ``document`` (a Canonical is its own); SignatureError "malformed document" when it has
        no RFC 8785 form."""
        if isinstance(document, Canonical):
            return document
        try:
            return cls(b64url_encode(canonical_json(document)))
        except ValueError as exc:
            raise refuse("malformed document", f"the document is {exc}") from exc
