"""The node's published documents rendered in one pass over its members table, for both audiences at once.

A 50,000-member cluster made publication the larger half of an import: every member read as a row of decoded JSON
columns, dumped per audience into a dictionary, all of them held together with the whole document while it was
encoded. Here each member is read once, in chunks (JSON columns as their stored text, decoded a chunk per
``json.loads``), dumped once through the member schema's fast dump (federation/profile/fastdump.py; the other
audience reuses that dump unless it sees other contact fields), and encoded once into its JSON text, which both
documents share. A document is its head with its members' texts joined in: the bytes ``json.dumps`` gives the
whole document (:func:`document_bytes`; ``render_profile`` renders through it too).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import JSON, Text, cast, select
from sqlalchemy.orm import Session

from ..profile import CURRENT_VERSION, PROFILE_SCHEMA_ID, ProfileSchema
from ..profile.cooperation import OpportunityCounter
from ..profile.fastdump import dumper
from ..profile.member_fields import AUDIENCE_FIELDS, PROFILE_FIELDS
from ..profile.schema import MemberSchema
from .models import MemberRow

#: What each audience may see. Private members and private contact fields never leave the node.
AUDIENCES = {"public": ("public",), "federation": ("public", "federation")}
#: A member's fields as every audience sees them; the audience fields are made per audience.
MEMBER_FIELDS = tuple(name for name in PROFILE_FIELDS if name not in AUDIENCE_FIELDS)
#: Members read per fetch (and per ``json.loads`` of their JSON columns).
CHUNK = 1000

_dump_member = dumper(MemberSchema())
# The document's encoding: UTF-8 JSON without spaces. One encoder, not one per call as json.dumps builds.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def member_json(member: dict) -> str:
    """A member's JSON text as the document holds it (``member`` as the member schema dumps it)."""
    return _encode(member)


def dump_member(member: dict) -> dict:
    """A member as the member schema dumps it (the fast dump, equal to marshmallow's)."""
    return _dump_member(member)


def document_bytes(cluster: dict, members_json: Iterable[str], sequence: int, published_at: datetime,
                   audience: str, withdrawn: Iterable[str], knowledge: dict | None = None) -> bytes:
    """The profile document's exact bytes: what ``json.dumps`` (UTF-8, no spaces) gives for the document the
    profile schema dumps, with the members given as their JSON texts (:func:`member_json`). ``knowledge``: a
    knowledge node's block as this audience sees it (a knowledge profile)."""
    document = {
        "schema": PROFILE_SCHEMA_ID, "version": CURRENT_VERSION, "sequence": sequence,
        "published_at": published_at, "audience": audience, "cluster": cluster, "members": [],
        "withdrawn": list(withdrawn),
    }
    if knowledge is not None:
        document["knowledge"] = knowledge
    head = ProfileSchema().dump(document)
    members = "[" + ",".join(members_json) + "]"
    # A JSON object without spaces is its "key:value" pairs joined by commas: the members are put in as text.
    text = "{" + ",".join(f"{_encode(key)}:{members if key == 'members' else _encode(value)}"
                          for key, value in head.items()) + "}"
    return text.encode("utf-8")


def visible_contact(contact: dict | None, visibility: dict | None, visible: tuple[str, ...]) -> dict | None:
    """The contact fields an audience may read (a field without a visibility is private), or None."""
    levels = visibility or {}
    shown = {k: v for k, v in (contact or {}).items() if v and levels.get(k, "private") in visible}
    return shown or None


class Rendered:
    """The members of both documents as JSON texts, in id order, with the ids each audience sees and the codes
    its members offer and need (the cooperation profile's opportunities)."""

    def __init__(self) -> None:
        self.texts: dict[str, list[str]] = {audience: [] for audience in AUDIENCES}
        self.ids: dict[str, set[str]] = {audience: set() for audience in AUDIENCES}
        self.opportunities: dict[str, OpportunityCounter] = {audience: OpportunityCounter() for audience in AUDIENCES}


def render_members(session: Session) -> Rendered:
    """Every shared member of the node as each audience's document holds it (one read, one dump, one encoding
    per member; a second dump only when the public audience sees fewer contact fields)."""
    out = Rendered()
    public, federation = AUDIENCES["public"], AUDIENCES["federation"]
    for member, visibility, contact, contact_visibility in _shared_rows(session):
        member["audience"] = "public" if visibility == "public" else "federation"
        member["contact"] = visible_contact(contact, contact_visibility, federation)
        dumped = _dump_member(member)
        text = _encode(dumped)
        out.texts["federation"].append(text)
        out.ids["federation"].add(member["id"])
        out.opportunities["federation"].add(member)
        if visibility in public:
            out.opportunities["public"].add(member)
            seen = visible_contact(contact, contact_visibility, public)
            if seen != member["contact"]:
                # Only the contact differs: its dump, put in place of the other audience's (the last key).
                text = _encode({**dumped, "contact": _dump_member({"contact": seen})["contact"]})
            out.texts["public"].append(text)
            out.ids["public"].add(member["id"])
    return out


def _shared_rows(session: Session) -> Iterator[tuple[dict, str, dict | None, dict | None]]:
    """``(member fields, visibility, contact, contact_visibility)`` of each member some audience sees, by id."""
    table = MemberRow.__table__
    names = (*MEMBER_FIELDS, "visibility", "contact", "contact_visibility")
    plain = [name for name in names if not isinstance(table.c[name].type, JSON)]
    encoded = [name for name in names if isinstance(table.c[name].type, JSON)]
    # JSON columns as their stored text (CAST: the same on SQLite and PostgreSQL), decoded a chunk at a time.
    query = (select(*(table.c[name] for name in plain), *(cast(table.c[name], Text) for name in encoded))
             .where(table.c.visibility.in_(AUDIENCES["federation"])).order_by(table.c.id)
             .execution_options(yield_per=CHUNK))
    width = len(plain)
    for rows in session.execute(query).partitions():
        decoded = json.loads("[" + ",".join("[" + ",".join("null" if text is None else text for text in row[width:])
                                            + "]" for row in rows) + "]")
        for row, values in zip(rows, decoded, strict=True):
            fields = dict(zip(plain, row[:width], strict=True))
            fields.update(zip(encoded, values, strict=True))
            member = {name: fields[name] for name in MEMBER_FIELDS}
            yield member, fields["visibility"], fields["contact"], fields["contact_visibility"]


def published_ids(body: bytes) -> set[str]:
    """The member ids of a published document, read without building its members (a large document's members
    would take several times its size in memory); an empty set for a document that cannot be read."""
    def ids_only(pairs: list) -> object:
        # Innermost objects first: a member becomes its id; the document keeps only its members (now ids).
        found = None
        for key, value in pairs:
            if key == "members":
                return {"members": value}
            if key == "id":
                found = value
        return found

    try:
        document = json.loads(body, object_pairs_hook=ids_only)
    except (ValueError, TypeError):
        return set()
    members = document.get("members") if isinstance(document, dict) else None
    return {i for i in members if isinstance(i, str)} if isinstance(members, list) else set()
