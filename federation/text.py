"""Which characters untrusted text may hold, defined once for every door text comes in by (the node's API, the hub's
API and request guards, the hub's harvest, its registration) and the way it is escaped wherever it is shown.

Refused everywhere: C0 and C1 control characters and DEL (PostgreSQL stores no NUL; ESC and CSI drive terminals),
except tab and line breaks in multi-line text; lone surrogates (they cannot be encoded). Refused in one-line text
(ids, names, cities, persons, path and query values): the bidirectional embeddings, overrides and isolates
U+202A-U+202E and U+2066-U+2069, which reorder what a reader sees ("exe.\\u202etxt" shows as "exe.txt" reversed).
The marks U+200E, U+200F and U+061C only set the direction of neutral characters and belong in Arabic text: allowed.
"""

from __future__ import annotations

import re
import unicodedata

from marshmallow import ValidationError, fields, validate

#: Bidirectional embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Bidirectional marks (LRM, RLM, ALM): legitimate in Arabic text, accepted.
BIDI_MARKS = frozenset("\u200e\u200f\u061c")

# One character class per rule; the one-line and multi-line patterns are also published (JSON Schema "pattern").
_C0_C1_DEL = r"\x00-\x1f\x7f-\x9f"
_C0_C1_DEL_BUT_LAYOUT = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = r"\u202a-\u202e\u2066-\u2069"
ONE_LINE_PATTERN = rf"^[^{_C0_C1_DEL}{_BIDI}]*$"
MULTI_LINE_PATTERN = rf"^[^{_C0_C1_DEL_BUT_LAYOUT}]*$"
_ONE_LINE_BAD = re.compile(rf"[{_C0_C1_DEL}{_BIDI}\ud800-\udfff]")
_MULTI_LINE_BAD = re.compile(rf"[{_C0_C1_DEL_BUT_LAYOUT}\ud800-\udfff]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is not acceptable text (naming the first character at fault), or ``None``."""
    found = (_MULTI_LINE_BAD if multiline else _ONE_LINE_BAD).search(value)
    if found is None:
        return None
    char = found.group()
    code = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return f"lone surrogate characters are not allowed (found {code})"
    if char in BIDI_CONTROLS:
        return f"bidirectional formatting characters are not allowed (found {code}, which reorders what is shown)"
    if multiline:
        return f"control characters other than tab and line breaks are not allowed (found {code})"
    return f"control characters are not allowed (found {code})"


class _TextValidator(validate.Regexp):
    """A marshmallow validator that says which character is at fault. A :class:`~marshmallow.validate.Regexp` so
    that apispec publishes its pattern in the JSON Schema and the OpenAPI document."""

    def __init__(self, multiline: bool):
        super().__init__(MULTI_LINE_PATTERN if multiline else ONE_LINE_PATTERN)
        self.multiline = multiline
        self._bad = _MULTI_LINE_BAD if multiline else _ONE_LINE_BAD

    def accepts(self, value) -> bool:
        """Whether calling this validator accepts ``value``, without building the message (a fast path)."""
        return not isinstance(value, str) or self._bad.search(value) is None

    def __call__(self, value):
        problem = text_problem(value, multiline=self.multiline) if isinstance(value, str) else None
        if problem:
            raise ValidationError(problem)
        return value


#: Validators of one-line text (ids, names, cities) and of multi-line text (descriptions, offers, reasons).
ONE_LINE = _TextValidator(multiline=False)
MULTI_LINE = _TextValidator(multiline=True)


class Text(fields.String):
    """A string field of one-line text (``multiline=True``: tab and line breaks allowed too)."""

    def __init__(self, *, multiline: bool = False, **kwargs):
        checks = [MULTI_LINE if multiline else ONE_LINE]
        given = kwargs.pop("validate", None)
        if given is not None:
            checks += list(given) if isinstance(given, (list, tuple)) else [given]
        super().__init__(validate=checks, **kwargs)


# ---------------------------------------------------------------------------------------------------- escaping

#: Format characters that scripts need to render (ZWNJ, ZWJ): shown as they are.
_JOINERS = frozenset("\u200c\u200d")
#: Categories never shown raw: controls, format characters (bidi controls and marks, zero-width spaces), line and
#: paragraph separators, lone surrogates. A terminal lays out a whole line of table cells at once, so even a mark
#: accepted in a name is shown escaped there.
_ESCAPED_CATEGORIES = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs"))
_LAYOUT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def unsafe_to_show(char: str) -> bool:
    return unicodedata.category(char) in _ESCAPED_CATEGORIES and char not in _JOINERS


def _escape_char(char: str, json_style: bool) -> str:
    code = ord(char)
    if json_style and code < 0x10000:
        return f"\\u{code:04x}"
    if char in _LAYOUT:
        return _LAYOUT[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escaped(value, *, keep_layout: bool = False, json_style: bool = False) -> str:
    """``value`` as text that drives no terminal and reorders nothing: every character :func:`unsafe_to_show`
    written the way Python's ``repr`` does (``\\x1b``, ``\\u202e``), so a reader sees it is there. ``keep_layout``
    keeps line feeds and tabs (whole output rather than one value); ``json_style`` writes ``\\u001b`` rather than
    ``\\x1b`` (inside a JSON string that reads back as the same character)."""
    text = "" if value is None else str(value)
    if text.isprintable():  # the common case: isprintable is False for every character escaped here
        return text
    return "".join(c if (keep_layout and c in "\n\t") or not unsafe_to_show(c) else _escape_char(c, json_style)
                   for c in text)


def stored(text: str | None, limit: int = 2000) -> str | None:
    """Untrusted text (a node's error message, a field name it sent) as the hub keeps it in its database: escaped
    as on a terminal, at most ``limit`` characters."""
    if text is None:
        return None
    return escaped(text[:limit])[:limit]
