"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable; required under CI), node and hub apps,
real HTTP servers on loopback, and profile builders."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from federation.hub.app import Hub, create_hub_app
from federation.node.app import create_node_app
from federation.node.trust import NodeTrust
from federation.registry import Registry
from federation.serving import BackgroundServer
from federation.settings import Settings, deep_merge
from federation.signing import KeyStore

POSTGRES_URL = os.environ.get("MEDMCI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Short harvest limits so that tests of slow and hanging nodes end quickly; test nodes listen on loopback, which the
#: hub refuses to reach unless allowed (tests of that refusal narrow the allow-list).
TEST_SETTINGS = {"harvest": {"timeout_s": 2, "connect_timeout_s": 1, "concurrency": 4,
                             "allow_networks": ["127.0.0.0/8"],
                             # Every fetch reads the discovery document, so tests of what a node's discovery says
                             # see it at once; tests/test_discovery_cache.py tests the default (a day).
                             "discovery_max_age_s": 0},
                 # Nodes push to the hubs they trust from a background thread; tests of push turn it on.
                 "node": {"notify_hubs": False}}


def client_with_token(token: str) -> type[FlaskClient]:
    """A test client class that sends ``token`` unless a test passes its own Authorization header."""

    class TokenClient(FlaskClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    return TokenClient


def _postgres_available() -> bool:
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


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
    schemas: list[str] = []

    def make(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.sqlite3')}"
        schema = f"t_{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        schemas.append(schema)
        return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"

    yield make
    if schemas:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Registry:
    """The default plugins, loaded once (taxonomies take a moment to read)."""
    return Registry.build(Settings.load(tmp_path_factory.mktemp("registry")))


#: The instance folder (under the test's tmp_path) of the hub that ``make_node``'s nodes trust.
TEST_HUB = "hub"


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


def record_public_url(app, url: str) -> None:
    """A node served at ``url`` without a public URL yet takes it (what `node join --node-url` does)."""
    node = app.extensions.get("medmci")
    if isinstance(getattr(node, "hubs", None), NodeTrust) and not node.hubs.public_url():
        node.hubs.set_public_url(url, actor="test")


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


# -- builders --------------------------------------------------------------------------------------------------

def cluster_doc(cluster_id: str = "qoot", country: str = "LB", value_chains=("agri-food",), **extra) -> dict:
    return {"id": cluster_id, "names": {"en": cluster_id.upper(), "fr": cluster_id.upper()}, "country": country,
            "website": f"https://{cluster_id}.example.org", "value_chains": list(value_chains),
            "description": {"en": f"The {cluster_id} cluster"}, **extra}


def member_doc(member_id: str, *codes: str, kind: str = "sme", name: str | None = None, **extra) -> dict:
    """``member_doc("m1", "nace-rev2:11.02")``: a member with activities given as scheme:code."""
    activities = [dict(zip(("scheme", "code"), c.split(":", 1))) for c in codes]
    return {"id": member_id, "kind": kind, "name": name or f"Member {member_id}", "city": "Beirut",
            "size": "small", "activities": activities, "status": "active", **extra}


def load_node(app, cluster: dict, members: list[dict]) -> None:
    """Fill a node through its service layer (what the API and the CSV import call)."""
    service = app.extensions["medmci"].service
    service.put_cluster(cluster)
    for member in members:
        service.create_member(member)


@pytest.fixture
def config_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "config"
