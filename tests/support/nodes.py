"""Real node apps filled with members, and the public URL a served node records."""

from __future__ import annotations

from federation.node.trust import NodeTrust
from tests.support.builders import AGRI_CODES, LB_MA_NODES, cluster_doc, load_node, member_doc


def record_public_url(app, url: str) -> None:
    """A node served at ``url`` without a public URL yet takes it (what `node join --node-url` does)."""
    node = app.extensions.get("medmci")
    if isinstance(getattr(node, "hubs", None), NodeTrust) and not node.hubs.public_url():
        node.hubs.set_public_url(url, actor="test")


def real_node(make_node, serve, cluster_id: str = "qoot", country: str = "LB", members: int = 3):
    """A served node app with ``members`` agri-food members: ``(app, url)``."""
    app = make_node(cluster_id)
    load_node(app, cluster_doc(cluster_id, country),
              [member_doc(f"{cluster_id}-{i}", AGRI_CODES[i % len(AGRI_CODES)]) for i in range(members)])
    return app, serve(app).url


def build_node(make_node, node_id: str, members: list[dict] | None = None):
    """A node app (not served) of ``LB_MA_NODES[node_id]``, with ``members`` instead of the canned ones if given."""
    cluster_id, country, default_members = LB_MA_NODES[node_id]
    app = make_node(node_id)
    load_node(app, cluster_doc(cluster_id, country), default_members if members is None else members)
    return app
