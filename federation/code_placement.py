"""Where an activity code falls on a value chain, and why, in the words of the member's own scheme.

A code stands for the pivot classes it covers (:meth:`TaxonomyIndex.classes`): a NACE class for itself, a NACE
group for the classes under it, an ISIC class for the NACE classes the concordance maps it to. A code is *on* a
chain when every one of its classes lies on a stage of the chain, and it is then counted on each stage they lie on:
a coarse code is never a reason to lose a member, nor to place it more precisely than it says. When only some of
its classes lie on the chain, the code is not on it (the member may do only the other part), and the explanation
says which classes the chain covers, so that a finer code can decide.

Pure functions over the domain objects (no database, no web); the hub's formation and ``why`` and the node's
``check`` all explain with them, so they say the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .domain import Activity, ValueChain
from .taxonomy import TaxonomyIndex

#: Codes named in one explanation; a longer list ends in "and N more" (a NACE section stands for ~200 classes).
LISTED = 6


def listing(codes: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``; cut after :data:`LISTED` codes."""
    codes = list(codes)
    if len(codes) > LISTED:
        return f"{', '.join(codes[:LISTED])} and {len(codes) - LISTED} more"
    if len(codes) <= 1:
        return "".join(codes)
    return f"{', '.join(codes[:-1])} and {codes[-1]}"


def code_words(activity: Activity, classes: Sequence[str], pivot: str) -> str:
    """The code as the member wrote it, and what it stands for in the pivot scheme when that is not itself:
    ``isic-rev4:1040 maps to nace-rev2 10.41 and 10.42``, ``nace-rev2:10.9 covers nace-rev2 10.91 and 10.92``."""
    if activity.scheme == pivot and tuple(classes) == (activity.code,):
        return str(activity)
    return f"{activity} {'covers' if activity.scheme == pivot else 'maps to'} {pivot} {listing(classes)}"


@dataclass(frozen=True, slots=True)
class CodeOnChain:
    """One code against one chain: the stages of each pivot class it stands for."""

    activity: Activity
    chain_id: str
    pivot: str
    classes: tuple[str, ...]
    stages_by_class: tuple[tuple[str, ...], ...]  # in the order of ``classes``; () for a class on no stage
    stages: tuple[str, ...]  # the stages it is counted on (chain order): none unless every class is on the chain

    @property
    def on_chain(self) -> bool:
        return bool(self.stages)

    @property
    def split(self) -> bool:
        """On the chain, its classes on different stages: counted on each, since the code does not say which."""
        return self.on_chain and len(set(self.stages_by_class)) > 1

    @property
    def partial(self) -> bool:
        """Some of its classes on the chain, not all: not on the chain, a finer code would decide."""
        return not self.on_chain and any(self.stages_by_class)

    @property
    def covered(self) -> tuple[str, ...]:
        return tuple(c for c, stages in zip(self.classes, self.stages_by_class, strict=True) if stages)

    @property
    def words(self) -> str:
        return code_words(self.activity, self.classes, self.pivot)

    def explain(self) -> str:
        """Why the code is, or is not, on the chain; what it could not decide."""
        if not self.classes:
            return f"{self.activity} has no {self.pivot} equivalent"
        if self.split:
            groups = _by_stages(self)
            return (f"{self.words}, on different stages ({'; '.join(groups)}): counted on each of "
                    f"{listing(self.stages)}, since the code does not say which (a finer code would)")
        if self.on_chain:
            where = f"stage{'s' if len(self.stages) > 1 else ''} {listing(self.stages)}"
            if self.activity.scheme == self.pivot and self.classes == (self.activity.code,):
                return f"{self.activity} is in {where}"
            return f"{self.words}, all in {where}"
        if self.partial:
            return (f"{self.words}, and {self.chain_id} covers only {listing(self.covered)} "
                    f"({', '.join(dict.fromkeys(s for stages in self.stages_by_class for s in stages))}): "
                    f"not counted on {self.chain_id} (a finer code would decide)")
        if len(self.classes) == 1 and self.classes == (self.activity.code,):
            return f"{self.activity} is on no stage of {self.chain_id}"
        return f"{self.words}, none of them on a stage of {self.chain_id}"


def _by_stages(code: CodeOnChain) -> list[str]:
    """``10.91 (inputs)``, ``10.92 (processing)``: the classes grouped by the stages they lie on."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for pivot_class, stages in zip(code.classes, code.stages_by_class, strict=True):
        groups.setdefault(stages, []).append(pivot_class)
    return [f"{listing(classes)} ({', '.join(stages)})" for stages, classes in groups.items()]


def place_code(activity: Activity, chain: ValueChain, taxonomies: TaxonomyIndex) -> CodeOnChain:
    """Where ``activity`` falls on ``chain`` (see the module docstring)."""
    classes = taxonomies.classes(activity.scheme, activity.code)
    pivot = taxonomies.pivot
    by_class = tuple(tuple(s.id for s in chain.stages if taxonomies.under(pivot, c, s.prefixes) is not None)
                     for c in classes)
    hit = {s for stages in by_class for s in stages}
    stages = tuple(s.id for s in chain.stages if s.id in hit) if classes and all(by_class) else ()
    return CodeOnChain(activity, chain.id, pivot, classes, by_class, stages)


def coarse_notes(codes: Iterable[CodeOnChain]) -> list[str]:
    """What a member's codes left undecided on a chain: codes counted on several stages, codes only partly on it."""
    return [code.explain() for code in codes if code.split or code.partial]


def exclusion_reasons(codes: Sequence[CodeOnChain], chain: ValueChain, claims: bool,
                      knowledge: bool = False) -> list[str]:
    """Why a member whose codes are ``codes`` is not on ``chain`` by its codes alone (empty when it is): each code
    explained, or its stages being only enabling or support ones that count for a claiming cluster only."""
    stages = {s for code in codes for s in code.stages}
    core = {s.id for s in chain.stages if s.kind == "core"}
    if not stages:
        if not codes:
            return ["it lists no activity code"]
        return [code.explain() for code in codes]
    if core.isdisjoint(stages) and not claims:
        names = ", ".join(s.id for s in chain.stages if s.id in stages)
        what = "activities or offers" if knowledge else "activities"
        return [(f"its {what} fall only in enabling or support stage(s) {names}, which count only for a cluster "
                 f"that claims {chain.id}, and its cluster does not")]
    return []
