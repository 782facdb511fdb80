"""The demo federation: one node per cluster of ``config/demo/`` and a hub, each a real HTTP server on loopback
with its own SQLite database and its own keys. Each node asks the hub to join with a signed request, the operator
approves it, and the hub harvests the nodes over HTTP (signed requests, signed profiles) and forms the meta-clusters.
"""

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
from .node.join import join_hub
from .profile.schema import ClusterSchema
from .registry import Registry
from .serving import BackgroundServer
from .settings import Settings, deep_merge, read_yaml


@dataclass
class DemoNode:
    node_id: str
    server: BackgroundServer
    members: int


@dataclass
class DemoFederation:
    """A running demo: its node servers, its hub and the hub's server."""

    workdir: Path
    hub: Hub
    nodes: list[DemoNode]
    harvest_report: dict
    _stack: ExitStack = field(repr=False, default_factory=ExitStack)
    temporary: bool = False

    hub_server: BackgroundServer | None = None

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


#: The demo runs on loopback, which the hub refuses to reach in production (SSRF); the demo allows it.
DEMO_SETTINGS = {"harvest": {"allow_networks": ["127.0.0.0/8"]}}


def start_demo(workdir: Path | None = None, overrides: dict | None = None, host: str = "127.0.0.1",
               port: int = 0) -> DemoFederation:
    """Start the hub and every demo node, load each node's profile and members, have each node ask to join,
    approve them, and harvest them."""
    temporary = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="medmci-demo-"))
    overrides = deep_merge(DEMO_SETTINGS, overrides or {})
    stack = ExitStack()
    try:
        base = Settings.load(workdir / "hub", overrides)
        registry = Registry.build(base)  # one registry for every app of the demo: the same plugins everywhere
        hub = Hub.build(workdir / "hub", overrides, registry=registry)
        hub_server = stack.enter_context(BackgroundServer(create_hub_app(hub=hub), host, port))
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
            # The node asks to join over HTTP, signed with its own key, as a real cluster would.
            join_hub(app.extensions["medmci"], hub_server.url, server.url)
            hub.nodes.decide(node_id, "approve", "demo-operator", "demo federation")
            nodes.append(DemoNode(node_id, server, report["rows"]))
        harvest = hub.harvester.harvest()
        stack.callback(hub.start_scheduler().stop)  # from now on, nodes' pushes and the interval drive harvests
        return DemoFederation(workdir, hub, nodes, harvest, stack, temporary, hub_server)
    except BaseException:
        stack.close()
        raise
