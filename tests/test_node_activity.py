"""Members' activity states at the node (federation/node/activity.py): the pure rules, then the worst-first list of
the members that need a nudge, from the node's own members."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask.testing import FlaskClient

from federation.node.activity import ActivityPolicy, MemberActivity, member_activity
from tests.support.builders import cluster_doc, load_node, member_doc, node_instance

TODAY = date(2026, 12, 1)
POLICY = ActivityPolicy(quiet_after_days=180, dormant_after_days=540, record_stale_after_days=365)
FRESH = datetime(2026, 11, 30, tzinfo=UTC)
EMAIL = {"email": "contact@member.example"}


def state(**member):
    member = {"id": "m1", "name": "Member", "status": "active", "last_active": date(2026, 11, 1),
              "contact": EMAIL, "updated_at": FRESH, **member}
    return member_activity(member, TODAY, POLICY)


def test_a_recently_active_member_with_a_fresh_record_and_an_email_needs_nothing():
    result = state()
    assert (result.state, result.reasons, result.needs_nudge, result.days_inactive) == ("active", (), False, 30)


@pytest.mark.parametrize(("last_active", "expected", "reason"), [
    (date(2026, 6, 4), "quiet", "no activity since 2026-06-04 (180 days)"),
    (date(2025, 3, 2), "dormant", "no activity since 2025-03-02 (639 days)"),
    (None, "unknown", "no activity recorded"),
])
def test_the_state_follows_the_last_activity(last_active, expected, reason):
    result = state(last_active=last_active)
    assert (result.state, result.reasons) == (expected, (reason,))
    assert result.needs_nudge


def test_a_member_marked_dormant_is_dormant_whatever_its_last_activity():
    assert state(status="dormant").reasons == ("marked dormant",)
    assert state(status="dormant").state == "dormant"
    assert state(status="dormant", last_active=date(2026, 1, 1)).reasons == \
        ("marked dormant", "no activity since 2026-01-01 (334 days)")


def test_a_record_nobody_updated_for_long_is_stale_and_said_so_beside_a_worse_state():
    old = datetime(2025, 10, 27, tzinfo=UTC)
    assert (state(updated_at=old).state, state(updated_at=old).reasons) == \
        ("stale", ("record not checked for 400 days",))
    quiet = state(updated_at=old, last_active=date(2026, 5, 1))
    assert (quiet.state, quiet.reasons) == ("quiet", ("no activity since 2026-05-01 (214 days)",
                                                      "record not checked for 400 days"))


def test_a_member_without_a_contact_email_cannot_be_reached():
    result = state(contact={"phone": "+961 1 234 567"})
    assert (result.state, result.reachable, result.needs_nudge) == ("active", False, True)
    assert result.reasons == ("no contact e-mail: cannot be reached",)
    assert state(contact=None).reasons == ("no contact e-mail: cannot be reached",)


def test_a_last_activity_in_the_future_counts_as_today():
    assert (state(last_active=date(2027, 1, 1)).state, state(last_active=date(2027, 1, 1)).days_inactive) == \
        ("active", 0)


def test_the_node_lists_the_members_that_need_a_nudge_worst_first(make_node):
    app = make_node("qoot", {"members": {"activity": {"max_listed": 3}}})
    load_node(app, cluster_doc(), [
        member_doc("fresh", "nace-rev2:11.02", last_active=date(2026, 11, 20), contact=EMAIL),
        member_doc("quiet", "nace-rev2:11.02", last_active=date(2026, 3, 1), contact=EMAIL),
        member_doc("older-quiet", "nace-rev2:11.02", last_active=date(2026, 1, 1), contact=EMAIL),
        member_doc("marked", "nace-rev2:11.02", status="dormant", last_active=date(2026, 10, 1), contact=EMAIL),
        member_doc("no-mail", "nace-rev2:11.02", last_active=date(2026, 11, 20)),
    ])
    node = app.extensions["medmci"]
    activity = MemberActivity(node.db, POLICY, 3, today=lambda: TODAY)
    report = activity.nudges()
    assert report["counts"] == {"dormant": 1, "quiet": 2, "unknown": 0, "stale": 0, "active": 2}
    assert (report["members"], report["needs_nudge"], report["unreachable"]) == (5, 4, 1)
    assert [n["member_id"] for n in report["nudges"]] == ["marked", "older-quiet", "quiet"]  # cut at max_listed
    assert report["nudges"][0]["reasons"] == ["marked dormant"]
    # The same over the API, with the node's settings (its own date: the counts, not the days, are stable).
    answer = app.test_client().get("/api/v1/members/activity")
    assert answer.status_code == 200
    assert answer.json["needs_nudge"] >= 2 and len(answer.json["nudges"]) == 3
    assert answer.json["nudges"][0]["member_id"] == "marked"
    assert FlaskClient(app).get("/api/v1/members/activity").status_code == 401  # the admin's only


def test_node_members_nudges_prints_the_reasons_and_json(runner, tmp_path, registry):
    import json

    from federation.cli import main

    instance = str(node_instance(tmp_path / "qoot", registry))
    text = runner.invoke(main, ["node", "--instance", instance, "members", "nudges"])
    assert text.exit_code == 0, text.output
    assert "3 members on" in text.output and "1 without a contact e-mail; 3 need a nudge" in text.output
    assert "marked dormant; no activity since 2024-01-10" in text.output
    report = json.loads(runner.invoke(main, ["node", "--instance", instance, "members", "nudges", "--json"]).output)
    assert [(n["member_id"], n["state"]) for n in report["nudges"]] == \
        [("lb-3", "dormant"), ("lb-1", "dormant"), ("lb-2", "active")]  # the longest without activity first
    assert report["nudges"][2]["reasons"] == ["no contact e-mail: cannot be reached"]
