"""How fresh each cluster's data is at the hub: the age of its last accepted version, its last successful fetch,
since when fetches fail (``stale_since``), and the age of its members' records; with a state, ``fresh``,
``ageing`` or ``stale``, by the ``benchmark.freshness.*`` thresholds.

Shown in every cluster of ``GET /api/v1/clusters`` and ``/clusters/{id}``, and by ``medmci hub freshness``
(stalest first). Member figures count what the reader may see (public members only for an anonymous reader).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from ..settings import Settings
from .models import ClusterView, MemberView, NodeRecord

STATES = ("fresh", "ageing", "stale")


@dataclass(frozen=True)
class FreshnessPolicy:
    """The thresholds, in days (``benchmark.freshness.*``)."""

    ageing_days: int
    stale_days: int
    failing_stale_days: int
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @classmethod
    def from_settings(cls, settings: Settings) -> FreshnessPolicy:
        return cls(int(settings.get("benchmark.freshness.ageing_days")),
                   int(settings.get("benchmark.freshness.stale_days")),
                   int(settings.get("benchmark.freshness.failing_stale_days")))

    def state(self, version_age: int | None, members_age: float | None, failing_days: int | None
              ) -> tuple[str, list[str]]:
        """The state and why: the worst of the version's age, the members' median age and failing fetches."""
        found = [("fresh", "")]
        for what, age in (("last accepted version", version_age), ("median member record", members_age)):
            if age is None:
                continue
            if age > self.stale_days:
                found.append(("stale", f"{what} {age:g} days old (stale after {self.stale_days})"))
            elif age > self.ageing_days:
                found.append(("ageing", f"{what} {age:g} days old (ageing after {self.ageing_days})"))
        if failing_days is not None:
            state = "stale" if failing_days >= self.failing_stale_days else "ageing"
            found.append((state, f"fetches fail for {failing_days} days (stale after {self.failing_stale_days})"))
        worst = max(STATES.index(state) for state, _ in found)
        return STATES[worst], [why for state, why in found if why and STATES.index(state) == worst]


def _days(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else max(0, (now - since).days)


def member_ages(session, node_ids: Sequence[str], federation: bool) -> dict[str, dict[date | None, int]]:
    """Per node: how many members (the reader may see) have each ``last_active`` date, None for none given. One
    grouped query: rows are bounded by the distinct dates, not by the members."""
    if not node_ids:
        return {}
    query = select(MemberView.node_id, MemberView.last_active, func.count()).where(
        MemberView.node_id.in_(list(node_ids))).group_by(MemberView.node_id, MemberView.last_active)
    if not federation:
        query = query.where(MemberView.audience == "public")
    out: dict[str, dict[date | None, int]] = {}
    for node_id, last_active, count in session.execute(query):
        out.setdefault(node_id, {})[last_active] = count
    return out


def weighted_median(counts: dict[float, int]) -> float | None:
    """The median of values given with how many times each occurs; None without any."""
    total = sum(counts.values())
    if not total:
        return None
    middle = sorted({(total - 1) // 2, total // 2})  # the positions of the middle value(s), from 0
    picked: list[float] = []
    seen = 0
    for value, count in sorted(counts.items()):
        while middle and middle[0] < seen + count:
            picked.append(value)
            middle.pop(0)
        seen += count
    return sum(picked) / len(picked)


def freshness_of(session, views: Sequence[ClusterView], federation: bool, policy: FreshnessPolicy) -> dict[str, dict]:
    """Per node id of ``views``: its freshness figures and state."""
    now = policy.clock()
    node_ids = [v.node_id for v in views]
    fetched = dict(session.execute(select(NodeRecord.id, NodeRecord.last_success_at)
                                   .where(NodeRecord.id.in_(node_ids))).all()) if node_ids else {}
    ages = member_ages(session, node_ids, federation)
    out = {}
    for view in views:
        dates = ages.get(view.node_id, {})
        members = sum(dates.values())
        without = dates.get(None, 0)
        median = weighted_median({float((now.date() - d).days): c for d, c in dates.items() if d is not None})
        version_age = _days(view.updated_at, now)
        failing = _days(view.stale_since, now)
        state, why = policy.state(version_age, median, failing)
        out[view.node_id] = {
            "state": state, "why": why, "last_version_at": view.updated_at, "last_version_age_days": version_age,
            "last_fetch_at": fetched.get(view.node_id), "stale_since": view.stale_since,
            "members_last_active_median_days": median, "members": members,
            "members_without_last_active_share": round(without / members, 3) if members else None}
    return out


def stalest_first(clusters: list[dict]) -> list[dict]:
    """Clusters (with their ``freshness``) stalest first: by state, then by the age of the last version."""
    return sorted(clusters, key=lambda c: (-STATES.index(c["freshness"]["state"]),
                                           -(c["freshness"]["last_version_age_days"] or 0), c["id"]))
