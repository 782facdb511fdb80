"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable; required under CI), node and hub apps, and
real HTTP servers on loopback. Helpers and the fixtures of narrower use live in tests/support/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from federation.hub.app import Hub, create_hub_app
from federation.node.app import create_node_app
from federation.registry import Registry
from federation.serving import BackgroundServer
from federation.settings import Settings, deep_merge
from federation.signing import KeyStore
from tests.support.clients import client_with_token
from tests.support.databases import Databases, postgres_available as _postgres_available
from tests.support.environment import POSTGRES_URL, TEST_HUB, TEST_SETTINGS
from tests.support.nodes import record_public_url

#: Fixtures shared by several test modules, kept next to the helpers they use.
pytest_plugins = ["tests.support.cli", "tests.support.fake_node", "tests.support.joining",
                  "tests.support.hook_calls", "tests.support.api_servers"]


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    available = _postgres_available()
    if not available and os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required under CI and not reachable at {POSTGRES_URL}")
    return available


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> str:
    """Parametrises a test over both databases."""
    if request.param == "postgres" and not request.getfixturevalue("postgres_available"):
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    return request.param


@pytest.fixture
def database_url(backend, tmp_path):
    """A factory: a fresh, empty database URL of the test's backend for each name (one per node or hub)."""
    databases = Databases(backend, tmp_path)
    yield databases.url
    databases.drop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Registry:
    """The default plugins, loaded once (taxonomies take a moment to read)."""
    return Registry.build(Settings.load(tmp_path_factory.mktemp("registry")))


@pytest.fixture
def make_node(tmp_path, database_url, registry):
    """``make_node("qoot")`` -> a node Flask app with its own database. Like a node that joined it, the node trusts
    the keys of the test's hub (``make_hub()``, made now if need be), unless ``trust_hub=False``; ``serve(app)``
    records the URL it serves the node at as the node's public URL."""
    apps = []

    def make(name: str = "node", overrides: dict | None = None, trust_hub: bool = True):
        settings = deep_merge({"database_url": database_url(name), **TEST_SETTINGS}, overrides or {})
        app = create_node_app(tmp_path / name, settings, registry=registry)
        if trust_hub:
            hub_keys = KeyStore.load_or_create(tmp_path / TEST_HUB / "keys")
            app.extensions["medmci"].hubs.trust("http://hub.test", hub_keys.published(), actor="test")
        # app.test_client() acts as the node's admin; FlaskClient(app) is an anonymous caller.
        _record, token = app.extensions["medmci"].tokens.create("test-admin", "node_admin")
        app.test_client_class = client_with_token(token)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["medmci"].db.dispose()


@pytest.fixture
def make_hub(tmp_path, database_url, registry):
    """``make_hub()`` -> a :class:`Hub` with its own database (``create_hub_app(hub=...)`` for its web app)."""
    hubs = []

    def make(name: str = "hub", overrides: dict | None = None, registry_: Registry | None = None) -> Hub:
        settings = deep_merge({"database_url": database_url(name), **TEST_SETTINGS}, overrides or {})
        hub = Hub.build(tmp_path / name, settings, registry=registry_ or registry)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()


@pytest.fixture
def serve():
    """``serve(app)`` -> a started :class:`BackgroundServer` on 127.0.0.1, stopped after the test."""
    servers = []

    def start(app) -> BackgroundServer:
        server = BackgroundServer(app).start()
        servers.append(server)
        record_public_url(app, server.url)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def hub_client(make_hub):
    """``(hub, client)``: the client acts as the hub operator (FlaskClient(app) for an anonymous reader)."""
    hub = make_hub()
    app = create_hub_app(hub=hub)
    app.testing = True
    _record, token = hub.tokens.create("test-operator", "operator")
    app.test_client_class = client_with_token(token)
    return hub, app.test_client()


@pytest.fixture
def config_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "config"
