"""API tokens: creation shown once, hashes at rest, strict parsing, revocation, scopes, node binding, throttled
last-use writes, and the Flask glue composed with flask-smorest views."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from flask import Flask, jsonify
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields
from sqlalchemy import event, select
from sqlalchemy.orm import DeclarativeBase

from federation.db import Database
from federation.errors import FederationError, NotFound, Unauthorized, ValidationError
from federation.tokens import (ANONYMOUS, HUB_ROLES, NODE_ROLES, ROLE_SCOPES, Principal, TokenMixin, TokenService,
                               current_principal, parse_token, require)

EXPECTED = "expected 'Authorization: Bearer <token>'"


class Base(DeclarativeBase):
    pass


class Token(TokenMixin, Base):
    pass


class Clock:
    def __init__(self):
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'tokens.sqlite3'}", tmp_path)
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def tokens(db, clock):
    return TokenService(db, Token, clock=clock)


# --------------------------------------------------------------------------------------------------- the test app

class PushSchema(Schema):
    sequence = fields.Integer(required=True)


class PushResultSchema(Schema):
    node = fields.String()
    sequence = fields.Integer()


class WhoSchema(Schema):
    role = fields.String()
    node_id = fields.String(allow_none=True)


def make_app(service: TokenService) -> Flask:
    app = Flask(__name__)
    app.config.update(API_TITLE="tokens test", API_VERSION="v1", OPENAPI_VERSION="3.1.0", OPENAPI_URL_PREFIX="/",
                      TESTING=True)
    app.extensions["medmci"] = SimpleNamespace(tokens=service)
    api = Api(app)

    @app.errorhandler(FederationError)
    def _render(exc: FederationError):  # mimics federation.web, plus the documented ``headers`` attribute
        response = jsonify({"code": exc.code, "message": exc.message})
        response.status_code = exc.status
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    blp = Blueprint("test", __name__, url_prefix="/api/v1")

    @blp.route("/nodes/<node_id>/push")
    class Push(MethodView):
        @blp.arguments(PushSchema)
        @blp.response(202, PushResultSchema)
        @require("push:write", node_id_arg="node_id")
        def post(self, data, node_id):
            return {"node": node_id, "sequence": data["sequence"], "dropped": "by the response schema"}

    @blp.route("/harvests")
    class Harvests(MethodView):
        @blp.response(200, WhoSchema)
        def get(self):  # public: anyone, with or without a token
            principal = current_principal()
            return {"role": principal.role or "anonymous", "node_id": principal.node_id}

        @blp.response(201, WhoSchema)
        @require("harvest:run")
        def post(self):
            principal = current_principal()
            return {"role": principal.role, "node_id": principal.node_id}

    api.register_blueprint(blp)
    return app


@pytest.fixture
def client(tokens):
    return make_app(tokens).test_client()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------------------------------- roles

def test_roles_and_their_default_scopes():
    assert ROLE_SCOPES["operator"] == {"nodes:write", "harvest:run", "tokens:admin", "audit:read",
                                       "federation:read", "registrations:decide", "pilots:write",
                                       "knowledge:write", "matches:write", "calls:write"}
    assert ROLE_SCOPES["node_operator"] == {"federation:read", "push:write"}
    assert ROLE_SCOPES["knowledge_member"] == {"federation:read"}
    assert ROLE_SCOPES["node_admin"] == {"members:write", "cluster:write", "tokens:admin"}
    assert set(HUB_ROLES) | set(NODE_ROLES) == set(ROLE_SCOPES)
    assert not ANONYMOUS.has("federation:read") and ANONYMOUS.is_anonymous


# --------------------------------------------------------------------------------------------------- service

def test_create_shows_the_plaintext_once_and_list_never(tokens, db):
    info, plaintext = tokens.create("harvest bot", "operator")
    assert plaintext.startswith(f"mmci_{info['id']}_")
    secret = plaintext[len(f"mmci_{info['id']}_"):]
    assert len(secret) >= 43
    assert set(info) == {"id", "name", "role", "scopes", "node_id", "entity_key", "created_at", "revoked_at",
                         "last_used_at"}
    assert info["scopes"] == sorted(ROLE_SCOPES["operator"])

    listed = tokens.list()
    assert [t["id"] for t in listed] == [info["id"]]
    dumped = json.dumps(listed, default=str) + json.dumps(info, default=str)
    assert secret not in dumped and hashlib.sha256(secret.encode()).hexdigest() not in dumped
    assert all("secret_hash" not in t for t in listed)
    assert tokens.count() == 1


def test_the_stored_hash_is_not_the_secret(tokens, db):
    info, plaintext = tokens.create("reader", "knowledge_member", entity_key="hosted:uni")
    _, secret = parse_token(plaintext)
    with db.session() as session:
        row = session.scalars(select(Token)).one()
        stored = [str(getattr(row, column.key)) for column in Token.__table__.columns]
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest() != secret
    assert not any(secret in value for value in stored)


def test_authenticate_ok(tokens):
    info, plaintext = tokens.create("push bot", "node_operator", node_id="node-a")
    principal = tokens.authenticate(f"Bearer {plaintext}")
    assert principal == Principal(info["id"], "push bot", "node_operator", frozenset({"federation:read",
                                                                                       "push:write"}), "node-a")
    assert principal.has("push:write") and not principal.has("harvest:run")
    assert tokens.authenticate(f"bearer   {plaintext}  ") == principal  # the scheme is case-insensitive
    assert tokens.authenticate(None) is None


def test_a_wrong_secret_is_as_unknown_as_an_unknown_id(tokens):
    info, plaintext = tokens.create("reader", "knowledge_member", entity_key="hosted:uni")
    with pytest.raises(Unauthorized, match=f"unknown token '{info['id']}'"):
        tokens.authenticate(f"Bearer mmci_{info['id']}_{'A' * 43}")


def test_parse_token_splits_at_the_first_underscore_after_the_id():
    assert parse_token("mmci_abc123_de_f-g") == ("abc123", "de_f-g")
    for bad in ("mmci_", "mmci_abc", "mmci_abc_", "mmci__x", "MMCI_a_b", "xmmci_a_b", "mmci_a_b c", "mmci_a_b="):
        with pytest.raises(Unauthorized, match="malformed token"):
            parse_token(bad)


def test_scopes_can_narrow_a_role_but_not_widen_it(tokens):
    info, plaintext = tokens.create("auditor", "operator", scopes=["audit:read", "audit:read"])
    assert info["scopes"] == ["audit:read"]
    assert tokens.authenticate(f"Bearer {plaintext}").scopes == {"audit:read"}
    with pytest.raises(ValidationError) as caught:
        tokens.create("sneaky", "knowledge_member", scopes=["tokens:admin"], entity_key="hosted:uni")
    assert set(caught.value.errors) == {"scopes"}
    assert "not granted to role 'knowledge_member'" in caught.value.errors["scopes"][0]


@pytest.mark.parametrize("kwargs, field, text", [
    ({"role": "admin"}, "role", "unknown role 'admin'"),
    ({"role": "operator", "scopes": ["harvest:run", "nodes:delete"]}, "scopes", "unknown scope 'nodes:delete'"),
    ({"role": "operator", "scopes": []}, "scopes", "at least one scope"),
    ({"role": "node_operator"}, "node_id", "must be bound to a node_id"),
    ({"role": "operator", "node_id": "node-a"}, "node_id", "only node_operator tokens"),
    ({"role": "operator", "name": "  "}, "name", "needs a name"),
    ({"role": "knowledge_member"}, "entity_key", "must be bound to an entity_key"),
    ({"role": "node_operator", "node_id": "node-a", "entity_key": "hosted:uni"}, "entity_key",
     "only knowledge_member tokens"),
])
def test_invalid_tokens_are_refused_naming_the_field(tokens, kwargs, field, text):
    kwargs = {"name": "t", **kwargs}
    with pytest.raises(ValidationError) as caught:
        tokens.create(**kwargs)
    assert set(caught.value.errors) == {field}
    assert text in caught.value.errors[field][0]
    assert f"{field}:" in caught.value.message and text in caught.value.message
    assert tokens.count() == 0


def test_an_app_issues_only_its_own_roles(db, clock):
    node_tokens = TokenService(db, Token, roles=NODE_ROLES, clock=clock)
    node_tokens.create("admin", "node_admin")
    with pytest.raises(ValidationError) as caught:
        node_tokens.create("op", "operator")
    assert "unknown role 'operator'; one of: node_admin" in caught.value.errors["role"][0]


def test_revoking_twice_and_unknown_ids_are_not_found(tokens, clock):
    info, plaintext = tokens.create("reader", "knowledge_member", entity_key="hosted:uni")
    first = tokens.revoke(info["id"])
    assert first["revoked_at"] == clock.now
    clock.advance(hours=1)
    with pytest.raises(NotFound, match="revoked already"):
        tokens.revoke(info["id"])
    assert tokens.list()[0]["revoked_at"] == first["revoked_at"]  # the first revocation stands
    assert tokens.count() == 1 and tokens.count(active_only=True) == 0
    with pytest.raises(Unauthorized, match="revoked"):
        tokens.authenticate(f"Bearer {plaintext}")
    with pytest.raises(NotFound):
        tokens.revoke("nosuchtoken")


def test_last_used_at_is_updated_at_most_once_a_minute(tokens, db, clock):
    info, plaintext = tokens.create("reader", "knowledge_member", entity_key="hosted:uni")
    assert info["last_used_at"] is None
    updates: list[str] = []

    def spy(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    event.listen(db.engine, "before_cursor_execute", spy)
    try:
        start = clock.now
        tokens.authenticate(f"Bearer {plaintext}")
        assert tokens.list()[0]["last_used_at"] == start and len(updates) == 1

        clock.advance(seconds=59)
        tokens.authenticate(f"Bearer {plaintext}")
        assert tokens.list()[0]["last_used_at"] == start and len(updates) == 1  # throttled: no write at all

        clock.advance(seconds=1)
        tokens.authenticate(f"Bearer {plaintext}")
        assert tokens.list()[0]["last_used_at"] == clock.now and len(updates) == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", spy)


# --------------------------------------------------------------------------------------------------- HTTP

@pytest.mark.parametrize("header, message", [
    ("Bearer", f"no token after 'Bearer': {EXPECTED}"),
    ("Basic abc", f"unsupported authorization scheme 'Basic': {EXPECTED}"),
    ("Bearer a b", f"more than one token: {EXPECTED}"),
    ("", f"empty Authorization header: {EXPECTED}"),
    ("Bearer mmci_bad", "malformed token: expected 'mmci_<id>_<secret>'"),
    ("Bearer abc", "malformed token: expected 'mmci_<id>_<secret>'"),
    ("Bearer mmci_x_y", "unknown token 'x'"),
])
def test_bad_authorization_headers_are_401_with_precise_messages(client, header, message):
    for method in (client.get, client.post):  # even a public endpoint refuses a bad token
        response = method("/api/v1/harvests", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json == {"code": "unauthorized", "message": message}
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="medmci", error="invalid_')


def test_anonymous_callers_get_401_with_a_bearer_challenge(client):
    assert client.get("/api/v1/harvests").json == {"role": "anonymous", "node_id": None}
    response = client.post("/api/v1/harvests")
    assert response.status_code == 401
    assert response.json["message"] == "this endpoint needs a token with scope 'harvest:run'"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="medmci"'


def test_a_revoked_token_is_401(client, tokens):
    info, plaintext = tokens.create("old bot", "operator")
    tokens.create("new bot", "operator")  # the last operator token cannot be revoked
    assert client.post("/api/v1/harvests", headers=bearer(plaintext)).status_code == 201
    tokens.revoke(info["id"])
    response = client.post("/api/v1/harvests", headers=bearer(plaintext))
    assert response.status_code == 401
    assert response.json["message"] == f"token 'old bot' ({info['id']}) was revoked"


def test_a_missing_scope_is_403_naming_it(client, tokens):
    _, plaintext = tokens.create("reader", "knowledge_member", entity_key="hosted:uni")
    response = client.post("/api/v1/harvests", headers=bearer(plaintext))
    assert response.status_code == 403
    assert response.json == {"code": "forbidden", "message": "token 'reader' lacks scope 'harvest:run'"}
    assert response.headers["WWW-Authenticate"] == \
        'Bearer realm="medmci", error="insufficient_scope", scope="harvest:run"'
    response = client.post("/api/v1/nodes/node-a/push", headers=bearer(plaintext), json={"sequence": 1})
    assert response.status_code == 403 and "lacks scope 'push:write'" in response.json["message"]


def test_a_node_operator_pushes_for_its_own_node_only(client, tokens):
    _, plaintext = tokens.create("node A bot", "node_operator", node_id="node-a")
    own = client.post("/api/v1/nodes/node-a/push", headers=bearer(plaintext), json={"sequence": 7})
    assert own.status_code == 202
    assert own.json == {"node": "node-a", "sequence": 7}  # @blp.arguments parsed, @blp.response dumped
    other = client.post("/api/v1/nodes/node-b/push", headers=bearer(plaintext), json={"sequence": 7})
    assert other.status_code == 403
    assert other.json["message"] == "token 'node A bot' is bound to node 'node-a', not 'node-b'"
    assert "WWW-Authenticate" not in other.headers


def test_the_principal_is_authenticated_once_per_request(tokens):
    calls: list[str | None] = []
    original = tokens.authenticate

    def counting(header):
        calls.append(header)
        return original(header)

    tokens.authenticate = counting
    _, plaintext = tokens.create("op", "operator")
    response = make_app(tokens).test_client().post("/api/v1/harvests", headers=bearer(plaintext))
    assert response.status_code == 201 and response.json["role"] == "operator"
    assert len(calls) == 1  # require() and the view both asked, one authentication


def test_require_composes_with_flask_smorest_documentation(tokens):
    spec = make_app(tokens).test_client().get("/openapi.json").json
    push = spec["paths"]["/api/v1/nodes/{node_id}/push"]["post"]
    assert {"202", "401", "403", "422"} <= set(push["responses"])
    assert push["x-medmci-scope"] == "push:write" and "requestBody" in push
    harvests = spec["paths"]["/api/v1/harvests"]
    assert "401" in harvests["post"]["responses"] and "401" not in harvests["get"]["responses"]


def test_require_refuses_unknown_scopes_when_decorating():
    with pytest.raises(ValueError, match="unknown scope 'harvest:runn'"):
        require("harvest:runn")
