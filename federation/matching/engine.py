"""Ranking partner suggestions: the weighted sum of every scorer as one sparse product, in row chunks, top-k per row.

Each scorer gives ``(left, right)`` (see :mod:`.scorers`); scaled by ``sqrt(weight / total weight)`` and stacked side
by side they give ``L`` and ``R`` whose product ``L[i] . R[j]`` is the weighted score (0..1) of partner ``j`` for
member ``i``. A partner is always in another country (``exclude_same_country``), never the member itself, and a zero
score is no suggestion. Ties are ranked by the partner's key, so every method and every process agree.

- ``exact``: the full product of a chunk of rows with every member (at most ``matching.exact_cells`` scores held at
  once), then the top-k of each row.
- ``approximate``: the candidates of a row come from a pruned product (features held by more than
  ``matching.max_df_share`` of the members are left out, as are all but the ``matching.top_features`` heaviest of
  each row); the ``matching.candidates`` best of them are scored exactly, and the top-k kept. A row with fewer than k
  candidates is computed exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ..errors import PluginError
from ..settings import packaged_default
from .model import MatchMember, Reason, Suggestion
from .scorers import NORM_TOLERANCE, Scorer

HOOK = "medmci_match_scorers"
METHODS = ("approximate", "exact")
#: Scores are compared at this many digits: the exact and approximate paths add in different orders.
SCORE_DIGITS = 6


@dataclass(frozen=True)
class MatchOptions:
    """The bounds of one computation (settings ``matching.*``; see config/settings.yaml)."""

    k: int = field(default_factory=packaged_default("matching.k", int))
    method: str = field(default_factory=packaged_default("matching.method", str))
    chunk_rows: int = field(default_factory=packaged_default("matching.chunk_rows", int))
    exact_cells: int = field(default_factory=packaged_default("matching.exact_cells", int))
    candidates: int = field(default_factory=packaged_default("matching.candidates", int))
    max_df_share: float = field(default_factory=packaged_default("matching.max_df_share", float))
    top_features: int = field(default_factory=packaged_default("matching.top_features", int))
    max_reasons: int = field(default_factory=packaged_default("matching.max_reasons_per_scorer", int))
    max_reason_chars: int = field(default_factory=packaged_default("matching.max_reason_chars", int))

    @classmethod
    def from_settings(cls, settings) -> MatchOptions:
        return cls(k=int(settings.get("matching.k")), method=str(settings.get("matching.method")),
                   chunk_rows=int(settings.get("matching.chunk_rows")),
                   exact_cells=int(settings.get("matching.exact_cells")),
                   candidates=int(settings.get("matching.candidates")),
                   max_df_share=float(settings.get("matching.max_df_share")),
                   top_features=int(settings.get("matching.top_features")),
                   max_reasons=int(settings.get("matching.max_reasons_per_scorer")),
                   max_reason_chars=int(settings.get("matching.max_reason_chars")))


class Stack:
    """Every scorer's matrices for one list of members, checked, weighted and stacked."""

    def __init__(self, members: Sequence[MatchMember], scorers: Sequence[Scorer], weights: Mapping[str, float],
                 plugins: Mapping[str, str] | None = None):
        self.members = list(members)
        n = self.n = len(self.members)
        self.index = {m.key: i for i, m in enumerate(self.members)}
        if len(self.index) != n:
            raise ValueError("two members have the same key")
        chosen = {s.name: float(weights.get(s.name, s.weight)) for s in scorers}
        total = sum(w for w in chosen.values() if w > 0)
        self.parts: list[tuple[Scorer, sparse.csr_matrix, sparse.csr_matrix]] = []
        lefts, rights = [], []
        for scorer in scorers:
            if chosen[scorer.name] <= 0:
                continue
            left, right = _checked_features(scorer, self.members, (plugins or {}).get(scorer.name, "?"))
            scale = math.sqrt(chosen[scorer.name] / total)
            self.parts.append((scorer, left, right))
            lefts.append(left * scale)
            rights.append(right * scale)
        empty = sparse.csr_matrix((n, 0))
        self.L = sparse.csr_matrix(sparse.hstack(lefts, format="csr")) if lefts else empty
        self.R = sparse.csr_matrix(sparse.hstack(rights, format="csr")) if rights else empty
        self.RT = self.R.T.tocsr()
        countries = {c: i for i, c in enumerate(sorted({m.country for m in self.members}))}
        self.country = np.array([countries[m.country] for m in self.members], dtype=np.int64)
        keys = np.array([m.key for m in self.members], dtype=object)
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[np.argsort(keys, kind="stable")] = np.arange(n)

    def pair_scores(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The exact weighted score of each pair (rows[t], cols[t])."""
        if len(rows) == 0:
            return np.zeros(0)
        return np.asarray(self.L[rows].multiply(self.R[cols]).sum(axis=1)).ravel()


def _checked_features(scorer: Scorer, members: list[MatchMember], plugin: str):
    def refuse(cause: str) -> PluginError:
        return PluginError(plugin, None, HOOK, f"match scorer {scorer.name!r}: {cause}")

    try:
        result = scorer.features(members)
    except Exception as exc:
        raise refuse(f"features() raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, tuple) or len(result) != 2 or not all(sparse.issparse(m) for m in result):
        raise refuse("features() must return two scipy.sparse matrices (left, right)")
    left, right = (sparse.csr_matrix(m, dtype=np.float64) for m in result)
    n = len(members)
    if left.shape[0] != n or right.shape[0] != n or left.shape[1] != right.shape[1]:
        raise refuse(f"features() returned matrices of shapes {left.shape} and {right.shape}; both must be "
                     f"({n}, f): one row per member, the same columns")
    for side, matrix in (("left", left), ("right", right)):
        if not np.all(np.isfinite(matrix.data)) or (matrix.data < 0).any():
            raise refuse(f"the {side} matrix has negative or non-finite entries")
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()) if n else np.zeros(0)
        if len(norms) and norms.max() > 1 + NORM_TOLERANCE:
            raise refuse(f"a row of the {side} matrix has norm {norms.max():.4f}; at most 1 keeps scores in [0, 1]")
    return left, right


def top_k(members: Sequence[MatchMember], scorers: Sequence[Scorer], weights: Mapping[str, float] | None = None,
          k: int | None = None, method: str | None = None, chunk_rows: int | None = None,
          exclude_same_country: bool = True, *, plugins: Mapping[str, str] | None = None,
          options: MatchOptions | None = None, with_reasons: bool = True) -> dict[str, list[Suggestion]]:
    """The best ``k`` partners of every member, best first, with reasons (``{member key: [Suggestion]}``)."""
    return top_k_for([m.key for m in members], members, scorers, weights, k, method, chunk_rows,
                     exclude_same_country, plugins=plugins, options=options, with_reasons=with_reasons)


def top_k_for(row_keys: Iterable[str], members: Sequence[MatchMember], scorers: Sequence[Scorer],
              weights: Mapping[str, float] | None = None, k: int | None = None, method: str | None = None,
              chunk_rows: int | None = None, exclude_same_country: bool = True, *,
              plugins: Mapping[str, str] | None = None, options: MatchOptions | None = None,
              with_reasons: bool = True, stack: Stack | None = None) -> dict[str, list[Suggestion]]:
    """The suggestions of the members ``row_keys`` only, each against every member (a key not among ``members``
    is left out)."""
    opts = _options(options, k, method, chunk_rows)
    stack = stack or Stack(members, scorers, weights or {}, plugins)
    rows = np.array(sorted({stack.index[key] for key in row_keys if key in stack.index}), dtype=np.int64)
    ranked = rank_rows(stack, rows, opts, exclude_same_country)
    return _suggestions(stack, ranked, opts, plugins, with_reasons)


def refresh(previous: Mapping[str, Sequence[Suggestion]], members: Sequence[MatchMember], changed_keys: Iterable[str],
            scorers: Sequence[Scorer], weights: Mapping[str, float] | None = None, k: int | None = None,
            method: str | None = None, exclude_same_country: bool = True, *,
            plugins: Mapping[str, str] | None = None, options: MatchOptions | None = None,
            with_reasons: bool = True) -> dict[str, list[Suggestion]]:
    """The suggestions after some members changed, without recomputing every row.

    ``previous`` is the result of the last computation, ``members`` every member now, ``changed_keys`` the members
    added, changed or removed since (a node's new version: all its members). Every scorer's score of a pair depends
    on the two members only (the contract), so the pairs of two unchanged members keep their scores, and:

    - a changed or new member is computed again in full (``top_k_for``);
    - so is a member whose previous list names a changed or removed partner (its score may have dropped, and the
      member that was 11th is not known);
    - any other member keeps its previous list, and only the changed members are scored against it: one that now
      beats its k-th partner enters the list and the last leaves it.

    The result equals a full recomputation (with the ``exact`` method; the ``approximate`` one may differ as it
    does between two full runs of different members)."""
    opts = _options(options, k, method, None)
    stack = Stack(members, scorers, weights or {}, plugins)
    changed = set(changed_keys)
    full = {key for key in stack.index if key in changed or key not in previous
            or any(s.partner in changed or s.partner not in stack.index for s in previous[key])}
    out = top_k_for(full, members, scorers, weights, exclude_same_country=exclude_same_country, plugins=plugins,
                    options=opts, with_reasons=with_reasons, stack=stack)
    movers = np.array(sorted(stack.index[key] for key in changed if key in stack.index), dtype=np.int64)
    kept = [key for key in stack.index if key not in full]
    entering: dict[int, list[tuple[float, int]]] = {}
    if len(movers) and kept:
        rows = np.repeat(np.array([stack.index[key] for key in kept], dtype=np.int64), len(movers))
        cols = np.tile(movers, len(kept))
        scores = np.round(stack.pair_scores(rows, cols), SCORE_DIGITS)
        keep = (scores > 0) & (rows != cols)
        if exclude_same_country:
            keep &= stack.country[rows] != stack.country[cols]
        for row, col, score in zip(rows[keep], cols[keep], scores[keep], strict=True):
            entering.setdefault(int(row), []).append((float(score), int(col)))
    merged: dict[int, list[tuple[float, int]]] = {}
    for key in kept:
        row = stack.index[key]
        pairs = [(s.score, stack.index[s.partner]) for s in previous[key]] + entering.get(row, [])
        merged[row] = sorted(pairs, key=lambda p: (-p[0], stack.rank[p[1]]))[:opts.k]
    out.update(_suggestions(stack, merged, opts, plugins, with_reasons))
    return out


def _options(options: MatchOptions | None, k: int | None, method: str | None,
             chunk_rows: int | None) -> MatchOptions:
    opts = options or MatchOptions()
    changes = {name: value for name, value in (("k", k), ("method", method), ("chunk_rows", chunk_rows))
               if value is not None}
    if changes:
        opts = MatchOptions(**{**opts.__dict__, **changes})
    if opts.method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {opts.method!r}")
    if opts.k < 1 or opts.chunk_rows < 1 or opts.exact_cells < 1 or opts.candidates < opts.k:
        raise ValueError("k, chunk_rows and exact_cells must be at least 1, and candidates at least k")
    return opts


def rank_rows(stack: Stack, rows: np.ndarray, opts: MatchOptions,
              exclude_same_country: bool = True) -> dict[int, list[tuple[float, int]]]:
    """``{row: [(score, column), ...]}``: the best k partners of each row, best first."""
    if opts.method == "exact":
        return exact_rows(stack, rows, opts.k, opts.exact_cells, exclude_same_country)
    return approximate_rows(stack, rows, opts, exclude_same_country)


def exact_rows(stack: Stack, rows: np.ndarray, k: int, exact_cells: int,
               exclude_same_country: bool = True) -> dict[int, list[tuple[float, int]]]:
    """The full product of each chunk of rows with every member, at most ``exact_cells`` scores at once."""
    out: dict[int, list[tuple[float, int]]] = {}
    size = max(1, exact_cells // max(stack.n, 1))
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        scores = np.round((stack.L[chunk] @ stack.RT).toarray(), SCORE_DIGITS)
        _mask(stack, chunk, scores, exclude_same_country)
        for position, row in enumerate(chunk):
            out[int(row)] = _best(stack, scores[position], k)
    return out


def _mask(stack: Stack, chunk: np.ndarray, scores: np.ndarray, exclude_same_country: bool) -> None:
    """Zero, in a dense (rows x members) block, each row's own column and, when asked, its own country's."""
    scores[np.arange(len(chunk)), chunk] = 0
    if exclude_same_country:
        scores[stack.country[chunk][:, None] == stack.country[None, :]] = 0


def _best(stack: Stack, row_scores: np.ndarray, k: int) -> list[tuple[float, int]]:
    """The k best positive entries of one dense row, ties by partner key."""
    positive = np.flatnonzero(row_scores > 0)
    if len(positive) > k:
        kth = np.partition(row_scores[positive], len(positive) - k)[len(positive) - k]
        positive = positive[row_scores[positive] >= kth]  # every tie of the k-th, then ordered by key
    order = np.lexsort((stack.rank[positive], -row_scores[positive]))[:k]
    return [(float(row_scores[c]), int(c)) for c in positive[order]]


def approximate_rows(stack: Stack, rows: np.ndarray, opts: MatchOptions,
                     exclude_same_country: bool = True) -> dict[int, list[tuple[float, int]]]:
    """Candidates from a pruned product, scored exactly; rows with fewer than k candidates computed exactly."""
    pruned_left = _prune(stack, opts)
    out: dict[int, list[tuple[float, int]]] = {}
    short: list[int] = []
    for start in range(0, len(rows), opts.chunk_rows):
        chunk = rows[start:start + opts.chunk_rows]
        product = (pruned_left[chunk] @ stack.RT).tocoo()
        local, cols, values = product.row, product.col, product.data
        keep = (values > 0) & (chunk[local] != cols)
        if exclude_same_country:
            keep &= stack.country[chunk[local]] != stack.country[cols]
        local, cols, values = local[keep], cols[keep], values[keep]
        # The best `candidates` of each row: order by row, then by pruned score descending, and cut each run.
        order = np.lexsort((-values, local))
        local, cols = local[order], cols[order]
        starts = np.searchsorted(local, np.arange(len(chunk)))
        ends = np.searchsorted(local, np.arange(len(chunk)), side="right")
        position = np.arange(len(local)) - starts[local]
        take = position < opts.candidates
        local, cols = local[take], cols[take]
        exact = np.round(stack.pair_scores(chunk[local], cols), SCORE_DIGITS)
        by_row = np.split(np.arange(len(local)), np.searchsorted(local, np.arange(1, len(chunk))))
        for position_in_chunk, members_of_row in enumerate(by_row):
            row = int(chunk[position_in_chunk])
            if min(ends[position_in_chunk] - starts[position_in_chunk], opts.candidates) < opts.k:
                short.append(row)
                continue
            found = members_of_row[exact[members_of_row] > 0]
            ranked = np.lexsort((stack.rank[cols[found]], -exact[found]))[:opts.k]
            out[row] = [(float(exact[t]), int(cols[t])) for t in found[ranked]]
    if short:
        out.update(exact_rows(stack, np.array(short, dtype=np.int64), opts.k, opts.exact_cells,
                              exclude_same_country))
    return out


def _prune(stack: Stack, opts: MatchOptions) -> sparse.csr_matrix:
    """``L`` without the features most members have (they propose everyone) and with each row's ``top_features``
    heaviest entries only: the product that proposes candidates."""
    frequent = np.diff(stack.RT.indptr) > opts.max_df_share * stack.n
    left = stack.L.tocsc()
    left = sparse.csr_matrix(left @ sparse.diags((~frequent).astype(np.float64)))
    left.eliminate_zeros()
    counts = np.diff(left.indptr)
    if counts.size == 0 or counts.max() <= opts.top_features:
        return left
    data, indices, indptr = left.data.copy(), left.indices, left.indptr
    for row in np.flatnonzero(counts > opts.top_features):
        segment = data[indptr[row]:indptr[row + 1]]
        cut = np.partition(segment, len(segment) - opts.top_features)[len(segment) - opts.top_features]
        segment[segment < cut] = 0
    pruned = sparse.csr_matrix((data, indices, indptr), shape=left.shape)
    pruned.eliminate_zeros()
    return pruned


def _suggestions(stack: Stack, ranked: Mapping[int, list[tuple[float, int]]], opts: MatchOptions,
                 plugins: Mapping[str, str] | None, with_reasons: bool) -> dict[str, list[Suggestion]]:
    pairs = [(row, col) for row, best in ranked.items() for _score, col in best]
    rows = np.array([row for row, _col in pairs], dtype=np.int64)
    cols = np.array([col for _row, col in pairs], dtype=np.int64)
    # Each scorer's own score of every kept pair, in one product per scorer.
    own = [np.asarray(left[rows].multiply(right[cols]).sum(axis=1)).ravel() if with_reasons and len(pairs)
           else np.zeros(len(pairs)) for _scorer, left, right in stack.parts]
    position = 0
    out: dict[str, list[Suggestion]] = {}
    for row, best in ranked.items():
        member = stack.members[row]
        found = []
        for score, col in best:
            reasons = _reasons(stack, row, col, [part[position] for part in own], opts, plugins) if with_reasons else ()
            found.append(Suggestion(member.key, stack.members[col].key, round(score, SCORE_DIGITS), reasons))
            position += 1
        out[member.key] = found
    return out


def _reasons(stack: Stack, row: int, col: int, scores: list[float], opts: MatchOptions,
             plugins: Mapping[str, str] | None) -> tuple[Reason, ...]:
    """The texts of the scorers that scored the pair, with their own scores."""
    a, b = stack.members[row], stack.members[col]
    reasons: list[Reason] = []
    for (scorer, _left, _right), score in zip(stack.parts, scores, strict=True):
        if score <= 0:
            continue
        try:
            texts = scorer.explain(a, b)
        except Exception as exc:
            raise PluginError((plugins or {}).get(scorer.name, "?"), None, HOOK,
                              f"match scorer {scorer.name!r}: explain() raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise PluginError((plugins or {}).get(scorer.name, "?"), None, HOOK,
                              f"match scorer {scorer.name!r}: explain() must return a list of texts")
        for text in texts[:opts.max_reasons]:
            reasons.append(Reason(scorer.name, round(float(score), 4), text[:opts.max_reason_chars]))
    return tuple(reasons)
