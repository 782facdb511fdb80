"""How the demo prints its sample of the cluster manager's member services (federation/demo_members.py); the sample
itself is checked on the whole demo in tests/test_demo.py."""

from __future__ import annotations

from federation.demo_members import render_member_services

SAMPLE = {
    "dormant": [{"member_id": "qoot-m035", "name": "Haddad Preserves", "reasons": ["marked dormant"],
                 "last_active": None}],
    "member_services": {
        "node": "qoot", "counts": {"dormant": 2, "quiet": 1, "unknown": 0, "stale": 0, "active": 3},
        # Two active members have no contact e-mail: they need a nudge too (3 + 2 = 5).
        "unreachable": 2, "needs_nudge": 5,
        "announcement": {"id": 1, "title": "Fair: who is coming?", "audience": {"subcluster": "wine"},
                         "sender": "file", "delivery_counts": {"sent": 1},
                         "recipients": [{"member_id": "qoot-m001", "state": "sent"}], "folder": "/tmp/mail"}}}


def test_the_counts_add_up_to_the_members_that_need_a_nudge():
    head = render_member_services(SAMPLE).splitlines()[1]
    assert head == ("Members to nudge at qoot (2 dormant, 1 quiet, 3 active; 2 without a contact e-mail; 5 need a "
                    "nudge), the dormant ones first:")


def test_the_announcements_title_is_quoted():
    last = render_member_services(SAMPLE).splitlines()[-1]
    assert last.startswith('  Announcement "Fair: who is coming?" to the wine sub-cluster: 1 member (1 sent)')
