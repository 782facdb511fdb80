"""Re-checking the stored history: every kept version against the signature it arrived with."""

from __future__ import annotations

from sqlalchemy import select

from ..db import Database
from ..errors import SignatureError
from ..signing.jws import verify_document
from . import keyring
from .models import NodeRecord, ProfileVersion


def verify_versions(db: Database, node_id: str | None = None) -> list[dict]:
    """One row per stored version: ``ok``, ``redacted`` (members purged after withdrawal, so the node's signature
    no longer covers the bytes) or ``failed`` with the reason. Age is not checked: these are records, not replays."""
    rows = []
    with db.session() as session:
        nodes = {n.id: n for n in session.scalars(select(NodeRecord))}
        query = select(ProfileVersion).order_by(ProfileVersion.node_id, ProfileVersion.id)
        if node_id:
            query = query.where(ProfileVersion.node_id == node_id)
        keys_by_node: dict[str, dict] = {}
        for version in session.scalars(query):
            keys = keys_by_node.setdefault(version.node_id, keyring.all_keys(session, version.node_id))
            row = {"node_id": version.node_id, "version_id": version.id, "sequence": version.sequence,
                   "sha256": version.sha256, "kid": version.kid}
            if version.redacted_at is not None:
                rows.append({**row, "status": "redacted",
                             "reason": f"{len(version.redactions or ())} withdrawn member(s) purged on "
                                       f"{version.redacted_at.isoformat()}"})
                continue
            try:
                verify_document(version.body, version.signature, keys, max_age_s=None,
                                expected_sub=nodes[version.node_id].cluster_id)
                rows.append({**row, "status": "ok", "reason": None})
            except SignatureError as exc:
                rows.append({**row, "status": "failed", "reason": exc.message})
    return rows
