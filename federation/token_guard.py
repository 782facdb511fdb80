"""The Flask side of API tokens (federation/tokens.py): who the caller of a request is, and the guard of a view.

:func:`current_principal` authenticates the request once (cached on :data:`flask.g`) with the
:class:`~federation.tokens.TokenService` at ``current_app.extensions["medmci"].tokens``; :func:`require` marks and
guards a view, and :func:`authorize` is the check itself, which the apps run before anything else reads the request
(``federation.web``): a refused request is never parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from functools import wraps

from flask import current_app, g, request

from .errors import Forbidden, Unauthorized
from .tokens import ANONYMOUS, ERROR_HEADERS_ATTRIBUTE, SCOPES, Principal, TokenService, bearer_challenge

__all__ = ["authorize", "caller_was_read", "current_principal", "require"]

_G_KEY = "_medmci_principal"


def caller_was_read() -> bool:
    """Whether this request looked at its caller (then its answer depends on the credentials sent)."""
    return g.get(_G_KEY) is not None


def current_principal() -> Principal:
    """The caller of the current request: authenticated once per request (then cached on ``flask.g``) by
    ``current_app.extensions["medmci"].tokens``. :data:`ANONYMOUS` without an ``Authorization`` header.

    A bad header is a 401 even on endpoints open to anonymous readers: a client that sends a token wants to
    know that it is not accepted, rather than silently see less.
    """
    principal = g.get(_G_KEY)
    if principal is None:
        service: TokenService = current_app.extensions["medmci"].tokens
        principal = service.authenticate(request.headers.get("Authorization")) or ANONYMOUS
        setattr(g, _G_KEY, principal)
    return principal


def authorize(scope: str, node_id_arg: str | None = None, view_args: Mapping | None = None) -> Principal:
    """The caller, if it may use an endpoint that needs ``scope`` (see :func:`require`); raises otherwise.

    Needs only the headers and the URL: the apps run it before any view, so a request that will be refused is
    never parsed (``federation.web`` calls it for every view marked by :func:`require`).
    """
    principal = current_principal()
    if principal.is_anonymous:
        exc = Unauthorized(f"this endpoint needs a token with scope '{scope}'")
        setattr(exc, ERROR_HEADERS_ATTRIBUTE, bearer_challenge())
        raise exc
    if not principal.has(scope):
        denied = Forbidden(f"token '{principal.name}' lacks scope '{scope}'")
        setattr(denied, ERROR_HEADERS_ATTRIBUTE, bearer_challenge("insufficient_scope", scope))
        raise denied
    if node_id_arg is not None:
        args = view_args or {}
        if node_id_arg not in args:  # a wiring mistake: fail closed, loudly
            raise LookupError(f"require({scope!r}, node_id_arg={node_id_arg!r}): the view has no "
                              f"argument {node_id_arg!r}")
        target = args[node_id_arg]
        if not principal.may_act_for(str(target)):
            raise Forbidden(f"token '{principal.name}' is bound to node '{principal.node_id}', not '{target}'")
    return principal


def require(scope: str, node_id_arg: str | None = None):
    """Decorator for a view function or a ``MethodView`` method: the caller needs ``scope``.

    - anonymous -> 401 ``this endpoint needs a token with scope '<scope>'`` (with ``WWW-Authenticate``);
    - a token without the scope -> 403 ``token '<name>' lacks scope '<scope>'``;
    - ``node_id_arg`` names the view keyword argument (a URL variable) holding a node id: a token bound to
      another node (``node_operator``) -> 403 ``token '<name>' is bound to node '<its node>', not '<that node>'``.

    The check runs before the view and before flask-smorest parses the body, wherever the decorator sits: it
    marks the function (``required_scope``, copied outwards by ``functools.wraps``), and the apps' request guard
    (``federation.web``) authorizes every marked view first. The wrapper checks again (cached, so cheap) for a
    view called some other way. It adds the 401 and 403 responses, the security requirement (bearer token with
    this scope) and ``x-medmci-scope`` to the operation's OpenAPI documentation.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {sorted(SCOPES)}")

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            authorize(scope, node_id_arg, {**(request.view_args or {}), **kwargs})
            return view(*args, **kwargs)

        # flask-smorest reads ``_apidoc`` (copied outwards by functools.wraps in its own decorators).
        apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
        responses = apidoc.setdefault("response", {}).setdefault("responses", {})
        responses.setdefault(401, []).append("UNAUTHORIZED")
        responses.setdefault(403, []).append("FORBIDDEN")
        manual = apidoc.setdefault("manual_doc", {})
        manual["x-medmci-scope"] = scope
        manual["security"] = [{"bearerAuth": [scope]}]
        # Attributes of the function, read by flask-smorest (_apidoc) and federation.web's request guard.
        vars(wrapper).update(_apidoc=apidoc, required_scope=scope, required_node_arg=node_id_arg)
        return wrapper

    return decorator
