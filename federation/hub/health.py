"""Node health: exponential backoff with jitter and a cap, and the ok / degraded / unavailable states.

The state lives in the database (``nodes``), not in a process: it survives restarts and every worker sees it.
A failure is any unsuccessful fetch, 403/404/410 included; a push from the node may bring an early probe but never
clears the failure state (only a successful fetch does).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..settings import packaged_default

OK, DEGRADED, UNAVAILABLE = "ok", "degraded", "unavailable"


@dataclass
class HealthPolicy:
    """Backoff and health states (settings ``health.*``); built without settings, the packaged defaults."""

    base: timedelta = field(default_factory=packaged_default("health.backoff_base_s", lambda s: timedelta(seconds=s)))
    cap: timedelta = field(default_factory=packaged_default("health.backoff_cap_s", lambda s: timedelta(seconds=s)))
    jitter: float = field(default_factory=packaged_default("health.backoff_jitter", float))
    unavailable_after: timedelta = field(default_factory=packaged_default("health.unavailable_after_days",
                                                                          lambda d: timedelta(days=d)))
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, settings) -> HealthPolicy:
        return cls(base=timedelta(seconds=float(settings.get("health.backoff_base_s"))),
                   cap=timedelta(seconds=float(settings.get("health.backoff_cap_s"))),
                   jitter=float(settings.get("health.backoff_jitter")),
                   unavailable_after=timedelta(days=float(settings.get("health.unavailable_after_days"))),
                   rng=random.Random())

    def delay(self, consecutive_failures: int) -> timedelta:
        """Wait before the next attempt: base * 2^(failures-1), capped, then spread by +/- jitter."""
        exponent = min(max(consecutive_failures - 1, 0), 32)
        raw = min(self.base * (2 ** exponent), self.cap)
        return min(raw * (1 + self.rng.uniform(-self.jitter, self.jitter)), self.cap)  # the cap holds

    def record_failure(self, node, at: datetime) -> None:
        node.consecutive_failures = (node.consecutive_failures or 0) + 1
        node.first_failure_at = node.first_failure_at or at
        node.next_attempt_at = at + self.delay(node.consecutive_failures)
        node.health = UNAVAILABLE if at - node.first_failure_at >= self.unavailable_after else DEGRADED

    @staticmethod
    def record_success(node, at: datetime | None = None, interval: timedelta | None = None) -> None:
        """A good fetch: no failures, and the next attempt one scheduling interval later (a push comes sooner)."""
        node.consecutive_failures = 0
        node.first_failure_at = None
        node.next_attempt_at = at + interval if at is not None and interval is not None else None
        node.health = OK

    @staticmethod
    def reset(node) -> None:
        """The operator's reset: forget the failures; due at the next pass."""
        HealthPolicy.record_success(node)
