"""Marshmallow schemas of the profile document, version 1.

These classes define the document: the node serialises with them, the hub validates with them, the JSON Schema and
the OpenAPI docs are derived from them. The member's schema is in :mod:`federation.profile.member_fields`, with
the columns that store it (one place to add a member field); its field types in :mod:`.field_types`; a knowledge
node's block in :mod:`.knowledge`, a cluster's cooperation profile in :mod:`.cooperation`.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# The field types, and the member (federation.profile.member_fields), are part of this document: importable here.
from .cooperation import CooperationSchema
from .field_types import AUDIENCES, FREE_TEXT, ID_PATTERN, NO_CONTROLS, SLUG_PATTERN, Country, LocalizedText  # noqa: F401
from .knowledge import KnowledgeSchema
from .member_fields import (  # noqa: F401
    CONTACT_FIELDS,
    SIZES,
    STATUSES,
    ActivityCodeSchema,
    ContactSchema,
    MemberSchema,
    TextWithCodesSchema,
)

PROFILE_SCHEMA_ID = "med-mci/profile"
# 1.1 added a member's audience and contact; 1.2 the audience the document was made for and the ids of the members
# the node withdrew from it; 1.3 the knowledge profile (``knowledge``), the cluster's cooperation profile, and a
# member's research domains, identifiers and website. Older documents are read as before.
CURRENT_VERSION = "1.3"

#: Most withdrawn member ids one document may list (a node keeps fewer: node.withdrawn_max).
MAX_WITHDRAWN = 10000
#: Highest sequence number: integers beyond 2^53 - 1 are not exact in RFC 8785 (and JavaScript).
MAX_SEQUENCE = 2**53 - 1


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
    cooperation = fields.Nested(CooperationSchema, allow_none=True,
                                metadata={"description": "What the cluster seeks in cooperation (since 1.3)"})


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
    knowledge = fields.Nested(KnowledgeSchema, allow_none=True,
                              metadata={"description": "A knowledge node's own profile (since 1.3): the document of a "
                                                       "university, research or technology centre or TTO, whose "
                                                       "identity is the cluster object; it lists no members"})

    @validates_schema
    def _unique_member_ids(self, data, **_kwargs):
        seen: set[str] = set()
        for index, member in enumerate(data.get("members", [])):
            if member["id"] in seen:
                raise ValidationError({"members": {index: {"id": [f"duplicate member id {member['id']!r}"]}}})
            seen.add(member["id"])

    @validates_schema
    def _knowledge_profile_lists_no_members(self, data, **_kwargs):
        if data.get("knowledge") is not None and data.get("members"):
            raise ValidationError({"members": [f"a knowledge profile (with knowledge) lists no members, this one "
                                               f"lists {len(data['members'])}"]})
