"""A node's side of joining a hub: a request signed with the node's key, trusting the hub's keys, and reading the
hub's signed catalogue (its value chains and schemes, which the node then accepts: federation/node/catalogs.py)."""

from __future__ import annotations

import requests

from ..errors import FederationError, ValidationError
from ..signing import sign_request
from .trust import check_public_url

TIMEOUT_S = 15


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def join_hub(context, hub_url: str, node_url: str, name: str | None = None) -> dict:
    """Ask ``hub_url`` to register this node, served at ``node_url``; on success trust the hub's keys, so the hub's
    signed requests read the federation audience. The hub operator still has to approve the node.

    ``node_url`` becomes this node's public URL: the hub's signed requests must name it as their target."""
    context.hubs.set_public_url(node_url)
    kid, key = context.keys.current
    request = requests.Request("POST", hub_url.rstrip("/") + "/api/v1/registrations",
                               json={"node_url": node_url, "name": name}).prepare()
    sign_request(request, key, kid)
    try:
        with _session() as session:  # read whole (not streamed): the answer outlives the session
            response = session.send(request, timeout=TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as exc:
        raise FederationError(f"cannot reach the hub at {hub_url}: {exc}") from exc
    answer = _json(response)
    if response.status_code != 201:
        raise ValidationError(f"the hub refused to register this node: {answer.get('message', response.reason)}",
                              answer.get("errors") or {})
    context.hubs.trust(hub_url, answer.get("hub_keys") or ())
    answer["catalog"] = read_hub_catalog(context, hub_url)
    if context.catalogs is not None:
        context.catalogs.record_ignored(hub_url, answer.get("ignored"))
    return answer


def trust_hub(context, hub_url: str, public_url: str | None = None) -> list[str]:
    """Trust the keys a hub publishes at /.well-known/med-mci-hub (for a node the operator registered). A node that
    trusts a hub needs its public URL (``public_url`` records it): signed requests are checked against it."""
    if public_url:
        check_public_url(public_url)  # refused before the hub is asked; recorded once the hub answered
    elif not context.hubs.public_url():
        raise ValidationError("this node has no public URL: give --public-url (the URL the hub reaches it at), or "
                              "set node.public_url", {"public_url": ["required to trust a hub"]})
    try:
        with _session() as session:
            response = session.get(hub_url.rstrip("/") + "/.well-known/med-mci-hub", timeout=TIMEOUT_S,
                                   allow_redirects=False)
    except requests.RequestException as exc:
        raise FederationError(f"cannot reach the hub at {hub_url}: {exc}") from exc
    answer = _json(response)
    if response.status_code != 200 or not isinstance(answer.get("keys"), list):
        raise ValidationError(f"{hub_url} does not publish hub keys", {"hub_url": ["no hub discovery document"]})
    if public_url:
        context.hubs.set_public_url(public_url)
    added = context.hubs.trust(hub_url, answer["keys"])
    read_hub_catalog(context, hub_url)
    return added


def read_hub_catalog(context, hub_url: str) -> dict | None:
    """Read the catalogue of a hub just trusted; its failure is reported (and kept with the hub, `medmci node
    trusted-hubs list`), never undoes the trust: `medmci node trusted-hubs refresh` reads it again."""
    if context.catalogs is None:
        return None
    try:
        results = context.catalogs.refresh(hub_url)
    except ValidationError as exc:  # the hub published no key this node could trust
        return {"hub_url": hub_url, "ok": False, "value_chains": None, "schemes": None, "reason": exc.message}
    return results[0] if results else None


def _json(response: requests.Response) -> dict:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
