"""Base classes of the rules that plugins provide: meta-cluster formation and sub-clustering.

A rule explains itself: every verdict carries a reason, so the hub can answer "why is this cluster in or out" and
"why is this member in that sub-cluster".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from .code_placement import code_words, listing
from .domain import Cluster, Decision, Member, ValueChain
from .taxonomy import TaxonomyIndex


class FormationRule:
    """Decides which clusters take part in a value chain's meta-cluster, and whether the meta-cluster forms.

    Override either method; returning ``None`` means the rule has no opinion on that case.
    """

    name = "formation-rule"

    def check_cluster(self, cluster: Cluster, chain: ValueChain,
                      chain_members: Sequence[Member]) -> Decision | None:
        """Whether ``cluster`` takes part in ``chain``'s meta-cluster, given its members on that chain."""
        return None

    def check_metacluster(self, chain: ValueChain, admitted: Sequence[Cluster]) -> Decision | None:
        """Whether the clusters admitted to ``chain`` make a meta-cluster."""
        return None


class SubclusterRule:
    """Puts members of a value chain's meta-cluster into one named sub-cluster.

    Rules of one chain are tried by ``priority`` (lowest first), then in the order they were registered; the first
    that matches places the member. A member no rule matches lands in the sub-cluster ``other``.
    """

    value_chain = ""
    name = ""
    names: Mapping[str, str] = {}
    priority = 100

    def match(self, member: Member, taxonomies: TaxonomyIndex) -> str | None:
        """The reason ``member`` belongs to this sub-cluster, or ``None`` when it does not."""
        raise NotImplementedError

    def partial(self, member: Member, taxonomies: TaxonomyIndex) -> str | None:
        """When ``match`` says no only because a coarse code of the member is partly in this sub-cluster: why (the
        member's own words may then decide for it, see :func:`federation.formation.place_member`). Optional."""
        return None

    def words(self, member: Member) -> str | None:
        """The words of the member (its name and offers) that point to this sub-cluster, or ``None``. Optional."""
        return None


class CodeKeywordRule(SubclusterRule):
    """A sub-cluster defined by activity-code prefixes and/or keywords (the shape of ``config/subclusters``)."""

    def __init__(self, value_chain: str, name: str, names: Mapping[str, str], prefixes: frozenset[str],
                 keywords: Iterable[str] = (), priority: int = 100, source: str = ""):
        self.value_chain = value_chain
        self.name = name
        self.names = dict(names)
        self.prefixes = prefixes
        self.keywords = tuple(k.lower() for k in keywords)
        self.priority = priority
        self.source = source
        # \b does not know Arabic letters as word characters in every case; use explicit non-letter guards.
        self._keyword_re = (re.compile(r"(?<!\w)(" + "|".join(map(re.escape, self.keywords)) + r")(?!\w)")
                            if self.keywords else None)

    def match(self, member: Member, taxonomies: TaxonomyIndex) -> str | None:
        if self.prefixes:
            for activity in member.activities + member.offer_codes:
                hit = taxonomies.under(activity.scheme, activity.code, self.prefixes)
                if hit is not None:
                    return f"activity {activity} is under {taxonomies.pivot} {hit}"
        return self.words(member)

    def partial(self, member: Member, taxonomies: TaxonomyIndex) -> str | None:
        if not self.prefixes:
            return None
        for activity in member.activities + member.offer_codes:
            covered, missing = taxonomies.coverage(activity.scheme, activity.code, self.prefixes)
            if covered and missing:
                words = code_words(activity, sorted(covered + missing), taxonomies.pivot)
                return f"{words}, of which {self.name} covers only {listing(covered)}"
        return None

    def words(self, member: Member) -> str | None:
        if self._keyword_re is not None and (found := self._keyword_re.search(member.text)):
            return f"keyword {found.group(1)!r}"
        return None

    def __repr__(self) -> str:
        return f"<CodeKeywordRule {self.value_chain}/{self.name}>"
