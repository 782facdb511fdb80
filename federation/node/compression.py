"""The published profile in gzip: compressed once per version, served to a client that accepts gzip.

The gzip bytes are a different representation of the same document, so they have their own ETag (RFC 9110 8.8.3:
the publication's tag with ``-gzip``), and the profile answers ``Vary: Accept-Encoding``. A conditional request is
compared with the tag of the representation the request selects. The signature header stays the node's JWS over the
document itself: a hub verifies the decompressed bytes.
"""

from __future__ import annotations

import gzip
import threading

#: gzip's own default level: about a tenth of a profile's bytes, fast enough to run once per published version.
LEVEL = 6
GZIP_TAG_SUFFIX = "-gzip"


def accepts_gzip(accept_encodings) -> bool:
    """Whether a request's parsed Accept-Encoding (werkzeug ``request.accept_encodings``) accepts gzip: listed, or
    ``*``, with a quality above 0."""
    return accept_encodings["gzip"] > 0


def gzip_etag(etag: str) -> str:
    """The gzip representation's entity tag (unquoted), from the publication's (quoted or not)."""
    return etag.strip('"') + GZIP_TAG_SUFFIX


class GzipCache:
    """The gzip bytes of each audience's current publication, keyed by its ETag: compressed by the first request that
    asks for them after a publish, then served as they are. One entry per audience, so memory stays at one
    compressed copy of each published document."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, bytes]] = {}

    def get(self, audience: str, etag: str, body: bytes) -> bytes:
        """The gzip of ``body``, the publication of ``audience`` tagged ``etag``."""
        entry = self._entries.get(audience)
        if entry is not None and entry[0] == etag:
            return entry[1]
        with self._lock:  # concurrent first requests compress once
            entry = self._entries.get(audience)
            if entry is None or entry[0] != etag:
                # mtime=0: the same document always gives the same bytes (and a restart the same ones).
                entry = (etag, gzip.compress(body, compresslevel=LEVEL, mtime=0))
                self._entries[audience] = entry
            return entry[1]
