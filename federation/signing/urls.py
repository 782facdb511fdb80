"""URLs as they are signed: the normal form signatures cover and compare, and the URL a request was received at."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """The form in which URLs are signed and compared: lower-case scheme and host, no default port, no user
    information or fragment, an empty path as "/". Percent-encoding and the query are kept as they are."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port  # ValueError for a port that is not a number
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def same_url(a: str, b: str) -> bool:
    """Whether two URLs are the same once normalised (compared as they are when either does not parse)."""
    try:
        return normalize_url(a) == normalize_url(b)
    except ValueError:
        return a == b


def received_url(request: Any) -> str:
    """The absolute URL a werkzeug/Flask request was sent to, its path and query exactly as on the wire.

    Uses ``REQUEST_URI`` (set by werkzeug's server and by waitress), falling back to ``request.url``.
    """
    target = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    if not target:
        return request.url
    if target.startswith(("http://", "https://")):  # absolute-form request target
        return target
    return f"{request.scheme}://{request.host}{target}"
