"""base64url without padding (RFC 7515 section 2): how keys, JWS parts and thumbprints are written."""

from __future__ import annotations

import base64
import re

#: The base64url alphabet, nothing else (no padding): also what a key id must look like to name a file.
B64URL_TEXT = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: object) -> bytes:
    """Strict base64url without padding: no '=', no other alphabet, no non-canonical trailing bits. Anything but
    such a string (a member of a hostile JSON document may be anything) is a ValueError too."""
    if not isinstance(text, str) or not B64URL_TEXT.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data
