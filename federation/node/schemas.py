"""Marshmallow schemas at the edge of the node's API (the profile's own schemas live in federation.profile)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from ..key_schema import PublishedKeySchema
from ..profile.cooperation import CooperationSchema
from ..profile.knowledge import HIDEABLE_FIELDS, KnowledgeSchema
from ..profile.schema import (
    CONTACT_FIELDS,
    ID_PATTERN,
    SLUG_PATTERN,
    ClusterSchema,
    Country,
    LocalizedText,
    MemberSchema,
)

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


class NodeClusterSchema(ClusterSchema):
    """The cluster as its PUT replaces it: the cooperation profile has its own endpoint."""

    class Meta:
        exclude = ("cooperation",)


class NodeCooperationSchema(CooperationSchema):
    """The cooperation profile as the admin sets it: the opportunities are derived at each publication."""

    class Meta:
        exclude = ("opportunities",)


class NodeClusterFileSchema(NodeClusterSchema):
    """The cluster as ``medmci node set-cluster FILE`` reads it: the cluster and, optionally, its cooperation profile
    (a demo's cluster.yaml holds both), each then saved as its own endpoint saves it."""

    class Meta:
        exclude = ()

    cooperation = fields.Nested(NodeCooperationSchema, load_default=None, allow_none=True)


class NodeKnowledgeSchema(KnowledgeSchema):
    """A knowledge node's block as the node stores it, with who may see each hideable field."""

    class Meta:
        exclude = ("federation_fields",)  # made per audience when the profile is published

    visibility = fields.Dict(keys=fields.String(validate=validate.OneOf(HIDEABLE_FIELDS)),
                             values=fields.String(validate=validate.OneOf(VISIBILITIES)), load_default=dict,
                             metadata={"description": "public | federation | private per field (contact fields as "
                                                      "contact.email...); a field not listed is public, a contact "
                                                      "field private. kind, names and country are always public"})


class MemberQuerySchema(Schema):
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))


class ImportQuerySchema(Schema):
    """An import writes: a misspelled parameter (``dryrun=true``) is refused, never ignored into a real import."""

    class Meta:
        unknown = RAISE

    replace = fields.Boolean(load_default=False,
                             metadata={"description": "Also remove the members that are not in the file"})
    dry_run = fields.Boolean(load_default=False,
                             metadata={"description": "Check the file and report what would be created, updated "
                                                      "and removed; change nothing"})


class ImportedFileSchema(Schema):
    format = fields.String(metadata={"description": "csv or xlsx"})
    encoding = fields.String(allow_none=True, metadata={"description": "As detected: UTF-8, UTF-8 with BOM, "
                                                                       "UTF-16 LE, Windows-1252, ISO-8859-1"})
    delimiter = fields.String(allow_none=True, metadata={"description": "comma, semicolon or tab (CSV)"})


class ImportIdsSchema(Schema):
    created = fields.List(fields.String())
    updated = fields.List(fields.String())
    removed = fields.List(fields.String())


class FindingSchema(Schema):
    """One finding of the node's checks."""

    severity = fields.String(validate=validate.OneOf(("error", "warning", "info")))
    kind = fields.String(metadata={"description": "What was checked, e.g. coarse-code", "example": "coarse-code"})
    message = fields.String()
    member_id = fields.String(allow_none=True, metadata={"description": "The member it is about, if any"})
    suggestion = fields.String(allow_none=True, metadata={"description": "What would fix it, when something would"})


class CheckReportSchema(Schema):
    """The node's checks: findings (errors first, at most node.check_max_findings), how many in all, per severity."""

    findings = fields.List(fields.Nested(FindingSchema))
    total = fields.Integer(metadata={"description": "Findings in all (more than listed when cut)"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "Findings per severity"})


class ImportReportSchema(Schema):
    """What an import did (or, with dry_run, would do). A row identical to the stored member is unchanged; an
    import that changes nothing publishes no new profile version."""

    rows = fields.Integer(metadata={"description": "Member rows in the file"})
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    removed = fields.Integer()
    dry_run = fields.Boolean()
    published = fields.Boolean(metadata={"description": "Whether a new profile version was published"})
    file = fields.Nested(ImportedFileSchema, metadata={"description": "What the file was detected to be"})
    ids = fields.Nested(ImportIdsSchema, metadata={"description": "The member ids of each change (at most "
                                                                  "node.import.report_ids of each)"})
    checks = fields.Nested(CheckReportSchema, metadata={
        "description": "The node's checks of the members imported, when they found anything (GET /api/v1/check "
                       "checks all members)"})


class DiscoveryClusterSchema(Schema):
    id = fields.String(validate=validate.Regexp(SLUG_PATTERN))
    country = Country()
    names = LocalizedText(max_length=300)


class DiscoveryProfileSchema(Schema):
    version = fields.String(metadata={"example": "1.1"})
    url = fields.Url(metadata={"description": "Where the profile of this version is served"})
    schema_url = fields.Url(metadata={"description": "Its JSON Schema"})
    media_type = fields.String(metadata={"example": "application/json"})


class DiscoverySchema(Schema):
    """The node's discovery document at /.well-known/med-mci."""

    schema = fields.String(metadata={"example": "med-mci/discovery"})
    version = fields.String(metadata={"example": "1.0"})
    cluster_id = fields.String(allow_none=True, metadata={"description": "null until the node has a cluster"})
    cluster = fields.Nested(DiscoveryClusterSchema, allow_none=True)
    keys = fields.List(fields.Nested(PublishedKeySchema))
    profiles = fields.List(fields.Nested(DiscoveryProfileSchema))
    openapi_url = fields.Url()
