"""One log line per request, for the operators of ``node serve`` and ``hub serve``.

Both app factories :func:`install` the hooks; only ``serve`` calls :func:`configure`, so importing the package or
running the tests prints nothing (the records go to loggers without handlers, below the root's level). A line
reads (wrapped here)::

    2026-03-01 12:00:00,123 INFO federation.request_log request method=GET path=/api/v1/members status=200 \
        duration_ms=3.1

``key=value`` pairs, one request per line, so ``grep 'status=5'`` or ``awk`` finds what an operator looks for. A
value with a space, a quote, ``=`` or a control character is written as a JSON string, so a hostile path cannot
forge a line. Only the method, the path (never the query string), the status and the time are written: never a
header (``Authorization``), a token or a key. A path that is itself a credential (a member's one-time link,
``/api/v1/self-service/<token>``) is written up to its token: the app names such prefixes when it installs the hooks.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

from flask import Flask, Response, current_app, g, request

from .errors import ConfigurationError
from .settings import packaged_settings

log = logging.getLogger(__name__)

#: The longest path written whole; longer ones are cut (a line stays a line, whatever a client sends).
MAX_PATH_CHARS = 300
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_PLAIN = re.compile(r"[\x21-\x7e]+")
_STARTED = "_medmci_request_started"
#: Where an app keeps the path prefixes whose rest is a token (see :func:`install`).
_CREDENTIAL_PATHS_KEY = "MEDMCI_CREDENTIAL_PATHS"


def _value(text: str) -> str:
    if len(text) > MAX_PATH_CHARS:
        text = text[:MAX_PATH_CHARS] + "..."
    return text if _PLAIN.fullmatch(text) and '"' not in text and "=" not in text else json.dumps(text)


def _started() -> None:
    setattr(g, _STARTED, time.perf_counter())


def _finished(response: Response) -> Response:
    if log.isEnabledFor(logging.INFO):
        started = g.get(_STARTED)
        duration = f"{(time.perf_counter() - started) * 1000:.1f}" if started is not None else "-"
        log.info("request method=%s path=%s status=%d duration_ms=%s", _value(request.method),
                 _value(_logged_path()), response.status_code, duration)
    return response


def _logged_path() -> str:
    path = request.path
    for prefix in current_app.config.get(_CREDENTIAL_PATHS_KEY, ()):
        if path.startswith(prefix) and len(path) > len(prefix):  # whatever the method or the answer (405, 404)
            return prefix + "<token>"
    return path


def install(app: Flask, token_paths: tuple[str, ...] = ()) -> None:
    """Time every request from its first hook (before the request guards, so a refused request is logged too).
    ``token_paths``: path prefixes whose rest is a credential, logged as ``<token>``."""
    app.config[_CREDENTIAL_PATHS_KEY] = tuple(token_paths)
    app.before_request_funcs.setdefault(None, []).insert(0, _started)
    app.after_request(_finished)


def configure(settings) -> None:
    """Log to stderr at ``logging.level`` (``INFO`` by default: one line per request). Called by ``serve``."""
    level = str(settings.get("logging.level") or packaged_settings().get("logging.level")).upper()  # empty: default
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigurationError(f"logging.level {level!r} is not a level: DEBUG, INFO, WARNING, ERROR or CRITICAL")
    logging.basicConfig(format=FORMAT, stream=sys.stderr)
    logging.getLogger().setLevel(level)
