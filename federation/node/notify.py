"""Push: after its profile changes, a node tells the hubs it trusts, so they fetch it soon.

The notification only wakes the hub up (the hub fetches, verifies and validates as always), so it is sent from a
background thread, signed with the node's key, and its failure is logged and forgotten: the hub's scheduled pull
is the backbone. The hub's answer says what it set aside of the node's current version (parts named by plugins the
hub lacks): the node keeps it with the hub's catalogue (`medmci node trusted-hubs list`).
"""

from __future__ import annotations

import json
import logging
import threading

import requests

from ..signing import sign_request

log = logging.getLogger(__name__)
TIMEOUT_S = 5
#: A hub's answer to a notification is its record of the node (a few hundred bytes): read no more than this.
MAX_ANSWER_BYTES = 65536


class HubNotifier:
    """Called after each publication: notifies every trusted hub from a background thread, over one session."""

    def __init__(self, context):
        self.context = context
        self._session = requests.Session()
        self._session.trust_env = False
        self._pending: list[tuple[threading.Thread, int]] = []  # each notification's thread, and its hubs
        self._lock = threading.Lock()

    def close(self) -> None:
        """Let the notifications under way finish (each hub at most TIMEOUT_S: a command such as
        ``node import-members`` ends right after publishing, and the hubs' answers are worth keeping), then close the
        session's pooled connections (the node's :meth:`~federation.node.app.Node.close` calls it)."""
        with self._lock:
            pending, self._pending = self._pending, []
        for thread, hubs in pending:
            thread.join(timeout=TIMEOUT_S * (1 + hubs))
        self._session.close()

    def __call__(self) -> None:
        hubs = sorted({k["hub_url"] for k in self.context.hubs.list()})
        if hubs:
            thread = threading.Thread(target=self.notify, args=(hubs,), name="hub-notify", daemon=True)
            with self._lock:
                self._pending = [(t, n) for t, n in self._pending if t.is_alive()] + [(thread, len(hubs))]
            thread.start()

    def notify(self, hubs: list[str]) -> dict[str, int | str]:
        """POST a signed notification to each hub; returns each hub's status code or error."""
        cluster_id = self.context.service.get_cluster()["id"]
        kid, key = self.context.keys.current
        results: dict[str, int | str] = {}
        for hub_url in hubs:
            request = requests.Request("POST", f"{hub_url.rstrip('/')}/api/v1/nodes/{cluster_id}/notify").prepare()
            sign_request(request, key, kid)
            try:
                with self._session.send(request, timeout=TIMEOUT_S, allow_redirects=False, stream=True) as response:
                    results[hub_url] = response.status_code
                    if response.status_code == 202:
                        self._record_ignored(hub_url, response)
            except requests.RequestException as exc:
                results[hub_url] = str(exc)
                log.warning("could not notify hub %s: %s", hub_url, exc)
        return results

    def _record_ignored(self, hub_url: str, response: requests.Response) -> None:
        """Keep what the hub says it set aside of this node's current version (the answer's ``ignored``: value
        chains and schemes of plugins the hub lacks), read within MAX_ANSWER_BYTES."""
        catalogs = getattr(self.context, "catalogs", None)
        if catalogs is None:
            return
        data = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True) or b""
        try:
            answer = json.loads(data) if len(data) <= MAX_ANSWER_BYTES else None
        except (ValueError, RecursionError):
            answer = None
        if not isinstance(answer, dict):
            log.warning("hub %s answered the notification with no readable node record", hub_url)
            return
        ignored = answer.get("ignored")
        if ignored:
            log.warning("hub %s sets aside parts of this node's profile its plugins do not know: %s", hub_url,
                        json.dumps(ignored, ensure_ascii=False)[:500])
        catalogs.record_ignored(hub_url, ignored)
