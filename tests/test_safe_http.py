"""The SSRF-safe session: refused addresses are refused before any connect(), allowed ones work normally.

Real servers run only on 127.0.0.0/8 (and ::1). Every other address is only ever handed to the session to be refused;
the autouse ``connects`` fixture records each connect() the test makes and fails the test on any connect() that would
leave the loopback interface, so a regression cannot send a packet to 10.x, 169.254.x or a public address.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from urllib3.util.connection import HAS_IPV6

from connectors import safe_http
from connectors.safe_http import UnsafeAddressError, address_refusal, make_safe_session


# --------------------------------------------------------------------------------------------------------------------
# Loopback servers and guards


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: the server closes every connection, so each request opens (and checks) a new one.
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server naming
        self.server.seen.append((self.path, dict(self.headers)))
        status, headers, body = self.server.routes.get(self.path) or (
            200, {"Content-Type": "application/json"},
            json.dumps({"server": self.server.server_address[0], "path": self.path}).encode())
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int = 0):
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        self.host, self.port = host, self.server_address[1]
        self.seen: list[tuple[str, dict]] = []  # (path, headers) of every request received
        self.routes: dict[str, tuple[int, dict, bytes]] = {}

    def url(self, path: str = "/", host: str | None = None) -> str:
        host = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"http://{host}:{self.port}{path}"

    def redirect(self, path: str, location: str) -> None:
        self.routes[path] = (302, {"Location": location}, b"")


@pytest.fixture
def serve():
    """Starts loopback servers: ``serve("127.0.0.2")``; all are stopped at teardown."""
    started = []

    def start(host: str, port: int = 0) -> _Server:
        server = _Server(host, port)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def session_factory():
    sessions = []

    def make(*args, **kwargs) -> requests.Session:
        sessions.append(make_safe_session(*args, **kwargs))
        return sessions[-1]

    yield make
    for session in sessions:
        session.close()


@pytest.fixture(autouse=True)
def connects(monkeypatch) -> list[tuple[str, int]]:
    """Every (address, port) the test connects to; a connect() outside loopback fails the test before any packet."""
    attempted = []
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        if isinstance(address, tuple):
            ip = ipaddress.ip_address(address[0].split("%")[0])
            attempted.append((str(ip), address[1]))
            loopback = (ip.ipv4_mapped or ip) if ip.version == 6 else ip
            if not loopback.is_loopback:
                raise AssertionError(f"the test tried to connect to {address}, outside loopback")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    return attempted


@pytest.fixture
def fake_dns(monkeypatch):
    """``fake_dns({"node.example": [["127.0.0.2"], ["127.0.0.1"]]})``: successive answers for a name (the last one
    repeats); other names resolve for real. Returns the list of names looked up."""
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def install(answers: dict[str, list[list[str]]]):
        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            if host not in answers:
                return real_getaddrinfo(host, port, family, type, proto, flags)
            lookups.append(host)
            addresses = answers[host][min(lookups.count(host), len(answers[host])) - 1]
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                     (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]

        monkeypatch.setattr(safe_http.socket, "getaddrinfo", getaddrinfo)
        return lookups

    return install


def assert_refused(session: requests.Session, url: str, category: str) -> UnsafeAddressError:
    with pytest.raises(UnsafeAddressError) as caught:
        session.get(url, timeout=2)
    assert category.lower() in str(caught.value).lower(), str(caught.value)
    assert category.lower() in caught.value.reason.lower()
    return caught.value


# --------------------------------------------------------------------------------------------------------------------
# Allowed servers


def test_allowed_server_answers_normally_with_the_original_host_header(serve, session_factory, connects):
    node = serve("127.0.0.2")
    session = session_factory(["127.0.0.2/32"])

    response = session.get(node.url("/.well-known/med-mci"), timeout=2)

    assert response.status_code == 200
    assert response.json() == {"server": "127.0.0.2", "path": "/.well-known/med-mci"}
    path, headers = node.seen[0]
    assert headers["Host"] == f"127.0.0.2:{node.port}"
    assert headers["User-Agent"] == "medmci-hub"
    assert connects == [("127.0.0.2", node.port)]
    assert session.max_redirects == 2 and session.trust_env is False


def test_a_pinned_host_name_keeps_its_host_header(serve, session_factory, fake_dns, connects):
    node = serve("127.0.0.2")
    fake_dns({"node.example": [["127.0.0.2"]]})

    response = session_factory(["127.0.0.2/32"]).get(node.url("/doc", host="node.example"), timeout=2)

    assert response.status_code == 200
    assert node.seen[0][1]["Host"] == f"node.example:{node.port}"
    assert connects == [("127.0.0.2", node.port)]


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 on this host")
def test_the_allow_list_also_covers_ipv4_mapped_addresses(serve, session_factory):
    node = serve("127.0.0.2")

    response = session_factory(["127.0.0.0/8"]).get(node.url("/", host="[::ffff:127.0.0.2]"), timeout=2)

    assert response.status_code == 200 and len(node.seen) == 1


def test_environment_proxies_are_ignored_and_explicit_ones_refused(serve, session_factory, monkeypatch):
    node, proxy = serve("127.0.0.2"), serve("127.0.0.3")
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    monkeypatch.setenv("http_proxy", proxy.url())
    session = session_factory(["127.0.0.2/32", "127.0.0.3/32"])

    assert session.get(node.url(), timeout=2).status_code == 200
    with pytest.raises(requests.exceptions.InvalidProxyURL):
        session.get(node.url(), proxies={"http": proxy.url()}, timeout=2)
    assert len(node.seen) == 1 and proxy.seen == []


def test_https_connects_to_the_pinned_address_with_the_original_sni_and_certificate_name(
        serve, session_factory, fake_dns, tmp_path):
    ca_file, context = _tls_server_context(tmp_path, "node.test")
    sni = []
    context.sni_callback = lambda sock, name, ctx: sni.append(name)
    node = serve("127.0.0.2")
    node.socket = context.wrap_socket(node.socket, server_side=True)
    fake_dns({"node.test": [["127.0.0.2"]]})

    response = session_factory(["127.0.0.2/32"]).get(f"https://node.test:{node.port}/doc", verify=str(ca_file),
                                                     timeout=2)

    assert response.status_code == 200
    assert sni == ["node.test"]
    assert node.seen[0][1]["Host"] == f"node.test:{node.port}"


def _tls_server_context(tmp_path, hostname: str) -> tuple[object, ssl.SSLContext]:
    """A throw-away CA and a server certificate for ``hostname`` signed by it."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def certificate(subject, issuer, key, signing_key, ca: bool):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
                                  critical=False))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                            critical=True)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca_cert = certificate(ca_name, ca_name, ca_key, ca_key, ca=True)
    cert = certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]), ca_name, key, ca_key, ca=False)
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context


# --------------------------------------------------------------------------------------------------------------------
# Refused addresses


@pytest.mark.parametrize("host, category", [
    ("127.0.0.1", "loopback"),
    ("localhost", "loopback"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped IPv6 address of 127.0.0.1, which is loopback"),
    ("2130706433", "loopback"),  # decimal
    ("0x7f000001", "loopback"),  # hex
    ("017700000001", "loopback"),  # octal
    ("127.1", "loopback"),  # short form
])
def test_loopback_outside_the_allow_list_is_refused_without_connecting(serve, session_factory, connects, host,
                                                                        category):
    if host.startswith("[") and not HAS_IPV6:
        pytest.skip("no IPv6 on this host")
    decoy = serve("127.0.0.1")
    session = session_factory(["127.0.0.2/32"])

    error = assert_refused(session, decoy.url("/", host=host), category)

    assert error.host == host.strip("[]")
    assert decoy.seen == [] and connects == []


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 on this host")
def test_ipv6_loopback_is_refused_without_connecting(serve, session_factory, connects):
    decoy = serve("::1")

    assert_refused(session_factory(["127.0.0.0/8"]), decoy.url(), "loopback")

    assert decoy.seen == [] and connects == []


@pytest.mark.parametrize("host, category", [
    ("10.0.0.1", "private"),
    ("192.168.1.1", "private"),
    ("172.16.0.1", "private"),
    ("169.254.169.254", "cloud metadata"),
    ("0.0.0.0", "unspecified"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("[fe80::1]", "link-local"),
    ("[fc00::1]", "private"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("[::ffff:10.0.0.1]", "IPv4-mapped IPv6 address of 10.0.0.1, which is private"),
    ("[64:ff9b::a9fe:a9fe]", "NAT64 address of 169.254.169.254, which is a cloud metadata"),
    ("[2002:a00:1::1]", "6to4 address of 10.0.0.1, which is private"),
])
def test_internal_addresses_are_refused_before_any_connect(session_factory, connects, host, category):
    # The allow-list holds loopback only: it must not leak to any of these.
    assert_refused(session_factory(["127.0.0.0/8"]), f"http://{host}:80/latest/meta-data/", category)
    assert connects == []


def test_a_name_with_one_refused_address_among_several_is_refused(serve, session_factory, fake_dns, connects):
    node = serve("127.0.0.2")
    fake_dns({"node.example": [["127.0.0.2", "10.0.0.1"]]})

    error = assert_refused(session_factory(["127.0.0.2/32"]), node.url(host="node.example"), "private")

    assert "node.example resolves to 10.0.0.1" in str(error)
    assert node.seen == [] and connects == []


def test_dns_rebinding_is_caught_at_the_next_connect(serve, session_factory, fake_dns, connects):
    decoy = serve("127.0.0.1")
    node = serve("127.0.0.2", decoy.port)  # the same port, as a re-bound DNS answer would leave it
    lookups = fake_dns({"node.example": [["127.0.0.2"], ["127.0.0.1"]]})
    session = session_factory(["127.0.0.2/32"])
    url = node.url("/profile", host="node.example")

    assert session.get(url, timeout=2).json()["server"] == "127.0.0.2"
    error = assert_refused(session, url, "loopback")

    assert "node.example resolves to 127.0.0.1" in str(error)
    assert lookups == ["node.example", "node.example"]
    assert len(node.seen) == 1 and decoy.seen == []
    assert connects == [("127.0.0.2", node.port)]


# --------------------------------------------------------------------------------------------------------------------
# Redirects


@pytest.mark.parametrize("target, category", [
    ("http://127.0.0.1:{decoy}/", "loopback"),
    ("http://localhost:{decoy}/", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://10.0.0.1/", "private"),
    ("file:///etc/passwd", "scheme 'file'"),
    ("gopher://127.0.0.2:{decoy}/_GET", "scheme 'gopher'"),
])
def test_redirects_to_refused_targets_are_refused(serve, session_factory, connects, target, category):
    node, decoy = serve("127.0.0.2"), serve("127.0.0.1")
    node.redirect("/doc", target.format(decoy=decoy.port))

    error = assert_refused(session_factory(["127.0.0.2/32"]), node.url("/doc"), category)

    assert [path for path, _ in node.seen] == ["/doc"]
    assert decoy.seen == []
    assert connects == [("127.0.0.2", node.port)]
    assert error.request is not None


def _chain(first: _Server, second: _Server, hops: int) -> str:
    """/hop/N on alternating servers, each redirecting to /hop/N-1 on the other; /hop/0 answers."""
    servers = (first, second)
    for n in range(hops, 0, -1):
        here, there = servers[(hops - n) % 2], servers[(hops - n + 1) % 2]
        here.redirect(f"/hop/{n}", there.url(f"/hop/{n - 1}"))
    return first.url(f"/hop/{hops}")


def test_two_redirects_between_allowed_servers_succeed(serve, session_factory):
    first, second = serve("127.0.0.2"), serve("127.0.0.3")
    session = session_factory(["127.0.0.2/32", "127.0.0.3/32"], max_redirects=2)

    response = session.get(_chain(first, second, 2), timeout=2)

    assert response.status_code == 200 and response.json()["path"] == "/hop/0"
    assert len(response.history) == 2


def test_three_redirects_exceed_max_redirects(serve, session_factory):
    first, second = serve("127.0.0.2"), serve("127.0.0.3")
    session = session_factory(["127.0.0.2/32", "127.0.0.3/32"], max_redirects=2)

    with pytest.raises(requests.exceptions.TooManyRedirects):
        session.get(_chain(first, second, 3), timeout=2)

    assert "/hop/0" not in [path for path, _ in first.seen + second.seen]


def test_a_refused_url_is_refused_without_a_redirect_too(session_factory):
    with pytest.raises(UnsafeAddressError, match="scheme 'file'"):
        session_factory().get("file:///etc/passwd")


# --------------------------------------------------------------------------------------------------------------------
# Configuration and the address table


@pytest.mark.parametrize("allow", [
    ["not-a-network"],
    ["127.0.0.1/8"],  # host bits set: a typo for 127.0.0.1/32 or 127.0.0.0/8
    ["10.0.0.0/33"],
    ["127.0.0.2/32", ""],
    "127.0.0.0/8",  # a bare string, not a list
    [2130706433],
])
def test_invalid_allow_networks_raise_value_error(allow):
    with pytest.raises(ValueError, match="allow_networks"):
        make_safe_session(allow)


def test_valid_allow_networks_are_accepted(session_factory):
    session_factory(["127.0.0.2/32", "127.0.0.0/8", "::1/128", "fd00::/8"])


LOCAL_2 = [ipaddress.ip_network("127.0.0.2/32")]


@pytest.mark.parametrize("address, allow, expected", [
    # Global: may be contacted.
    ("8.8.8.8", [], None),
    ("1.1.1.1", [], None),
    ("2001:4860:4860::8888", [], None),
    ("::ffff:8.8.8.8", [], None),
    ("64:ff9b::808:808", [], None),  # NAT64 of a global address
    # The allow-list, also through IPv4-mapped and -compatible forms.
    ("127.0.0.2", LOCAL_2, None),
    ("::ffff:127.0.0.2", LOCAL_2, None),
    ("::127.0.0.2", LOCAL_2, None),
    ("127.0.0.1", LOCAL_2, "loopback"),
    ("::ffff:127.0.0.1", LOCAL_2, "IPv4-mapped IPv6 address of 127.0.0.1, which is loopback"),
    ("64:ff9b::7f00:2", LOCAL_2, "NAT64 address of 127.0.0.2, which is loopback"),  # a translator's loopback
    # Refused categories.
    ("127.0.0.1", [], "loopback"),
    ("::1", [], "loopback"),
    ("10.0.0.1", [], "private"),
    ("172.31.255.255", [], "private"),
    ("192.168.1.1", [], "private"),
    ("fc00::1", [], "private"),
    ("fd12:3456::1", [], "private"),
    ("169.254.169.254", [], "cloud metadata"),
    ("fd00:ec2::254", [], "cloud metadata"),
    ("168.63.129.16", [], "cloud metadata"),
    ("100.100.100.200", [], "cloud metadata"),
    ("169.254.1.1", [], "link-local"),
    ("fe80::1", [], "link-local"),
    ("0.0.0.0", [], "unspecified"),
    ("0.1.2.3", [], "unspecified"),
    ("::", [], "unspecified"),
    ("100.64.0.1", [], "carrier-grade NAT"),
    ("224.0.0.1", [], "multicast"),
    ("ff02::1", [], "multicast"),
    ("240.0.0.1", [], "reserved"),
    ("255.255.255.255", [], "reserved"),
    ("192.0.2.1", [], "not globally reachable"),  # documentation
    ("2001:db8::1", [], "not globally reachable"),
    ("::ffff:169.254.169.254", [], "IPv4-mapped IPv6 address of 169.254.169.254, which is a cloud metadata"),
    ("::7f00:1", [], "IPv4-compatible IPv6 address of 127.0.0.1, which is loopback"),
    ("64:ff9b::a00:1", [], "NAT64 address of 10.0.0.1, which is private"),
    ("2002:7f00:1::1", [], "6to4 address of 127.0.0.1, which is loopback"),
    ("2002:a9fe:a9fe::", [], "6to4 address of 169.254.169.254, which is a cloud metadata"),
])
def test_address_refusal(address, allow, expected):
    reason = address_refusal(ipaddress.ip_address(address), allow)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason, reason
