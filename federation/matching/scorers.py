"""The contract of a match scorer (hook ``medmci_match_scorers``): each scorer is a sparse product.

A scorer turns the members into two sparse matrices ``left`` and ``right`` (one row per member, the same columns)
such that its score of partner ``j`` for member ``i`` is ``left[i] . right[j]``. With no negative entry and rows of
Euclidean norm at most 1 on both sides, every score is in [0, 1] (Cauchy-Schwarz); the engine checks both. So the
weighted sum of all scorers is one product of the horizontally stacked matrices, each scaled by the square root of
its share of the weights, which the engine computes in row chunks keeping a top-k per row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from .model import MatchMember

#: A row norm over 1 by less than this is rounding, not a broken scorer.
NORM_TOLERANCE = 1e-6


class Scorer:
    """Subclass it: set ``name`` and ``weight`` (the default weight; built-ins read theirs from the settings
    ``plugins.match_scorers.weights.<name>``), implement :meth:`features` and :meth:`explain`."""

    name: str = ""
    weight: float = 1.0

    def features(self, members: Sequence[MatchMember]) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """``(left, right)``: two CSR matrices of shape (len(members), f), no negative entry, rows of norm <= 1."""
        raise NotImplementedError

    def explain(self, a: MatchMember, b: MatchMember) -> list[str]:
        """Short texts saying why ``b`` suits ``a`` by this scorer ("exports to ES"); asked only for kept pairs."""
        raise NotImplementedError


def normalised_rows(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    """``matrix`` with each non-empty row scaled to Euclidean norm 1 (empty rows stay empty)."""
    csr = sparse.csr_matrix(matrix, dtype=np.float64)
    norms = np.sqrt(np.asarray(csr.multiply(csr).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ csr)


def halves(first: sparse.spmatrix, second: sparse.spmatrix) -> sparse.csr_matrix:
    """Two row-normalised blocks side by side, scaled so the row norm is at most 1: a product of two such rows
    is the mean of the two blocks' cosines (one per direction: my offers and your needs, my needs and your offers)."""
    return blocks([first, second])


def blocks(parts: Sequence[sparse.spmatrix]) -> sparse.csr_matrix:
    """Row-normalised blocks side by side, each scaled by 1/sqrt(len(parts)): a product is the blocks' mean cosine."""
    scale = 1.0 / np.sqrt(len(parts))
    return sparse.csr_matrix(sparse.hstack([normalised_rows(p) * scale for p in parts], format="csr"))
