"""Percentile rank, median and quartiles of a value among its peers (federation/benchmarking/percentiles.py)."""

from __future__ import annotations

from federation.benchmarking.percentiles import peer_stats, percentile_rank, quartiles


def test_percentile_rank_counts_ties_half_and_ignores_none():
    assert percentile_rank(5, [1, 2, 3, 4]) == 100.0
    assert percentile_rank(0, [1, 2, 3, 4]) == 0.0
    assert percentile_rank(3, [1, 2, 3, 4]) == 62.5  # two below, one tie: (2 + 0.5) / 4
    assert percentile_rank(2, [2, 2, None, 2]) == 50.0
    assert percentile_rank(1, [None, None]) is None


def test_quartiles_are_inclusive_and_need_two_values():
    assert quartiles([1, 2, 3, 4, 5]) == (2.0, 3.0, 4.0)
    assert quartiles([10, 20]) == (12.5, 15.0, 17.5)
    assert quartiles([7, None]) is None


def test_peer_stats_gives_everything_from_min_peers():
    stats = peer_stats(4.0, [1, 2, 3, 5, None], min_peers=3)
    assert stats.as_dict() == {"n": 4, "percentile": 75.0, "median": 2.5, "q1": 1.75, "q3": 3.5, "note": None}


def test_peer_stats_below_min_peers_says_how_many_and_nothing_else():
    stats = peer_stats(4.0, [1, None, 9], min_peers=3)
    assert (stats.n, stats.percentile, stats.median, stats.q1, stats.q3) == (2, None, None, None, None)
    assert stats.note == "2 peers with a value: fewer than benchmark.min_peers (3), no percentile or quartiles"
    assert peer_stats(1.0, [], min_peers=2).note.startswith("0 peers with a value")


def test_peer_stats_of_a_value_that_does_not_apply_keeps_the_peers_figures():
    stats = peer_stats(None, [1, 2, 3], min_peers=3)
    assert (stats.percentile, stats.median, stats.note) == (None, 2.0, "not applicable to this cluster")
