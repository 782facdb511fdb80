"""What one node's fetch came to, as the harvest reports and records it: the outcome names, the small frozen
:class:`Outcome` a run reports per node, and how a node's own words are kept (:func:`printable`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..text import stored

NEW_VERSION, NOT_MODIFIED, UNCHANGED, FAILED = "new_version", "not_modified", "unchanged", "failed"
OUTCOMES = (NEW_VERSION, NOT_MODIFIED, UNCHANGED, FAILED)


def now() -> datetime:
    return datetime.now(UTC)


def printable(text: str | None, limit: int = 2000) -> str | None:
    """Untrusted text (a node's error message, a field name it sent) as the hub stores and shows it: escaped as
    federation.text escapes for a terminal, at most ``limit`` characters."""
    return stored(text, limit)


@dataclass(frozen=True)
class Outcome:
    """One node's result in a run, as recorded: what the progress callback, the run's report and a worker see."""

    node_id: str
    outcome: str  # one of OUTCOMES
    started_at: datetime
    finished_at: datetime | None = None
    http_status: int | None = None
    reason: str | None = None  # escaped with printable() when recorded
    details: dict | list | None = None  # shaped like a FederationError's errors
    chains: frozenset[str] = frozenset()  # the value chains a new version bears on (to form them again)
