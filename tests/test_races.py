"""Concurrent requests that read a state and then change it are serialised (issue #8, findings 2 and 3): two
operators revoking each other's token, decisions racing pauses, identical decisions at once. Real threads against a
served hub over loopback HTTP, on SQLite and PostgreSQL, a few rounds each."""

from __future__ import annotations

import threading

import pytest
import requests

from federation.hub.app import create_hub_app

ROUNDS = 5


def at_once(*calls):
    """Run the calls in threads released together; their responses, in the calls' order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_two_operators_revoking_each_other_at_once_leave_one_admin_token(backend, make_hub, serve):
    hub = make_hub()
    url = serve(create_hub_app(hub=hub)).url
    survivor, survivor_token = hub.tokens.create("first", "operator")
    for round_ in range(ROUNDS):
        other, other_token = hub.tokens.create(f"deputy-{round_}", "operator")
        one, two = at_once(
            lambda: requests.delete(f"{url}/api/v1/tokens/{other['id']}", headers=bearer(survivor_token), timeout=60),
            lambda: requests.delete(f"{url}/api/v1/tokens/{survivor['id']}", headers=bearer(other_token), timeout=60))
        answers = sorted([one, two], key=lambda r: r.status_code)
        assert answers[0].status_code == 200, [r.text for r in answers]
        loser = answers[1]
        # The loser is refused: as the last admin token (409), or, when the winner committed before the loser's
        # request was authenticated, because its own token is revoked (401).
        if loser.status_code == 409:
            assert "the last active token with scope 'tokens:admin'" in loser.json()["message"]
        else:
            assert loser.status_code == 401 and "was revoked" in loser.json()["message"], loser.text
        active = [t for t in hub.tokens.list() if t["revoked_at"] is None]
        assert len(active) == 1, active
        assert len(hub.audit.events("token.revoked")) == round_ + 1
        if one.status_code == 200:
            continue  # the survivor revoked the deputy and stays
        survivor, survivor_token = other, other_token


def test_a_suspend_that_answered_200_is_not_undone_by_a_concurrent_pause(joined_federation, serve):
    hub, client, _join = joined_federation
    url = serve(client.application).url
    headers = {"Authorization": client.environ_base["HTTP_AUTHORIZATION"]}
    for _ in range(ROUNDS):
        suspend, pause = at_once(
            lambda: requests.post(f"{url}/api/v1/nodes/qoot/decision", json={"decision": "suspend"}, headers=headers,
                                  timeout=60),
            lambda: requests.patch(f"{url}/api/v1/nodes/qoot", json={"status": "paused"}, headers=headers,
                                   timeout=60))
        assert suspend.status_code == 200, suspend.text
        assert suspend.json()["status"] == "suspended"
        # The pause went first (and the suspend applies to a paused node), or it came second and was refused.
        if pause.status_code == 409:
            assert pause.json()["message"] == "node 'qoot' is suspended: approve it first"
        else:
            assert pause.status_code == 200 and pause.json()["status"] == "paused", pause.text
        assert client.get("/api/v1/nodes/qoot").get_json()["status"] == "suspended"
        [event] = hub.audit.events("registration.suspended", limit=1)
        assert event["details"]["previous"] == ("paused" if pause.status_code == 200 else "active")
        assert client.post("/api/v1/nodes/qoot/decision", json={"decision": "approve"}).status_code == 200


@pytest.mark.parametrize("decision, status", [("suspend", "suspended"), ("approve", "active")])
def test_two_identical_decisions_at_once_apply_once(joined_federation, serve, decision, status):
    hub, client, _join = joined_federation
    url = serve(client.application).url
    headers = {"Authorization": client.environ_base["HTTP_AUTHORIZATION"]}
    undo = {"suspend": "approve", "approve": "suspend"}[decision]
    if decision == "approve":
        assert client.post("/api/v1/nodes/qoot/decision", json={"decision": "suspend"}).status_code == 200
    action = {"suspend": "registration.suspended", "approve": "registration.approved"}[decision]
    for _ in range(ROUNDS):
        before = len(hub.audit.events(action))
        answers = at_once(*[
            lambda: requests.post(f"{url}/api/v1/nodes/qoot/decision", json={"decision": decision}, headers=headers,
                                  timeout=60)] * 2)
        assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
        refused = next(r for r in answers if r.status_code == 409).json()
        assert refused["message"].startswith(f"node 'qoot' is {status}: ")
        assert next(r for r in answers if r.status_code == 200).json()["status"] == status
        assert len(hub.audit.events(action)) == before + 1
        assert client.get("/api/v1/nodes/qoot").get_json()["status"] == status
        assert client.post("/api/v1/nodes/qoot/decision", json={"decision": undo}).status_code == 200
