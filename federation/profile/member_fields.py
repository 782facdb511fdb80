"""A cluster's member, defined once: what the profile document says of it, what the node and the hub store of it,
and the field lists everything else derives what it copies and selects from.

- :class:`MemberSchema`: the member in the profile document. Its field order is the document's key order; a field's
  ``load_default`` is what a member without it carries (:func:`carried`).
- :class:`MemberMixin`: the member's columns in both databases' ``members`` tables, as TokenMixin does for tokens::

      class MemberRow(MemberMixin, NodeBase): ...    # federation/node/models.py: key ``id``, plus visibility
      class MemberView(MemberMixin, HubBase): ...    # federation/hub/models.py: key (node_id, member_id), audience

- :data:`PROFILE_FIELDS`, :data:`SHARED_FIELDS`, :data:`AUDIENCE_FIELDS`: derived from the schema. The node service
  copies them between requests, rows and published documents; the hub stores a profile member with
  :func:`hub_row` and gives it back with :func:`from_hub_row` (its read side); aggregation reads the stored rows
  and the profile members alike through them.

Adding a member field
---------------------
1. Declare it on :class:`MemberSchema` below, where it should sit in the document, with a ``load_default`` unless
   every member must give it. (A new document field is a new minor version of the document: raise
   ``CURRENT_VERSION`` in federation/profile/schema.py and the reader's known minor in ``SUPPORTED_VERSIONS``.)
2. Add its column to :class:`MemberMixin` below, under the same name (nullable, or with the same default).
3. Write one Alembic migration per database adding that column to ``members``: in
   federation/node/migrations/versions and federation/hub/migrations/versions (tests/test_db.py compares each
   migrated database with its models; tests/test_member_fields.py checks steps 1 and 2 agree).
4. Update the tests that pin an exact member dict or the document's version: a member's expected dict in
   tests/test_node_api.py and tests/test_csv_members.py, and the version string in tests/test_profile.py,
   tests/test_node_api.py, tests/test_hub_api.py and tests/test_version_skew.py (grep the old version).

Nothing else: the node's API takes it (its schemas extend :class:`MemberSchema`), the node stores it, returns it
and publishes it, the hub stores it (harvest builds its rows with :func:`hub_row`) and serves it. Two readers
choose their own fields and need telling only if they are to read the new one: formation (``FORMED_COLUMNS`` in
federation/hub/aggregation.py, and ``federation.domain.Member``), and the CSV import, a file format of its own
(its columns: ``COLUMNS`` in connectors/member_import/headers.py, documented in config/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from marshmallow import Schema, fields, missing, validate
from sqlalchemy import JSON, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from ..domain import MEMBER_KINDS
from .field_types import AUDIENCES, FREE_TEXT, ID_PATTERN, NO_CONTROLS, Country, IdentifiersSchema, ResearchDomains

SIZES = ("micro", "small", "medium", "large")
STATUSES = ("active", "dormant")
CONTACT_FIELDS = ("email", "phone", "person")
#: Longest member id (ID_PATTERN's 128 characters): the key column of both databases.
MAX_ID_LENGTH = 128


# ------------------------------------------------------------------------------------------------- the document


class ActivityCodeSchema(Schema):
    scheme = fields.String(required=True, validate=[validate.Length(1, 32), NO_CONTROLS],
                           metadata={"description": "Classification scheme, e.g. nace-rev2 or isic-rev4"})
    code = fields.String(required=True, validate=[validate.Length(1, 16), NO_CONTROLS], metadata={"example": "10.41"})


class TextWithCodesSchema(Schema):
    """An offer or a need: free text with optional activity codes."""

    text = fields.String(required=True, validate=[validate.Length(1, 2000), FREE_TEXT])
    codes = fields.List(fields.Nested(ActivityCodeSchema), load_default=list)


class ContactSchema(Schema):
    """How to reach a member; each field is shared only with the audiences its visibility allows."""

    # A quoted local part ("a\x1b[31m"@x.org) is a valid address with control characters in it: refused as text.
    email = fields.Email(load_default=None, allow_none=True, validate=NO_CONTROLS)
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ().-]{4,32}$"))
    person = fields.String(load_default=None, allow_none=True, validate=[validate.Length(1, 200), NO_CONTROLS])


class MemberSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(ID_PATTERN),
                       metadata={"description": "Stable opaque id, unique within the cluster"})
    kind = fields.String(required=True, validate=validate.OneOf(MEMBER_KINDS))
    name = fields.String(required=True, validate=[validate.Length(1, 300), NO_CONTROLS])
    city = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=120), NO_CONTROLS])
    size = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SIZES))
    activities = fields.List(fields.Nested(ActivityCodeSchema), load_default=list,
                             validate=validate.Length(max=50))
    offers = fields.List(fields.Nested(TextWithCodesSchema), load_default=list, validate=validate.Length(max=50))
    needs = fields.List(fields.Nested(TextWithCodesSchema), load_default=list, validate=validate.Length(max=50))
    export_markets = fields.List(Country(), load_default=list)
    status = fields.String(load_default="active", validate=validate.OneOf(STATUSES))
    last_active = fields.Date(load_default=None, allow_none=True)
    research_domains = ResearchDomains(description="OECD FORD codes of a university's, research or technology "
                                                   "centre's research (1.3)")
    identifiers = fields.Nested(IdentifiersSchema, load_default=None, allow_none=True,
                                metadata={"description": "ROR id, national registration number (1.3)"})
    website = fields.Url(load_default=None, allow_none=True, validate=[validate.Length(max=500), NO_CONTROLS],
                         metadata={"format": "uri", "description": "The member's own website (1.3)"})
    audience = fields.String(load_default="public", validate=validate.OneOf(AUDIENCES),
                             metadata={"description": "public: anyone may see it at the hub; federation: only "
                                                      "authenticated federation readers (since 1.1)"})
    contact = fields.Nested(ContactSchema, load_default=None, allow_none=True,
                            metadata={"description": "Contact fields the node shares with this audience (1.1)"})


# --------------------------------------------------------------------------------------------------- the table


class MemberMixin:
    """The columns of a member that the node and the hub both store, named as in :class:`MemberSchema`.

    Each model adds its key (the node's ``id``, the hub's ``node_id`` and ``member_id``, see :func:`member_key`)
    and what only it stores (the node's visibilities and timestamps, the hub's ``audience``). Plain columns need
    no ``declared_attr``: declarative copies them for each model.
    """

    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    size: Mapped[str | None] = mapped_column(String(16))
    activities: Mapped[list] = mapped_column(JSON, default=list)
    offers: Mapped[list] = mapped_column(JSON, default=list)
    needs: Mapped[list] = mapped_column(JSON, default=list)
    export_markets: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_active: Mapped[date | None] = mapped_column(Date)
    research_domains: Mapped[list] = mapped_column(JSON, default=list)
    identifiers: Mapped[dict | None] = mapped_column(JSON)
    website: Mapped[str | None] = mapped_column(String(500))
    #: The node's: every contact field it holds (each shared as contact_visibility says); the hub's: those shared
    #: with the audience of the document it read.
    contact: Mapped[dict | None] = mapped_column(JSON)


def member_key():
    """The column of a member's id (the node's ``id``, the hub's ``member_id``)."""
    return mapped_column(String(MAX_ID_LENGTH), primary_key=True)


# ------------------------------------------------------------------------------------------------ field lists

_FIELDS = MemberSchema().fields
#: Every field of a profile member, in the document's order.
PROFILE_FIELDS: tuple[str, ...] = tuple(_FIELDS)
#: Fields whose value depends on who reads the member: the node makes them for each audience it publishes to
#: (from its visibility settings), the hub stores those of the document it read.
AUDIENCE_FIELDS: tuple[str, ...] = ("audience", "contact")
#: Fields every audience sees alike, the id aside: stored as they are by the node and by the hub.
SHARED_FIELDS: tuple[str, ...] = tuple(name for name in PROFILE_FIELDS if name != "id" and name not in AUDIENCE_FIELDS)
#: The hub's name of the member id column (the document's and the node's is ``id``).
HUB_KEY = "member_id"

# (name, required, default, whether the default is called): what a profile member without the field carries.
_CARRIED = tuple((name, field.required, field.load_default, callable(field.load_default))
                 for name, field in _FIELDS.items())
_ABSENT = {name: (default, call) for name, _required, default, call in _CARRIED}
# The fields of a hub row after its key.
_HUB_CARRIED = tuple(entry for entry in _CARRIED if entry[0] != "id")


def absent(name: str) -> Any:
    """What a member without field ``name`` carries: the field's ``load_default`` (a fresh one when it is made by
    a call), or ``None`` for a required field and for a name that is no profile field."""
    default, call = _ABSENT.get(name, (None, False))
    if default is missing:
        return None
    return default() if call else default


def carried(member: Mapping, name: str) -> Any:
    """The value of field ``name`` a profile member carries: its own, or :func:`absent`'s."""
    value = member.get(name, missing)
    return absent(name) if value is missing else value


def hub_row(node_id: str, member: Mapping) -> dict:
    """The hub's ``members`` row of a validated profile member (what storing a version inserts): every profile
    field under its name, what an absent one carries, and the id as :data:`HUB_KEY`."""
    row = {"node_id": node_id, HUB_KEY: member["id"]}
    get = member.get
    for name, required, default, call in _HUB_CARRIED:
        if required:
            row[name] = member[name]
            continue
        value = get(name, missing)
        row[name] = (default() if call else default) if value is missing else value
    return row


def from_hub_row(row: Any) -> dict:
    """A member as the hub stored it (a ``MemberView`` or a row of its columns), as a profile member."""
    return {name: getattr(row, HUB_KEY if name == "id" else name) for name in PROFILE_FIELDS}
