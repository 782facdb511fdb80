"""Misbehaving nodes for harvest tests, on loopback ports.

:class:`FakeNode` has keys of its own, serves a discovery document signed by them that publishes its keys, cluster
and profile URL, and then does whatever its ``profile`` behaviour says (a switchable node: first a good, signed
profile, then something bad); :class:`SilentNode` accepts connections and never answers. The ``fake_node`` and
``silent_node`` fixtures start them and stop them after the test.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.http_fetch import DISCOVERY_PATH, SIGNATURE_HEADER
from federation.signing import KeyStore, sign_document


# -- misbehaving nodes -------------------------------------------------------------------------------------------

#: ``FakeHandler.send_body(..., signature=SIGN)``: the node signs the body it serves, as the real one does.
SIGN = object()


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "FakeNode"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server naming
        self.server.requests.append((self.path, dict(self.headers)))
        if self.path == DISCOVERY_PATH:
            if self.server.discovery is not None:
                self.server.discovery(self)
            else:
                self.send_discovery()
        elif self.path == FakeNode.PROFILE_PATH:
            self.server.profile(self)
        else:
            self.send_body(404, b'{"error": "not found"}', "application/json")

    def send_discovery(self) -> None:
        """The node's discovery document, signed (like a real node's) by every key it publishes."""
        server = self.server
        document = server.discovery_document()
        signatures = ",".join(sign_document(document, server.keys.private_key(k["kid"]), k["kid"])
                              for k in server.keys.published())
        self.send_body(200, json.dumps(document).encode(), "application/json",
                       {SIGNATURE_HEADER: signatures} if server.sign_discovery else None)

    def send_body(self, status: int, body: bytes, content_type: str | None = "application/json",
                  headers: dict | None = None, signature=SIGN) -> None:
        """Send ``body``; a 200 profile carries ``signature`` (by default the node's own, over ``body``; None for
        none; a string is sent as it is)."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        headers = dict(headers or {})
        if status == 200 and self.path == FakeNode.PROFILE_PATH and signature is not None:
            signature = self.server.signature_for(body) if signature is SIGN else signature
            if signature:
                headers[SIGNATURE_HEADER] = signature
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class FakeNode(ThreadingHTTPServer):
    """A node on a loopback port whose profile behaviour can be switched while it runs.

    It publishes its keys and cluster in a discovery document signed by every key it publishes, and signs the
    profiles it serves with its current key (``signing_kid`` picks another of its keys, ``signing_key`` a key it
    does not publish; ``sign_profiles = False`` sends profiles without a signature).
    """

    PROFILE_PATH = "/api/v1/profile"
    daemon_threads = True
    block_on_close = False

    def __init__(self, profile: Callable[[FakeHandler], None], keys: KeyStore, cluster_id: str = "menara",
                 country: str = "MA", host: str = "127.0.0.1"):
        super().__init__((host, 0), FakeHandler)
        self.profile = profile
        self.keys = keys
        self.cluster_id, self.country = cluster_id, country
        self.discovery_versions = ["1.0"]
        #: Publish the profile URL relative to the discovery document ("/api/v1/profile").
        self.relative_profile_url = False
        #: Replaces the discovery behaviour (a redirect, a hostile document) when set.
        self.discovery: Callable[[FakeHandler], None] | None = None
        self.sign_discovery = True
        self.sign_profiles = True
        self.signing_kid: str | None = None
        self.signing_key: tuple[str, Ed25519PrivateKey] | None = None
        #: JWKs published besides the key store's (a key the node starts using without rotating its store).
        self.extra_keys: list[dict] = []
        self.requests: list[tuple[str, dict]] = []
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._stopped = False
        self._connections: list[socket.socket] = []

    def process_request(self, request, client_address):
        self._connections.append(request)
        super().process_request(request, client_address)

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    @property
    def profile_url(self) -> str:
        return self.url + FakeNode.PROFILE_PATH

    def discovery_document(self) -> dict:
        url = FakeNode.PROFILE_PATH if self.relative_profile_url else self.profile_url
        return {"schema": "med-mci/discovery", "version": "1.0", "cluster_id": self.cluster_id,
                "cluster": {"id": self.cluster_id, "country": self.country},
                "keys": self.keys.published() + self.extra_keys,
                "profiles": [{"version": v, "url": url, "media_type": "application/json"}
                             for v in self.discovery_versions]}

    def signature_for(self, body: bytes, *, key: tuple[str, Ed25519PrivateKey] | None = None,
                      created: int | None = None, htu: str | None = None, sub: str | None = None) -> str | None:
        """The node's detached JWS over a profile body, for the URL it serves it at and the cluster the body
        claims (None if the body is not a profile, or the node does not sign)."""
        try:
            claimed = json.loads(body)["cluster"]["id"]
        except (ValueError, KeyError, TypeError):
            return None
        if not self.sign_profiles:
            return None
        if key is None:
            key = self.signing_key or ((self.signing_kid, self.keys.private_key(self.signing_kid))
                                       if self.signing_kid else self.keys.current)
        kid, private_key = key
        return sign_document(body, private_key, kid, htu=htu or self.profile_url, sub=sub or claimed,
                             created=created)

    def start(self) -> "FakeNode":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: later connections to this port are refused."""
        if self._stopped:
            return
        self._stopped = True
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
        for conn in self._connections:  # a dead node also drops its keep-alive connections
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # the hub hanging up on a slow or oversized answer is expected here


class SilentNode:
    """Accepts TCP connections and never answers a byte."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _run(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted.append(conn)  # and sleep on it

    def stop(self):
        self.stopping.set()
        self._thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()



@pytest.fixture
def fake_node(tmp_path_factory):
    """``fake_node(profile_behaviour, cluster_id, country, host)`` -> a started :class:`FakeNode` with keys of its own,
    stopped after the test."""
    servers: list[FakeNode] = []

    def start(profile: Callable[[FakeHandler], None], cluster_id: str = "menara", country: str = "MA",
              host: str = "127.0.0.1") -> FakeNode:
        keys = KeyStore.load_or_create(tmp_path_factory.mktemp("fake-keys") / "keys")
        server = FakeNode(profile, keys, cluster_id, country, host).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()



@pytest.fixture
def silent_node():
    """``silent_node()`` -> a started :class:`SilentNode`, stopped after the test."""
    nodes: list[SilentNode] = []

    def start() -> SilentNode:
        node = SilentNode()
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        node.stop()


# -- profile behaviours ------------------------------------------------------------------------------------------

def serve_json(body: bytes, etag: str | None = None) -> Callable[[FakeHandler], None]:
    """A well-behaved profile: ``body`` with ``etag``, and 304 when If-None-Match matches it."""

    def behaviour(h: FakeHandler) -> None:
        if etag and h.headers.get("If-None-Match") == etag:
            h.send_body(304, b"", None, {"ETag": etag})
        else:
            h.send_body(200, body, "application/json", {"ETag": etag} if etag else None)

    return behaviour


def send(status: int, body: bytes, content_type: str = "application/json") -> Callable[[FakeHandler], None]:
    """Answers every profile request with ``status`` and ``body``."""
    return lambda h: h.send_body(status, body, content_type)
