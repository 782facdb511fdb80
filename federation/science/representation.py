"""How well knowledge entities represent a meta-cluster: per country, per stage, the triple-helix mix, and the
(stage, country) pairs no knowledge entity supports; for the meta-cluster and for each of its clusters.

Input: the meta-cluster's full document (``federation.formation.full_assessment``, as ``HubQueries.metacluster()``
returns it: ``clusters`` with ``country``, ``members`` and ``knowledge_members`` with ``kind``, ``country``,
``node_id``, ``stages``), the knowledge entities the hub knows (every source) and the value chain.

Who serves the meta-cluster: the knowledge members formation placed in it (``knowledge_members``: entities of
source ``member``; an entry the caller gave no entity for is read from the document), and every entity that says it
serves the chain (``serves``: a knowledge node's or hosted profile's ``value_chains`` and stage claims).

Counting is by organisation (:func:`federation.science.identity.canonical`): entities joined by same-as links are one
organisation, counted once in the meta-cluster's total, once in each country where one of its serving entities is,
once in each cluster that lists it. An organisation supports the stages any of its entities is linked to
(:func:`federation.science.stages.place_entity`, plus the stages formation found for a knowledge member's
activities and offers): its own node's research domains count for the member a cluster lists.

The triple helix (industry, knowledge, government) is counted on the chain members and the knowledge
organisations: ``companies`` are the kinds in :data:`COMPANY_KINDS`, ``knowledge`` the organisations above, and
``public_support`` the kinds in :data:`PUBLIC_SUPPORT_KINDS`. Investors go with public and support bodies: they
neither produce on the chain nor do research, and in the cluster programmes this serves most of them are public or
development funds and business angels' networks that, like support organisations, intermediate between the two
other helices; counting them as companies would swell the industry helix with actors that are not on the chain.

Pure functions: no database, no web.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..domain import KnowledgeEntity, ValueChain
from ..taxonomy import TaxonomyIndex
from .identity import SameAs, canonical, same_as_links
from .stages import HOW, StageLink, place_entity

COMPANY_KINDS = ("sme", "startup", "large_company")
PUBLIC_SUPPORT_KINDS = ("support_organisation", "public_body", "investor")
#: Digits kept in ratios (per 100 members) and shares.
PER_100_DIGITS = 1
SHARE_DIGITS = 3


@dataclass
class Organisation:
    """One knowledge organisation serving a meta-cluster: its entities, where they serve and what they support."""

    key: str  # the canonical entity key
    name: str
    kind: str
    entities: list[KnowledgeEntity] = field(default_factory=list)  # every entity of it (serving or not)
    serving: list[KnowledgeEntity] = field(default_factory=list)  # those that serve the meta-cluster
    links: list[StageLink] = field(default_factory=list)

    @property
    def countries(self) -> list[str]:
        return sorted({e.country for e in self.serving})

    @property
    def stages(self) -> set[str]:
        return {link.stage for link in self.links}

    def serves_cluster(self, node_id: str) -> bool:
        return any(e.source == "member" and e.cluster_node_id == node_id for e in self.serving)

    def as_dict(self, stage_ids: Sequence[str]) -> dict:
        return {"key": self.key, "name": self.name, "kind": self.kind, "countries": self.countries,
                "stages": [s for s in stage_ids if s in self.stages],
                "entities": sorted(e.key for e in self.serving),
                "links": [link.as_dict() for link in self.links]}


def entity_from_entry(entry: Mapping) -> KnowledgeEntity:
    """A knowledge member of a meta-cluster document as an entity (what the document says of it: no domains)."""
    return KnowledgeEntity(key=entry["id"], source="member", name=entry["name"], kind=entry["kind"],
                           country=entry["country"], city=entry.get("city"), cluster_node_id=entry.get("node_id"),
                           audience=entry.get("audience", "public"))


def serving_organisations(document: Mapping, entities: Iterable[KnowledgeEntity], chain: ValueChain,
                          taxonomies: TaxonomyIndex, links: Iterable[SameAs] | None = None) -> list[Organisation]:
    """The organisations serving the meta-cluster of ``document`` (see the module docstring), by canonical key."""
    known = {e.key: e for e in entities}
    entries = {entry["id"]: entry for entry in _list(document, "knowledge_members")}
    for key, entry in entries.items():
        known.setdefault(key, entity_from_entry(entry))
    mapping = canonical(known.values(), same_as_links(known.values()) if links is None else links)
    organisations: dict[str, Organisation] = {}
    for entity in sorted(known.values(), key=lambda e: e.key):
        representative = known[mapping[entity.key]]
        org = organisations.setdefault(mapping[entity.key], Organisation(
            representative.key, representative.name, representative.kind))
        org.entities.append(entity)
        if entity.key in entries or chain.id in entity.serves:
            org.serving.append(entity)
    out = []
    for org in organisations.values():
        if not org.serving:
            continue
        found: dict[tuple[str, str, str], StageLink] = {}
        for entity in org.entities:
            for link in place_entity(entity, chain, taxonomies):
                found.setdefault((link.stage, link.how, link.evidence), link)
        by_activity = {stage for stage, how, _evidence in found if how == "activity"}
        for entity in org.entities:  # what formation found (offers too), where the entities' own codes did not
            entry = entries.get(entity.key)
            for stage in (entry.get("stages") or ()) if entry else ():
                if stage not in by_activity:
                    evidence = "its activities or offers"
                    found.setdefault((stage, "activity", evidence), StageLink(
                        stage, "activity", f"{evidence} fall in {stage}, as its cluster lists them", evidence))
        order = {s.id: position for position, s in enumerate(chain.stages)}
        org.links = sorted((link for link in found.values() if link.stage in order),
                           key=lambda link: (order[link.stage], HOW.index(link.how), link.evidence))
        out.append(org)
    return out


def representation(document: Mapping, entities: Iterable[KnowledgeEntity], chain: ValueChain,
                   taxonomies: TaxonomyIndex, links: Iterable[SameAs] | None = None) -> dict:
    """The figures of the meta-cluster ``document`` (see the module docstring), then ``clusters``: the same figures
    for each of its clusters, in the document's order. ``links``: the same-as links to count by (computed from
    ``entities`` when not given)."""
    organisations = serving_organisations(document, entities, chain, taxonomies, links)
    stage_ids = [s.id for s in chain.stages]
    members = _list(document, "members")
    countries = sorted(set(document.get("countries") or ()) | {m["country"] for m in members})
    out = figures(members, [(org, org.countries) for org in organisations], stage_ids, countries)
    out["organisations"] = [org.as_dict(stage_ids) for org in organisations]
    out["clusters"] = []
    for cluster in document.get("clusters") or ():
        node_id, country = cluster["node_id"], cluster["country"]
        mine = [m for m in members if m.get("node_id") == node_id]
        orgs = [(org, [country]) for org in organisations if org.serves_cluster(node_id)]
        out["clusters"].append({"id": cluster["id"], "node_id": node_id, "name": cluster.get("name"),
                                "country": country, **figures(mine, orgs, stage_ids, [country])})
    return out


def figures(members: Sequence[Mapping], organisations: Sequence[tuple[Organisation, Sequence[str]]],
            stage_ids: Sequence[str], countries: Sequence[str]) -> dict:
    """The figures of one whole (a meta-cluster, or one cluster): ``members`` its chain-member entries,
    ``organisations`` each with the countries it counts in there."""
    by_country: dict[str, dict] = {}
    for country in sorted(set(countries) | {c for _org, where in organisations for c in where}):
        chain_members = sum(1 for m in members if m["country"] == country)
        knowledge = sum(1 for _org, where in organisations if country in where)
        by_country[country] = {"members": chain_members, "knowledge": knowledge,
                               "per_100": _per_100(knowledge, chain_members)}
    by_stage: dict[str, dict] = {}
    supported: set[tuple[str, str]] = set()
    for stage in stage_ids:
        supporting = [(org, where) for org, where in organisations if stage in org.stages]
        stage_countries = sorted({c for _org, where in supporting for c in where})
        supported |= {(stage, c) for c in stage_countries}
        by_stage[stage] = {"knowledge": len(supporting), "countries": stage_countries}
    companies = sum(1 for m in members if m.get("kind") in COMPANY_KINDS)
    public_support = sum(1 for m in members if m.get("kind") in PUBLIC_SUPPORT_KINDS)
    helix = {"companies": companies, "knowledge": len(organisations), "public_support": public_support}
    total = sum(helix.values())
    return {
        "knowledge_per_100_members": _per_100(len(organisations), len(members)),
        "by_country": by_country,
        "by_stage": by_stage,
        "triple_helix": {**helix, "shares": {name: round(count / total, SHARE_DIGITS) if total else None
                                             for name, count in helix.items()}},
        "unsupported": [{"stage": stage, "country": country} for stage in stage_ids for country in countries
                        if (stage, country) not in supported],
    }


def _per_100(knowledge: int, members: int) -> float | None:
    """Knowledge organisations per 100 chain members; ``None`` where there is no member to divide by."""
    return round(100 * knowledge / members, PER_100_DIGITS) if members else None


def _list(document: Mapping, key: str) -> list:
    if key not in document:
        raise ValueError(f"a meta-cluster's full document is needed (with {key!r}), as HubQueries.metacluster() "
                         "gives it; the exported shape lacks the member lists")
    return list(document[key])
