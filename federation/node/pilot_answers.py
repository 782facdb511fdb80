"""A cluster answers a hub's pilot invitation from its own node: a request signed with the node's key, which the hub
checks as it checks a push (``cluster_itself()`` in federation/hub/pilots_api.py). No token to hand around: the key
that signs the cluster's profile is the one that speaks for the cluster."""

from __future__ import annotations

from urllib.parse import quote

import requests

from ..errors import Conflict, FederationError, Forbidden, NotFound, ValidationError
from ..signing import sign_request
from .join import TIMEOUT_S, _json, _session

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
    if answer not in ANSWERS:
        raise ValidationError(f"answer must be one of {', '.join(ANSWERS)}, not {answer!r}")
    hub_url = trusted_hub(context, hub_url)
    cluster_id = context.service.get_cluster()["id"]
    url = (f"{hub_url.rstrip('/')}/api/v1/pilots/{quote(pilot_id, safe='')}/participants/"
           f"{quote(cluster_id, safe='')}/answer")
    request = requests.Request("POST", url, json={"answer": answer}).prepare()
    kid, key = context.keys.current
    sign_request(request, key, kid)
    try:
        with _session() as session:
            response = session.send(request, timeout=TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        raise FederationError(f"cannot reach the hub at {hub_url}: {exc}") from exc
    body = _json(response)
    if response.status_code == 200:
        return body
    message = f"the hub refused the answer: {body.get('message', response.reason)}"
    raise _REFUSALS.get(response.status_code, ValidationError)(message, body.get("errors") or {})
