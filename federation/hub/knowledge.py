"""The knowledge entities the hub knows: a directory over its tables, for one audience.

Three sources (:data:`federation.domain.KNOWLEDGE_SOURCES`), each read as
:class:`~federation.domain.KnowledgeEntity`:

- ``member``: a member of a cluster's profile whose kind is a knowledge kind (key ``<node_id>/<member_id>``);
- ``node``: a knowledge node, a ``ClusterView`` of kind ``knowledge`` (key ``<node_id>``);
- ``hosted``: a profile the hub hosts (key ``hosted:<id>``, :mod:`federation.hub.hosted`).

Only nodes that take part (active or paused) count. An anonymous reader's directory holds public members only, and
of knowledge nodes and hosted profiles the public rendering of their block
(:func:`federation.profile.knowledge.public_rendering`, :func:`federation.profile.knowledge.rendering`): what an
audience may not see never reaches the science functions, so no stage link, same-as link or figure is made of it.

Same-as links are computed on read (:func:`federation.science.identity.same_as_links`), not stored: hosted
profiles change outside any harvest or formation, so a stored table would need refreshing on every write of three
sources, while the computation is one pass over the entities (buckets by identifier, website, name and city). The
work of one request is bounded by ``knowledge.max_entities``: past it the directory is cut (members first, then
knowledge nodes, then hosted profiles, each by key) and a warning is logged; a value shared by more than
``knowledge.max_same_as_shared`` entities links none of them (the pairs of one value are the links' work).
Entities are never merged: each keeps its key and what its source says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select

from ..domain import KNOWLEDGE_KINDS, Activity, KnowledgeEntity
from ..errors import NotFound
from ..profile.knowledge import public_rendering, rendering
from ..registry import Registry
from ..science.identity import SameAs, canonical, same_as_links
from ..science.stages import place_entity
from .knowledge_tables import HOSTED_PREFIX, HostedEntity
from .models import ClusterView, MemberView, NodeRecord
from .nodes import FORMING

log = logging.getLogger(__name__)


def _name(names: Mapping) -> str:
    return names.get("en") or next(iter(names.values()), "")


def _identifiers(block: Mapping | None) -> dict[str, str]:
    return {key: value for key, value in ((block or {}).get("identifiers") or {}).items() if value}


def _activities(codes: Iterable[Mapping] | None) -> tuple[Activity, ...]:
    return tuple(Activity(code["scheme"], code["code"]) for code in codes or ())


def _serves(value_chains: Iterable[str] | None, block: Mapping) -> dict[str, tuple[str, ...]]:
    """Chain -> the stages claimed: every chain of the identity's ``value_chains``, with the block's claims."""
    serves: dict[str, tuple[str, ...]] = dict.fromkeys(value_chains or (), ())
    for served in block.get("serves") or ():
        serves[served["value_chain"]] = tuple(served.get("stages") or ())
    return serves


def entity_from_block(key: str, source: str, names: Mapping, country: str, website: str | None,
                      value_chains: Iterable[str] | None, block: Mapping) -> KnowledgeEntity:
    """A knowledge node's or hosted profile's entity, from its identity and its block as the reader may see it."""
    return KnowledgeEntity(key=key, source=source, name=_name(names), kind=block["kind"], country=country,
                           city=block.get("city"), website=website, identifiers=_identifiers(block),
                           research_domains=tuple(block.get("research_domains") or ()),
                           activities=_activities(block.get("activities")),
                           keywords=tuple(block.get("keywords") or ()), services=tuple(block.get("services") or ()),
                           serves=_serves(value_chains, block), audience="public")


def entity_from_member(row: MemberView, country: str) -> KnowledgeEntity:
    return KnowledgeEntity(key=f"{row.node_id}/{row.member_id}", source="member", name=row.name, kind=row.kind,
                           country=country, city=row.city, website=row.website,
                           identifiers={k: v for k, v in (row.identifiers or {}).items() if v},
                           research_domains=tuple(row.research_domains or ()),
                           activities=_activities(row.activities), cluster_node_id=row.node_id,
                           audience=row.audience)


def hosted_entity(row: HostedEntity, federation: bool) -> KnowledgeEntity:
    block = rendering(row.block, row.visibility, "federation" if federation else "public")
    return entity_from_block(row.key, "hosted", row.names, row.country, row.website, row.value_chains, block)


@dataclass
class Directory:
    """The entities one reader may see, their same-as links and the organisation each belongs to."""

    entities: dict[str, KnowledgeEntity]
    links: list[SameAs]
    organisation: dict[str, str] = field(default_factory=dict)  # key -> canonical key
    truncated: bool = False

    def get(self, key: str) -> KnowledgeEntity:
        entity = self.entities.get(key)
        if entity is None:
            raise NotFound(f"no knowledge entity {key!r} at the hub (keys: <node_id>/<member_id>, <node_id>, "
                           f"hosted:<id>; see /api/v1/knowledge-entities)")
        return entity

    def same_as(self, key: str) -> list[dict]:
        """The links that name ``key``, each as the other entity and what matched."""
        return [{"key": link.b if link.a == key else link.a, "matched": list(link.matched), "reason": link.reason}
                for link in self.links if key in (link.a, link.b)]

    def group(self, key: str) -> list[str]:
        """Every key of ``key``'s organisation (itself included), sorted."""
        mine = self.organisation.get(key, key)
        return sorted(k for k, org in self.organisation.items() if org == mine)


class KnowledgeDirectory:
    """Reads the knowledge entities of the hub's tables (see the module docstring)."""

    def __init__(self, db, registry: Registry, max_entities: int, max_same_as_shared: int):
        self.db = db
        self.registry = registry
        self.max_entities = max_entities
        self.max_same_as_shared = max_same_as_shared

    def load(self, federation: bool) -> Directory:
        """Every entity ``federation`` (a federation reader) or an anonymous reader may see, with the links."""
        entities: list[KnowledgeEntity] = []
        budget = self.max_entities + 1  # one more than the bound tells a cut directory from a full one
        with self.db.session() as session:
            query = (select(MemberView, ClusterView.country)
                     .join(ClusterView, ClusterView.node_id == MemberView.node_id)
                     .join(NodeRecord, NodeRecord.id == MemberView.node_id)
                     .where(NodeRecord.status.in_(FORMING), MemberView.kind.in_(sorted(KNOWLEDGE_KINDS)))
                     .order_by(MemberView.node_id, MemberView.member_id).limit(budget))
            if not federation:
                query = query.where(MemberView.audience == "public")
            entities += [entity_from_member(row, country) for row, country in session.execute(query)]
            views = session.scalars(select(ClusterView).join(NodeRecord, NodeRecord.id == ClusterView.node_id)
                                    .where(NodeRecord.status.in_(FORMING), ClusterView.kind == "knowledge",
                                           ClusterView.knowledge.is_not(None))
                                    .order_by(ClusterView.node_id).limit(max(budget - len(entities), 0)))
            for view in views:
                block = view.knowledge if federation else public_rendering(view.knowledge)
                entities.append(entity_from_block(view.node_id, "node", view.names, view.country, view.website,
                                                  view.value_chains, block))
            hosted = session.scalars(select(HostedEntity).order_by(HostedEntity.id)
                                     .limit(max(budget - len(entities), 0)))
            entities += [hosted_entity(row, federation) for row in hosted]
        truncated = len(entities) > self.max_entities
        if truncated:
            log.warning("the hub knows more than knowledge.max_entities (%d) knowledge entities: same-as links, "
                        "figures and suggestions are computed over the first %d only", self.max_entities,
                        self.max_entities)
            entities = entities[:self.max_entities]
        links = same_as_links(entities, self.max_same_as_shared)
        return Directory({e.key: e for e in entities}, links, canonical(entities, links), truncated)

    def entity_dict(self, directory: Directory, key: str) -> dict:
        """One entity as the API serves it: what its source says, its stage links per value chain (with the reasons
        of :func:`federation.science.stages.place_entity`), its same-as links and its organisation."""
        entity = directory.get(key)
        stage_links = {}
        for chain_id, chain in sorted(self.registry.value_chains.items()):
            links = place_entity(entity, chain, self.registry.taxonomies)
            if links:
                stage_links[chain_id] = [link.as_dict() for link in links]
        return {"key": entity.key, "source": entity.source, "name": entity.name, "kind": entity.kind,
                "country": entity.country, "city": entity.city, "website": entity.website,
                "identifiers": dict(entity.identifiers), "research_domains": list(entity.research_domains),
                "activities": [str(a) for a in entity.activities], "keywords": list(entity.keywords),
                "services": list(entity.services), "serves": {c: list(s) for c, s in entity.serves.items()},
                "cluster_node_id": entity.cluster_node_id, "audience": entity.audience,
                "stage_links": stage_links, "same_as": directory.same_as(key),
                "organisation": directory.organisation.get(key, key), "same_organisation": directory.group(key)}

    def page(self, federation: bool, offset: int, limit: int | None,
             source: str | None = None) -> tuple[int, list[dict]]:
        """``(total, a window of entities by key)``, of one source when given (every one when ``limit`` is None)."""
        directory = self.load(federation)
        keys = sorted(k for k, e in directory.entities.items() if source is None or e.source == source)
        window = keys[offset:] if limit is None else keys[offset:offset + limit]
        return len(keys), [self.entity_dict(directory, key) for key in window]

    def one(self, key: str, federation: bool) -> dict:
        return self.entity_dict(self.load(federation), key)


def is_hosted(key: str) -> bool:
    return key.startswith(HOSTED_PREFIX)
