"""The node's service layer: its cluster, its members and the profile it publishes.

Every write runs in one unit of work and re-renders the published profile in the same transaction, so the profile
always matches the data and a failed write changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from connectors.member_import import ImportOptions

from ..db import Database, after_commit
from ..errors import Conflict, NotFound, ValidationError
from ..profile.cooperation import opportunities_of
from ..profile.member_fields import absent, carried
from ..profile.reader import first_message, member_code_errors
from ..profile.schema import MAX_WITHDRAWN, ClusterSchema
from ..registry import Registry
from . import knowledge
from .catalogs import HubCatalogs, KnownCodes, known_value_chains
from .importer import MemberImporter
from .models import ClusterRow, MemberLink, MemberRow, Publication, Withdrawal

# AUDIENCES and MEMBER_FIELDS are defined with the rendering, and importable here as before.
from .publishing import (
    AUDIENCES,
    MEMBER_FIELDS,
    document_bytes,
    dump_member,
    member_json,
    published_ids,
    render_members,
    visible_contact,
)
from .size_check import profile_size_findings

if TYPE_CHECKING:  # the trust module's audit log, set by Node.build
    from .trust import NodeAudit

#: What the API writes: the profile's fields, the whole contact, and who may see each contact field.
STORED_FIELDS = (*MEMBER_FIELDS, "contact", "contact_visibility")
#: The cluster's fields its PUT replaces; its cooperation profile is set on its own (PUT /api/v1/cluster/cooperation).
CLUSTER_FIELDS = tuple(name for name in ClusterSchema().fields if name != "cooperation")

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


def new_member_id() -> str:
    return "m-" + secrets.token_hex(8)


class NodeService:
    def __init__(self, db: Database, registry: Registry, withdrawn_keep: timedelta = timedelta(days=30),
                 withdrawn_max: int = 1000, import_options: ImportOptions | None = None,
                 profile_warn_bytes: int | None = None):
        self.db = db
        self.registry = registry
        #: How long, and how many, withdrawn member ids each published profile lists (the hub purges those).
        self.withdrawn_keep = withdrawn_keep
        self.withdrawn_max = max(0, min(int(withdrawn_max), MAX_WITHDRAWN))
        #: The member import's conventions and bounds (settings node.import.*).
        self.import_options = import_options or ImportOptions()
        #: A published profile this large is warned about (node.profile_warn_bytes; None or 0: never).
        self.profile_warn_bytes = profile_warn_bytes
        #: Called (without arguments) after each committed change of the published profile.
        self.on_published: list = []
        #: The catalogues of the hubs this node trusts (set by Node.build): their value chains and schemes count as
        #: known. None: the node's own plugins only.
        self.catalogs: HubCatalogs | None = None
        #: Called with the ids of the members an import wrote, once committed; each returns a dict merged into the
        #: import report (the node's checks add ``checks`` when they found something).
        self.after_import: list = []
        #: The node's audit log (set by Node.build): a member's update records who made it and what changed.
        self.audit: NodeAudit | None = None

    # -- cluster --------------------------------------------------------------------------------------------------

    def get_cluster(self) -> dict:
        with self.db.session() as session:
            row = session.scalar(select(ClusterRow))
            if row is None:
                raise NotFound("this node has no cluster profile yet: PUT /api/v1/cluster first")
            return _cluster_dict(row)

    def put_cluster(self, data: dict) -> dict:
        """Create or replace the cluster (``data`` already loaded by :class:`ClusterSchema`)."""
        chains = list(data.get("value_chains") or [])
        repeated = [c for i, c in enumerate(chains) if c in chains[:i]]
        if repeated:  # the schema refuses it too; a caller that skipped the schema gets the same answer
            raise ValidationError(f"value chain {repeated[0]!r} is listed twice",
                                  {"value_chains": [f"value chain {repeated[0]!r} is listed twice"]})
        unknown = [c for c in chains if c not in self.registry.value_chains]
        if unknown:  # the value chains the hubs this node trusts publish count too (federation/node/catalogs.py)
            known = known_value_chains(self.registry.value_chains, self.catalogs)
            unknown = [c for c in unknown if c not in known]
        if unknown:
            raise ValidationError(
                f"unknown value chain(s): {', '.join(unknown)}",
                {"value_chains": [f"unknown value chain {c!r} (known: {', '.join(sorted(known))}; a trusted hub's "
                                  f"new ones: `medmci node trusted-hubs refresh`)" for c in unknown]})
        with self.db.session() as session:
            row = session.scalar(select(ClusterRow))
            if row is None:
                row = ClusterRow(pk=1)
                session.add(row)
            for name in CLUSTER_FIELDS:
                setattr(row, name, data.get(name))
            row.value_chains = row.value_chains or []
            row.description = row.description or {}
            row.updated_at = now()
            session.flush()
            self._republish(session)
            return _cluster_dict(row)

    def get_cooperation(self) -> dict:
        """The cooperation profile, with the opportunities the federation audience's document carries."""
        with self.db.session() as session:
            row = session.scalar(select(ClusterRow))
            if row is None or row.cooperation is None:
                raise NotFound("this node has no cooperation profile yet: PUT /api/v1/cluster/cooperation")
            cooperation = dict(row.cooperation)
        return {**cooperation, "opportunities": opportunities_of(self.iter_shared_members(("offers", "needs")))}

    def put_cooperation(self, data: dict) -> dict:
        """Set the cluster's cooperation profile (``data`` loaded by the node's cooperation schema: no
        opportunities, which each publication derives) and publish it."""
        with self.db.session() as session:
            row = session.scalar(select(ClusterRow))
            if row is None:
                raise NotFound("this node has no cluster profile yet: PUT /api/v1/cluster first")
            row.cooperation = {key: value for key, value in data.items() if key != "opportunities"}
            row.updated_at = now()
            session.flush()
            self._republish(session)
        return self.get_cooperation()

    # -- knowledge node -------------------------------------------------------------------------------------------

    def is_knowledge_node(self) -> bool:
        with self.db.session() as session:
            return knowledge.knowledge_row(session) is not None

    def enable_knowledge_mode(self) -> bool:
        """Make this node a knowledge node (`node init --knowledge`); False when it was one already."""
        with self.db.session() as session:
            return knowledge.enable(session, now())

    def get_knowledge(self) -> dict:
        """The knowledge block with every hideable field's visibility."""
        with self.db.session() as session:
            return knowledge.block_dict(knowledge.stored(session))

    def put_knowledge(self, data: dict) -> dict:
        """Replace the knowledge block and its visibility (``data`` loaded by the node's knowledge schema) and
        publish the knowledge profile (once the cluster object, the organisation's identity, exists)."""
        block = {key: value for key, value in data.items() if key not in ("visibility", "federation_fields")}
        chains: dict = {**dict.fromkeys(known_value_chains(self.registry.value_chains, self.catalogs)),
                        **self.registry.value_chains}
        knowledge.check_codes(block, self.known_codes(), chains)
        with self.db.session() as session:
            row = knowledge.stored(session)
            row.block, row.visibility, row.updated_at = block, dict(data.get("visibility") or {}), now()
            session.flush()
            self._republish(session)
            return knowledge.block_dict(row)

    # -- members --------------------------------------------------------------------------------------------------

    def list_members(self, visibility: str | None = None) -> list[dict]:
        with self.db.session() as session:
            query = select(MemberRow).order_by(MemberRow.id)
            if visibility:
                query = query.where(MemberRow.visibility == visibility)
            return [_member_dict(m, with_visibility=True) for m in session.scalars(query)]

    def iter_shared_members(self, names: tuple[str, ...]) -> Iterator[dict]:
        """The members that leave the node (not private), only the fields ``names``, read in chunks by id."""
        columns = [getattr(MemberRow, name) for name in names]
        with self.db.session() as session:
            query = (select(*columns).where(MemberRow.visibility != "private").order_by(MemberRow.id)
                     .execution_options(yield_per=1000))
            for row in session.execute(query):
                yield dict(zip(names, row, strict=True))

    def get_member(self, member_id: str) -> dict:
        with self.db.session() as session:
            return _member_dict(self._member(session, member_id), with_visibility=True)

    def create_member(self, data: dict) -> dict:
        data = dict(data)
        data.setdefault("id", new_member_id())
        self._check_codes(data)
        with self.db.session() as session:
            knowledge.refuse_members(session)
            if session.get(MemberRow, data["id"]) is not None:
                raise Conflict(f"member {data['id']!r} exists already", {"id": [f"duplicate member id {data['id']!r}"]})
            timestamp = now()
            row = MemberRow(created_at=timestamp, updated_at=timestamp)
            _apply_member(row, data)
            session.add(row)
            session.flush()
            self._republish(session)
            return _member_dict(row, with_visibility=True)

    def update_member(self, member_id: str, data: dict, actor: str = "admin") -> dict:
        """Replace a member; the audit log records ``actor`` and the fields that changed."""
        if data.get("id", member_id) != member_id:
            raise ValidationError("a member's id cannot change", {"id": ["must match the id in the URL"]})
        data = {**data, "id": member_id}
        self._check_codes(data)
        with self.db.session() as session:
            row = self._member(session, member_id)
            before = _member_dict(row, with_visibility=True)
            _apply_member(row, data)
            row.updated_at = now()
            after = _member_dict(row, with_visibility=True)
            self._record_change(session, member_id, actor, changed_fields(before, after))
            session.flush()
            self._republish(session)
            return after

    def change_member(self, member_id: str, changes: dict, actor: str, guard=None) -> tuple[dict, dict]:
        """Change some of a member's fields (``changes``: loaded by the member schema with ``partial``) in one unit
        of work: ``guard(session)`` runs first and may refuse (then nothing changes, the guard's own writes
        included); the audit log records ``actor`` and what changed. A new profile version is published when a
        published field changed. Returns the member and ``{field: {"from", "to"}}`` of what changed."""
        with self.db.session() as session:
            if guard is not None:
                guard(session)
            row = self._member(session, member_id)
            before = _member_dict(row, with_visibility=True)
            merged = {**before, **changes}
            self._check_codes(merged)
            _apply_member(row, merged)
            row.updated_at = now()  # checked by the member, even when nothing changed
            after = _member_dict(row, with_visibility=True)
            changed = changed_fields(before, after)
            self._record_change(session, member_id, actor, changed)
            session.flush()
            if changed:
                self._republish(session)
            return after, changed

    def _record_change(self, session: Session, member_id: str, actor: str, changed: dict) -> None:
        if self.audit is not None:
            message = (f"{member_id}: {', '.join(changed)} changed" if changed
                       else f"{member_id}: checked, nothing changed")
            self.audit.record_in(session, "member.updated", actor, message, member_id=member_id, changed=changed)

    def delete_member(self, member_id: str) -> None:
        with self.db.session() as session:
            session.delete(self._member(session, member_id))
            session.execute(MemberLink.end_open([member_id], now()))
            session.flush()
            self._republish(session)

    def import_members(self, data: bytes | str | BinaryIO, replace: bool = False, dry_run: bool = False) -> dict:
        """Import members from a CSV or .xlsx file (federation/node/importer.py): every row valid, or nothing
        imported and every error of every row reported.

        Rows with an existing id (or, without one, the same name and city) update that member; ``replace`` also
        removes members absent from the file; ``dry_run`` reports what would be created, updated and removed and
        changes nothing. An import that changes nothing publishes no new version.
        """
        # The codes of the schemes this node's trusted hubs publish count as known (federation/node/catalogs.py).
        importer = MemberImporter(self.known_codes(), self.import_options, STORED_FIELDS, now)
        with self.db.session() as session:
            knowledge.refuse_members(session)
            report, detected = importer.run(session, data, replace, dry_run)
            published = report.changed and not dry_run
            if published:
                session.flush()
                self._republish(session)
        answer = report.as_dict(detected, dry_run, published, self.import_options.report_ids)
        if not dry_run:  # the checks read the stored members
            for hook in self.after_import:
                answer.update(hook(report.created + report.updated))
        return answer

    # -- publication ----------------------------------------------------------------------------------------------

    def publication(self, audience: str = "public") -> Publication:
        with self.db.session() as session:
            publication = session.get(Publication, audience)
            if publication is None:
                raise NotFound("this node has not published a profile yet: it needs a cluster profile")
            return publication

    def ensure_published(self) -> None:
        """Render the publications if the cluster exists but they do not (after an upgrade, say)."""
        with self.db.session() as session:
            if session.get(Publication, "federation") is None:
                self._republish(session)

    def publication_sizes(self) -> dict[str, int]:
        """The bytes of each audience's published document (counted by the database, not loaded)."""
        with self.db.session() as session:
            rows = session.execute(select(Publication.audience, func.length(Publication.body)))
            return {audience: int(size) for audience, size in rows}

    def size_findings(self) -> list[dict]:
        """A warning finding when the published profile approaches the hubs' size cap (federation/node/size_check)."""
        return profile_size_findings(self.publication_sizes(), self.profile_warn_bytes)

    def member_counts(self) -> dict[str, int]:
        with self.db.session() as session:
            rows = session.execute(select(MemberRow.visibility, func.count()).group_by(MemberRow.visibility))
            return dict(rows)

    def _republish(self, session: Session) -> None:
        """Render the profile once per audience, with the same sequence number (federation/node/publishing.py:
        each member read, dumped and encoded once for both documents)."""
        cluster = session.scalar(select(ClusterRow))
        if cluster is None:
            return  # nothing to publish until the cluster exists
        knowledge_node = knowledge.knowledge_row(session)
        if knowledge_node is not None and knowledge_node.block is None:
            return  # a knowledge node publishes once its block is set
        rendered = render_members(session)
        current = {p.audience: p for p in session.scalars(select(Publication))}
        sequence = max((p.sequence for p in current.values()), default=0) + 1
        published_at = now()
        sizes: dict[str, int] = {}
        for audience in AUDIENCES:
            withdrawn = self._withdrawals(session, audience, current.get(audience), rendered.ids[audience],
                                          published_at)
            cluster_object = _cluster_dict(cluster)
            if cluster.cooperation is not None:
                cluster_object["cooperation"] = {**cluster.cooperation,
                                                 "opportunities": rendered.opportunities[audience].opportunities()}
            block = (None if knowledge_node is None or knowledge_node.block is None else
                     knowledge.rendering(knowledge_node.block, knowledge_node.visibility, audience))
            document = document_bytes(cluster_object, rendered.texts[audience], sequence, published_at,
                                      audience, withdrawn, block)
            publication = current.get(audience) or Publication(audience=audience)
            publication.sequence = sequence
            publication.published_at = published_at
            publication.body = document
            publication.etag = '"' + hashlib.sha256(document).hexdigest()[:40] + '"'
            session.add(publication)
            sizes[audience] = len(document)
        for finding in profile_size_findings(sizes, self.profile_warn_bytes):
            log.warning("%s (%s)", finding["message"], finding["suggestion"])
        for notify in self.on_published:  # the hubs hear of the new version only once it is committed
            after_commit(session, notify)

    def _withdrawals(self, session: Session, audience: str, previous: Publication | None, present: set[str],
                     at: datetime) -> list[str]:
        """The member ids this audience's document lists as withdrawn: those its previous document had and this one
        has not (deleted, made private, no longer shared with it), kept ``withdrawn_keep`` and ``withdrawn_max`` at
        most; a member shared again is no longer withdrawn."""
        known = set(session.scalars(select(Withdrawal.member_id).where(Withdrawal.audience == audience)))
        if previous is not None:
            for member_id in sorted(published_ids(previous.body) - present - known):
                session.add(Withdrawal(audience=audience, member_id=member_id, withdrawn_at=at))
        session.flush()
        # Shared again: only the ids withdrawn already can be (the ones just added are absent by definition).
        session.execute(delete(Withdrawal).where(Withdrawal.audience == audience,
                                                 (Withdrawal.member_id.in_(sorted(known & present))) |
                                                 (Withdrawal.withdrawn_at < at - self.withdrawn_keep)))
        rows = list(session.execute(select(Withdrawal.member_id, Withdrawal.withdrawn_at)
                                    .where(Withdrawal.audience == audience)
                                    .order_by(Withdrawal.withdrawn_at.desc(), Withdrawal.member_id)))
        if len(rows) > self.withdrawn_max:  # the oldest go first
            dropped = [member_id for member_id, _at in rows[self.withdrawn_max:]]
            session.execute(delete(Withdrawal).where(Withdrawal.audience == audience,
                                                     Withdrawal.member_id.in_(dropped)))
            rows = rows[:self.withdrawn_max]
        return sorted(member_id for member_id, _at in rows)

    def _member(self, session: Session, member_id: str) -> MemberRow:
        row = session.get(MemberRow, member_id)
        if row is None:
            raise NotFound(f"no member {member_id!r} on this node")
        return row

    def known_codes(self) -> KnownCodes:
        """What member codes are checked against: the node's taxonomies, then its trusted hubs' schemes."""
        return KnownCodes(self.registry.taxonomies, self.catalogs)

    def _check_codes(self, member: dict) -> None:
        errors = member_code_errors(member, self.known_codes())
        if errors:
            raise ValidationError(first_message(errors), errors)


def render_profile(cluster: dict, members: Iterable[dict], sequence: int, published_at: datetime,
                   audience: str = "federation", withdrawn: Iterable[str] = (), dumped: bool = False) -> bytes:
    """The profile document's exact bytes (UTF-8 JSON, key order fixed by the schema): the audience it is made for
    (by default the one a hub reads) and the ids withdrawn from that audience are part of it, so the node's
    signature covers them. ``dumped``: the members are serialised already (as the member schema dumps them)."""
    texts = (member_json(m if dumped else dump_member(m)) for m in members)
    return document_bytes(cluster, texts, sequence, published_at, audience, withdrawn)


def shared_member(row: Any, visible: tuple[str, ...]) -> dict:
    """A member as an audience may see it: its audience, and only the contact fields that audience may read."""
    out = _member_dict(row)
    out["audience"] = "public" if row.visibility == "public" else "federation"
    out["contact"] = visible_contact(row.contact, row.contact_visibility, visible)
    return out


def changed_fields(before: dict, after: dict) -> dict:
    """``{field: {"from": old, "to": new}}`` of the fields that differ (as JSON: dates as ISO text), for the audit
    log."""
    return {name: {"from": _as_json(before.get(name)), "to": _as_json(after.get(name))}
            for name in after if before.get(name) != after.get(name)}


def _as_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _apply_member(row: MemberRow, data: dict) -> None:
    for name in STORED_FIELDS:
        setattr(row, name, carried(data, name))
    row.status = data.get("status") or absent("status")
    row.visibility = data.get("visibility") or "public"


def _member_dict(row: Any, with_visibility: bool = False) -> dict:
    out = {name: getattr(row, name) for name in MEMBER_FIELDS}
    if with_visibility:
        out["visibility"] = row.visibility
        out["contact"] = row.contact
        out["contact_visibility"] = row.contact_visibility
    return out


def _cluster_dict(row: ClusterRow) -> dict:
    return {name: getattr(row, name) for name in CLUSTER_FIELDS}
