"""Ranking partner suggestions: the weighted sum of every scorer as one sparse product, in row chunks, top-k per row.

Each scorer gives ``(left, right)`` (see :mod:`.scorers`); scaled by ``sqrt(weight / total weight)`` and stacked side
by side they give ``L`` and ``R`` whose product ``L[i] . R[j]`` is the weighted score (0..1) of partner ``j`` for
member ``i``. A partner is always in another country (``exclude_same_country``), never the member itself, and a zero
score is no suggestion. Ties are ranked by the partner's key, so every method and every process agree.

Both methods compute products that keep only a top-n per row (:mod:`.products`), by country block: the rows of one
country against the members of the others.

- ``exact``: the full product, keeping ``2k`` per row; a row whose last kept score ties its k-th (a tie may have been
  cut) is computed again keeping four times as many (at most ``matching.exact_cells`` scores held at once), so ties
  go by key.
- ``approximate``: the candidates of a row come from a pruned product: a feature held by more than
  ``matching.max_df_share`` of the members is left out unless it is heavy (a pair sharing it gains at least
  ``matching.heavy_feature_score`` on average, as a code or a language does, unlike a common n-gram), and a heavy one
  held by more than ``matching.max_heavy_df_share``; a row keeps its ``matching.top_features`` heaviest. Its
  ``matching.candidates`` best candidates are scored exactly, and the top-k kept. A row with fewer than k candidates
  is computed exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ..errors import PluginError
from ..settings import packaged_default
from . import products
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
    heavy_feature_score: float = field(default_factory=packaged_default("matching.heavy_feature_score", float))
    max_heavy_df_share: float = field(default_factory=packaged_default("matching.max_heavy_df_share", float))
    top_features: int = field(default_factory=packaged_default("matching.top_features", int))
    max_reasons: int = field(default_factory=packaged_default("matching.max_reasons_per_scorer", int))
    max_reason_chars: int = field(default_factory=packaged_default("matching.max_reason_chars", int))
    threads: int = field(default_factory=packaged_default("matching.threads", int))

    @classmethod
    def from_settings(cls, settings) -> MatchOptions:
        return cls(k=int(settings.get("matching.k")), method=str(settings.get("matching.method")),
                   chunk_rows=int(settings.get("matching.chunk_rows")),
                   exact_cells=int(settings.get("matching.exact_cells")),
                   candidates=int(settings.get("matching.candidates")),
                   max_df_share=float(settings.get("matching.max_df_share")),
                   heavy_feature_score=float(settings.get("matching.heavy_feature_score")),
                   max_heavy_df_share=float(settings.get("matching.max_heavy_df_share")),
                   threads=int(settings.get("matching.threads")),
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
        # Each scorer's columns of L and R, and its share of the weights (the square of its scale).
        self.parts: list[tuple[Scorer, int, int, float]] = []
        lefts, rights = [], []
        width = 0
        for scorer in scorers:
            if chosen[scorer.name] <= 0:
                continue
            left, right = products.used_columns(
                *_checked_features(scorer, self.members, (plugins or {}).get(scorer.name, "?")))
            share = chosen[scorer.name] / total
            self.parts.append((scorer, width, width + left.shape[1], share))
            width += left.shape[1]
            lefts.append(left * math.sqrt(share))
            rights.append(right * math.sqrt(share))
            del left, right  # only the scaled copies are kept: the stack is the largest thing held
        empty = sparse.csr_matrix((n, 0))
        self.L = sparse.csr_matrix(sparse.hstack(lefts, format="csr")) if lefts else empty
        del lefts
        self.R = sparse.csr_matrix(sparse.hstack(rights, format="csr")) if rights else empty
        del rights
        countries = {c: i for i, c in enumerate(sorted({m.country for m in self.members}))}
        self.country = np.array([countries[m.country] for m in self.members], dtype=np.int64)
        keys = np.array([m.key for m in self.members], dtype=object)
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[np.argsort(keys, kind="stable")] = np.arange(n)

    def pair_scores(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The exact weighted score of each pair (rows[t], cols[t])."""
        return products.pair_scores(self.L, self.R, rows, cols)


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
    if opts.k < 1 or opts.chunk_rows < 1 or opts.exact_cells < 1 or opts.threads < 1 or opts.candidates < opts.k:
        raise ValueError("k, chunk_rows, exact_cells and threads must be at least 1, and candidates at least k")
    return opts


def rank_rows(stack: Stack, rows: np.ndarray, opts: MatchOptions,
              exclude_same_country: bool = True) -> dict[int, list[tuple[float, int]]]:
    """``{row: [(score, column), ...]}``: the best k partners of each row, best first."""
    if opts.method == "exact":
        return exact_rows(stack, rows, opts.k, opts.exact_cells, exclude_same_country, opts.threads)
    return approximate_rows(stack, rows, opts, exclude_same_country)


def exact_rows(stack: Stack, rows: np.ndarray, k: int, exact_cells: int, exclude_same_country: bool = True,
               threads: int = 1) -> dict[int, list[tuple[float, int]]]:
    """The full product of each block of rows with its partners, ``2k`` kept per row; a row whose last kept score
    ties its k-th (a tie may have been cut) is computed again keeping four times as many, until none is cut, so
    ties always go by key. At most ``exact_cells`` scores are kept at once."""
    out: dict[int, list[tuple[float, int]]] = {}
    pending, keep = rows, 2 * k
    while len(pending):
        cut: list[int] = []
        for block, partners in products.blocks(stack.country, pending, exclude_same_country):
            size = max(1, exact_cells // keep)
            partner_columns = products.partner_matrix(stack.R, partners)
            for start in range(0, len(block), size):
                chunk = block[start:start + size]
                found_rows, cols, values = products.top_n(stack.L, partner_columns, chunk, partners, keep, threads)
                values = np.round(values, SCORE_DIGITS)
                for row, members_of_row in _runs(found_rows, chunk):
                    ranked = members_of_row[np.lexsort((stack.rank[cols[members_of_row]], -values[members_of_row]))]
                    if len(ranked) >= keep and keep < len(partners) and values[ranked[-1]] >= values[ranked[k - 1]]:
                        cut.append(row)
                        continue
                    out[row] = [(float(values[t]), int(cols[t])) for t in ranked[:k]]
        pending, keep = np.array(sorted(cut), dtype=np.int64), keep * 4
    return out


def _runs(found_rows: np.ndarray, block: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Each row of ``block`` (ascending) with the positions of its entries in ``found_rows``, which
    :func:`products.top_n` returns grouped by row in the block's order."""
    starts = np.searchsorted(found_rows, block)
    ends = np.searchsorted(found_rows, block, side="right")
    for row, lo, hi in zip(block, starts, ends, strict=True):
        yield int(row), np.arange(lo, hi)


def approximate_rows(stack: Stack, rows: np.ndarray, opts: MatchOptions,
                     exclude_same_country: bool = True) -> dict[int, list[tuple[float, int]]]:
    """Candidates from a pruned product, scored exactly; rows with fewer than k candidates computed exactly."""
    pruned = _prune(stack, opts)
    out: dict[int, list[tuple[float, int]]] = {}
    short: list[int] = []
    for block, partners in products.blocks(stack.country, rows, exclude_same_country):
        partner_columns = products.partner_matrix(stack.R, partners)
        for start in range(0, len(block), opts.chunk_rows):
            chunk = block[start:start + opts.chunk_rows]
            found_rows, cols, _pruned_scores = products.top_n(pruned, partner_columns, chunk, partners,
                                                              opts.candidates, opts.threads)
            exact = np.round(stack.pair_scores(found_rows, cols), SCORE_DIGITS)
            for row, members_of_row in _runs(found_rows, chunk):
                if len(members_of_row) < opts.k:
                    short.append(row)
                    continue
                found = members_of_row[exact[members_of_row] > 0]
                ranked = found[np.lexsort((stack.rank[cols[found]], -exact[found]))[:opts.k]]
                out[row] = [(float(exact[t]), int(cols[t])) for t in ranked]
    if short:
        out.update(exact_rows(stack, np.array(short, dtype=np.int64), opts.k, opts.exact_cells,
                              exclude_same_country, opts.threads))
    return out


def _prune(stack: Stack, opts: MatchOptions) -> sparse.csr_matrix:
    """``L`` without the features many members have (they propose everyone and cost the most), unless they weigh
    in a score, and with each row's ``top_features`` heaviest entries only: the product that proposes candidates."""
    n = max(stack.n, 1)
    df = np.bincount(stack.R.indices, minlength=stack.R.shape[1])
    held = np.maximum(np.bincount(stack.L.indices, minlength=stack.L.shape[1]), 1)
    # The mean gain of a pair sharing the feature: the mean left entry times the mean right entry.
    gain = (np.bincount(stack.L.indices, stack.L.data, minlength=stack.L.shape[1]) / held
            * np.bincount(stack.R.indices, stack.R.data, minlength=stack.R.shape[1]) / np.maximum(df, 1))
    heavy = gain >= opts.heavy_feature_score
    dropped = np.where(heavy, df > opts.max_heavy_df_share * n, df > opts.max_df_share * n)
    left = stack.L.copy()
    left.data[dropped[left.indices]] = 0
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
    # Each scorer's own score of every kept pair: its columns of the kept rows, unscaled.
    own: list[np.ndarray] = [np.zeros(len(pairs)) for _part in stack.parts]
    if with_reasons and pairs:
        left, right = stack.L[rows], stack.R[cols]
        own = [np.asarray(left[:, start:stop].multiply(right[:, start:stop]).sum(axis=1)).ravel() / share
               for _scorer, start, stop, share in stack.parts]
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
    for (scorer, _start, _stop, _share), score in zip(stack.parts, scores, strict=True):
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
