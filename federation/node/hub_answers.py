"""A node answers a hub's invitations itself: its cluster's invitation to a pilot, and the invitation of one of its
knowledge members (or of the knowledge node itself) to a meta-cluster. Each answer is a request signed with the
node's key, which the hub checks as it checks a push (``cluster_itself()`` in federation/hub/pilots_api.py,
``entity_itself()`` in federation/hub/knowledge_api.py). No token to hand around: the key that signs the node's
profile is the one that speaks for it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from ..errors import Conflict, FederationError, Forbidden, NotFound, ValidationError
from ..signing import sign_request
from .join import TIMEOUT_S, _session

ANSWERS = ("accept", "decline")
#: The hub's refusals, as this node's errors (the message is the hub's own reason).
_REFUSALS = {403: Forbidden, 404: NotFound, 409: Conflict}


def trusted_hub(context, hub_url: str | None) -> str:
    """``hub_url`` when this node trusts it; without one, the only hub it trusts."""
    hubs = sorted({h["hub_url"] for h in context.hubs.list()})
    if hub_url is None:
        if len(hubs) != 1:
            raise ValidationError("name the hub (--hub URL): this node trusts "
                                  + (f"{len(hubs)} hubs: {', '.join(hubs)}" if hubs else "no hub yet"))
        return hubs[0]
    if hub_url.rstrip("/") not in {h.rstrip("/") for h in hubs}:
        raise ValidationError(f"this node does not trust the hub at {hub_url} (`medmci node trusted-hubs list`)")
    return hub_url


def answer_pilot(context, pilot_id: str, answer: str, hub_url: str | None = None) -> dict:
    """Accept or decline the invitation of this node's cluster to pilot ``pilot_id`` at a trusted hub; returns the
    hub's record of the participant. The hub's refusal (not invited, answered already) is raised with its reason."""
    cluster_id = context.service.get_cluster()["id"]
    return _signed_answer(context, f"/api/v1/pilots/{quote(pilot_id, safe='')}/participants/"
                                   f"{quote(cluster_id, safe='')}/answer", answer, hub_url)


def answer_invitation(context, invitation_id: int, answer: str, hub_url: str | None = None) -> dict:
    """Accept or decline a hub's invitation of this knowledge node, or of one of this node's knowledge members, to a
    meta-cluster; returns the hub's record of the invitation (the hub checks the invitation is this node's)."""
    return _signed_answer(context, f"/api/v1/invitations/{int(invitation_id)}/answer", answer, hub_url)


def _signed_answer(context, path: str, answer: str, hub_url: str | None) -> dict:
    if answer not in ANSWERS:
        raise ValidationError(f"answer must be one of {', '.join(ANSWERS)}, not {answer!r}")
    return signed_call(context, "POST", path, {"answer": answer}, hub_url, 200, "the hub refused the answer")


def signed_call(context, method: str, path: str, body: dict | None, hub_url: str | None, expected: int,
                refused: str = "the hub refused") -> Any:
    """Send ``method path`` (with ``body`` as JSON) to a hub this node trusts, signed with the node's key; the hub's
    JSON answer when it answers ``expected``, else its refusal raised as this node's error, with its reason."""
    hub_url = trusted_hub(context, hub_url)
    request = requests.Request(method, hub_url.rstrip("/") + path, json=body).prepare()
    kid, key = context.keys.current
    sign_request(request, key, kid)
    try:
        with _session() as session:
            response = session.send(request, timeout=TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        raise FederationError(f"cannot reach the hub at {hub_url}: {exc}") from exc
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code == expected:
        return answer
    refusal = answer if isinstance(answer, dict) else {}
    raise _REFUSALS.get(response.status_code, ValidationError)(f"{refused}: {refusal.get('message', response.reason)}",
                                                               refusal.get("errors") or {})
