"""The two sparse computations under the ranking: the best ``n`` partners of each row (a product that keeps only a
top-n per row, never the whole product), and the exact scores of given pairs.

The top-n product is ``sparse_dot_topn.sp_matmul_topn`` (C++, multi-threaded). Partners abroad are found by blocks:
the rows of one country against the partners of every other country, so a row never meets its own country nor
itself, and nothing is computed to be thrown away.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import sparse

#: Rows whose features are spread into a dense block at once when scoring pairs (each block is rows x features).
DENSE_ROWS = 256


def blocks(country: np.ndarray, rows: np.ndarray,
           exclude_same_country: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(rows, partners)`` blocks covering ``rows``, each ascending: per country (partners: every other country's
    members) or, when partners may be compatriots, one block against everyone."""
    rows = np.unique(rows)
    if not exclude_same_country:
        if len(rows):
            yield rows, np.arange(len(country), dtype=np.int64)
        return
    for code in np.unique(country[rows]):
        yield rows[country[rows] == code], np.flatnonzero(country != code)


def partner_matrix(right: sparse.csr_matrix, partners: np.ndarray) -> sparse.csr_matrix:
    """The partners' rows of ``right``, transposed (features x partners) as :func:`top_n` reads them: made once per
    block, not per chunk of rows."""
    return sparse.csr_matrix(right[partners].T)


def top_n(left: sparse.csr_matrix, partner_columns: sparse.csr_matrix, rows: np.ndarray, partners: np.ndarray,
          n: int, threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, columns, scores)``: the ``n`` best positive ``left[row] . right[partner]`` of each row (global
    indices, each row's best first), a row never its own partner. ``partner_columns`` is
    ``partner_matrix(right, partners)``."""
    from sparse_dot_topn import sp_matmul_topn

    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    if not len(rows) or not len(partners) or n < 1:
        return empty
    # One more than asked when a row may meet itself, dropped below; never more than there are partners.
    wanted = min(n + 1, len(partners))
    product = sp_matmul_topn(left[rows], partner_columns, top_n=wanted, threshold=0.0, sort=True,
                             n_threads=max(threads, 1))
    counts = np.diff(product.indptr)
    local = np.repeat(np.arange(len(rows)), counts)
    found_rows, found_cols = rows[local], partners[product.indices]
    keep = found_rows != found_cols
    found_rows, found_cols, values, local = found_rows[keep], found_cols[keep], product.data[keep], local[keep]
    # Each row's position in its (sorted) run; at most n kept.
    starts = np.searchsorted(local, np.arange(len(rows)))
    keep = np.arange(len(local)) - starts[local] < n
    return found_rows[keep], found_cols[keep], values[keep].astype(np.float64)


def pair_scores(left: sparse.csr_matrix, right: sparse.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``left[rows[t]] . right[cols[t]]`` for every t, exactly.

    The rows are spread into a dense block a few hundred at a time, and each pair reads its partner's entries from
    it: one gather and one sum over the partners' entries, with no sparse product per pair."""
    out = np.zeros(len(rows))
    if not len(rows):
        return out
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    distinct = np.unique(sorted_rows)
    for start in range(0, len(distinct), DENSE_ROWS):
        chunk = distinct[start:start + DENSE_ROWS]
        lo, hi = np.searchsorted(sorted_rows, chunk[0]), np.searchsorted(sorted_rows, chunk[-1], side="right")
        dense = left[chunk].toarray()
        partners = right[cols[order[lo:hi]]]
        lengths = np.diff(partners.indptr)
        local = np.repeat(np.searchsorted(chunk, sorted_rows[lo:hi]), lengths)
        products = dense[local, partners.indices] * partners.data
        sums = np.zeros(hi - lo)
        nonempty = lengths > 0
        if nonempty.any():
            sums[nonempty] = np.add.reduceat(products, partners.indptr[:-1][nonempty])
        out[order[lo:hi]] = sums
    return out


def used_columns(left: sparse.csr_matrix, right: sparse.csr_matrix) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Both matrices with only the columns both use: the others add nothing to any product, and the dense blocks
    of :func:`pair_scores` are as wide as the columns."""
    both = np.flatnonzero((np.bincount(left.indices, minlength=left.shape[1]) > 0)
                          & (np.bincount(right.indices, minlength=right.shape[1]) > 0))
    return (sparse.csr_matrix(left[:, both], dtype=np.float64), sparse.csr_matrix(right[:, both], dtype=np.float64))
