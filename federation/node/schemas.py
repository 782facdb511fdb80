"""Marshmallow schemas at the edge of the node's API (the profile's own schemas live in federation.profile)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..profile.schema import CONTACT_FIELDS, ID_PATTERN, MemberSchema

VISIBILITIES = ("public", "federation", "private")


class NodeMemberSchema(MemberSchema):
    """A member as the node stores it: the profile's member plus its visibility and that of its contact fields."""

    class Meta:
        exclude = ("audience",)  # derived from the visibility when the profile is published

    visibility = fields.String(load_default="public", validate=validate.OneOf(VISIBILITIES),
                               metadata={"description": "public: anyone; federation: the hub; private: this node only"})
    contact_visibility = fields.Dict(keys=fields.String(validate=validate.OneOf(CONTACT_FIELDS)),
                                     values=fields.String(validate=validate.OneOf(VISIBILITIES)),
                                     load_default=None, allow_none=True,
                                     metadata={"description": "Per contact field; a field not listed is private"})


class NodeMemberInputSchema(NodeMemberSchema):
    """Creating a member: the id may be left to the node."""

    id = fields.String(validate=validate.Regexp(ID_PATTERN),
                       metadata={"description": "Stable opaque id; generated when left out"})


class MemberQuerySchema(Schema):
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))


class ImportQuerySchema(Schema):
    replace = fields.Boolean(load_default=False,
                             metadata={"description": "Also remove the members that are not in the file"})


class ImportReportSchema(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    removed = fields.Integer()
