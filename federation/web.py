"""What the node and hub apps share on the web side: the one JSON error shape and the OpenAPI setup."""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, jsonify
from flask_smorest import Api
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

from .errors import FederationError

log = logging.getLogger(__name__)


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
    # A 401 says how to authenticate (WWW-Authenticate), as federation.tokens sets on the error it raises.
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
    kind = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
            413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
            429: "rate_limited"}.get(exc.code, "error")
    response = error_response(exc.code or 500, kind, message, errors)
    for name, value in exc.get_headers():
        if name in ("Allow", "Retry-After", "WWW-Authenticate"):
            response.headers[name] = value
    return response


def _handle_unexpected(exc: Exception):
    log.exception("unhandled error")
    return _handle_http_exception(InternalServerError())


def init_api(app: Flask, title: str, description: str) -> Api:
    """flask-smorest with our OpenAPI metadata and the one error shape for every error."""
    app.config.setdefault("API_TITLE", title)
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {"info": {"description": description}})
    api = Api()
    api.ERROR_SCHEMA = ErrorSchema
    api.init_app(app)
    app.register_error_handler(FederationError, _handle_federation_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
    return api
