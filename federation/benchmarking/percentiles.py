"""Where a value stands among its peers: percentile rank, median and quartiles. Pure functions.

``None`` values (an indicator that does not apply to a peer) are left out: ``n`` counts the peers with a value.
Below ``min_peers`` nothing is computed but ``n``: a percentile among two peers says little, and the median or
quartiles of one or two clusters would give away their own figures.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

#: Digits kept of a percentile, a median or a quartile.
DIGITS = 2


@dataclass(frozen=True)
class PeerStats:
    """A value against its peers: ``percentile`` (0..100: the share of peers below it, ties counting half),
    ``median``, ``q1`` and ``q3`` of the peers' values, ``n`` peers with a value; ``note`` says why a figure is
    missing."""

    n: int
    percentile: float | None = None
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    note: str | None = None

    def as_dict(self) -> dict:
        return {"n": self.n, "percentile": self.percentile, "median": self.median, "q1": self.q1, "q3": self.q3,
                "note": self.note}


def known(values: Iterable[float | None]) -> list[float]:
    """The values that are not None, as floats."""
    return [float(v) for v in values if v is not None]


def percentile_rank(value: float, peers: Iterable[float | None]) -> float | None:
    """The share of ``peers`` below ``value``, ties counting half, from 0 to 100; None without peers."""
    values = known(peers)
    if not values:
        return None
    below = sum(1 for v in values if v < value)
    ties = sum(1 for v in values if v == value)
    return round(100 * (below + ties / 2) / len(values), DIGITS)


def quartiles(peers: Iterable[float | None]) -> tuple[float, float, float] | None:
    """``(q1, median, q3)`` of the values (inclusive method: the quartiles lie within the values); None with fewer
    than two values."""
    values = known(peers)
    if len(values) < 2:
        return None
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return round(q1, DIGITS), round(median, DIGITS), round(q3, DIGITS)


def peer_stats(value: float | None, peers: Iterable[float | None], min_peers: int) -> PeerStats:
    """``value`` against ``peers``: everything when at least ``min_peers`` peers have a value, else ``n`` and a note
    saying so. A ``value`` of None (the indicator does not apply) gets no percentile, the peers' figures still."""
    values = known(peers)
    n = len(values)
    if n < min_peers:
        return PeerStats(n, note=f"{n} peer{'' if n == 1 else 's'} with a value: fewer than benchmark.min_peers "
                                 f"({min_peers}), no percentile or quartiles")
    q1, median, q3 = quartiles(values) or (None, None, None)
    if value is None:
        return PeerStats(n, None, median, q1, q3, "not applicable to this cluster")
    return PeerStats(n, percentile_rank(value, values), median, q1, q3)
