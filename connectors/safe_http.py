"""An HTTP session for the hub that refuses to reach internal addresses (SSRF protection).

Node URLs come from outside (registrations, discovery documents, redirects), so a hostile or careless node could point
the hub at its own loopback services, the cluster's private network or a cloud metadata endpoint. The check cannot be
done on the URL alone: ``http://2130706433/`` is 127.0.0.1, a DNS name can resolve to anything, and a name that
resolved to a public address a moment ago can re-bind to 127.0.0.1 by the time the socket connects. So the check runs
where the socket is opened: the host name is resolved once, every resolved address is checked, and the socket connects
to exactly the address that was checked. Because that happens for every new connection, each hop of a redirect chain
is checked too. The Host header, SNI and certificate host name stay the original host name.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT  # urllib3's "no timeout given" marker, as its own connect uses

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")

_net = ipaddress.ip_network
# Checked before anything else: several are otherwise ordinary link-local or even public addresses.
_METADATA = tuple(map(_net, (
    "169.254.169.254/32",  # AWS, GCP, Azure, OpenStack, ...
    "169.254.170.2/32",  # AWS ECS task metadata
    "fd00:ec2::254/128",  # AWS IMDS over IPv6
    "100.100.100.200/32",  # Alibaba Cloud
    "168.63.129.16/32",  # Azure WireServer (a public address that only the host answers)
)))
_THIS_NETWORK = _net("0.0.0.0/8")  # Linux treats 0.0.0.0 as "this host"; the rest of /8 is never a real destination
_SHARED_CGNAT = _net("100.64.0.0/10")
_PRIVATE = tuple(map(_net, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")))
_NAT64 = _net("64:ff9b::/96")  # the well-known NAT64 prefix: the last 32 bits are the IPv4 destination
_IPV4_COMPATIBLE = _net("::/96")  # deprecated ::a.b.c.d form


class UnsafeAddressError(requests.exceptions.ConnectionError):
    """A URL the session refuses to contact: its host resolves to a refused address, or its scheme is not HTTP(S).

    The message starts with "unsafe address: " and the part after it stands alone (callers such as ``NodeClient``
    show the text after the first ": ").
    """

    def __init__(self, message: str, *, host: str | None = None, address: str | None = None,
                 reason: str | None = None, **kwargs):
        super().__init__(f"unsafe address: {message}", **kwargs)
        self.host = host
        self.address = address
        self.reason = reason


def _category(ip: IPAddress) -> str | None:
    """Why ``ip`` itself is not a safe destination, ignoring embedded IPv4 addresses and the allow-list."""
    # Own tables first, then the ipaddress properties: their registries differ between Python patch releases.
    if any(ip in net for net in _METADATA):
        return "a cloud metadata endpoint"
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "unspecified (0.0.0.0/8 or ::, which reach this host)"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip in _SHARED_CGNAT:
        return "shared address space (carrier-grade NAT, 100.64.0.0/10)"
    if any(ip in net for net in _PRIVATE):
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not globally reachable (special-purpose range)"
    return None


def _embedded_ipv4(ip: IPAddress) -> tuple[str, ipaddress.IPv4Address, bool] | None:
    """The IPv4 address an IPv6 address stands for, the name of the form, and whether it is that address as seen
    from this host (True) or through a translator or relay elsewhere (False); None for other addresses."""
    if ip.version != 6:
        return None
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:  # a dual-stack socket connects to the IPv4 address itself
        return "an IPv4-mapped IPv6 address", ip.ipv4_mapped, True
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are the unspecified and loopback addresses
        return "an IPv4-compatible IPv6 address", low32, True  # deprecated; judged like the mapped form
    if ip in _NAT64:
        return "a NAT64 address", low32, False
    if ip.sixtofour is not None:
        return "a 6to4 address", ip.sixtofour, False
    return None


def address_refusal(ip: IPAddress, allow: Sequence[IPNetwork]) -> str | None:
    """None when ``ip`` may be contacted (global, or inside an allowed network); otherwise why not."""
    if any(ip in net for net in allow):  # membership across IP versions is simply False
        return None
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        form, ipv4, same_host = embedded
        # Through a translator or relay, an allowed local IPv4 network is someone else's: judge it without the
        # allow-list. The embedded address decides alone: Python's tables call the global NAT64 prefix "reserved".
        reason = address_refusal(ipv4, allow) if same_host else _category(ipv4)
        return f"{form} of {ipv4}, which is {reason}" if reason else None
    return _category(ip)


if TYPE_CHECKING:  # the mixin is only ever combined with urllib3's connections (see _guarded_pool_classes)
    _ConnectionBase = HTTPConnection
else:
    _ConnectionBase = object


class _GuardedConnectionMixin(_ConnectionBase):
    """Resolves, checks and connects in one place, so that the address checked is the address connected to."""

    allow_networks: tuple[IPNetwork, ...] = ()  # set per session by _guarded_pool_classes

    def _new_conn(self) -> socket.socket:
        host = self._dns_host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, self.port, allowed_gai_family(), socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        # Refuse if ANY address is refused: otherwise a name with one public and one internal address would reach the
        # internal one whenever the public one fails to connect.
        for *_, sockaddr in infos:
            ip = ipaddress.ip_address(sockaddr[0])
            reason = address_refusal(ip, self.allow_networks)
            if reason:
                where = f"{self.host} is" if ip == _literal(host) else f"{self.host} resolves to {ip}, which is"
                raise UnsafeAddressError(f"{where} {reason}", host=self.host, address=str(ip), reason=reason)
        if not infos:
            raise NewConnectionError(self, f"Failed to establish a new connection: {self.host} has no address")
        error: OSError | None = None
        for family, socktype, proto, _, sockaddr in infos:
            # Connect to the checked socket address itself, never to the name: no second resolution can differ.
            sock = socket.socket(family, socktype, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                if self.timeout is not _DEFAULT_TIMEOUT:
                    sock.settimeout(self.timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        # The same urllib3 exceptions as its own _new_conn, so requests reports ConnectTimeout etc. as usual.
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})") from error
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _guarded_pool_classes(allow: tuple[IPNetwork, ...]) -> dict[str, type]:
    # urllib3 builds pool keys from its own list of keyword arguments, so the allow-list cannot travel as a pool
    # keyword; per-session subclasses carry it instead.
    state = {"allow_networks": allow}
    http_conn = type("GuardedHTTPConnection", (_GuardedConnectionMixin, HTTPConnection), state)
    https_conn = type("GuardedHTTPSConnection", (_GuardedConnectionMixin, HTTPSConnection), state)
    return {"http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})}


def _find_unsafe(exc: BaseException) -> UnsafeAddressError | None:
    """The UnsafeAddressError urllib3 and requests wrapped (as ProtocolError, MaxRetryError, ConnectionError)."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if isinstance(current, UnsafeAddressError):
            return current
        if id(current) in seen:
            continue
        seen.add(id(current))
        links = [*current.args, getattr(current, "reason", None), current.__cause__, current.__context__]
        pending.extend(link for link in links if isinstance(link, BaseException))
    return None


class _GuardedAdapter(HTTPAdapter):
    # What pickling keeps; requests declares it an instance attribute, so it cannot be a ClassVar here.
    __attrs__: list[str] = [*HTTPAdapter.__attrs__, "allow_networks"]  # noqa: RUF012

    def __init__(self, allow_networks: tuple[IPNetwork, ...], **kwargs):
        self.allow_networks = allow_networks  # before super().__init__, which calls init_poolmanager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pool_classes(self.allow_networks)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs):
        # A proxy resolves and connects to the target itself, out of reach of the check.
        raise requests.exceptions.InvalidProxyURL(f"this session does not use proxies (got {proxy})")

    def send(self, request: requests.PreparedRequest, *args, **kwargs) -> requests.Response:
        try:
            return super().send(request, *args, **kwargs)
        except requests.exceptions.ConnectionError as exc:
            unsafe = _find_unsafe(exc)
            if unsafe is None:
                raise
        # Raised outside the except block so its context is not the wrapper, whose text is only "Connection aborted".
        unsafe.request = request
        raise unsafe


class _GuardedSession(requests.Session):
    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        # Redirects are sent through here too. Without this, requests would only say "No connection adapters were
        # found", which hides that a node tried to send the hub to file:// or gopher://.
        parts = urlsplit(request.url or "")
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            raise UnsafeAddressError(f"{request.url} uses scheme {parts.scheme or 'none'!r}; only http and https are "
                                     f"allowed", host=parts.hostname, reason=f"scheme {parts.scheme!r}",
                                     request=request)
        return super().send(request, **kwargs)


def _parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    if isinstance(entries, str):  # would otherwise be read character by character, "1" being 0.0.0.1/32
        raise ValueError(f"allow_networks must be a list of CIDR strings, not the string {entries!r}")
    networks = []
    for entry in entries:
        if not isinstance(entry, str):  # ip_network(5) would quietly mean 0.0.0.5/32
            raise ValueError(f"allow_networks entry {entry!r} is not a CIDR string")
        try:
            networks.append(ipaddress.ip_network(entry.strip()))  # strict: host bits set is a typo, not a network
        except ValueError as exc:
            raise ValueError(f"allow_networks entry {entry!r} is not a valid network: {exc}") from None
    return tuple(networks)


def make_safe_session(allow_networks: Iterable[str] = (), max_redirects: int = 2,
                      user_agent: str = "medmci-hub") -> requests.Session:
    """A requests Session that only connects to global addresses and to ``allow_networks`` (CIDR strings)."""
    allow = _parse_networks(allow_networks)
    session = _GuardedSession()
    for prefix in ("http://", "https://"):
        session.mount(prefix, _GuardedAdapter(allow))
    session.max_redirects = max_redirects
    session.headers["User-Agent"] = user_agent
    # Proxy variables of the environment must not reroute requests (the adapter refuses proxies anyway), nor .netrc
    # add credentials.
    session.trust_env = False
    return session
