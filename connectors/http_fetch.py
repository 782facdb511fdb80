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

JSON_TYPES = ("application/json",)
DISCOVERY_PATH = "/.well-known/med-mci"
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


class NodeClient:
    def __init__(self, timeout_s: float = 10, connect_timeout_s: float = 3, max_bytes: int = 20_000_000,
                 user_agent: str = "medmci-hub", max_redirects: int = 2):
        self.timeout_s = float(timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.max_bytes = int(max_bytes)
        self.session = requests.Session()
        self.session.max_redirects = max_redirects
        self.session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        # Nodes are addressed directly; proxy variables of the hub's environment must not reroute them.
        self.session.trust_env = False

    def close(self) -> None:
        self.session.close()

    def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET ``url`` as JSON bytes; with validators, a 304 comes back as ``status=304, body=None``."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.timeout_s
        try:
            response = self.session.get(url, headers=headers, stream=True,
                                        timeout=(self.connect_timeout_s, self.timeout_s))
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
            raise NodeFetchError(f"{url} answered HTTP {response.status_code} {response.reason or ''}".rstrip(),
                                 response.status_code)
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
                           response.headers.get("Last-Modified"), content_type)

    def discover(self, base_url: str) -> dict:
        """The node's discovery document, checked for the fields the hub needs."""
        result = self.fetch(urljoin(base_url.rstrip("/") + "/", DISCOVERY_PATH.lstrip("/")))
        try:
            document = json.loads(result.body)
        except (ValueError, RecursionError) as exc:
            raise NodeFetchError(f"discovery document at {result.url} is not valid JSON", 200) from exc
        profiles = document.get("profiles") if isinstance(document, dict) else None
        if not isinstance(profiles, list) or not all(isinstance(p, dict) and isinstance(p.get("url"), str)
                                                     and isinstance(p.get("version"), str) for p in profiles):
            raise NodeFetchError(f"discovery document at {result.url} has no valid 'profiles' list", 200)
        for profile in profiles:
            profile["url"] = urljoin(result.url, profile["url"])
        return document


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
