"""Push: after its profile changes, a node tells the hubs it trusts, so they fetch it soon.

The notification only wakes the hub up (the hub fetches, verifies and validates as always), so it is sent from a
background thread, signed with the node's key, and its failure is logged and forgotten: the hub's scheduled pull
is the backbone.
"""

from __future__ import annotations

import logging
import threading

import requests

from ..signing import sign_request

log = logging.getLogger(__name__)
TIMEOUT_S = 5


class HubNotifier:
    def __init__(self, context):
        self.context = context
        self._session = requests.Session()
        self._session.trust_env = False

    def __call__(self) -> None:
        hubs = sorted({k["hub_url"] for k in self.context.hubs.list()})
        if hubs:
            threading.Thread(target=self.notify, args=(hubs,), name="hub-notify", daemon=True).start()

    def notify(self, hubs: list[str]) -> dict[str, int | str]:
        """POST a signed notification to each hub; returns each hub's status code or error."""
        cluster_id = self.context.service.get_cluster()["id"]
        kid, key = self.context.keys.current
        results: dict[str, int | str] = {}
        for hub_url in hubs:
            request = requests.Request("POST", f"{hub_url.rstrip('/')}/api/v1/nodes/{cluster_id}/notify").prepare()
            sign_request(request, key, kid)
            try:
                results[hub_url] = self._session.send(request, timeout=TIMEOUT_S, allow_redirects=False).status_code
            except requests.RequestException as exc:
                results[hub_url] = str(exc)
                log.warning("could not notify hub %s: %s", hub_url, exc)
        return results
