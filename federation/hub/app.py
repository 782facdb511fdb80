"""The hub's app factory: harvests the nodes and forms the meta-clusters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from connectors.http_fetch import NodeClient

from ..catalog_api import catalog_bp
from ..db import Database
from ..registry import Registry
from ..settings import Settings
from ..web import init_api
from .api import harvests_bp, metaclusters_bp, nodes_bp
from .harvest import Harvester
from .nodes import NodeDirectory
from .queries import HubQueries

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Hub:
    """Everything the hub is made of, wired once; the CLI uses it without a web server."""

    settings: Settings
    registry: Registry
    db: Database
    nodes: NodeDirectory
    harvester: Harvester
    queries: HubQueries

    @classmethod
    def build(cls, instance_path: str | Path, overrides: dict | None = None,
              registry: Registry | None = None) -> "Hub":
        settings = Settings.load(instance_path, overrides)
        registry = registry or Registry.build(settings)
        db = Database(settings.database_url, MIGRATIONS)
        db.upgrade()
        client = NodeClient(timeout_s=settings.get("harvest.timeout_s", 10),
                            connect_timeout_s=settings.get("harvest.connect_timeout_s", 3),
                            max_bytes=settings.get("harvest.max_bytes", 20_000_000),
                            user_agent=settings.get("harvest.user_agent", "medmci-hub"))
        return cls(settings, registry, db, NodeDirectory(db),
                   Harvester(db, registry, client, settings.get("harvest.workers", 8)), HubQueries(db, registry))


def create_hub_app(instance_path: str | Path | None = None, overrides: dict | None = None,
                   hub: Hub | None = None) -> Flask:
    """A hub app over ``instance_path`` (or over an already built :class:`Hub`)."""
    hub = hub or Hub.build(instance_path, overrides)
    app = Flask(__name__, instance_path=str(Path(hub.settings.instance_path).resolve()))
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["medmci"] = hub
    api = init_api(app, "Med-MCI hub", "Harvests cluster nodes and forms Mediterranean meta-clusters.")
    for blueprint in (nodes_bp, harvests_bp, metaclusters_bp, catalog_bp):
        api.register_blueprint(blueprint)
    return app
