"""Assertions shared by the API tests."""

from __future__ import annotations

from http import HTTPStatus

ERROR_KEYS = {"code", "status", "error", "message", "errors"}


def assert_error(response, status: int, error: str | None = None, field: str | None = None) -> dict:
    """The one JSON error shape: {"code", "status", "error", "message", "errors"} ("errors" only with details).

    ``response`` is a Flask test response or a ``requests`` response; ``error`` and ``field`` are checked when
    given. Returns the body."""
    if hasattr(response, "get_json"):  # Flask's test client
        text, media_type, body = response.get_data(as_text=True), response.mimetype, response.get_json()
    else:
        text, media_type = response.text[:500], response.headers.get("Content-Type", "").split(";")[0].strip()
        body = response.json() if media_type == "application/json" else None
    assert response.status_code == status, text
    assert media_type == "application/json", media_type
    assert isinstance(body, dict)
    assert {"code", "status", "error", "message"} <= set(body) <= ERROR_KEYS, body
    assert body["code"] == status
    assert body["status"] == HTTPStatus(status).phrase
    if error is not None:
        assert body["error"] == error, body
    assert isinstance(body["message"], str) and body["message"]
    if "errors" in body:
        # Documented (ErrorSchema, OpenAPI): "Field-level details: field -> messages", i.e. an object.
        assert isinstance(body["errors"], dict), f"errors must be an object (field -> messages): {body['errors']!r}"
    if field is not None:
        assert field in body.get("errors", {}), body
    return body


def assert_clean_failure(result, *expected: str) -> None:
    """A click command's non-zero exit with a message, never a traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.output, result.output
