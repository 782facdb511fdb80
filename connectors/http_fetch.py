"""The hub's HTTP client for nodes: discovery and conditional profile fetches with timeouts and a size cap.

Every request the hub makes to a node goes through :class:`NodeClient`. A fetch either returns the exact bytes the
node served (or "not modified"), or raises :class:`FetchError` with a reason a hub operator can act on. The client
asks for gzip and inflates it itself (connectors/content_coding.py): the cap counts the decoded bytes (what is
parsed, verified and stored) and, separately, the bytes on the wire.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from federation.errors import FetchError
from federation.signing import JsonLimits, parse_bounded

from .content_coding import ACCEPT_ENCODING, ContentCodingError, decoder_for
from .safe_http import UnsafeAddressError, make_safe_session

JSON_TYPES = ("application/json",)
DISCOVERY_PATH = "/.well-known/med-mci"
SIGNATURE_HEADER = "Med-MCI-Signature"
CHUNK = 64 * 1024
ERROR_BODY_BYTES = 4096  # of a node's error answer, read for its message
#: Longest ETag / Last-Modified / Content-Type the hub keeps (the columns that store them): unsigned headers, so a
#: value over these, or with anything but visible ASCII, is not kept (validators) or refused (content type).
MAX_ETAG, MAX_LAST_MODIFIED, MAX_CONTENT_TYPE = 200, 100, 100
MAX_URL = 500  # a profile URL the hub keeps (nodes.profile_url)
_VISIBLE = re.compile(r"[\x20-\x7e]*")


class NodeFetchError(FetchError):
    """A fetch failure, with the HTTP status when the node answered."""

    def __init__(self, message: str, http_status: int | None = None):
        super().__init__(message)
        self.http_status = http_status


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int  # 200 or 304
    body: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    signature: str | None = None  # the node's detached JWS(es) over the body


class NodeClient:
    # The bounds are settings (harvest.*, limits.*, trust.*): Hub.build passes each; config/settings.yaml holds them.
    def __init__(self, *, timeout_s: float, connect_timeout_s: float, max_bytes: int, max_decompressed_bytes: int,
                 user_agent: str, discovery_max_bytes: int, max_signature_bytes: int, json_limits: JsonLimits,
                 max_redirects: int = 2, allow_networks=(), auth=None):
        self.timeout_s = float(timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.max_bytes = int(max_bytes)
        #: A profile's decompressed bytes (harvest.max_decompressed_bytes); ``max_bytes`` counts those received.
        self.max_decompressed_bytes = int(max_decompressed_bytes)
        #: A discovery document lists a cluster, a few keys and profile URLs: its own cap, far below a profile's.
        self.discovery_max_bytes = int(discovery_max_bytes)
        #: The Med-MCI-Signature header, all its lines together (trust.max_signature_header_bytes).
        self.max_signature_bytes = int(max_signature_bytes)
        self.json_limits = json_limits
        # Every request goes through the SSRF-safe session: internal addresses are refused at connect time, on
        # every redirect hop, unless a network is allow-listed (local development, the demo).
        self.session = make_safe_session(allow_networks, max_redirects=max_redirects, user_agent=user_agent)
        # Only the codings the client decodes itself, under its cap (requests would offer deflate too).
        self.session.headers.update({"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING})
        #: requests auth (the hub's RFC 9421 request signer) for profile fetches.
        self.auth = auth

    def close(self) -> None:
        self.session.close()

    def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None,
              signed: bool = False, max_bytes: int | None = None) -> FetchResult:
        """GET ``url`` as JSON bytes; with validators, a 304 comes back as ``status=304, body=None``.
        ``signed`` signs the request with the hub's key, which lets the node serve its federation audience.
        ``max_bytes``: this body's cap, received and decompressed alike (default: the profile's caps,
        harvest.max_bytes received and harvest.max_decompressed_bytes decompressed)."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.timeout_s
        try:
            response = self.session.get(url, headers=headers, stream=True, auth=self.auth if signed else None,
                                        timeout=(self.connect_timeout_s, self.timeout_s))
        except UnsafeAddressError as exc:
            raise NodeFetchError(f"refused to fetch {_failed(exc, url)}: {exc}") from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise NodeFetchError(f"connection to {_where(exc, url)} timed out after "
                                 f"{self.connect_timeout_s:g} s") from exc
        except requests.exceptions.ReadTimeout as exc:
            raise NodeFetchError(f"{_where(exc, url)} accepted the connection but did not answer within "
                                 f"{self.timeout_s:g} s") from exc
        except requests.exceptions.TooManyRedirects as exc:
            raise NodeFetchError(f"{_origin(url)}: more than {self.session.max_redirects} redirects") from exc
        except requests.exceptions.ConnectionError as exc:
            if (too_large := _headers_too_large(exc)) is not None:  # it did connect: the answer was refused
                raise NodeFetchError(f"{_where(exc, url)}: the node's response headers are too large ({too_large})") \
                    from exc
            raise NodeFetchError(f"cannot connect to {_where(exc, url)}: {_root_cause(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            raise NodeFetchError(f"request to {_failed(exc, url)} failed: {_root_cause(exc)}") from exc
        with response:
            if max_bytes is None:
                return self._read(response, deadline, self.max_bytes, self.max_decompressed_bytes)
            return self._read(response, deadline, max_bytes, max_bytes)

    def _read(self, response: requests.Response, deadline: float, max_bytes: int,
              max_decompressed: int) -> FetchResult:
        url = response.url
        etag = _validator(response, "ETag", MAX_ETAG)
        last_modified = _validator(response, "Last-Modified", MAX_LAST_MODIFIED)
        if response.status_code == 304:
            return FetchResult(url, 304, None, etag, last_modified, None)
        if response.status_code != 200:
            message = f"{url} answered HTTP {response.status_code} {response.reason or ''}".rstrip()
            if explanation := _error_message(response):
                message += f": {explanation}"
            raise NodeFetchError(message, response.status_code)
        content_type = response.headers.get("Content-Type", "")
        media_type = content_type.split(";")[0].strip().lower()
        if media_type not in JSON_TYPES and not media_type.endswith("+json"):
            raise NodeFetchError(f"{url} answered {media_type or 'no content type'}, not JSON", 200)
        if not _VISIBLE.fullmatch(content_type) or len(content_type) > MAX_CONTENT_TYPE:
            if len(media_type) > MAX_CONTENT_TYPE or not _VISIBLE.fullmatch(media_type):
                raise NodeFetchError(f"{url}: the Content-Type header ({len(content_type)} characters) is not a "
                                     f"media type of at most {MAX_CONTENT_TYPE} visible ASCII characters", 200)
            content_type = media_type  # the parameters are what was too long (or not printable): not kept
        # Checked before the body is read: the cheapest refusal of a signature flood (trust.max_signature_header_bytes).
        signature = response.headers.get(SIGNATURE_HEADER)
        if signature is not None and len(signature) > self.max_signature_bytes:
            raise NodeFetchError(f"{url}: the {SIGNATURE_HEADER} header of {len(signature)} bytes is over the limit of "
                                 f"{self.max_signature_bytes} (trust.max_signature_header_bytes)", 200)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and len(declared) < 20 and int(declared) > max_bytes:
            raise NodeFetchError(f"{url}: body of {int(declared)} bytes is over the cap of {max_bytes}", 200)
        try:
            decoder = decoder_for(response.headers.get("Content-Encoding"))
        except ContentCodingError as exc:
            raise NodeFetchError(f"{url}: {exc}", 200) from exc
        chunks, size, wire = [], 0, 0
        try:
            # read1 returns whatever has arrived, so a node dripping a few bytes at a time meets the deadline;
            # iter_content would wait for a full chunk first. The bytes come undecoded (urllib3 would inflate a whole
            # chunk at once): the decoder inflates them a slice at a time, and the cap counts both the bytes on the
            # wire (max_bytes) and the decompressed ones (max_decompressed), so a gzip bomb is refused after at most
            # the decompressed cap.
            while chunk := response.raw.read1(CHUNK, decode_content=False):
                wire += len(chunk)
                if wire > max_bytes:
                    raise NodeFetchError(f"{url}: body is over the cap of {max_bytes} bytes", 200)
                for piece in decoder.decode(chunk):
                    size += len(piece)
                    if size > max_decompressed:
                        raise NodeFetchError(f"{url}: body is over the cap of {max_decompressed} bytes once "
                                             f"decompressed "
                                             f"({decoder.name}, {wire} bytes received so far)", 200)
                    chunks.append(piece)
                if time.monotonic() > deadline:
                    raise NodeFetchError(f"{url}: the whole fetch took longer than {self.timeout_s:g} s", 200)
            decoder.finish()
        except ContentCodingError as exc:
            raise NodeFetchError(f"{url}: {exc}", 200) from exc
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise NodeFetchError(f"{url}: the body was cut off ({_root_cause(exc)})", 200) from exc
        return FetchResult(url, 200, b"".join(chunks), etag, last_modified, content_type, signature)

    def discover(self, base_url: str) -> tuple[dict, str | None, str]:
        """The node's discovery document, checked for the fields the hub needs, its signatures header, and the URL
        it was finally read from (relative URLs in it are relative to that; the signed document stays as is)."""
        result = self.fetch(urljoin(base_url.rstrip("/") + "/", DISCOVERY_PATH.lstrip("/")),
                            max_bytes=self.discovery_max_bytes)
        if result.body is None:  # a 304 to a request without validators
            raise NodeFetchError(f"discovery document at {result.url}: answered 304 Not Modified to an unconditional "
                                 f"request", result.status)
        try:
            document = parse_bounded(result.body, self.json_limits).document
        except ValueError as exc:
            raise NodeFetchError(f"discovery document at {result.url} refused: {exc}", 200) from exc
        profiles = document.get("profiles") if isinstance(document, dict) else None
        if not isinstance(profiles, list) or not all(isinstance(p, dict) and isinstance(p.get("url"), str)
                                                     and len(p["url"]) <= MAX_URL and isinstance(p.get("version"), str)
                                                     for p in profiles):
            raise NodeFetchError(f"discovery document at {result.url} has no valid 'profiles' list (each entry a "
                                 f"version and a URL of at most {MAX_URL} characters)", 200)
        return document, result.signature, result.url


def _validator(response: requests.Response, name: str, limit: int) -> str | None:
    """An ETag or Last-Modified header as the hub may keep and send back: visible ASCII, at most ``limit``
    characters; anything else is ignored (the next fetch is unconditional, and the content hash still tells an
    unchanged body)."""
    value = response.headers.get(name)
    if value is None or len(value) > limit or not _VISIBLE.fullmatch(value):
        return None
    return value


def _failed(exc: requests.exceptions.RequestException, url: str) -> str:
    """The URL whose request failed: after a redirect, the redirect's target, not the first URL."""
    request = getattr(exc, "request", None)
    return getattr(request, "url", None) or url


def _where(exc: requests.exceptions.RequestException, url: str) -> str:
    """The origin that failed, with the first one when a redirect led there."""
    target = _origin(_failed(exc, url))
    return target if target == _origin(url) else f"{target} (redirected from {_origin(url)})"


def _error_message(response: requests.Response) -> str | None:
    """The ``message`` of a small JSON error body (our nodes' error shape), to say why a node refused."""
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        # At most 4096 bytes read and 4096 decoded: an error body in gzip is inflated under the same kind of bound.
        decoder = decoder_for(response.headers.get("Content-Encoding"))
        raw = response.raw.read(ERROR_BODY_BYTES, decode_content=False)
        text = b""
        for piece in decoder.decode(raw):
            text += piece
            if len(text) >= ERROR_BODY_BYTES:
                break
        body = json.loads(text[:ERROR_BODY_BYTES] or b"{}")
    except (ValueError, OSError, urllib3.exceptions.HTTPError):  # ContentCodingError is a ValueError
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return str(message)[:300] if message else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _headers_too_large(exc: BaseException) -> str | None:
    """What http.client said when the response's headers were over its limits (a line over 65,536 bytes, more than
    100 header lines), or ``None`` for any other failure. requests reports both as a ConnectionError."""
    seen: BaseException | None = exc
    for _ in range(10):  # exception chains are short; the bound only guards against cycles
        if seen is None:
            return None
        if isinstance(seen, http.client.LineTooLong) or (
                isinstance(seen, http.client.HTTPException) and "got more than" in str(seen)):
            return str(seen)[:200]
        seen = next((a for a in seen.args if isinstance(a, BaseException)), None) or seen.__context__
    return None


def _root_cause(exc: BaseException) -> str:
    """The innermost reason ("Connection refused") rather than urllib3's nested repr."""
    seen = exc
    for _ in range(10):  # exception chains are short; the bound only guards against cycles
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else seen.__context__
        if inner is None:
            break
        seen = inner
    text = str(seen)
    if "Connection refused" in text or isinstance(seen, ConnectionRefusedError):
        return "connection refused"
    return text.split(": ", 1)[-1][:300]
