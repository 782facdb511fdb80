"""Strict JSON, bounded: how bytes from an untrusted source are parsed before anything reads them.

Strict: UTF-8, no duplicate member names (two parsers could read different values), no NaN/Infinity. Bounded
(:class:`JsonLimits`): nesting depth, the number of values, and the length of a number. The same parse notes whether
the document is *plain* (see :mod:`federation.signing.canonical`), so that a signature check need not walk it again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


def _no_duplicate_members(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise ValueError(f"duplicate member {name!r}")
        seen[name] = value
    return seen


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_strict(data: bytes) -> Any:
    """Strict JSON: UTF-8, no duplicate member names (two parsers could read different values), no NaN/Infinity."""
    return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_members, parse_constant=_reject_constant)


#: Characters outside the Basic Multilingual Plane: where UTF-16 order (RFC 8785) and code-point order differ.
ASTRAL = re.compile("[\U00010000-\U0010FFFF]")
#: A surrogate escape (``\\ud83d``): how ASCII JSON writes a character outside the BMP.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]")
INT_MAX = 2**53 - 1  # RFC 8785 numbers are IEEE 754 doubles: integers beyond this are not exact
INT_MIN = -INT_MAX


@dataclass(frozen=True)
class JsonLimits:
    """Bounds on a JSON document read from an untrusted source (settings ``limits.*``): checked while it is parsed,
    before anything else reads it. A refusal names the limit and its setting."""

    max_depth: int = 32  # limits.max_json_depth (a valid profile needs 6)
    max_items: int = 1_000_000  # limits.max_json_items: values of any kind in one document
    max_number_digits: int = 100  # limits.max_number_digits (Python refuses int() beyond 4,300 digits anyway)


class DocumentLimitError(ValueError):
    """A document over one of :class:`JsonLimits` (a ValueError: it is not a document this software reads)."""


DEFAULT_JSON_LIMITS = JsonLimits()


def parse_noting_plain(data: bytes, limits: JsonLimits = DEFAULT_JSON_LIMITS) -> tuple[Any, bool]:
    """:func:`parse_strict`, and whether the result is *plain*: no float, no integer outside the range RFC 8785
    writes as is, no member name outside the BMP (see :func:`.canonical._plain_canonical`). Numbers longer than
    ``limits.max_number_digits`` are refused before Python converts them (int() of a long one is quadratic)."""
    plain = True
    max_digits = limits.max_number_digits
    # Names outside the BMP need non-ASCII bytes or a surrogate escape: without either, no name is checked.
    check_names = not data.isascii() or _SURROGATE_ESCAPE.search(data) is not None

    def pairs(items: list[tuple[str, Any]]) -> dict:
        nonlocal plain
        members = dict(items)
        if len(members) != len(items):
            return _no_duplicate_members(items)  # raises, naming the first name seen twice
        if plain and check_names:
            names = "".join(members)
            if not names.isascii() and ASTRAL.search(names):
                plain = False
        return members

    def number(text: str) -> int:
        nonlocal plain
        if len(text) > max_digits:
            raise DocumentLimitError(f"a number of {len(text)} digits is over the limit of {max_digits} "
                                     f"(limits.max_number_digits)")
        value = int(text)
        if not INT_MIN <= value <= INT_MAX:
            plain = False
        return value

    def real(text: str) -> float:
        nonlocal plain
        if len(text) > max_digits:
            raise DocumentLimitError(f"a number of {len(text)} characters is over the limit of {max_digits} "
                                     f"(limits.max_number_digits)")
        plain = False
        return float(text)

    document = json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_constant=_reject_constant,
                          parse_int=number, parse_float=real)
    return document, plain


@dataclass(frozen=True)
class ParsedDocument:
    """JSON bytes parsed once, strictly (:func:`parse_document`): read it, and verify its signature, without
    parsing it again. Whoever reads ``document`` must not change it."""

    document: Any
    plain: bool


def parse_document(data: bytes) -> ParsedDocument | None:
    """The strict parse :func:`.jws.verify_document` makes of bytes, or None when they are not strict JSON (then
    each reader of the bytes says what is wrong in its own words)."""
    try:
        return ParsedDocument(*parse_noting_plain(bytes(data)))
    except (ValueError, RecursionError):
        return None


def parse_bounded(data: bytes, limits: JsonLimits = DEFAULT_JSON_LIMITS) -> ParsedDocument:
    """Strict JSON within ``limits``, or ValueError saying what is wrong (:class:`DocumentLimitError` for a limit).

    Number lengths are checked as the parser meets them, and its recursion guard stops the deepest documents. The
    other bounds are proved on the bytes, at the speed of bytes methods rather than of a walk of the parsed values:
    an upper bound of the number of values (every value but the first follows a comma, a colon or an opening
    bracket), so that only a document that may be over the limit is counted exactly, after parsing; and the exact
    depth, from the brackets outside strings (:func:`_nests_within`).
    """
    data = bytes(data)
    try:
        document, plain = parse_noting_plain(data, limits)
    except DocumentLimitError:
        raise
    except RecursionError:
        raise DocumentLimitError(f"it nests deeper than {limits.max_depth} levels (limits.max_json_depth)") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"it is not valid JSON ({exc})") from exc
    items = None
    if len(data.translate(None, _NOT_BEFORE_A_VALUE)) + 1 > limits.max_items:
        depth, items = _shape(document, limits.max_depth, limits.max_items)
        too_deep = depth > limits.max_depth
    else:
        too_deep = not _nests_within(data, limits.max_depth)
    if too_deep:
        raise DocumentLimitError(f"it nests deeper than {limits.max_depth} levels (limits.max_json_depth)")
    if items is not None and items > limits.max_items:
        raise DocumentLimitError(f"it holds more than {limits.max_items} JSON values (limits.max_json_items)")
    return ParsedDocument(document, plain)


#: Deleted to count what is left: the bytes a value or member name can follow (each but the first follows one).
_NOT_BEFORE_A_VALUE = bytes(sorted(set(range(256)) - set(b",:[{")))
#: Deleted to leave the quotes and brackets; then curly brackets are written as square ones (one kind of pair).
_NOT_QUOTE_OR_BRACKET = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_ONE_KIND_OF_BRACKET = bytes.maketrans(b"{}", b"[]")
#: A string once only quotes and brackets are left of the document (it has no escapes left).
_QUOTED = re.compile(rb'"[^"]*"')


def _nests_within(data: bytes, max_depth: int) -> bool:
    """Whether *valid* JSON bytes nest at most ``max_depth`` levels (a scalar is 0, ``[]`` 1, ``[{}]`` 2).

    What is left of the document once its strings and everything but brackets are deleted is a sequence of
    matched pairs; each pass of ``replace(b"[]", b"")`` deletes exactly the innermost level of it (a pair that
    becomes empty in a pass is not matched again until the next one), so the document nests at most
    ``max_depth`` levels if and only if ``max_depth`` passes leave nothing.
    """
    if b"\\" in data:  # inside strings only; left to right, as a parser reads them
        # An escaped backslash or quote is neither an escape nor a string's end; any other escape holds neither.
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Quotes now only open and close strings. Deleting two adjacent ones (an empty string, or the end of one string
    # and the start of the next) keeps the others paired as they were, with the same brackets between them.
    skeleton = data.translate(_ONE_KIND_OF_BRACKET, _NOT_QUOTE_OR_BRACKET).replace(b'""', b"")
    if b'"' in skeleton:  # strings with brackets in them
        skeleton = _QUOTED.sub(b"", skeleton)
    for _level in range(max_depth):
        if not skeleton:
            return True
        skeleton = skeleton.replace(b"[]", b"")
    return not skeleton


def _shape(value: Any, max_depth: int, max_items: int | None) -> tuple[int, int | None]:
    """(depth, number of values, member names included) of parsed JSON, without recursion; stops early past either
    limit; the count only when ``max_items`` is given (None otherwise)."""
    deepest, count, stack = 0, 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        kind = type(node)
        if kind is dict or kind is list:
            if depth > deepest:
                deepest = depth
                if deepest > max_depth:
                    break
            children = node.values() if kind is dict else node
            if max_items is not None:
                count += len(node) if kind is dict else 0  # member names are values too
                if count + len(children) > max_items:
                    return deepest, count + len(children)
            if any(type(c) is dict or type(c) is list for c in children):
                stack.extend((child, depth + 1) for child in children)
            else:
                count += len(children)
    return deepest, count if max_items is not None else None

