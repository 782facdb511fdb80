"""What a node tells its cluster manager about its own data before a hub sees it: ``medmci node check``,
``GET /api/v1/check``, and the findings shown after each member import.

A check is a function ``check(context) -> Iterable[Finding]``; :data:`CHECKS` lists them, in the order their
findings are shown. To add one, write the function and append it there. A check that looks at members reads
``context.members()``, which an import narrows to the members it wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..code_placement import LISTED, CodeOnChain, listing
from ..domain import Activity, Member
from ..formation import StageMatcher, place_member
from ..plugin_calls import rule_failure
from ..registry import Registry
from ..settings import Settings
from .size_check import check_profile_size

if TYPE_CHECKING:  # the service imports this module's callers
    from .service import NodeService

SEVERITIES = ("error", "warning", "info")
#: The member fields checks read (the formation reads these of a member: its codes, its words, its kind).
CHECKED_FIELDS = ("id", "kind", "name", "activities", "offers")


@dataclass(frozen=True)
class Finding:
    """One thing to tell the cluster manager; ``suggestion`` says what would fix it, when something would."""

    severity: str  # error | warning | info
    kind: str
    message: str
    member_id: str | None = None
    suggestion: str | None = None

    def as_dict(self) -> dict:
        return {"severity": self.severity, "kind": self.kind, "message": self.message, "member_id": self.member_id,
                "suggestion": self.suggestion}


@dataclass
class CheckContext:
    """What checks read: the node's settings, its plugins, its service; ``member_ids`` narrows member checks (an
    import checks the members it wrote), ``None`` checks them all."""

    settings: Settings
    registry: Registry
    service: NodeService
    member_ids: frozenset[str] | None = None

    def members(self) -> Iterator[dict]:
        """The members a hub would see (public and federation ones; private members never leave the node), with the
        fields checks read, streamed from the database: a 50,000-member import is checked without holding it."""
        wanted = self.member_ids
        for member in self.service.iter_shared_members(CHECKED_FIELDS):
            if wanted is None or member["id"] in wanted:
                yield member


Check = Callable[[CheckContext], Iterable[Finding]]


# -- coarse activity codes -------------------------------------------------------------------------------------------

class _CoarseCodes:
    """Per code, where the hub can and cannot place it on each value chain; computed once per code."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.chains = [chain for _id, chain in sorted(registry.value_chains.items())]
        self.matchers = {chain.id: StageMatcher(chain, registry) for chain in self.chains}
        self._codes: dict[Activity, list[CodeOnChain]] = {}
        self._twins: dict[tuple[Activity, str], dict[str, str]] = {}
        self._said: dict[Activity, tuple[str, ...]] = {}
        self._finer: dict[Activity, str] = {}

    def on_chains(self, activity: Activity) -> list[CodeOnChain]:
        if activity not in self._codes:
            self._codes[activity] = [self.matchers[chain.id].code(activity) for chain in self.chains]
        return self._codes[activity]

    def said(self, activity: Activity) -> list[str]:
        """:func:`_coarse_on_chains` of the code (a new list each time: callers add to it)."""
        if activity not in self._said:
            self._said[activity] = tuple(_coarse_on_chains(self.on_chains(activity)))
        return list(self._said[activity])

    def finer_once(self, activity: Activity) -> str:
        """:meth:`finer` of the code, computed once (a function of the code alone)."""
        if activity not in self._finer:
            self._finer[activity] = self.finer(activity, self.on_chains(activity))
        return self._finer[activity]

    def twin_sub_clusters(self, activity: Activity, code: CodeOnChain) -> dict[str, str]:
        """Pivot class -> the sub-cluster a member coded with it alone lands in, on ``code``'s chain."""
        key = (activity, code.chain_id)
        if key not in self._twins:
            chain = self.registry.value_chains[code.chain_id]
            self._twins[key] = {c: place_member(_bare(Activity(code.pivot, c)), chain, self.registry).sub_cluster
                                for c in code.classes}
        return self._twins[key]

    def finer(self, activity: Activity, codes: list[CodeOnChain]) -> str:
        """The finer pivot codes of ``activity``, each with where a member coded with it is placed."""
        taxonomy = self.registry.taxonomies.by_scheme[codes[0].pivot]
        classes = codes[0].classes
        parts = []
        for position, pivot_class in enumerate(classes[:LISTED]):
            where = [f"{c.chain_id} (stage {', '.join(c.stages_by_class[position])}"
                     + f", sub-cluster {self.twin_sub_clusters(activity, c)[pivot_class]})"
                     for c in codes if c.stages_by_class[position]]
            parts.append(f"{codes[0].pivot}:{pivot_class} ({taxonomy.label(pivot_class)}): "
                         f"{', '.join(where) or 'on no value chain'}")
        more = f"; and {len(classes) - LISTED} more" if len(classes) > LISTED else ""
        return "code it with the finer code that says what the member does: " + "; ".join(parts) + more


def _bare(activity: Activity) -> Member:
    return Member(node_id="", id="", kind="sme", name="", country="", activities=(activity,))


def formed_member(data: dict) -> Member:
    """The member as the hub's formation reads it: its codes, and its name and offers as keyword rules read them
    (and its status and city, when ``data`` has them). Also what the node's announcements place in value chains
    and sub-clusters (federation/node/recipients.py)."""
    activities = tuple(Activity(a["scheme"], a["code"]) for a in data.get("activities") or ())
    offers = data.get("offers") or ()
    offer_codes = tuple(Activity(c["scheme"], c["code"]) for o in offers for c in o.get("codes") or ())
    text = " ".join([data.get("name") or ""] + [o.get("text") or "" for o in offers]).lower()
    return Member(node_id="", id=data["id"], kind=data.get("kind") or "sme", name=data.get("name") or "",
                  country="", activities=activities, offer_codes=offer_codes, text=text,
                  status=data.get("status") or "active", city=data.get("city"))


def _coarse_on_chains(codes: list[CodeOnChain]) -> list[str]:
    """The code's explanation per chain where it is split or partial; chains that cover the same classes of a
    partial code are named together."""
    said = [f"{c.chain_id}: {c.explain()}" for c in codes if c.split]
    partial: dict[tuple[str, ...], list[str]] = {}
    for code in codes:
        if code.partial:
            partial.setdefault(code.covered, []).append(code.chain_id)
    for covered, chains in partial.items():
        said.append(f"{codes[0].words}: not counted on {listing(chains)}, which cover{'s' if len(chains) == 1 else ''}"
                    f" only {listing(covered)} (a finer code would decide)")
    return said


def coarse_codes(context: CheckContext) -> Iterator[Finding]:
    """Members with an activity code the hub cannot place precisely: its classes lie on several stages of a chain
    (counted on each), only partly on a chain (not counted there), or between sub-clusters that the member's words
    do not decide. A warning when the member is then on no value chain at all, info otherwise; the suggestion
    names the finer codes and where each would place the member. A member whose codes, precise or not, lie on no
    value chain the node knows is a warning too: it will be in no meta-cluster."""
    coarse = _CoarseCodes(context.registry)
    registry = context.registry
    broken: set[str] = set()  # chains whose plugin rule raised: said once, as an error naming the plugin
    for data in context.members():
        member = formed_member(data)
        activities = member.activities + (member.offer_codes if member.is_knowledge else ())
        on_any = any(c.on_chain for a in activities for c in coarse.on_chains(a))
        told_lost = False
        for activity in dict.fromkeys(activities):
            codes = coarse.on_chains(activity)
            said = coarse.said(activity)
            if not member.is_knowledge:
                for code in codes:
                    if not code.on_chain or code.chain_id in broken:
                        continue
                    try:
                        if len(set(coarse.twin_sub_clusters(activity, code).values())) > 1:
                            chain = registry.value_chains[code.chain_id]
                            said += [f"{code.chain_id}: {note}"
                                     for note in place_member(member, chain, registry).notes]
                    except Exception as exc:  # a plugin's rule: the finding names it; the federation's own goes up
                        failure = rule_failure(exc, registry.rules_of(code.chain_id), registry.origins, registry.pm,
                                               code.chain_id)
                        if failure is None:
                            raise
                        broken.add(code.chain_id)
                        yield Finding("error", "plugin", str(failure), None,
                                      "fix or disable the plugin (plugins.disabled); `medmci plugins` lists it")
            if not said:
                continue
            lost = not on_any and any(c.partial for c in codes)
            told_lost = told_lost or lost
            yield Finding("warning" if lost else "info", "coarse-code",
                          (f"{member.id} is on no value chain: " if lost else "") + "; ".join(said), member.id,
                          coarse.finer_once(activity))
        if activities and not on_any and not told_lost:
            written = ", ".join(f"{a.scheme}:{a.code}" for a in dict.fromkeys(activities))
            yield Finding("warning", "no-value-chain",
                          f"{member.id} is on no value chain: {written} lie(s) on no stage of the value chains "
                          f"{', '.join(sorted(registry.value_chains)) or '(none loaded)'}", member.id,
                          "check the member's code; if the activity belongs in the federation, ask the hub team "
                          "which value chain should cover it")


# -- the published profile's size -------------------------------------------------------------------------------------

def profile_size(context: CheckContext) -> Iterator[Finding]:
    """The published profile approaching the size hubs accept (federation/node/size_check.py)."""
    for finding in check_profile_size(context):
        yield Finding(**finding)


#: The checks, in the order their findings are shown.
CHECKS: list[Check] = [coarse_codes, profile_size]


def run_checks(context: CheckContext, checks: Iterable[Check] | None = None) -> dict:
    """Every check's findings, errors first: at most ``node.check_max_findings`` of them listed, with the
    ``total`` found and the ``counts`` per severity."""
    limit = int(context.settings.get("node.check_max_findings"))
    # Every finding is counted; at most ``limit`` of each severity are kept (each check's order kept within one).
    kept: dict[str, list[Finding]] = {severity: [] for severity in SEVERITIES}
    counts = dict.fromkeys(SEVERITIES, 0)
    for check in CHECKS if checks is None else checks:
        for finding in check(context):
            counts[finding.severity] += 1
            if len(kept[finding.severity]) < limit:
                kept[finding.severity].append(finding)
    listed = [finding for severity in SEVERITIES for finding in kept[severity]][:limit]
    return {"findings": [f.as_dict() for f in listed], "total": sum(counts.values()), "counts": counts}
