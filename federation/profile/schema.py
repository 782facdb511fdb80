"""Marshmallow schemas of the profile document, version 1.

These classes define the document: the node serialises with them, the hub validates with them, the JSON Schema and
the OpenAPI docs are derived from them.
"""

from __future__ import annotations

import pycountry
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..domain import LANGUAGES, MEMBER_KINDS
from ..text import MULTI_LINE, ONE_LINE

PROFILE_SCHEMA_ID = "med-mci/profile"
# 1.1 added a member's audience and contact; 1.2 the audience the document was made for and the ids of the members
# the node withdrew from it. 1.0 and 1.1 documents are read as before.
CURRENT_VERSION = "1.2"

SIZES = ("micro", "small", "medium", "large")
STATUSES = ("active", "dormant")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
#: Most withdrawn member ids one document may list (a node keeps fewer: node.withdrawn_max).
MAX_WITHDRAWN = 10000


#: The text rules of federation.text, the same at every door: no C0/C1 control character or DEL, no lone surrogate;
#: one-line text (names, cities, persons, codes) also no bidirectional embedding, override or isolate; free text
#: (descriptions, offers, needs) may hold tab, line feed and CR.
NO_CONTROLS = ONE_LINE
FREE_TEXT = MULTI_LINE
#: Highest sequence number: integers beyond 2^53 - 1 are not exact in RFC 8785 (and JavaScript).
MAX_SEQUENCE = 2**53 - 1


def _check_country(value: str) -> None:
    if not (isinstance(value, str) and len(value) == 2 and value.isupper()
            and pycountry.countries.get(alpha_2=value) is not None):
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code.")


class Country(fields.String):
    """An ISO 3166-1 alpha-2 code, upper case (``LB``, ``MA``)."""

    def __init__(self, **kwargs):
        super().__init__(validate=_check_country, metadata={"pattern": "^[A-Z]{2}$",
                                                            "description": "ISO 3166-1 alpha-2"}, **kwargs)


def LocalizedText(max_length: int = 4000, allow_empty: bool = False, multiline: bool = False,  # noqa: N802
                  **kwargs) -> fields.Dict:
    """Text by language tag (en, fr, ar); a field factory. ``multiline``: line breaks and tabs are allowed."""
    return fields.Dict(keys=fields.String(validate=validate.OneOf(LANGUAGES)),
                       values=fields.String(validate=[validate.Length(1, max_length),
                                                      FREE_TEXT if multiline else NO_CONTROLS]),
                       validate=None if allow_empty else _not_empty,
                       metadata={} if allow_empty else {"minProperties": 1}, **kwargs)


def _not_empty(value: dict) -> None:
    if not value:
        raise ValidationError("Give the text in at least one language.")


class ActivityCodeSchema(Schema):
    scheme = fields.String(required=True, validate=[validate.Length(1, 32), NO_CONTROLS],
                           metadata={"description": "Classification scheme, e.g. nace-rev2 or isic-rev4"})
    code = fields.String(required=True, validate=[validate.Length(1, 16), NO_CONTROLS], metadata={"example": "10.41"})


class TextWithCodesSchema(Schema):
    """An offer or a need: free text with optional activity codes."""

    text = fields.String(required=True, validate=[validate.Length(1, 2000), FREE_TEXT])
    codes = fields.List(fields.Nested(ActivityCodeSchema), load_default=list)


AUDIENCES = ("public", "federation")
CONTACT_FIELDS = ("email", "phone", "person")


class ContactSchema(Schema):
    """How to reach a member; each field is shared only with the audiences its visibility allows."""

    email = fields.Email(load_default=None, allow_none=True)
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
    audience = fields.String(load_default="public", validate=validate.OneOf(AUDIENCES),
                             metadata={"description": "public: anyone may see it at the hub; federation: only "
                                                      "authenticated federation readers (since 1.1)"})
    contact = fields.Nested(ContactSchema, load_default=None, allow_none=True,
                            metadata={"description": "Contact fields the node shares with this audience (1.1)"})


def _unique_value_chains(chains: list) -> None:
    """A value chain is claimed once: the same refusal in the node's API, its CLI and the hub's validation."""
    repeated = [c for i, c in enumerate(chains) if c in chains[:i]]
    if repeated:
        raise ValidationError(f"value chain {repeated[0]!r} is listed twice")


class ClusterSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(SLUG_PATTERN))
    names = LocalizedText(max_length=300, required=True)
    country = Country(required=True)
    website = fields.Url(load_default=None, allow_none=True, validate=[validate.Length(max=500), NO_CONTROLS],
                         metadata={"format": "uri"})
    value_chains = fields.List(fields.String(validate=validate.Regexp(SLUG_PATTERN)), load_default=list,
                               validate=_unique_value_chains, metadata={"uniqueItems": True})
    description = LocalizedText(allow_empty=True, multiline=True, load_default=dict)


class ProfileSchema(Schema):
    """Version 1 of the document at ``/api/v1/profile``."""

    schema = fields.String(required=True, validate=validate.Equal(PROFILE_SCHEMA_ID))
    version = fields.String(required=True, validate=validate.Regexp(r"^1\.[0-9]+$"))
    sequence = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_SEQUENCE))
    published_at = fields.AwareDateTime(required=True)
    audience = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(AUDIENCES),
                             metadata={"description": "The audience this document was made for: public (anyone) or "
                                                      "federation (a request signed by a hub the node trusts). "
                                                      "Required since 1.2; a reader refuses a document made for "
                                                      "another audience than it asked for"})
    cluster = fields.Nested(ClusterSchema, required=True)
    members = fields.List(fields.Nested(MemberSchema), required=True)
    withdrawn = fields.List(fields.String(validate=validate.Regexp(ID_PATTERN)), load_default=list,
                            validate=validate.Length(max=MAX_WITHDRAWN),
                            metadata={"description": "Ids of members the node withdrew from this audience recently "
                                                     "(deleted, made private or no longer shared with it): a reader "
                                                     "that kept them forgets them. A member merely absent is not "
                                                     "withdrawn (since 1.2)"})

    @validates_schema
    def _unique_member_ids(self, data, **_kwargs):
        seen: set[str] = set()
        for index, member in enumerate(data.get("members", [])):
            if member["id"] in seen:
                raise ValidationError({"members": {index: {"id": [f"duplicate member id {member['id']!r}"]}}})
            seen.add(member["id"])
