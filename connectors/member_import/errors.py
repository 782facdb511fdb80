"""The one error of the member import's reading side: the file as a whole cannot be read."""

from __future__ import annotations


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (its type, encoding, header, size); the message says what to do."""
