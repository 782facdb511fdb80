"""Who in the federation could fill a consortium's gap for a call: clusters, members and knowledge entities that are
not partners yet, from the countries and of the kinds the gap (and the call) asks, working on its codes, from a
country the consortium lacks when the gap asks for one more.

Candidates on the consortium's value chain come first (a member whose codes lie on one of the chain's stages, or of
a cluster that claims the chain; an entity that serves it or whose research or activities support one of its
stages), then knowledge entities, then by country and name. At most ``funding.max_candidates_per_gap`` per gap; the
member search reads at most ``funding.max_candidate_rows`` rows (members of clusters on the chain first). An
anonymous reader's candidates are public members and the public directory only. Gaps asking for the same partner
are searched once per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import case, select

from ..eligibility import CLUSTER_KIND, Consortium, FundingCall, Gap
from ..registry import Registry
from ..science.stages import place_entity
from .funding_partners import member_codes_and_words
from .knowledge import Directory
from .models import ClusterView, MemberView, NodeRecord
from .nodes import FORMING

#: What a gap asks of a partner: (countries, kinds, codes, countries it must not be from, keywords); empty: any.
Wanted = tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str], tuple[str, ...]]


class Candidates:
    """Candidates for the gaps of one consortium (one request)."""

    def __init__(self, db, registry: Registry, directory: Directory, consortium: Consortium, federation: bool,
                 per_gap: int, max_rows: int, pivot_classes: Callable[[Iterable], frozenset[str]]):
        self.db = db
        self.registry = registry
        self.directory = directory
        self.consortium = consortium
        self.federation = federation
        self.per_gap = per_gap
        self.max_rows = max_rows
        self.pivot_classes = pivot_classes
        self.chain = registry.value_chains.get(consortium.value_chain)
        self.prefixes = frozenset().union(*(s.prefixes for s in self.chain.stages)) if self.chain else frozenset()
        self.taken = {p.key for p in consortium.partners}
        self.organisations = {directory.organisation.get(key, key) for key in self.taken}
        self._found: dict[Wanted, list[dict]] = {}

    def of(self, gap: Gap, call: FundingCall) -> list[dict]:
        """The candidates for one gap of ``call`` (none for a gap no partner fills)."""
        if not gap.fillable:
            return []
        countries, kinds = _both(gap.countries, call.countries), _both(gap.kinds, call.kinds)
        if countries is None or kinds is None:
            return []  # the gap asks for what the call does not admit
        excluded = frozenset(self.consortium.countries(call)) if gap.new_country else frozenset()
        wanted = (countries, kinds, gap.codes, excluded, tuple(k.casefold() for k in gap.keywords))
        if wanted not in self._found:
            found = [*self._knowledge(wanted), *self._clusters(wanted), *self._members(wanted)]
            found.sort(key=lambda c: (not c["same_value_chain"], c["source"] != "knowledge", c["country"],
                                      c["name"].casefold(), c["key"]))
            out: list[dict] = []
            organisations: set[str] = set()
            for candidate in found:  # an organisation seen from two sources is named once
                organisation = self.directory.organisation.get(candidate["key"], candidate["key"])
                if organisation not in organisations and len(out) < self.per_gap:
                    organisations.add(organisation)
                    out.append(candidate)
            self._found[wanted] = out
        return self._found[wanted]

    # ------------------------------------------------------------------------------------------------ sources

    def _knowledge(self, wanted: Wanted) -> list[dict]:
        out = []
        for entity in self.directory.entities.values():
            if (entity.key in self.taken or self.directory.organisation.get(entity.key, entity.key)
                    in self.organisations or not _fits(entity.country, entity.kind, wanted)):
                continue
            words = " ".join([entity.name, *entity.keywords]).casefold()
            if not _works_on(self.pivot_classes(entity.activities), words, wanted):
                continue
            on_chain = self.chain is not None and (self.chain.id in entity.serves or bool(
                place_entity(entity, self.chain, self.registry.taxonomies)))
            out.append(_candidate(entity.key, entity.name, entity.kind, entity.country, "knowledge", on_chain,
                                  entity.cluster_node_id))
        return out

    def _clusters(self, wanted: Wanted) -> list[dict]:
        kinds, codes = wanted[1], wanted[2]
        if codes or (kinds and CLUSTER_KIND not in kinds):
            return []  # a cluster works on no code of its own
        with self.db.session() as session:
            views = session.scalars(select(ClusterView).join(NodeRecord, NodeRecord.id == ClusterView.node_id)
                                    .where(NodeRecord.status.in_(FORMING), ClusterView.kind == "cluster")
                                    .order_by(ClusterView.node_id).limit(self.max_rows))
            return [_candidate(v.node_id, (v.names or {}).get("en") or v.cluster_id, CLUSTER_KIND, v.country,
                               "cluster", self.consortium.value_chain in (v.value_chains or ()), None)
                    for v in views if v.node_id not in self.taken and _fits(v.country, CLUSTER_KIND, wanted)
                    and _works_on(frozenset(), " ".join((v.names or {}).values()).casefold(), wanted)]

    def _members(self, wanted: Wanted) -> list[dict]:
        countries, kinds, _codes, excluded, _keywords = wanted
        with self.db.session() as session:
            chain_nodes = {node_id for node_id, chains in session.execute(
                select(ClusterView.node_id, ClusterView.value_chains).where(ClusterView.kind == "cluster"))
                if self.consortium.value_chain in (chains or ())}
            query = (select(MemberView, ClusterView.country)
                     .join(ClusterView, ClusterView.node_id == MemberView.node_id)
                     .join(NodeRecord, NodeRecord.id == MemberView.node_id)
                     .where(NodeRecord.status.in_(FORMING), ClusterView.kind == "cluster",
                            MemberView.status == "active"))
            if countries:
                query = query.where(ClusterView.country.in_(sorted(countries)))
            if excluded:
                query = query.where(ClusterView.country.not_in(sorted(excluded)))
            if kinds:
                query = query.where(MemberView.kind.in_(sorted(kinds)))
            if not self.federation:
                query = query.where(MemberView.audience == "public")
            first = case((MemberView.node_id.in_(sorted(chain_nodes)), 0), else_=1) if chain_nodes else None
            order = ([first] if first is not None else []) + [MemberView.node_id, MemberView.member_id]
            rows = list(session.execute(query.order_by(*order).limit(self.max_rows)))
        out = []
        for row, country in rows:
            key = f"{row.node_id}/{row.member_id}"
            if key in self.taken or self.directory.organisation.get(key, key) in self.organisations:
                continue
            member_codes, words = member_codes_and_words(row, self.pivot_classes)
            if not _works_on(member_codes, words, wanted):
                continue
            on_chain = row.node_id in chain_nodes or self._on_chain(member_codes)
            out.append(_candidate(key, row.name, row.kind, country, "member", on_chain, row.node_id))
        return out

    def _on_chain(self, classes: frozenset[str]) -> bool:
        taxonomies = self.registry.taxonomies
        return any(taxonomies.under(taxonomies.pivot, code, self.prefixes) is not None for code in classes)


def _both(first: frozenset[str], second: frozenset[str]) -> frozenset[str] | None:
    """Both conditions at once (an empty set asks nothing); ``None`` when nothing meets both."""
    if first and second:
        return (first & second) or None
    return first or second


def _works_on(codes: frozenset[str], words: str, wanted: Wanted) -> bool:
    """The partner works on one of the gap's codes or says one of its keywords (or the gap asks for neither)."""
    wanted_codes, keywords = wanted[2], wanted[4]
    if not wanted_codes and not keywords:
        return True
    return bool(codes & wanted_codes) or any(k in words for k in keywords)


def _fits(country: str, kind: str, wanted: Wanted) -> bool:
    countries, kinds, _codes, excluded, _keywords = wanted
    return ((not countries or country in countries) and (not kinds or kind in kinds)
            and country not in excluded)


def _candidate(key: str, name: str, kind: str, country: str, source: str, on_chain: bool,
               cluster: str | None) -> dict:
    return {"key": key, "name": name, "kind": kind, "country": country, "source": source,
            "same_value_chain": on_chain, "cluster": cluster}
