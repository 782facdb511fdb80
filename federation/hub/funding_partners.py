"""Who a meta-cluster or a pilot could apply with: its :class:`~federation.eligibility.Consortium`, from the hub's
data, for one audience.

- a meta-cluster: its clusters (each a partner of kind ``support_organisation``, ``CLUSTER_KIND``), their active
  members on the chain, and its knowledge members (those formation placed and the invitees that accepted:
  :class:`~federation.hub.knowledge_figures.KnowledgeFigures`);
- a pilot: its accepted clusters, their active members on the meta-cluster's chain, and its knowledge participants.

An anonymous reader's consortium is the public view of the meta-cluster (public members only). A knowledge
organisation seen twice (same-as links) is one partner. Each partner carries its activity and offer codes as pivot
classes and the words of its name, offers and keywords, for the topic rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select

from ..domain import Activity
from ..eligibility import CLUSTER_KIND, Consortium, Partner
from ..registry import Registry
from .knowledge import Directory
from .knowledge_figures import KnowledgeFigures
from .models import MemberView
from .pilots import TAKING_PART, PilotService


class ConsortiumReader:
    """Builds consortia (see the module docstring)."""

    def __init__(self, db, registry: Registry, figures: KnowledgeFigures, pilots: PilotService):
        self.db = db
        self.registry = registry
        self.figures = figures
        self.pilots = pilots

    def of_metacluster(self, metacluster_id: str, federation: bool) -> tuple[Consortium, Directory]:
        """404 for an unknown meta-cluster (by id or value chain)."""
        document, directory = self.figures.document_and_directory(metacluster_id, federation)
        clusters = [(c["node_id"], c["name"], c["country"]) for c in document["clusters"]]
        partners = self._partners(document, directory, clusters, [k["id"] for k in document["knowledge_members"]])
        return Consortium(document["id"], "metacluster", document["id"], document["value_chain"], partners), directory

    def of_pilot(self, pilot_id: str) -> tuple[Consortium, Directory]:
        """A pilot's consortium (federation readers only: pilots are); 404 for an unknown pilot, or when its
        meta-cluster is no longer assessed."""
        pilot = self.pilots.get(pilot_id)
        document, directory = self.figures.document_and_directory(pilot["metacluster_id"], True)
        clusters = [(p["key"], p["name"], p["country"] or "") for p in pilot["participants"]
                    if p["kind"] == "cluster" and p["status"] == "accepted"]
        knowledge = [p["key"] for p in pilot["participants"] if p["kind"] == "knowledge" and p["status"] in TAKING_PART]
        partners = self._partners(document, directory, clusters, knowledge)
        return Consortium(pilot["id"], "pilot", pilot["name"], document["value_chain"], partners), directory

    def _partners(self, document: dict, directory: Directory, clusters: list[tuple[str, str, str]],
                  knowledge: list[str]) -> tuple[Partner, ...]:
        node_ids = {node_id for node_id, _name, _country in clusters}
        members = [m for m in document["members"] if m["node_id"] in node_ids and m.get("status") == "active"]
        listed = {k["id"]: k for k in document["knowledge_members"]}
        rows = self._rows({m["id"] for m in members} | {k for k in knowledge if "/" in k})
        out = [Partner(node_id, name, CLUSTER_KIND, country, "cluster", words=name.casefold())
               for node_id, name, country in clusters]
        for m in members:
            codes, words = rows.get(m["id"], (frozenset(), m["name"].casefold()))
            out.append(Partner(m["id"], m["name"], m["kind"], m["country"], "member", codes, words,
                               m.get("audience", "public")))
        organisations: set[str] = set()
        for key in knowledge:
            organisation = directory.organisation.get(key, key)
            if organisation in organisations:
                continue  # the same organisation, seen from another source
            organisations.add(organisation)
            entity = directory.entities.get(key)
            if entity is not None:
                codes = self.pivot_classes(entity.activities)
                words = " ".join([entity.name, *entity.keywords]).casefold()
                if key in rows:
                    codes, words = codes | rows[key][0], words + " " + rows[key][1]
                out.append(Partner(key, entity.name, entity.kind, entity.country, "knowledge", codes, words,
                                   entity.audience))
            elif key in listed:  # a knowledge member formation placed, not in this reader's directory
                entry = listed[key]
                codes, words = rows.get(key, (frozenset(), entry["name"].casefold()))
                out.append(Partner(key, entry["name"], entry["kind"], entry["country"], "knowledge", codes, words,
                                   entry.get("audience", "public")))
        return tuple(out)

    def _rows(self, keys: Iterable[str]) -> dict[str, tuple[frozenset[str], str]]:
        """``{"<node_id>/<member_id>": (pivot classes, words)}`` from the hub's member rows."""
        by_node: dict[str, list[str]] = {}
        for key in keys:
            node_id, _, member_id = key.partition("/")
            by_node.setdefault(node_id, []).append(member_id)
        out = {}
        with self.db.session() as session:
            for node_id, ids in by_node.items():
                for row in session.scalars(select(MemberView).where(MemberView.node_id == node_id,
                                                                    MemberView.member_id.in_(ids))):
                    out[f"{node_id}/{row.member_id}"] = member_codes_and_words(row, self.pivot_classes)
        return out

    def pivot_classes(self, activities: Iterable[Activity | Mapping]) -> frozenset[str]:
        """Codes (``Activity`` or ``{"scheme", "code"}``) as the finest pivot classes they stand for; a code of a
        scheme the hub does not load stands for none."""
        taxonomies = self.registry.taxonomies
        out: set[str] = set()
        for activity in activities:
            scheme, code = ((activity.scheme, activity.code) if isinstance(activity, Activity)
                            else (str(activity.get("scheme")), str(activity.get("code"))))
            if taxonomies.check(scheme, code) is None:
                out |= set(taxonomies.classes(scheme, code))
        return frozenset(out)


def member_codes_and_words(row: MemberView, pivot_classes) -> tuple[frozenset[str], str]:
    """A member row's activity and offer codes as pivot classes, and its name and offers as lower-cased words."""
    offers = row.offers or []
    codes = pivot_classes([*(row.activities or []), *(c for item in offers for c in item.get("codes") or [])])
    words = " ".join([row.name or "", *(str(item.get("text") or "") for item in offers)]).casefold()
    return codes, words
