"""Running node and hub apps as real HTTP servers.

``serve`` is the production path (waitress). :class:`BackgroundServer` runs an app on a loopback port in a thread:
the demo federation and the integration tests use it, so nodes and the hub really talk HTTP.
"""

from __future__ import annotations

import threading

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """No access log line per request: the demo and the tests would drown in them."""

    def log_request(self, *args, **kwargs):
        pass


class BackgroundServer:
    """An app served in a daemon thread; ``port=0`` picks a free port. Use as a context manager or call stop()."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0):
        self._server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        self.host = host
        self.port = self._server.server_port
        # A short poll interval: stopping a server (tests stop hundreds) takes 50 ms, not werkzeug's 500.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"http-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def serve(app: Flask, host: str, port: int, threads: int = 8) -> None:
    """Serve until interrupted, with a production WSGI server."""
    from waitress import serve as waitress_serve

    from .web import largest_body_limit

    # Waitress buffers a body whole before the app sees it: never more than the largest body the app accepts (the
    # app answers 413 in the JSON error shape up to there; beyond it, waitress answers 413 itself).
    waitress_serve(app, host=host, port=port, threads=threads, max_request_body_size=largest_body_limit(app))
