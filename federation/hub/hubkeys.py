"""The hub's own keys: read fresh when they change on disk, rotated, and announced to the nodes.

Every process of a hub (the API server, its scheduler, harvest workers on other machines with a copy of the keys
folder) signs with the key that ``keys/keys.json`` names current *now*: :class:`federation.freshkeys.FreshKeyStore`
looks at that file before each use (one ``stat``) and loads it again when it changed, so a rotation reaches running
workers without a restart. A worker whose copy of the folder is older than the hub's is refused by the nodes
(unknown or retired key) with a 401 that says so, which the hub shows in ``hub nodes --health``.

``medmci hub rotate-key`` makes a new key current and tells every node with a message signed by the old key
(POST ``/api/v1/trusted-hubs/rotate``, RFC 9421); the node then trusts the new key and keeps the old one for its
grace period. The hub keeps its old private key for ``trust.hub_key_grace_days`` to tell nodes that were
unreachable (``hub announce-key``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import select

from ..errors import ConfigurationError
from ..freshkeys import FreshKeyStore  # shared with the node (importable from here as before)
from ..signing import KEYS_FILE, public_jwk, sign_request
from . import audit
from .models import NodeRecord

ROTATE_PATH = "/api/v1/trusted-hubs/rotate"
#: Nodes that are told of a new hub key: every node that may trust the hub (rejected ones never will).
ANNOUNCED_STATUSES = ("active", "paused", "pending", "suspended")


def _records(keys: FreshKeyStore) -> list[dict]:
    return json.loads((keys.folder / KEYS_FILE).read_text(encoding="utf-8"))["keys"]


def rotate(hub, actor: str = "cli") -> dict:
    """Make a new hub key current, then tell every node with a message signed by the old key."""
    old_kid, _old = hub.keys.current
    new_kid = hub.keys.rotate()
    with hub.db.session() as session:
        audit.record(session, "hub_key.rotated", actor, None, kid=new_kid, previous=old_kid)
    return {"kid": new_kid, "previous": old_kid, "nodes": announce(hub, actor=actor)}


def announce(hub, node_ids: list[str] | None = None, actor: str = "cli") -> list[dict]:
    """Tell nodes the hub's current key, signed by the previous key (the one they trust). One node's failure is
    that node's alone: each outcome is returned and audited."""
    grace = timedelta(days=float(hub.settings.get("trust.hub_key_grace_days")))
    new_kid, _key = hub.keys.current
    previous = [r for r in _records(hub.keys) if r["status"] == "previous"]
    if not previous:
        raise ConfigurationError("the hub has no previous key to sign the announcement with: rotate first")
    record = previous[0]  # the most recently retired
    retired_at = datetime.fromisoformat(record["retired_at"].replace("Z", "+00:00"))
    if datetime.now(UTC) - retired_at > grace:
        raise ConfigurationError(f"the previous hub key {record['kid']} was retired on {record['retired_at']}, "
                                 f"beyond trust.hub_key_grace_days: nodes must trust the hub again "
                                 f"(`medmci node trust-hub`)")
    old_kid, old_key = record["kid"], hub.keys.private_key(record["kid"])
    body = json.dumps({"new_key": public_jwk(hub.keys.private_key(new_kid).public_key(), new_kid)}).encode()
    client = hub.harvester.client
    with hub.db.session() as session:
        query = select(NodeRecord).where(NodeRecord.status.in_(ANNOUNCED_STATUSES)).order_by(NodeRecord.id)
        if node_ids:
            query = query.where(NodeRecord.id.in_(node_ids))
        nodes = [(n.id, n.url) for n in session.scalars(query)]
    results = []
    for node_id, url in nodes:
        prepared = requests.Request("POST", url.rstrip("/") + ROTATE_PATH, data=body,
                                    headers={"Content-Type": "application/json"}).prepare()
        sign_request(prepared, old_key, old_kid)
        try:  # the hub's SSRF-safe session, with the harvest's timeouts
            with client.session.send(prepared, timeout=(client.connect_timeout_s, client.timeout_s),
                                     allow_redirects=False, stream=True) as response:
                ok = response.status_code == 200
                reason = None if ok else f"HTTP {response.status_code}: {_message(response)}"
        except requests.RequestException as exc:
            ok, reason = False, f"{type(exc).__name__}: {exc}"
        results.append({"node_id": node_id, "ok": ok, "reason": reason})
        with hub.db.session() as session:
            audit.record(session, "hub_key.announced" if ok else "hub_key.announce_failed", actor, node_id,
                         kid=new_kid, signed_by=old_kid, reason=reason)
    return results


def _message(response: requests.Response, limit: int = 4096) -> str:
    """The node's error message, from the first ``limit`` bytes of its answer (a node may send anything)."""
    try:
        data = response.raw.read(limit, decode_content=True) or b""
    except Exception:  # noqa: BLE001 - a broken answer has no message
        return "(no readable answer)"
    try:
        answer = json.loads(data)
    except (ValueError, RecursionError):
        return repr(data[:200].decode("utf-8", "replace"))
    return repr(str(answer.get("message"))[:300]) if isinstance(answer, dict) else repr(str(answer)[:200])
