"""A meta-cluster's knowledge members and its scientific representation, as the hub serves them.

The knowledge members of a meta-cluster are those formation placed there (the knowledge-kind members of its
clusters) and the entities that accepted an invitation to it (:mod:`federation.hub.invitations`), listed with
``"via": "invitation"`` and ``accepted_at``. The figures are :func:`federation.science.representation.representation`
over them and every entity that says it serves the chain, counted once per organisation (same-as links), for the
meta-cluster and each of its clusters. Both are made for one audience: an anonymous reader's from the public view of
the meta-cluster and the public directory (:class:`federation.hub.knowledge.KnowledgeDirectory`).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from ..errors import NotFound
from ..registry import Registry
from ..science.representation import representation
from ..science.stages import place_entity, stages_of
from .knowledge import Directory, KnowledgeDirectory
from .knowledge_tables import KnowledgeInvitation
from .queries import HubQueries, export_metacluster


class KnowledgeFigures:
    """Adds accepted invitees and the ``scientific_representation`` object to meta-cluster documents."""

    def __init__(self, db, registry: Registry, directory: KnowledgeDirectory, queries: HubQueries):
        self.db = db
        self.registry = registry
        self.directory = directory
        self.queries = queries

    def accepted(self, metacluster_ids: list[str]) -> dict[str, list[KnowledgeInvitation]]:
        """Accepted invitations per meta-cluster id."""
        out: dict[str, list[KnowledgeInvitation]] = {mc: [] for mc in metacluster_ids}
        if not metacluster_ids:
            return out
        with self.db.session() as session:
            rows = session.scalars(select(KnowledgeInvitation).where(
                KnowledgeInvitation.metacluster_id.in_(metacluster_ids), KnowledgeInvitation.status == "accepted")
                .order_by(KnowledgeInvitation.entity_key))
            for row in rows:
                out[row.metacluster_id].append(row)
        return out

    def with_invitees(self, document: dict, directory: Directory, accepted: list[KnowledgeInvitation]) -> dict:
        """``document`` (a full one, as the reader may see it) with the accepted entities the reader may see
        among its knowledge members, each once (one formation lists already stays as it is)."""
        chain = self.registry.value_chains.get(document["value_chain"])
        listed = {k["id"] for k in document["knowledge_members"]}
        added = []
        for invitation in accepted:
            entity = directory.entities.get(invitation.entity_key)
            if entity is None or entity.key in listed:
                continue  # gone from the hub, not for this reader, or a member formation lists anyway
            stages = stages_of(place_entity(entity, chain, self.registry.taxonomies)) if chain else []
            node_id = entity.cluster_node_id or (None if entity.source == "hosted" else entity.key)
            added.append({"id": entity.key, "member_id": entity.key.split("/", 1)[1] if entity.source == "member"
                          else None, "name": entity.name, "kind": entity.kind, "country": entity.country,
                          "cluster_id": None, "node_id": node_id, "city": entity.city, "status": "active",
                          "stages": stages, "audience": entity.audience,
                          "reason": f"accepted the invitation to {document['id']} on "
                                    f"{invitation.answered_at:%Y-%m-%d}",
                          "via": "invitation", "accepted_at": invitation.answered_at})
            listed.add(entity.key)
        if not added:
            return document
        return {**document, "knowledge_members": [*document["knowledge_members"], *added]}

    def figures(self, document: Mapping, directory: Directory) -> dict | None:
        """The scientific representation of a formed meta-cluster (with its invitees), else ``None``."""
        chain = self.registry.value_chains.get(document["value_chain"])
        if chain is None or not document.get("formed"):
            return None
        # An invitee's stages are its own stage links, not formation's: the science core reads an entry's
        # ``stages`` as what formation found for a cluster's member, so they are left out of its input.
        counted = {**document, "knowledge_members": [
            {k: v for k, v in entry.items() if k != "stages"} if entry.get("via") == "invitation" else entry
            for entry in document["knowledge_members"]]}
        return representation(counted, directory.entities.values(), chain, self.registry.taxonomies,
                              directory.links)

    def complete(self, documents: list[dict], federation: bool) -> list[dict]:
        """Full documents (as ``federation`` may see them) with their invitees and ``scientific_representation``;
        the directory is read once for all of them."""
        if not documents:
            return documents
        directory = self.directory.load(federation)
        accepted = self.accepted([d["id"] for d in documents])
        out = []
        for document in documents:
            whole = self.with_invitees(document, directory, accepted[document["id"]])
            out.append({**whole, "scientific_representation": self.figures(whole, directory)})
        return out

    def export(self, federation: bool = True) -> dict:
        """:meth:`HubQueries.export` (``medmci demo --json``, ``hub metaclusters --json``) with each meta-cluster's
        invitees among its knowledge members and its ``scientific_representation``."""
        documents = self.complete(self.queries.metaclusters(True, federation), federation)
        return {"metaclusters": [{**export_metacluster(d), "scientific_representation": d["scientific_representation"]}
                                 for d in documents],
                "value_chains_not_formed": self.queries.value_chains_not_formed()}

    def metacluster(self, metacluster_id: str, federation: bool) -> dict:
        """One meta-cluster (by id or value chain) with its invitees and figures."""
        return self.document_and_directory(metacluster_id, federation)[0]

    def document_and_directory(self, metacluster_id: str, federation: bool) -> tuple[dict, Directory]:
        document = self.queries.metacluster(metacluster_id, federation)
        directory = self.directory.load(federation)
        document = self.with_invitees(document, directory, self.accepted([document["id"]])[document["id"]])
        return {**document, "scientific_representation": self.figures(document, directory)}, directory

    def representation_of(self, metacluster_id: str) -> dict | None:
        """The federation's figures of a meta-cluster (``None`` when it is unknown or not formed): what the pilots
        service keeps at a pilot's creation and reports on."""
        try:
            return self.metacluster(metacluster_id, True)["scientific_representation"]
        except NotFound:
            return None

    def knowledge_of(self, metacluster_id: str) -> dict[str, dict]:
        """The knowledge entities serving a meta-cluster, by key (those formation placed, invitees, and entities
        that serve its chain by their own profile): whom the operator may add to one of its pilots."""
        document, directory = self.document_and_directory(metacluster_id, True)
        entries = {k["id"]: k for k in document["knowledge_members"]}
        out: dict[str, dict] = {}
        for org in (document["scientific_representation"] or {"organisations": []})["organisations"]:
            for key in org["entities"]:
                entity = directory.entities.get(key)
                described = ({"name": entity.name, "kind": entity.kind, "country": entity.country}
                             if entity is not None else {k: entries[key][k] for k in ("name", "kind", "country")}
                             if key in entries else None)
                if described is not None:
                    out[key] = described
        return out
