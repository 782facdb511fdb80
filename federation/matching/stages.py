"""Which value-chain stages a member's codes fall on: the ``stages`` of a :class:`~.model.MatchMember`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..domain import ValueChain
from ..taxonomy import TaxonomyIndex


def stages_of(codes: Iterable[str], value_chains: Mapping[str, ValueChain],
              taxonomies: TaxonomyIndex) -> tuple[tuple[str, int], ...]:
    """The ``(chain id, stage index)`` pairs (index from 0) whose prefixes contain one of ``codes`` (pivot codes),
    sorted. A coarse code counts on a stage only when every class under it does (``TaxonomyIndex.under``)."""
    pivot = taxonomies.pivot
    found: set[tuple[str, int]] = set()
    wanted = tuple(dict.fromkeys(codes))
    for chain_id, chain in value_chains.items():
        for index, stage in enumerate(chain.stages):
            if any(taxonomies.under(pivot, code, stage.prefixes) is not None for code in wanted):
                found.add((chain_id, index))
    return tuple(sorted(found))
