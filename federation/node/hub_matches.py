"""A node's members take part in a hub's matchmaking: interest in a suggested partner, meeting requests, the
partner's answer, meetings held. Each call is a request signed with the node's key, as ``answer_pilot()`` signs in
federation/node/hub_answers.py; the hub checks it with ``node_itself()`` (federation/hub/matches_api.py): a node acts
for its own members only, and answers only the meetings its members were asked to."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from ..errors import Conflict, FederationError, Forbidden, NotFound, ValidationError
from ..signing import sign_request
from .hub_answers import trusted_hub
from .join import TIMEOUT_S, _session

#: The hub's refusals, as this node's errors (the message is the hub's own reason).
_REFUSALS = {403: Forbidden, 404: NotFound, 409: Conflict}
MEETING_ACTIONS = ("request", "accept", "decline", "held", "cancel")


def _base(context) -> str:
    return f"/api/v1/matches/nodes/{quote(context.service.get_cluster()['id'], safe='')}/meetings"


def propose(context, member_id: str, partner: str, state: str, note: str | None = None,
            hub_url: str | None = None) -> dict:
    """This node's member ``member_id`` marks ``partner`` (``NODE/ID``, as the hub's suggestions name it) as
    interesting (``state`` interested) or requests a meeting (requested); returns the hub's record of it."""
    body = {"member": member_id, "partner": partner, "state": state, **({"note": note} if note else {})}
    return _signed(context, "POST", _base(context), body, hub_url, 201)


def act(context, meeting_id: int, action: str, note: str | None = None, hub_url: str | None = None) -> dict:
    """Move meeting ``meeting_id`` on (request, accept, decline, held, cancel); the hub refuses a node that is not
    on the action's side, or a move the meeting's state does not allow, with its reason."""
    if action not in MEETING_ACTIONS:
        raise ValidationError(f"action must be one of {', '.join(MEETING_ACTIONS)}, not {action!r}")
    return _signed(context, "POST", f"{_base(context)}/{int(meeting_id)}/{action}", {"note": note} if note else {},
                   hub_url, 200)


def meetings(context, state: str | None = None, hub_url: str | None = None) -> list[dict]:
    """The meeting intents of this node's members at the hub (either side), newest first (the hub's first page)."""
    path = _base(context) + (f"?state={quote(state, safe='')}" if state else "")
    return _signed(context, "GET", path, None, hub_url, 200)


def _signed(context, method: str, path: str, body: dict | None, hub_url: str | None, expected: int) -> Any:
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
    message = f"the hub refused: {refusal.get('message', response.reason)}"
    raise _REFUSALS.get(response.status_code, ValidationError)(message, refusal.get("errors") or {})
