"""Flask test clients that carry a bearer token."""

from __future__ import annotations

from flask.testing import FlaskClient


def client_with_token(token: str) -> type[FlaskClient]:
    """A test client class that sends ``token`` unless a test passes its own Authorization header."""

    class TokenClient(FlaskClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    return TokenClient


def operator_client(app, hub) -> FlaskClient:
    """A test client of the hub ``app`` acting as its operator (as the ``hub_client`` fixture's)."""
    _record, token = hub.tokens.create("test-operator", "operator")
    return client_with_token(token)(app, app.response_class)
