"""The demo federation: one node per cluster of ``config/demo/`` and a hub, each a real HTTP server on loopback
with its own SQLite database; the hub registers and harvests the nodes over HTTP and forms the meta-clusters."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError as SchemaError

from .errors import ConfigurationError, ValidationError
from .hub.app import Hub, create_hub_app
from .node.app import create_node_app
from .profile.schema import ClusterSchema
from .registry import Registry
from .serving import BackgroundServer
from .settings import Settings, read_yaml


@dataclass
class DemoNode:
    node_id: str
    server: BackgroundServer
    members: int


@dataclass
class DemoFederation:
    """A running demo: its node servers, its hub, and the hub's server once ``serve_hub`` is called."""

    workdir: Path
    hub: Hub
    nodes: list[DemoNode]
    harvest_report: dict
    _stack: ExitStack = field(repr=False, default_factory=ExitStack)
    temporary: bool = False

    def serve_hub(self, host: str = "127.0.0.1", port: int = 0) -> BackgroundServer:
        return self._stack.enter_context(BackgroundServer(create_hub_app(hub=self.hub), host, port))

    def close(self) -> None:
        self._stack.close()
        self.hub.db.dispose()
        if self.temporary:
            shutil.rmtree(self.workdir, ignore_errors=True)


def load_demo_spec(config_dir: Path) -> list[dict]:
    spec = read_yaml(config_dir / "demo" / "federation.yaml")
    clusters = spec.get("clusters") if isinstance(spec, dict) else None
    if not clusters:
        raise ConfigurationError("demo/federation.yaml: needs a list of clusters")
    return clusters


def start_demo(workdir: Path | None = None, overrides: dict | None = None) -> DemoFederation:
    """Start every demo node, load its profile and members, register and harvest them at a new hub."""
    temporary = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="medmci-demo-"))
    stack = ExitStack()
    try:
        base = Settings.load(workdir / "hub", overrides)
        registry = Registry.build(base)  # one registry for every app of the demo: the same plugins everywhere
        nodes = []
        for entry in load_demo_spec(base.config_dir):
            node_id = entry["node"]
            folder = base.config_dir / "demo" / entry.get("path", node_id)
            app = create_node_app(workdir / "nodes" / node_id, overrides, registry=registry)
            service = app.extensions["medmci"].service
            try:
                cluster = ClusterSchema().load(read_yaml(folder / "cluster.yaml"))
            except SchemaError as exc:
                raise ValidationError(f"{folder / 'cluster.yaml'}: not a valid cluster", exc.messages) from exc
            service.put_cluster(cluster)
            report = service.import_members((folder / "members.csv").read_bytes())
            server = stack.enter_context(BackgroundServer(app))
            nodes.append(DemoNode(node_id, server, report["rows"]))
        hub = Hub.build(workdir / "hub", overrides, registry=registry)
        for node in nodes:
            hub.nodes.register(node.node_id, node.server.url, name=node.node_id)
        harvest = hub.harvester.harvest()
        return DemoFederation(workdir, hub, nodes, harvest, stack, temporary)
    except BaseException:
        stack.close()
        raise
