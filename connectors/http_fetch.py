"""The hub's HTTP client for nodes: discovery and conditional profile fetches with timeouts and a size cap.

Every request the hub makes to a node goes through :class:`NodeClient`. A fetch either returns the exact bytes the
node served (or "not modified"), or raises :class:`FetchError` with a reason a hub operator can act on.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from federation.errors import FetchError
from federation.profile.reader import MAX_DEPTH as MAX_JSON_DEPTH
from federation.profile.reader import json_depth

from .safe_http import UnsafeAddressError, make_safe_session

JSON_TYPES = ("application/json",)
DISCOVERY_PATH = "/.well-known/med-mci"
SIGNATURE_HEADER = "Med-MCI-Signature"
CHUNK = 64 * 1024


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
    def __init__(self, timeout_s: float = 10, connect_timeout_s: float = 3, max_bytes: int = 20_000_000,
                 user_agent: str = "medmci-hub", max_redirects: int = 2, allow_networks=(), auth=None):
        self.timeout_s = float(timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.max_bytes = int(max_bytes)
        # Every request goes through the SSRF-safe session: internal addresses are refused at connect time, on
        # every redirect hop, unless a network is allow-listed (local development, the demo).
        self.session = make_safe_session(allow_networks, max_redirects=max_redirects, user_agent=user_agent)
        self.session.headers.update({"Accept": "application/json"})
        #: requests auth (the hub's RFC 9421 request signer) for profile fetches.
        self.auth = auth

    def close(self) -> None:
        self.session.close()

    def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None,
              signed: bool = False) -> FetchResult:
        """GET ``url`` as JSON bytes; with validators, a 304 comes back as ``status=304, body=None``.
        ``signed`` signs the request with the hub's key, which lets the node serve its federation audience."""
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
            raise NodeFetchError(f"refused to fetch {url}: {exc}") from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise NodeFetchError(f"connection to {_origin(url)} timed out after {self.connect_timeout_s:g} s") from exc
        except requests.exceptions.ReadTimeout as exc:
            raise NodeFetchError(f"{_origin(url)} accepted the connection but did not answer within "
                                 f"{self.timeout_s:g} s") from exc
        except requests.exceptions.TooManyRedirects as exc:
            raise NodeFetchError(f"{_origin(url)}: more than {self.session.max_redirects} redirects") from exc
        except requests.exceptions.ConnectionError as exc:
            raise NodeFetchError(f"cannot connect to {_origin(url)}: {_root_cause(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            raise NodeFetchError(f"request to {url} failed: {_root_cause(exc)}") from exc
        with response:
            return self._read(response, deadline)

    def _read(self, response: requests.Response, deadline: float) -> FetchResult:
        url = response.url
        if response.status_code == 304:
            return FetchResult(url, 304, None, response.headers.get("ETag"), response.headers.get("Last-Modified"),
                               None)
        if response.status_code != 200:
            message = f"{url} answered HTTP {response.status_code} {response.reason or ''}".rstrip()
            if explanation := _error_message(response):
                message += f": {explanation}"
            raise NodeFetchError(message, response.status_code)
        content_type = response.headers.get("Content-Type", "")
        media_type = content_type.split(";")[0].strip().lower()
        if media_type not in JSON_TYPES and not media_type.endswith("+json"):
            raise NodeFetchError(f"{url} answered {media_type or 'no content type'}, not JSON", 200)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise NodeFetchError(f"{url}: body of {int(declared)} bytes is over the cap of {self.max_bytes}", 200)
        chunks, size = [], 0
        try:
            # read1 returns whatever has arrived (decompressed), so a node dripping a few bytes at a time meets the
            # deadline; iter_content would wait for a full chunk first. The cap counts decompressed bytes.
            while chunk := response.raw.read1(CHUNK, decode_content=True):
                size += len(chunk)
                if size > self.max_bytes:
                    raise NodeFetchError(f"{url}: body is over the cap of {self.max_bytes} bytes", 200)
                if time.monotonic() > deadline:
                    raise NodeFetchError(f"{url}: the whole fetch took longer than {self.timeout_s:g} s", 200)
                chunks.append(chunk)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise NodeFetchError(f"{url}: the body was cut off ({_root_cause(exc)})", 200) from exc
        return FetchResult(url, 200, b"".join(chunks), response.headers.get("ETag"),
                           response.headers.get("Last-Modified"), content_type, response.headers.get(SIGNATURE_HEADER))

    def discover(self, base_url: str) -> tuple[dict, str | None, str]:
        """The node's discovery document, checked for the fields the hub needs, its signatures header, and the URL
        it was finally read from (relative URLs in it are relative to that; the signed document stays as is)."""
        result = self.fetch(urljoin(base_url.rstrip("/") + "/", DISCOVERY_PATH.lstrip("/")))
        try:
            document = json.loads(result.body)
        except (ValueError, RecursionError) as exc:
            raise NodeFetchError(f"discovery document at {result.url} is not valid JSON", 200) from exc
        if json_depth(document) > MAX_JSON_DEPTH:
            raise NodeFetchError(f"discovery document at {result.url} nests deeper than {MAX_JSON_DEPTH}", 200)
        profiles = document.get("profiles") if isinstance(document, dict) else None
        if not isinstance(profiles, list) or not all(isinstance(p, dict) and isinstance(p.get("url"), str)
                                                     and isinstance(p.get("version"), str) for p in profiles):
            raise NodeFetchError(f"discovery document at {result.url} has no valid 'profiles' list", 200)
        return document, result.signature, result.url


def _error_message(response: requests.Response) -> str | None:
    """The ``message`` of a small JSON error body (our nodes' error shape), to say why a node refused."""
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        body = json.loads(response.raw.read(4096, decode_content=True) or b"{}")
    except (ValueError, OSError, urllib3.exceptions.HTTPError):
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return str(message)[:300] if message else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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
