"""Loopback addresses for tests of nodes that cannot be reached."""

from __future__ import annotations

import socket


def closed_port_url() -> str:
    """A loopback URL nobody listens on (a port bound and closed again): connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
