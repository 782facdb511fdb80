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
from typing import Any

from marshmallow import ValidationError as SchemaError

from .demo_story import DemoStory, HubCalls, host_entities, load_hosted, run_story
from .errors import ConfigurationError, ValidationError
from .hub.app import Hub, create_hub_app
from .node.app import create_node_app
from .node.join import join_hub
from .node.schemas import NodeClusterFileSchema, NodeKnowledgeSchema
from .registry import Registry
from .serving import BackgroundServer
from .settings import Settings, deep_merge, default_config_dir, read_yaml


@dataclass
class DemoNode:
    node_id: str
    server: BackgroundServer
    members: int
    context: Any = field(repr=False, default=None)  # the node's services (its keys sign its answers to the hub)
    knowledge: bool = False  # a knowledge node (a university's), not a cluster's


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
    story: DemoStory | None = None

    def close(self) -> None:
        self._stack.close()
        self.hub.db.dispose()
        if self.temporary:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _join(stack: ExitStack, app, hub: Hub, hub_server: BackgroundServer, node_id: str, members: int,
          knowledge: bool = False) -> DemoNode:
    """Serve a node; it asks to join over HTTP, signed with its own key, as a real cluster would; approve it."""
    server = stack.enter_context(BackgroundServer(app))
    join_hub(app.extensions["medmci"], hub_server.url, server.url)
    hub.nodes.decide(node_id, "approve", "demo-operator", "demo federation")
    return DemoNode(node_id, server, members, app.extensions["medmci"], knowledge)


def tell_story(federation: DemoFederation, hosted: list[Path]) -> DemoStory:
    """The operator's token; the hosted entities; then the invitations and the pilot (federation.demo_story)."""
    operator = federation.hub.tokens.create("demo-operator", "operator")[1]
    call = HubCalls(federation.hub_server.url if federation.hub_server else "")
    try:
        hosted_tokens = host_entities(call, operator, hosted)
    finally:
        call.close()
    contexts = {n.node_id: n.context for n in federation.nodes}
    return run_story(federation, operator, hosted_tokens, contexts, federation.workdir / "reports")


def load_demo_spec(config_dir: Path) -> list[dict]:
    spec = read_yaml(config_dir / "demo" / "federation.yaml")
    clusters = spec.get("clusters") if isinstance(spec, dict) else None
    if not clusters:
        raise ConfigurationError("demo/federation.yaml: needs a list of clusters")
    return clusters


@dataclass(frozen=True)
class DemoCluster:
    """One node of the demo: its id and the folder holding its ``cluster.yaml`` and ``members.csv``."""

    node_id: str
    folder: Path


#: Keys of a user's federation file (``medmci demo --federation FILE``).
FEDERATION_KEYS = ("builtin", "clusters", "plugins")
BUILTIN_CHOICES = ("add", "replace")


def demo_clusters(config_dir: Path, federation_file: Path | None = None) -> tuple[list[DemoCluster], dict]:
    """The demo's clusters, and the ``plugins`` settings a user's federation file adds (``{}`` without one).

    A federation file is YAML: ``clusters`` (a list of ``{node, path}``, each path a folder relative to the file
    with ``cluster.yaml`` and ``members.csv``), ``builtin`` (``add``, the default: the user's clusters join the
    built-in ones; ``replace``: only the user's), and ``plugins`` (settings of the plugins block for the hub and
    every node: ``extra`` modules, ``disabled`` names, a plugin's configuration). Everything is checked before
    anything starts: a wrong file changes nothing."""
    builtin = [DemoCluster(e["node"], config_dir / "demo" / e.get("path", e["node"]))
               for e in load_demo_spec(config_dir)]
    if federation_file is None:
        return builtin, {}
    where = str(federation_file)
    if not federation_file.is_file():
        raise ValidationError(f"{where}: no such file")
    spec = read_yaml(federation_file)
    if not isinstance(spec, dict):
        raise ValidationError(f"{where}: a federation file is a mapping with {', '.join(FEDERATION_KEYS)}")
    unknown = sorted(set(spec) - set(FEDERATION_KEYS))
    if unknown:
        raise ValidationError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} (known: "
                              f"{', '.join(FEDERATION_KEYS)})")
    mode = spec.get("builtin", "add")
    if mode not in BUILTIN_CHOICES:
        raise ValidationError(f"{where}: builtin must be one of {', '.join(BUILTIN_CHOICES)}, not {mode!r}")
    entries = spec.get("clusters") or []
    if not isinstance(entries, list) or (mode == "replace" and not entries):
        raise ValidationError(f"{where}: clusters must be a list of {{node, path}}"
                              + (" (builtin: replace needs at least one)" if mode == "replace" else ""))
    plugins = spec.get("plugins") or {}
    if not isinstance(plugins, dict):
        raise ValidationError(f"{where}: plugins must be a mapping (the plugins block of the settings)")
    own = []
    for position, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("node"), str) or not entry["node"]:
            raise ValidationError(f"{where}: cluster #{position} needs a node id: {{node: my-cluster, path: folder}}")
        folder = (federation_file.parent / str(entry.get("path", entry["node"]))).resolve()
        missing = [name for name in ("cluster.yaml", "members.csv") if not (folder / name).is_file()]
        if missing:
            raise ValidationError(f"{where}: cluster #{position} ({entry['node']}): {folder.name}/ lacks "
                                  f"{' and '.join(missing)}")
        own.append(DemoCluster(entry["node"], folder))
    clusters = own if mode == "replace" else builtin + own
    seen: set[str] = set()
    for cluster in clusters:
        if cluster.node_id in seen:
            raise ValidationError(f"{where}: node {cluster.node_id!r} is in the demo twice"
                                  + (" (a built-in node: rename yours, or builtin: replace)" if mode == "add" else ""))
        seen.add(cluster.node_id)
    return clusters, {"plugins": plugins} if plugins else {}


#: The demo runs on loopback, which the hub refuses to reach in production (SSRF); the demo allows it.
DEMO_SETTINGS = {"harvest": {"allow_networks": ["127.0.0.0/8"]}}
#: Joins the demo's hub accepts per hour beyond its own nodes' (one each): room for nodes a user joins to it.
DEMO_SPARE_JOINS = 10


def _read_cluster(cluster: DemoCluster) -> dict:
    """The node's ``cluster.yaml`` as ``medmci node set-cluster`` reads it (the cooperation profile included)."""
    path = cluster.folder / "cluster.yaml"
    try:
        profile = NodeClusterFileSchema().load(read_yaml(path))
    except SchemaError as exc:
        raise ValidationError(f"{path}: not a valid cluster", exc.messages) from exc
    if profile["id"] != cluster.node_id:
        raise ValidationError(f"{path}: the cluster id {profile['id']!r} must be the node id {cluster.node_id!r}")
    return profile


def demo_knowledge(config_dir: Path) -> tuple[list[tuple[DemoCluster, dict, dict]], list[Path]]:
    """The knowledge entities that join the demo directly (``knowledge:`` in demo/federation.yaml): knowledge nodes
    (their identity and block, checked as `medmci node set-cluster` and `node knowledge set` check them) and the
    files of the entities the hub hosts."""
    spec = read_yaml(config_dir / "demo" / "federation.yaml")
    nodes, hosted = [], []
    for entry in spec.get("knowledge") or []:
        folder = config_dir / "demo" / entry["path"]
        if "node" in entry:
            cluster = DemoCluster(entry["node"], folder)
            path = folder / "knowledge.yaml"
            try:
                block = NodeKnowledgeSchema().load(read_yaml(path))
            except SchemaError as exc:
                raise ValidationError(f"{path}: not a valid knowledge block", exc.messages) from exc
            nodes.append((cluster, _read_cluster(cluster), block))
        else:
            hosted.append(folder / "hosted.yaml")
    return nodes, hosted


def start_demo(workdir: Path | None = None, overrides: dict | None = None, host: str = "127.0.0.1",
               port: int = 0, federation_file: Path | None = None, story: bool = True) -> DemoFederation:
    """Start the hub and every demo node (the clusters' and the knowledge nodes'), load each node's profile and
    members, have each node ask to join, approve them, and harvest them; then (``story``) the Med-MCI method's
    step 1 and pilot of :mod:`federation.demo_story`. ``federation_file``: a user's clusters and plugin settings,
    added to or replacing the built-in ones (see :func:`demo_clusters`)."""
    clusters, extra = demo_clusters(default_config_dir(), federation_file)
    profiles = [_read_cluster(c) for c in clusters]  # every cluster file checked before anything starts
    # The knowledge entities and the story belong to the built-in federation: a user's file that replaces the
    # built-in clusters runs without them (the story's meta-cluster and coordinator would be missing).
    builtin = {entry["node"] for entry in load_demo_spec(default_config_dir())} <= {c.node_id for c in clusters}
    knowledge_nodes, hosted = demo_knowledge(default_config_dir()) if builtin else ([], [])
    story = story and builtin
    for hosted_file in hosted:
        load_hosted(hosted_file)
    temporary = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="medmci-demo-"))
    # Every demo node joins from loopback within a minute: the registration limit must let them all in.
    joins = {"rate_limits": {"registration": f"{len(clusters) + DEMO_SPARE_JOINS} per hour"}}
    overrides = deep_merge(deep_merge(deep_merge(DEMO_SETTINGS, joins), extra), overrides or {})
    stack = ExitStack()
    try:
        base = Settings.load(workdir / "hub", overrides)
        registry = Registry.build(base)  # one registry for every app of the demo: the same plugins everywhere
        hub = Hub.build(workdir / "hub", overrides, registry=registry)
        hub_server = stack.enter_context(BackgroundServer(create_hub_app(hub=hub), host, port))
        nodes = []
        for cluster, profile in zip(clusters, profiles, strict=True):
            node_id = cluster.node_id
            app = create_node_app(workdir / "nodes" / node_id, overrides, registry=registry)
            service = app.extensions["medmci"].service
            cooperation = profile.pop("cooperation", None)
            service.put_cluster(profile)
            if cooperation is not None:
                service.put_cooperation(cooperation)
            report = service.import_members((cluster.folder / "members.csv").read_bytes())
            nodes.append(_join(stack, app, hub, hub_server, node_id, report["rows"]))
        for cluster, identity, block in knowledge_nodes:  # a university running its own node, in knowledge mode
            app = create_node_app(workdir / "nodes" / cluster.node_id, overrides, registry=registry)
            service = app.extensions["medmci"].service
            service.enable_knowledge_mode()
            service.put_cluster(identity)
            service.put_knowledge(block)
            nodes.append(_join(stack, app, hub, hub_server, cluster.node_id, 0, knowledge=True))
        harvest = hub.harvester.harvest()
        federation = DemoFederation(workdir, hub, nodes, harvest, stack, temporary, hub_server)
        if story:
            federation.story = tell_story(federation, hosted)
        stack.callback(hub.start_scheduler().stop)  # from now on, nodes' pushes and the interval drive harvests
        return federation
    except BaseException:
        stack.close()
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
