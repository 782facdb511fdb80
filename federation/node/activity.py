"""Which members a cluster manager should nudge, and why: each member's activity state from its last activity, its
status, the age of its record at the node and whether it can be reached.

:func:`member_activity` is a pure function of one member and a date; :class:`MemberActivity` reads the node's
members and lists those that need a nudge, worst first (``medmci node members nudges``,
``GET /api/v1/members/activity``).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from ..db import Database
from ..settings import Settings
from .models import MemberRow

#: The states, worst first: a dormant member is the first to call, an active one with a fresh record needs nothing.
STATES = ("dormant", "quiet", "unknown", "stale", "active")
#: What the activity of a member reads of it.
READ_FIELDS = ("id", "name", "status", "last_active", "contact", "updated_at")


@dataclass(frozen=True)
class ActivityPolicy:
    """The thresholds of the states (settings ``members.activity.*``), in days."""

    quiet_after_days: int
    dormant_after_days: int
    record_stale_after_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ActivityPolicy:
        return cls(int(settings.get("members.activity.quiet_after_days")),
                   int(settings.get("members.activity.dormant_after_days")),
                   int(settings.get("members.activity.record_stale_after_days")))


@dataclass(frozen=True)
class ActivityState:
    """One member's state and why; ``reachable``: it has a contact e-mail (a nudge can reach it)."""

    member_id: str
    name: str
    state: str
    reasons: tuple[str, ...]
    last_active: date | None
    days_inactive: int | None
    record_age_days: int | None
    reachable: bool

    @property
    def needs_nudge(self) -> bool:
        return self.state != "active" or not self.reachable

    def sort_key(self) -> tuple:
        """Worst first: by state, then the longest without activity, then the oldest record, then the id."""
        return (STATES.index(self.state), -(self.days_inactive or 0), -(self.record_age_days or 0),
                not self.reachable, self.member_id)

    def as_dict(self) -> dict:
        return {"member_id": self.member_id, "name": self.name, "state": self.state, "reasons": list(self.reasons),
                "last_active": self.last_active, "days_inactive": self.days_inactive,
                "record_age_days": self.record_age_days, "reachable": self.reachable}


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


def member_activity(member: Mapping, today: date, policy: ActivityPolicy) -> ActivityState:
    """The activity state of ``member`` (a mapping of :data:`READ_FIELDS`; ``updated_at`` the record's last
    change at the node) on ``today``.

    - dormant: its status says so, or no activity for ``dormant_after_days``;
    - quiet: no activity for ``quiet_after_days``;
    - unknown: no last activity recorded;
    - stale: otherwise active, but its record has not been updated for ``record_stale_after_days``;
    - active: none of these.

    The reasons say each of them that holds (a dormant member's record may be stale too), and "no contact e-mail"
    when the member cannot be reached.
    """
    reasons: list[str] = []
    state = "active"
    last_active: date | None = member.get("last_active")
    days_inactive = None if last_active is None else max(0, (today - last_active).days)
    if member.get("status") == "dormant":
        state = "dormant"
        reasons.append("marked dormant")
    if days_inactive is None:
        state = "unknown" if state == "active" else state
        reasons.append("no activity recorded")
    elif last_active is not None and days_inactive >= policy.quiet_after_days:
        too_long = days_inactive >= policy.dormant_after_days
        state = "dormant" if too_long else ("quiet" if state == "active" else state)
        reasons.append(f"no activity since {last_active.isoformat()} ({_days(days_inactive)})")
    updated_at = member.get("updated_at")
    record_age = None if updated_at is None else max(0, (today - _date(updated_at)).days)
    if record_age is not None and record_age >= policy.record_stale_after_days:
        state = "stale" if state == "active" else state
        reasons.append(f"record not checked for {_days(record_age)}")
    reachable = bool((member.get("contact") or {}).get("email"))
    if not reachable:
        reasons.append("no contact e-mail: cannot be reached")
    return ActivityState(member["id"], member.get("name") or "", state, tuple(reasons), last_active, days_inactive,
                         record_age, reachable)


def _date(moment: datetime | date) -> date:
    return moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment


def today_utc() -> date:
    return datetime.now(UTC).date()


class MemberActivity:
    """The node's members by activity state, and those that need a nudge (at most ``max_listed``, worst first)."""

    def __init__(self, db: Database, policy: ActivityPolicy, max_listed: int,
                 today: Callable[[], date] = today_utc):
        self.db = db
        self.policy = policy
        self.max_listed = max(1, int(max_listed))
        self.today = today

    def states(self) -> list[ActivityState]:
        """Every member's state, in id order (read in chunks)."""
        today = self.today()
        columns = [getattr(MemberRow, name) for name in READ_FIELDS]
        with self.db.session() as session:
            rows = session.execute(select(*columns).order_by(MemberRow.id).execution_options(yield_per=1000))
            return [member_activity(dict(zip(READ_FIELDS, row, strict=True)), today, self.policy) for row in rows]

    def nudges(self) -> dict:
        """``as_of``, ``members`` (how many), ``counts`` per state, ``unreachable``, ``needs_nudge`` (how many) and
        ``nudges``: the members that need one, worst first, each with its reasons (at most
        ``members.activity.max_listed``)."""
        states = self.states()
        counts = dict.fromkeys(STATES, 0)
        for item in states:
            counts[item.state] += 1
        wanted = [item for item in states if item.needs_nudge]
        listed = heapq.nsmallest(self.max_listed, wanted, key=ActivityState.sort_key)
        return {"as_of": self.today(), "members": len(states), "counts": counts,
                "unreachable": sum(not item.reachable for item in states), "needs_nudge": len(wanted),
                "nudges": [item.as_dict() for item in listed], "thresholds": {
                    "quiet_after_days": self.policy.quiet_after_days,
                    "dormant_after_days": self.policy.dormant_after_days,
                    "record_stale_after_days": self.policy.record_stale_after_days}}
