"""A node's members take part in a hub's matchmaking: interest in a suggested partner, meeting requests, the
partner's answer, meetings held. Each call is a request signed with the node's key, as ``answer_pilot()`` signs in
federation/node/hub_answers.py; the hub checks it with ``node_itself()`` (federation/hub/matches_api.py): a node acts
for its own members only, and answers only the meetings its members were asked to."""

from __future__ import annotations

from urllib.parse import quote

from ..errors import ValidationError
from .hub_answers import signed_call

MEETING_ACTIONS = ("request", "accept", "decline", "held", "cancel")


def _base(context) -> str:
    return f"/api/v1/matches/nodes/{quote(context.service.get_cluster()['id'], safe='')}/meetings"


def propose(context, member_id: str, partner: str, state: str, note: str | None = None,
            hub_url: str | None = None) -> dict:
    """This node's member ``member_id`` marks ``partner`` (``NODE/ID``, as the hub's suggestions name it) as
    interesting (``state`` interested) or requests a meeting (requested); returns the hub's record of it."""
    body = {"member": member_id, "partner": partner, "state": state, **({"note": note} if note else {})}
    return signed_call(context, "POST", _base(context), body, hub_url, 201)


def act(context, meeting_id: int, action: str, note: str | None = None, hub_url: str | None = None) -> dict:
    """Move meeting ``meeting_id`` on (request, accept, decline, held, cancel); the hub refuses a node that is not
    on the action's side, or a move the meeting's state does not allow, with its reason."""
    if action not in MEETING_ACTIONS:
        raise ValidationError(f"action must be one of {', '.join(MEETING_ACTIONS)}, not {action!r}")
    return signed_call(context, "POST", f"{_base(context)}/{int(meeting_id)}/{action}", {"note": note} if note else {},
                   hub_url, 200)


def meetings(context, state: str | None = None, hub_url: str | None = None) -> list[dict]:
    """The meeting intents of this node's members at the hub (either side), newest first (the hub's first page)."""
    path = _base(context) + (f"?state={quote(state, safe='')}" if state else "")
    return signed_call(context, "GET", path, None, hub_url, 200)
