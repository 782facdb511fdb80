"""Showing untrusted text (what nodes and clients wrote) on a terminal without letting it drive the terminal.

A node name may carry ANSI escape sequences (clear the screen, recolour, set the window title, on some terminals
worse), C1 controls (``\\x9b`` is a one-byte CSI) or bidirectional overrides (U+202E shows ``evil\\u202etxt.exe``
as ``evilexe.txt``). :func:`shown` writes those characters the way Python's ``repr`` does (``\\x1b``,
``\\u202e``), so a reader sees that they are there and the terminal never acts on them. Letters of every script
stay as they are, and so do the zero-width joiners that Arabic and Indic scripts need.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from .text import escaped


def shown(value) -> str:
    """``value`` as text safe for one line of a terminal: control, escape and bidi characters written escaped
    (newlines and tabs too, so a value stays on its line and in its table column). The rule is federation.text's."""
    return escaped(value)


def guarded(text: str) -> str:
    """Whole output (tables, reports, JSON): like :func:`shown`, but line breaks and tabs of the layout stay. In
    JSON text the escapes appear only inside strings, as ``\\uXXXX``, which JSON reads back as the same character."""
    return escaped(text, keep_layout=True, json_style=True)


class GuardedStream:
    """A text stream that passes everything written to it through :func:`guarded`: the CLI's last line of defence,
    whatever a command prints."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        return self._stream.write(guarded(text) if isinstance(text, str) else text)

    def __getattr__(self, name):
        if name == "buffer":  # click writes bytes to a stream's buffer when it dislikes its encoding: no bypass
            raise AttributeError(name)
        return getattr(self._stream, name)


def unguarded(stream):
    """The stream under a :class:`GuardedStream`: for the CLI's own terminal control (a progress bar redraws its
    line with ``\\r`` and hides the cursor with an escape sequence), never for text from outside."""
    return stream._stream if isinstance(stream, GuardedStream) else stream


@contextmanager
def guarded_output():
    """Within it, ``sys.stdout`` and ``sys.stderr`` are :class:`GuardedStream` (once, however deeply nested)."""
    if isinstance(sys.stdout, GuardedStream):
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = GuardedStream(sys.stdout), GuardedStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
