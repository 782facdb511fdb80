"""How a signature check says no: a :class:`SignatureError` with its reason in ``errors["signature"]``, repeating
at most :data:`MAX_ECHO_CHARS` characters of anything the sender chose."""

from __future__ import annotations

from typing import Any

from ..errors import SignatureError

#: The most characters of an untrusted value (a key id, a URL) an error message or an audit line repeats.
MAX_ECHO_CHARS = 200


def clip(text: Any, limit: int = MAX_ECHO_CHARS) -> str | None:
    """An untrusted value as an error message or an audit line may repeat it: at most ``limit`` characters, marked
    when cut (with the length it had). None stays None."""
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}...[cut: {len(text)} characters]"


def refuse(reason: str, detail: str | None = None) -> SignatureError:
    """The SignatureError for ``reason`` (what callers match on), with an optional detail in its message."""
    return SignatureError(f"{reason}: {detail}" if detail else reason, errors={"signature": [reason]})
