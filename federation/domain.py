"""Plain domain objects shared by the hub's aggregation and the rule plugins (no framework, no database)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

#: Universities, research centres, technology centres and technology-transfer offices: the knowledge side of the
#: triple helix, whether a cluster lists them as members, they run a knowledge node or the hub hosts their profile.
KNOWLEDGE_ENTITY_KINDS = ("university", "research_centre", "technology_centre", "tto")
KNOWLEDGE_KINDS = frozenset(KNOWLEDGE_ENTITY_KINDS)
#: How the hub sees a knowledge entity: a cluster's member, a knowledge node, or a profile the hub hosts.
KNOWLEDGE_SOURCES = ("member", "node", "hosted")
#: The code list of research domains (a stage's ``fields``, a knowledge entity's ``research_domains``): the OECD
#: Fields of Research and Development, provided by a taxonomy plugin under this scheme.
RESEARCH_FIELDS_SCHEME = "ford"
MEMBER_KINDS = ("sme", "startup", "large_company", "university", "research_centre", "technology_centre", "tto",
                "support_organisation", "investor", "public_body")
LANGUAGES = ("en", "fr", "ar")
#: What a stage is to its chain: "core" stages define the chain (a member there makes its cluster a candidate);
#: "enabling" (packaging, logistics) and "support" (R&D, training) stages serve many chains.
STAGE_KINDS = ("core", "enabling", "support")


@dataclass(frozen=True)
class Stage:
    """One step of a value chain, defined by activity-code prefixes already normalised to the pivot scheme, and the
    research fields (FORD codes, :data:`RESEARCH_FIELDS_SCHEME`) that support it: a field covers itself and every
    field under it ("4" covers "4.1")."""

    id: str
    names: Mapping[str, str]
    kind: str  # "core" (defines the chain), "enabling" (packaging, logistics) or "support" (R&D, training)
    prefixes: frozenset[str]
    fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ValueChain:
    id: str
    names: Mapping[str, str]
    stages: tuple[Stage, ...]
    ecosystem: str | None = None
    description: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def name(self) -> str:
        return self.names.get("en") or self.id


@dataclass(frozen=True, slots=True)
class Activity:
    scheme: str
    code: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.code}"


@dataclass(frozen=True, slots=True)
class Member:
    """A member as the hub holds it from the cluster's latest accepted profile."""

    node_id: str
    id: str
    kind: str
    name: str
    country: str
    activities: tuple[Activity, ...] = ()
    offer_codes: tuple[Activity, ...] = ()
    text: str = ""  # name and offers, lower-cased: what keyword rules read
    status: str = "active"
    last_active: date | None = None
    city: str | None = None
    audience: str = "public"  # who may read it at the hub: public, or federation readers only

    @property
    def is_knowledge(self) -> bool:
        return self.kind in KNOWLEDGE_KINDS

    @property
    def key(self) -> str:
        return f"{self.node_id}/{self.id}"


@dataclass(frozen=True)
class Cluster:
    node_id: str
    id: str
    name: str
    country: str
    value_chains: tuple[str, ...]
    members: tuple[Member, ...]


@dataclass(frozen=True)
class Decision:
    """A rule's verdict with the reason a person can read; ``rule`` names who decided."""

    passed: bool
    rule: str
    reason: str

    def as_dict(self) -> dict:
        return {"passed": self.passed, "rule": self.rule, "reason": self.reason}


@dataclass(frozen=True)
class Placement:
    """A member placed in a sub-cluster, and why."""

    sub_cluster: str
    rule: str
    reason: str
    notes: tuple[str, ...] = ()  # what it could not decide (a coarse code between rules)


@dataclass(frozen=True)
class KnowledgeEntity:
    """A university, research centre, technology centre or TTO as the hub sees it, from one source.

    ``key`` is ``"<node_id>/<member_id>"`` (source ``member``: a cluster lists it), ``"<node_id>"`` (``node``: it runs
    a knowledge node) or ``"hosted:<id>"`` (``hosted``: the hub hosts its profile). The same organisation seen from
    two sources is two entities joined by a same-as link (``federation.science.identity``), never merged.
    """

    key: str
    source: str  # one of KNOWLEDGE_SOURCES
    name: str
    kind: str  # one of KNOWLEDGE_ENTITY_KINDS
    country: str
    city: str | None = None
    website: str | None = None
    identifiers: Mapping[str, str] = field(default_factory=dict)  # "ror", "national_id"
    research_domains: tuple[str, ...] = ()  # FORD codes ("2.9")
    activities: tuple[Activity, ...] = ()
    keywords: tuple[str, ...] = ()
    services: tuple[str, ...] = ()  # testing, training, contract_research ...
    serves: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # value chain -> the stages it claims
    cluster_node_id: str | None = None  # the cluster it is a member of (source "member")
    audience: str = "public"  # "public", or "federation" (federation readers only)

    @property
    def origin(self) -> str:
        """Who published it: a member's node, a knowledge node, or the hosted profile itself. Two entities of one
        origin are two organisations by that publisher's own account, so they are never linked as the same."""
        if self.source == "member":
            return self.cluster_node_id or self.key.split("/", 1)[0]
        return self.key
