"""What the node and hub apps share on the web side: the one JSON error shape, the OpenAPI setup and the guards that
run before any view (size, path and query sanity, authentication), so that a request that will be refused costs
the app almost nothing and never reaches the body parser."""

from __future__ import annotations

import json
import logging
from copy import deepcopy
from http import HTTPStatus
from typing import Any, cast

import flask_smorest
from flask import Flask, current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema
from marshmallow import Schema, fields
from webargs.core import is_json, missing
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from .errors import BadRequest, FederationError, NotFound, SignatureError, ValidationError
from .profile.jsonschema import dict_keys_enum

# Text rules live in federation.text; the names stay importable from here (views and schemas use them).
from .text import Text, text_problem  # noqa: F401

log = logging.getLogger(__name__)

#: The largest id an SQL INTEGER column holds (the ids of both databases): a larger path id is a 404, never an
#: OverflowError (SQLite, above 2^63) or a DataError (PostgreSQL, above 2^31).
MAX_ID = 2**31 - 1
#: Longest string a path may give for an id (member ids have 128 characters at most, cluster and node ids 64).
MAX_PATH_VALUE = 200
#: Longest integer a request body may hold (ids and counts need far fewer digits).
MAX_NUMBER_DIGITS = 100

class ErrorSchema(Schema):
    """Every error of every endpoint has this shape."""

    code = fields.Integer(metadata={"description": "HTTP status code"})
    status = fields.String(metadata={"description": "HTTP status name"})
    error = fields.String(metadata={"description": "Machine-readable error kind"})
    message = fields.String(metadata={"description": "What went wrong, for a person"})
    errors = fields.Dict(metadata={"description": "Field-level details: field -> messages (nested like the input)"})


def error_response(status: int, error: str, message: str, errors=None):
    body = {"code": status, "status": HTTPStatus(status).phrase, "error": error, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


def _handle_federation_error(exc: FederationError):
    if exc.status >= 500:
        log.error("%s: %s", type(exc).__name__, exc.message)
    response = error_response(exc.status, exc.code, exc.message, exc.errors)
    # A 401 says how to authenticate (WWW-Authenticate), as federation.tokens sets on the errors it raises.
    response.headers.update(getattr(exc, "headers", None) or {})
    return response


def _handle_http_exception(exc: HTTPException):
    # flask-smorest/webargs put field errors in exc.data["messages"] ({"json": {...}} or {"query": {...}}).
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    errors = None
    message = data.get("message") or exc.description or exc.name
    if isinstance(messages, dict):
        # One location per request in practice: lift its field errors so they are shaped like the input; errors
        # about the body as a whole (a list) stay under their location, since "errors" is always an object.
        only = next(iter(messages.values())) if len(messages) == 1 else None
        errors = only if isinstance(only, dict) else messages
        if exc.code == 422:
            message = "the request does not match the schema"
        if exc.code == 400 and "json" in messages:
            message = "the body is not valid JSON"
    if exc.code == 429:
        message = f"too many requests (limit: {exc.description}); retry later"
    if exc.code == 413:
        limit = request.max_content_length if request else None
        message = f"the body is larger than this endpoint accepts ({limit} bytes)" if limit else exc.description
    kind = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
            413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
            429: "rate_limited"}.get(exc.code or 500, "error")
    response = error_response(exc.code or 500, kind, message, errors)
    for name, value in exc.get_headers():
        if name in ("Allow", "Retry-After", "WWW-Authenticate"):
            response.headers[name] = value
    return response


def _handle_unexpected(exc: Exception):
    log.error("unhandled error", exc_info=exc)  # Flask calls this handler with the error as argument
    return _handle_http_exception(InternalServerError())


# --------------------------------------------------------------------------------------------------- JSON bodies


def _nest(path: list, message: str) -> dict:
    errors: Any = [message]
    for key in reversed(path or ["_body"]):
        errors = {str(key): errors}
    return errors


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list) -> dict:
    """json's object hook: a key given twice is refused, as in signed documents (json would keep the last one,
    another parser the first, so two readers could understand two different requests)."""
    document = dict(pairs)
    if len(document) != len(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return document


class _LongNumber(ValueError):
    pass


def _bounded_int(digits: str) -> int:
    # Checked before int() converts it: a number of thousands of digits costs nothing, and Python's own refusal
    # (past 4,300 digits) would otherwise reach the client with its advice on interpreter settings.
    if len(digits) > MAX_NUMBER_DIGITS:
        raise _LongNumber(len(digits))
    return int(digits)


def parse_json_body(data: bytes, max_depth: int) -> Any:
    """The JSON of a request body, refused cheaply when hostile: not UTF-8, not JSON, nested deeper than
    ``max_depth`` (the parser's recursion would otherwise fail with a 500), a number of more than 100 digits, a
    key given twice in one object (400), and, in any string or key, NUL, another control character or a lone
    surrogate (422, with the path)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("the body is not valid UTF-8", {"json": [str(exc)]}) from exc
    if not text.strip():
        return None
    try:
        document = json.loads(text, object_pairs_hook=_refuse_duplicate_keys, parse_int=_bounded_int)
    except _LongNumber as exc:
        raise BadRequest(f"the body has a number of {exc.args[0]} digits (at most {MAX_NUMBER_DIGITS})",
                         {"json": ["number too long"]}) from None
    except _DuplicateKey as exc:
        key = exc.args[0]
        raise BadRequest(f"the body repeats the key {key[:64]!r} in one object (which value was meant?)",
                         {"json": [f"duplicate key {key[:64]!r}"]}) from None
    except RecursionError:
        raise BadRequest(f"the body is nested deeper than {max_depth} levels",
                         {"json": ["too deeply nested"]}) from None
    except ValueError as exc:  # JSONDecodeError, and int() of a number with too many digits
        raise BadRequest("the body is not valid JSON", {"json": [str(exc)[:200]]}) from None
    # Iterative walk (no recursion of our own): depth first, then every string and key.
    stack: list[tuple[Any, int, list]] = [(document, 1, [])]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, (dict, list)) and depth > max_depth:
            raise BadRequest(f"the body is nested deeper than {max_depth} levels", {"json": ["too deeply nested"]})
        if isinstance(node, dict):
            for key, value in node.items():
                problem = text_problem(key)
                if problem:
                    raise ValidationError(f"a key of the body: {problem}", _nest([*path, repr(key)[1:-1]], problem))
                stack.append((value, depth + 1, [*path, key]))
        elif isinstance(node, list):
            stack.extend((value, depth + 1, [*path, index]) for index, value in enumerate(node))
        elif isinstance(node, str):
            problem = text_problem(node, multiline=True)
            if problem:
                where = ".".join(map(str, path)) or "the body"
                raise ValidationError(f"{where}: {problem}", _nest(path, problem))
    return document


class BoundedParser(FlaskParser):
    """webargs' Flask parser with :func:`parse_json_body` in place of a bare ``json.loads``."""

    def _raw_load_json(self, req):
        if not is_json(req.mimetype):
            return missing
        document = parse_json_body(req.get_data(cache=True),
                                   int(current_app.config["MEDMCI_MAX_JSON_DEPTH"]))  # api.max_json_depth
        return missing if document is None else document


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the bounded JSON parser; every blueprint of both apps is one of these."""

    ARGUMENTS_PARSER = BoundedParser()

    def arguments(self, schema, *, location="json", **kwargs):
        """As flask-smorest's, and a body also documents its 400 (not JSON, too deep) and 413 (too large)."""
        decorator = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return decorator

        def documented(func):
            wrapper = decorator(func)
            apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
            responses = apidoc.setdefault("response", {}).setdefault("responses", {})
            responses.setdefault(400, []).append(HTTPStatus(400).name)
            responses.setdefault(413, []).append(HTTPStatus(413).name)
            wrapper._apidoc = apidoc
            return wrapper

        return documented

    def _document_pagination_metadata(self, spec, resp_doc):
        # The header's value is JSON: say so (a header with a bare object schema means "simple" style, k,v,k,v).
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata, as JSON: total items, total pages, this, previous and next page",
            "content": {"application/json": {"schema": PaginationMetadataSchema}}}


# --------------------------------------------------------------------------------------------------- guards


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` bounded like a database id: a larger number does not match (404), never an OverflowError."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)


def body_limit(setting: str):
    """Give a view its own body limit, the value of ``setting`` (e.g. ``api.max_import_bytes`` for the node's CSV
    import; its default is in config/settings.yaml)."""

    def decorator(view):
        view.body_limit = setting
        return view

    return decorator


def signed_request(view):
    """Mark a view that needs an RFC 9421 signed request: without the signature headers it is a 401 before the
    body is read (the signature itself is checked by the service, which needs the body for Content-Digest)."""
    view.requires_http_signature = True
    apidoc = dict(getattr(view, "_apidoc", {}))
    manual = dict(apidoc.get("manual_doc", {}))
    manual["security"] = [{"httpSignature": []}]
    manual.setdefault("responses", {})["401"] = "UNAUTHORIZED"
    apidoc["manual_doc"] = manual
    view._apidoc = apidoc
    return view


def largest_body_limit(app: Flask) -> int:
    """The largest body any endpoint of ``app`` accepts: what the WSGI server may buffer (waitress reads a body
    whole before the app sees it, so it must refuse larger ones itself)."""
    settings = app.extensions["medmci"].settings
    largest = int(app.config["MAX_CONTENT_LENGTH"])
    for view in app.view_functions.values():
        view_class = getattr(view, "view_class", None)
        for function in ([getattr(view_class, m, None) for m in ("get", "post", "put", "patch", "delete")]
                         if view_class is not None else [view]):
            limit = getattr(function, "body_limit", None)
            if limit is not None:
                largest = max(largest, int(settings.get(limit)))
    return largest


def _view_for_request(app: Flask):
    view = app.view_functions.get(request.endpoint) if request.endpoint else None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = request.method.lower()
        view = getattr(view_class, method, None) or (getattr(view_class, "get", None) if method == "head" else None)
    return view


def _guard_request():
    """Runs before every view, cheapest check first: the body size, then path and query values, then the token.
    Only then may a view parse its body."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as the Flask app
    view = _view_for_request(app)
    limit = getattr(view, "body_limit", None)
    if limit is not None:
        request.max_content_length = int(app.extensions["medmci"].settings.get(limit))
    maximum = request.max_content_length
    if maximum is not None and request.content_length is not None and request.content_length > maximum:
        raise RequestEntityTooLarge()
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and len(value) > MAX_PATH_VALUE:  # no id is that long: never echoed back
            raise NotFound(f"no such {name}: the path gives {len(value)} characters, ids have at most "
                           f"{MAX_PATH_VALUE}")
    for location, values in (("path", (request.view_args or {}).items()),
                             ("query", request.args.items(multi=True))):
        for name, value in values:
            problem = text_problem(value) or text_problem(name) if isinstance(value, str) else None
            if problem:
                raise ValidationError(f"{location} parameter {name[:64]!r}: {problem}", {location: {name: [problem]}})
    if getattr(view, "requires_http_signature", False):
        _check_signature_headers(app)
    scope = getattr(view, "required_scope", None)
    if scope is not None:
        from .token_guard import authorize

        authorize(scope, getattr(view, "required_node_arg", None), request.view_args or {})
    if maximum is not None and request.content_length is None and request.environ.get("wsgi.input_terminated"):
        _read_streamed_body(maximum)


def _check_signature_headers(app: Flask) -> None:
    """A view that needs an RFC 9421 signed request: the Signature and Signature-Input headers are there and
    within trust.max_request_signature_bytes, or it is a 401 before the body is read or anything is fetched."""
    limit = int(app.extensions["medmci"].settings.get("trust.max_request_signature_bytes"))
    signature, signature_input = (request.headers.get(name) for name in ("Signature", "Signature-Input"))
    if signature is None or signature_input is None:
        problem, detail = ("this endpoint needs a request signed (RFC 9421) with the node's key: Signature and "
                           "Signature-Input headers", "the request is not signed")
    elif len(signature) + len(signature_input) > limit:
        problem, detail = (f"request signature too large: Signature and Signature-Input hold "
                           f"{len(signature) + len(signature_input)} bytes, over the limit of {limit} "
                           f"(trust.max_request_signature_bytes)", "request signature too large")
    else:
        return
    exc = SignatureError(problem, {"signature": [detail]})
    exc.headers = {"WWW-Authenticate": 'Signature realm="medmci"'}
    raise exc

def _read_streamed_body(limit: int) -> None:
    """A body without Content-Length (chunked): read it now, at most ``limit`` bytes, 413 beyond. werkzeug would
    otherwise cut it at the limit silently, and a view would parse (or import) the truncated body."""
    stream = request.environ["wsgi.input"]
    chunks, size = [], 0
    while True:
        chunk = stream.read(min(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge()
    request._cached_data = b"".join(chunks)  # what get_data() and the form parser read from now on


# --------------------------------------------------------------------------------------------------- OpenAPI

SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "mmci_<id>_<secret>",
                   "description": "An API token (Authorization: Bearer mmci_<id>_<secret>). The scopes an operation "
                                  "needs are listed in its security requirement and in x-medmci-scope."},
    "httpSignature": {"type": "apiKey", "in": "header", "name": "Signature",
                      "description": "An RFC 9421 HTTP Message Signature (Signature and Signature-Input headers, "
                                     "Content-Digest over a body) made with an Ed25519 key: a node's key (joining, "
                                     "pushing) or a hub's key (reading a node's federation audience)."},
}


def _install_guards(app: Flask, settings) -> None:
    app.config["MAX_CONTENT_LENGTH"] = int(settings.get("api.max_body_bytes"))
    app.config["MEDMCI_MAX_JSON_DEPTH"] = int(settings.get("api.max_json_depth"))
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_guard_request)


def unicode_unsorted_json(app: Flask) -> None:
    """JSON answers as written: non-ASCII characters as they are, keys in the order the code put them."""
    provider = cast(DefaultJSONProvider, app.json)  # Flask's default provider: the one with these settings
    provider.ensure_ascii = False
    provider.sort_keys = False


def init_api(app: Flask, title: str, description: str, settings=None) -> Api:
    """flask-smorest with our OpenAPI metadata, the one error shape for every error, and the request guards."""
    app.config.setdefault("API_TITLE", title)
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {"info": {"description": description},
                                               "components": {"securitySchemes": SECURITY_SCHEMES}})
    _install_guards(app, settings if settings is not None else app.extensions["medmci"].settings)
    api = Api()
    api.ERROR_SCHEMA = ErrorSchema
    api.init_app(app)
    api.register_field(fields.Url, "string", "uri")  # apispec says "url", which is no OpenAPI/JSON Schema format
    api.ma_plugin.converter.add_attribute_function(dict_keys_enum)
    app.register_error_handler(FederationError, _handle_federation_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
    app.after_request(mark_credential_dependent)
    return api


# --------------------------------------------------------------------------------------------------- caches

#: Request headers whose credentials choose what an answer holds (a node's profile: the hub's signature).
_SIGNATURE_FIELDS = ("signature", "signature-input")


def mark_credential_dependent(response):
    """``Vary: Authorization`` and ``Cache-Control: private`` on every answer whose content depends on the caller's
    credentials: the view read the caller (anonymous readers included: they see less), or a token was sent. An
    answer that already varies with a request signature (the node's profile) is private too. So no shared cache
    serves an operator's or a hub's view of federation data to anyone else."""
    from .token_guard import caller_was_read  # (web is imported by tokens)

    varies_with_signature = any(field.lower() in _SIGNATURE_FIELDS for field in response.vary)
    read_caller = caller_was_read() or "Authorization" in request.headers
    if read_caller:
        response.vary.add("Authorization")
    if read_caller or varies_with_signature:
        response.cache_control.public = False
        response.cache_control.private = True
    return response
