"""Matchmaking at the hub: the members of the current view as :class:`~federation.matching.MatchMember`, their top-k
partner suggestions computed by the matching core (federation/matching/) and stored, and the read side.

What is matched: every member of every taking-part cluster node (knowledge members too: a university is a partner
as well), its codes normalised to the pivot scheme, its value-chain stages as formation places them
(:func:`federation.matching.stages_of`), its cluster's languages (the languages of the cluster's names). At most
``matching.max_members`` members, by key; past it the rest wait and a warning is logged.

When: :meth:`MatchService.refresh` compares the node versions the stored suggestions came from (``match_sources``)
with the current ones and recomputes what changed (the core's incremental ``refresh``: the changed nodes' members,
and the members whose lists name one of them); the hub calls it after every harvest and every operator decision that
moves a node in or out. Nothing changed, nothing computed.

Visibility: suggestions are computed over every member; a reader who may not see the federation audience is served
only suggestions whose member and partner are both public (as the hub's current view says at read time), so neither
a hidden member nor its texts (reasons quote both sides) reach it. No contact field is ever in a suggestion: the
reader follows the member's link.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, false, insert, select, text, tuple_

from ..db import Database
from ..errors import NotFound, ValidationError
from ..matching import MatchMember, MatchOptions, ScorerSet, Suggestion, load_scorers, refresh, stages_of, top_k
from ..registry import Registry
from ..settings import Settings
from .match_tables import MatchSource, MatchSuggestion
from .models import ClusterView, MemberView, MetaClusterRow, NodeRecord, PlacementRow
from .nodes import FORMING

log = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that serialises refreshes ("MAT" in ASCII).
MATCH_LOCK = 0x4D4154
#: The member columns matching reads.
MATCHED_COLUMNS = ("node_id", "member_id", "kind", "name", "activities", "offers", "needs", "export_markets",
                   "audience")
SUBJECTS = ("member", "cluster", "metacluster")


class MatchService:
    def __init__(self, db: Database, registry: Registry, settings: Settings):
        self.db = db
        self.registry = registry
        self.settings = settings
        self.options = MatchOptions.from_settings(settings)
        self.max_members = int(settings.get("matching.max_members"))
        self.page_size = int(settings.get("matching.page_size"))
        self.max_page_size = int(settings.get("matching.max_page_size"))
        self._scorers: ScorerSet | None = None

    @property
    def scorers(self) -> ScorerSet:
        """The scorers the plugins provide, loaded at the first computation (a broken one is its PluginError)."""
        if self._scorers is None:
            self._scorers = load_scorers(self.registry.pm, self.settings, self.registry.taxonomies,
                                         self.registry.value_chains)
        return self._scorers

    # -- computing --------------------------------------------------------------------------------------------------

    def match_member(self, row, cluster: ClusterView) -> MatchMember:
        taxonomies = self.registry.taxonomies

        def pivot(codes: Iterable[dict]) -> tuple[str, ...]:
            found: dict[str, None] = {}
            for code in codes:
                for pivot_code in sorted(taxonomies.normalise(code["scheme"], code["code"])):
                    found[pivot_code] = None
            return tuple(found)

        activities = pivot(row.activities or ())
        offers = pivot(c for o in row.offers or () for c in o.get("codes", ()))
        needs = pivot(c for n in row.needs or () for c in n.get("codes", ()))
        return MatchMember(
            key=f"{row.node_id}/{row.member_id}", cluster_id=cluster.cluster_id, node_id=row.node_id,
            country=cluster.country, kind=row.kind, name=row.name, offer_codes=offers, need_codes=needs,
            activity_codes=activities, offers_text=" ".join(o["text"] for o in row.offers or ()),
            needs_text=" ".join(n["text"] for n in row.needs or ()),
            stages=stages_of(activities + offers, self.registry.value_chains, taxonomies),
            export_markets=tuple(row.export_markets or ()),
            languages=tuple(sorted(tag for tag in (cluster.names or {}) if len(tag) == 2)),
            audience=row.audience)

    def load_members(self, session) -> tuple[list[MatchMember], dict[str, int]]:
        """The members matched now (at most ``matching.max_members``, by key) and each node's current version."""
        views = {v.node_id: v for v in session.scalars(
            select(ClusterView).join(NodeRecord, NodeRecord.id == ClusterView.node_id)
            .where(NodeRecord.status.in_(FORMING), ClusterView.kind == "cluster"))}
        columns = [getattr(MemberView, name) for name in MATCHED_COLUMNS]
        rows = session.execute(select(*columns).where(MemberView.node_id.in_(sorted(views)))
                               .order_by(MemberView.node_id, MemberView.member_id).limit(self.max_members + 1)).all()
        if len(rows) > self.max_members:
            log.warning("the hub holds more than matching.max_members (%d) members: suggestions are computed for "
                        "the first %d by key only", self.max_members, self.max_members)
            rows = rows[:self.max_members]
        members = [self.match_member(row, views[row.node_id]) for row in rows]
        return members, {node_id: v.version_id for node_id, v in views.items()}

    def refresh(self, full: bool = False) -> dict:
        """Bring the stored suggestions up to the nodes' current versions (``full``: recompute every member).
        Returns what was done: the nodes changed, the members matched, the members whose lists were rewritten."""
        began = datetime.now(UTC)
        with self.db.session() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MATCH_LOCK})
            else:  # SQLite: take the write lock first, so a second refresh waits and reads what this one wrote
                session.execute(delete(MatchSource).where(false()))
            stored = dict(session.execute(select(MatchSource.node_id, MatchSource.version_id)).all())
            members, versions = self.load_members(session)
            changed_nodes = {n for n, v in versions.items() if stored.get(n) != v} | (set(stored) - set(versions))
            if not changed_nodes and not full:
                return {"changed_nodes": [], "members": len(members), "rewritten": 0}
            previous: dict[str, list[Suggestion]] = {m.key: [] for m in members}
            for key, partner, score in session.execute(
                    select(MatchSuggestion.member_key, MatchSuggestion.partner_key, MatchSuggestion.score)
                    .order_by(MatchSuggestion.member_key, MatchSuggestion.rank)):
                previous.setdefault(key, []).append(Suggestion(key, partner, score))
            scorers = self.scorers
            changed_keys = {m.key for m in members if m.node_id in changed_nodes} | {
                key for key in previous if key.split("/", 1)[0] in changed_nodes}
            if full or not stored:
                result = top_k(members, scorers.scorers, scorers.weights, plugins=scorers.plugins,
                               options=self.options)
            else:
                result = refresh({k: v for k, v in previous.items() if k.split("/", 1)[0] not in changed_nodes},
                                 members, changed_keys, scorers.scorers, scorers.weights, plugins=scorers.plugins,
                                 options=self.options)
            current = {m.key: m for m in members}
            rewrite = [key for key, found in result.items()
                       if full or key in changed_keys or _pairs(found) != _pairs(previous.get(key, []))
                       or any(s.partner in changed_keys for s in found)]
            gone = [key for key in previous if key not in current]
            for chunk in _chunks(rewrite + gone):
                session.execute(delete(MatchSuggestion).where(MatchSuggestion.member_key.in_(chunk)))
            rows = [{"member_key": key, "rank": rank, "member_node_id": current[key].node_id,
                     "member_country": current[key].country, "member_audience": current[key].audience,
                     "partner_key": s.partner, "partner_node_id": current[s.partner].node_id,
                     "partner_country": current[s.partner].country, "partner_audience": current[s.partner].audience,
                     "score": s.score, "reasons": [r.as_dict() for r in s.reasons], "computed_at": began}
                    for key in rewrite for rank, s in enumerate(result[key], start=1)]
            for chunk in _chunks(rows, 2000):
                session.execute(insert(MatchSuggestion), chunk)
            session.execute(delete(MatchSource))
            if versions:
                session.execute(insert(MatchSource), [{"node_id": n, "version_id": v} for n, v in versions.items()])
        log.info("matchmaking: %d node(s) changed, %d member(s), %d list(s) rewritten", len(changed_nodes),
                 len(members), len(rewrite))
        return {"changed_nodes": sorted(changed_nodes), "members": len(members), "rewritten": len(rewrite)}

    def refresh_quietly(self, *_args: Any) -> None:
        """:meth:`refresh` after a harvest or a decision: a failure is logged, never the caller's (the next call
        catches up, as the stored versions still differ)."""
        try:
            self.refresh()
        except Exception:
            log.exception("matchmaking: the suggestions were not refreshed (the next harvest tries again)")

    # -- reading ----------------------------------------------------------------------------------------------------

    def suggestions(self, subject: str, key: str, federation: bool, country: str | None = None,
                    limit: int | None = None, page: int = 1, page_size: int | None = None) -> dict:
        """The suggestions of a member (``NODE/ID``), of a cluster's members or of a meta-cluster's members, best
        first, grouped by member; ``country`` keeps partners of that country, ``limit`` the best of each member
        (at most ``matching.k``); groups are paged (``page_size`` at most ``matching.max_page_size``)."""
        if subject not in SUBJECTS:
            raise ValidationError(f"give one of {', '.join(SUBJECTS)}", {"subject": [subject]})
        limit = self.options.k if limit is None else limit
        page_size = self.page_size if page_size is None else page_size
        if not 1 <= limit <= self.options.k:
            raise ValidationError(f"limit must be between 1 and matching.k ({self.options.k})", {"limit": [limit]})
        if not 1 <= page_size <= self.max_page_size or page < 1:
            raise ValidationError(f"page must be at least 1 and page_size between 1 and matching.max_page_size "
                                  f"({self.max_page_size})", {"page_size": [page_size]})
        country = country.upper() if country else None
        with self.db.session() as session:
            described, query = self._subject(session, subject, key, federation)
            query = query.where(MatchSuggestion.rank <= self.options.k)
            if not federation:
                query = query.where(MatchSuggestion.member_audience == "public",
                                    MatchSuggestion.partner_audience == "public")
            if country:
                query = query.where(MatchSuggestion.partner_country == country)
            rows = session.scalars(query.order_by(MatchSuggestion.member_key, MatchSuggestion.rank)).all()
            keys = {r.member_key for r in rows} | {r.partner_key for r in rows}
            people = self._members(session, keys, federation)
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            member, partner = people.get(row.member_key), people.get(row.partner_key)
            if member is None or partner is None or len(groups[row.member_key]) >= limit:
                continue  # gone from the view since, or hidden from this reader now
            groups[row.member_key].append({"rank": row.rank, "score": row.score, "partner": partner,
                                           "reasons": row.reasons})
        ordered = sorted((k for k in groups if groups[k]), key=lambda k: (-groups[k][0]["score"], k))
        start = (page - 1) * page_size
        return {"subject": described, "country": country, "page": page, "page_size": page_size,
                "total": len(ordered),
                "groups": [{"member": people[k], "suggestions": groups[k]} for k in ordered[start:start + page_size]]}

    def _subject(self, session, subject: str, key: str, federation: bool):
        base = select(MatchSuggestion)
        if subject == "member":
            node_ref, _, member_id = key.partition("/")
            view = _cluster_view(session, node_ref)
            row = session.get(MemberView, (view.node_id, member_id)) if member_id else None
            if row is None or (not federation and row.audience != "public"):
                raise NotFound(f"cluster {view.cluster_id!r} shares no member {member_id!r} with the hub "
                               f"(a member is NODE/ID)")
            return ({"kind": "member", "key": f"{view.node_id}/{member_id}", "country": view.country},
                    base.where(MatchSuggestion.member_key == f"{view.node_id}/{member_id}"))
        if subject == "cluster":
            view = _cluster_view(session, key)
            return ({"kind": "cluster", "key": view.cluster_id, "node_id": view.node_id, "country": view.country},
                    base.where(MatchSuggestion.member_node_id == view.node_id))
        row = session.get(MetaClusterRow, key) or session.scalar(
            select(MetaClusterRow).where(MetaClusterRow.value_chain == key))
        if row is None:
            raise NotFound(f"no meta-cluster {key!r} (see /api/v1/metaclusters?formed=all)")
        placed = select(PlacementRow.node_id, PlacementRow.member_id).where(
            PlacementRow.metacluster_id == row.id, PlacementRow.subject.in_(("member", "knowledge")))
        keys = sorted(f"{n}/{m}" for n, m in session.execute(placed))
        return ({"kind": "metacluster", "key": row.id, "countries": row.countries},
                base.where(MatchSuggestion.member_key.in_(keys)))

    @staticmethod
    def _members(session, keys: set[str], federation: bool) -> dict[str, dict]:
        """Each key's member as a suggestion shows it (never a contact field), if this reader may see it now."""
        pairs = sorted(tuple(k.split("/", 1)) for k in keys)
        out: dict[str, dict] = {}
        for chunk in _chunks(pairs):
            query = (select(MemberView.node_id, MemberView.member_id, MemberView.name, MemberView.kind,
                            MemberView.audience, ClusterView.cluster_id, ClusterView.country)
                     .join(ClusterView, ClusterView.node_id == MemberView.node_id)
                     .where(tuple_(MemberView.node_id, MemberView.member_id).in_(chunk)))
            if not federation:
                query = query.where(MemberView.audience == "public")
            for node_id, member_id, name, kind, audience, cluster_id, country in session.execute(query):
                out[f"{node_id}/{member_id}"] = {"key": f"{node_id}/{member_id}", "node_id": node_id,
                                                 "cluster_id": cluster_id, "country": country, "name": name,
                                                 "kind": kind, "audience": audience}
        return out


def _cluster_view(session, ref: str) -> ClusterView:
    view = session.get(ClusterView, ref) or session.scalar(select(ClusterView).where(ClusterView.cluster_id == ref))
    status = session.scalar(select(NodeRecord.status).where(NodeRecord.id == view.node_id)) if view else None
    if view is None or status not in FORMING:
        raise NotFound(f"no cluster {ref!r} at the hub (by cluster id or node id)")
    return view


def _pairs(found: Iterable[Suggestion]) -> list[tuple[str, float]]:
    return [(s.partner, round(s.score, 6)) for s in found]


def _chunks(items: list, size: int = 500):
    return (items[i:i + size] for i in range(0, len(items), size))
