"""The products under the matchmaking engine: exact pair scores, top-n per row by country block, ties by key."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from federation.matching import MatchMember, top_k
from federation.matching.products import blocks, pair_scores, partner_matrix, top_n, used_columns
from federation.matching.scorers import Scorer


def random_matrices(seed: int, n: int = 60, f: int = 40):
    rng = np.random.default_rng(seed)
    left = sparse.random(n, f, density=0.15, random_state=rng, format="csr")
    right = sparse.random(n, f, density=0.15, random_state=rng, format="csr")
    keep_left, keep_right = np.ones(n), np.ones(n)
    keep_left[3] = keep_right[5] = 0  # an empty row on each side
    left, right = sparse.diags(keep_left) @ left, sparse.diags(keep_right) @ right
    left.eliminate_zeros()
    right.eliminate_zeros()
    return sparse.csr_matrix(left), sparse.csr_matrix(right)


def test_pair_scores_are_the_row_products_in_any_order_with_repeats_and_empty_rows():
    left, right = random_matrices(1)
    dense = (left @ right.T).toarray()
    rng = np.random.default_rng(2)
    rows = np.concatenate([rng.integers(0, 60, 2000), [3, 3, 7]])
    cols = np.concatenate([rng.integers(0, 60, 2000), [5, 1, 5]])
    scores = pair_scores(left, right, rows, cols)
    assert np.allclose(scores, dense[rows, cols])
    assert scores[-3] == 0 and scores[-1] == 0 and len(pair_scores(left, right, rows[:0], cols[:0])) == 0


def test_top_n_by_country_block_never_meets_its_country_nor_itself():
    left, right = random_matrices(3)
    dense = (left @ right.T).toarray()
    country = np.arange(60) % 4
    everyone = np.arange(60)
    seen = []
    for rows, partners in blocks(country, everyone, exclude_same_country=True):
        found_rows, cols, values = top_n(left, partner_matrix(right, partners), rows, partners, 5, threads=2)
        assert (country[found_rows] != country[cols]).all()
        for row in rows:
            abroad = np.flatnonzero((country != country[row]) & (dense[row] > 0))
            best = abroad[np.argsort(-dense[row, abroad])][:5]
            assert list(cols[found_rows == row]) == list(best)
            assert np.allclose(values[found_rows == row], dense[row, best])
        seen.extend(rows)
    assert sorted(seen) == list(everyone)
    # One block: compatriots are partners, the row itself never.
    [(rows, partners)] = blocks(country, everyone, exclude_same_country=False)
    found_rows, cols, _values = top_n(left, partner_matrix(right, partners), rows, partners, 59, threads=1)
    assert not (found_rows == cols).any()
    assert (country[found_rows] == country[cols]).any()
    assert np.bincount(found_rows, minlength=60).max() <= 59


def test_used_columns_keeps_only_the_columns_both_sides_use():
    left = sparse.csr_matrix(np.array([[1.0, 0, 2, 0], [0, 3, 0, 0]]))
    right = sparse.csr_matrix(np.array([[1.0, 0, 0, 4], [0, 0, 1, 0]]))
    narrow_left, narrow_right = used_columns(left, right)
    assert narrow_left.shape == (2, 2) and narrow_right.shape == (2, 2)
    assert np.allclose((narrow_left @ narrow_right.T).toarray(), (left @ right.T).toarray())


class Everyone(Scorer):
    """The same score for every pair: every partner ties."""

    name = "everyone"

    def features(self, members):
        return (sparse.csr_matrix(np.ones((len(members), 1))),) * 2

    def explain(self, a, b):
        return ["anyone"]


def test_ties_go_by_partner_key_in_both_methods():
    members = [MatchMember(key=f"n{i % 3}/m{i:02d}", cluster_id=f"n{i % 3}", node_id=f"n{i % 3}",
                           country=("LB", "MA", "TN")[i % 3], kind="sme", name=f"M{i}") for i in range(45)]
    for method in ("exact", "approximate"):
        result = top_k(members, [Everyone()], method=method, k=4, with_reasons=False)
        # Every partner of n0/m00 scores 1: the first four keys of the other countries.
        assert [s.partner for s in result["n0/m00"]] == ["n1/m01", "n1/m04", "n1/m07", "n1/m10"]
        assert [s.score for s in result["n0/m00"]] == [1.0] * 4
