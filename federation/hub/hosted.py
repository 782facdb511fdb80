"""Profiles the hub hosts for knowledge entities that run no server of their own (key ``hosted:<id>``).

The operator invites an entity to be hosted (:meth:`HostedProfiles.create`): its identity (names, country, website,
the value chains it serves, description) and its knowledge block, the same block a knowledge node publishes
(:class:`federation.profile.knowledge.KnowledgeSchema`) with the same per-field visibility. The answer carries a
``knowledge_member`` token bound to the entity (:data:`federation.tokens.ENTITY_BOUND_ROLES`), shown once: with it the
entity edits its own profile (:meth:`HostedProfiles.update`) and answers its own invitations, nothing else.

The hub serves each hosted profile as a profile document 1.3 (:meth:`HostedProfiles.document`): the identity as the
``cluster`` object, no members, the ``knowledge`` block rendered for the reader's audience, the row's ``sequence``.
The API signs it with the hub's key as it signs its catalogue; that it is hosted is said by the envelope (see
``federation.hub.knowledge_api``). Every change is in the audit log, in its transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from ..db import Database, lock_rows
from ..errors import Conflict, Forbidden, NotFound, ValidationError
from ..profile.knowledge import field_levels, rendering
from ..profile.reader import first_message, knowledge_code_errors
from ..profile.schema import CURRENT_VERSION, PROFILE_SCHEMA_ID, ProfileSchema
from ..registry import Registry
from ..tokens import TokenService
from .audit import record
from .knowledge_tables import HOSTED_PREFIX, HostedEntity

#: The identity fields of a hosted profile (the ``cluster`` object of its document, without the id).
IDENTITY_FIELDS = ("names", "country", "website", "value_chains", "description")


def utcnow() -> datetime:
    return datetime.now(UTC)


def hosted_dict(row: HostedEntity) -> dict:
    """What its owner and the operator read: everything, with every field's visibility."""
    return {"key": row.key, "id": row.id, **{name: getattr(row, name) for name in IDENTITY_FIELDS},
            "knowledge": row.block, "visibility": field_levels(row.visibility), "sequence": row.sequence,
            "created_at": row.created_at, "created_by": row.created_by, "updated_at": row.updated_at,
            "updated_by": row.updated_by}


def hosted_id(key: str) -> str:
    """``hosted:uni-x`` -> ``uni-x``; a bare id stays as it is."""
    return key.removeprefix(HOSTED_PREFIX)


class HostedProfiles:
    """Creates, reads and edits hosted profiles; renders their documents."""

    def __init__(self, db: Database, registry: Registry, tokens: TokenService,
                 clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.registry = registry
        self.tokens = tokens
        self.clock = clock

    def _check(self, data: dict) -> None:
        """Unknown value chains, stages, activity codes and research domains, each with its path: 422, nothing
        stored."""
        errors: dict = {}
        chains = self.registry.value_chains
        unknown = [chain for chain in data.get("value_chains") or () if chain not in chains]
        if unknown:
            errors["value_chains"] = [f"unknown value chain {chain!r} (known: {', '.join(sorted(chains))})"
                                      for chain in unknown]
        block_errors = knowledge_code_errors(data["knowledge"], self.registry.taxonomies, chains)
        if block_errors:
            errors["knowledge"] = block_errors
        if errors:
            raise ValidationError(first_message(errors), errors)

    def create(self, data: dict, actor: str, token_name: str | None = None) -> tuple[dict, dict, str]:
        """A hosted profile and a ``knowledge_member`` token bound to it: ``(profile, token record, the token,
        shown once)``. 409 when the id is taken."""
        self._check(data)
        now = self.clock()
        with self.db.session() as session:
            if session.get(HostedEntity, data["id"]) is not None:
                raise Conflict(f"a hosted profile {data['id']!r} exists already", {"id": ["taken"]})
            row = HostedEntity(id=data["id"], **{name: data.get(name) for name in IDENTITY_FIELDS},
                               block=data["knowledge"], visibility=data.get("visibility") or {}, sequence=1,
                               created_at=now, created_by=actor, updated_at=now, updated_by=actor)
            row.value_chains, row.description = row.value_chains or [], row.description or {}
            session.add(row)
            record(session, "knowledge.hosted", actor, None, key=row.key, name=data["names"].get("en")
                   or next(iter(data["names"].values())), country=data["country"], kind=data["knowledge"]["kind"])
            try:
                session.flush()
            except IntegrityError:  # the same id created at the same moment by another request
                raise Conflict(f"a hosted profile {data['id']!r} exists already", {"id": ["taken"]}) from None
            profile = hosted_dict(row)
        token, plaintext = self.tokens.create(token_name or f"{data['id']} (hosted)", "knowledge_member",
                                              entity_key=profile["key"], actor=actor)
        return profile, token, plaintext

    def get(self, key: str) -> dict:
        with self.db.session() as session:
            return hosted_dict(self._row(session, key))

    def check_key(self, key: str) -> None:
        """A token's ``entity_key``: ``hosted:<id>`` of a hosted profile (422 for another form, 404 if unknown)."""
        if not key.startswith(HOSTED_PREFIX):
            raise ValidationError(f"entity_key {key!r}: a knowledge_member token is bound to a hosted profile, "
                                  f"{HOSTED_PREFIX}<id>", {"entity_key": [f"not {HOSTED_PREFIX}<id>"]})
        self.get(key)

    def update(self, key: str, data: dict, actor: str, by_operator: bool = True) -> dict:
        """Replace the identity, block and visibility (the id stays); the sequence moves on. All or nothing.

        The entity itself (``by_operator`` false) may not change what ties it to an organisation: its country,
        website and identifiers (ROR, national id) make same-as links and count in figures, so a hosted profile
        that typed another university's ROR id would be counted as that university. The operator, who hosted it,
        sets them (as a node's cluster id and country are bound at registration)."""
        self._check(data)
        with self.db.session() as session:
            row = next(iter(lock_rows(session, HostedEntity, HostedEntity.id == hosted_id(key))), None)
            if row is None:
                raise NotFound(f"no hosted profile {key!r}")
            if not by_operator:
                changed = [name for name, old, new in (
                    ("country", row.country, data.get("country")), ("website", row.website, data.get("website")),
                    ("identifiers", (row.block or {}).get("identifiers"), data["knowledge"].get("identifiers")))
                    if old != new]
                if changed:
                    raise Forbidden(f"the hub operator sets a hosted profile's {', '.join(changed)}: they tie it to "
                                    f"an organisation (same-as links, figures); ask the operator to change them",
                                    {name: ["set by the hub operator"] for name in changed})
            for name in IDENTITY_FIELDS:
                setattr(row, name, data.get(name))
            row.value_chains, row.description = row.value_chains or [], row.description or {}
            row.block, row.visibility = data["knowledge"], data.get("visibility") or {}
            row.sequence += 1
            row.updated_at, row.updated_by = self.clock(), actor
            record(session, "knowledge.hosted_updated", actor, None, key=row.key, sequence=row.sequence)
            return hosted_dict(row)

    def document(self, key: str, audience: str) -> bytes:
        """The profile document 1.3 of a hosted profile for ``audience`` (public or federation), as UTF-8 JSON."""
        with self.db.session() as session:
            row = self._row(session, key)
            document = {"schema": PROFILE_SCHEMA_ID, "version": CURRENT_VERSION, "sequence": row.sequence,
                        "published_at": row.updated_at, "audience": audience,
                        "cluster": {"id": row.id, **{name: getattr(row, name) for name in IDENTITY_FIELDS}},
                        "members": [], "withdrawn": [],
                        "knowledge": rendering(row.block, row.visibility, audience)}
        return json.dumps(ProfileSchema().dump(document), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @staticmethod
    def _row(session, key: str) -> HostedEntity:
        row = session.get(HostedEntity, hosted_id(key))
        if row is None:
            raise NotFound(f"no hosted profile {key!r}")
        return row
