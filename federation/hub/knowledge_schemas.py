"""Marshmallow schemas of the hub's knowledge API: hosted profiles, knowledge entities, scientific representation,
invitations."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..profile.knowledge import HIDEABLE_FIELDS, VISIBILITY_LEVELS, KnowledgeSchema
from ..profile.schema import ClusterSchema
from ..web import Text
from .knowledge_tables import INVITATION_STATUSES
from .schemas import TokenSchema


class HostedKnowledgeSchema(KnowledgeSchema):
    """A hosted profile's block as its owner sets it (every field; who may see each is ``visibility``)."""

    class Meta:
        exclude = ("federation_fields",)  # made per audience when the document is served


class HostedProfileInSchema(ClusterSchema):
    """What the entity (or the operator) sets: its identity (the profile's cluster object without the id), its
    knowledge block, and who may see each field of the block."""

    class Meta:
        exclude = ("id", "cooperation")

    knowledge = fields.Nested(HostedKnowledgeSchema, required=True)
    visibility = fields.Dict(keys=fields.String(validate=validate.OneOf(HIDEABLE_FIELDS)),
                             values=fields.String(validate=validate.OneOf(VISIBILITY_LEVELS)), load_default=dict,
                             metadata={"description": "public | federation | private per field (contact fields as "
                                                      "contact.email...); a field not listed is public, a contact "
                                                      "field private. kind, names and country are always public"})


class HostedCreateSchema(HostedProfileInSchema):
    """A new hosted profile: its ``id`` (a slug, as a cluster's; the entity key is hosted:<id>) and its profile."""

    class Meta:
        exclude = ("cooperation",)

    token_name = Text(load_default=None, validate=validate.Length(1, 200),
                      metadata={"description": "The name of the knowledge_member token made for it"})


class HostedProfileSchema(Schema):
    """A hosted profile as its owner and the operator read it: everything, with every field's visibility."""

    key = fields.String(metadata={"example": "hosted:uni-sfax"})
    id = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    country = fields.String()
    website = fields.String(allow_none=True)
    value_chains = fields.List(fields.String())
    description = fields.Dict(keys=fields.String(), values=fields.String())
    knowledge = fields.Nested(HostedKnowledgeSchema)
    visibility = fields.Dict(keys=fields.String(), values=fields.String())
    sequence = fields.Integer(metadata={"description": "Grows with every change; the document carries it"})
    created_at = fields.DateTime()
    created_by = fields.String()
    updated_at = fields.DateTime()
    updated_by = fields.String()


class HostedCreatedSchema(HostedProfileSchema):
    token = fields.String(metadata={"description": "The entity's knowledge_member token: shown once, store it now"})
    token_record = fields.Nested(TokenSchema)


class StageLinkSchema(Schema):
    stage = fields.String()
    how = fields.String(metadata={"description": "domain, activity or claim"})
    reason = fields.String(metadata={"example": "FORD 2.9 Industrial biotechnology supports processing"})
    evidence = fields.String()


class SameAsSchema(Schema):
    key = fields.String(metadata={"description": "The other entity"})
    matched = fields.List(fields.String(), metadata={"description": "ror, national_id, website, name_city"})
    reason = fields.String()


class KnowledgeEntitySchema(Schema):
    key = fields.String(metadata={"description": "<node_id>/<member_id>, <node_id> or hosted:<id>"})
    source = fields.String(metadata={"description": "member (a cluster lists it), node (a knowledge node) or "
                                                    "hosted (the hub hosts its profile)"})
    name = fields.String()
    kind = fields.String()
    country = fields.String()
    city = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    identifiers = fields.Dict(keys=fields.String(), values=fields.String())
    research_domains = fields.List(fields.String())
    activities = fields.List(fields.String())
    keywords = fields.List(fields.String())
    services = fields.List(fields.String())
    serves = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "Value chain -> the stages it claims (a knowledge node's or hosted profile's own word)"})
    cluster_node_id = fields.String(allow_none=True)
    audience = fields.String()
    stage_links = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(StageLinkSchema)), metadata={
        "description": "Per value chain, the stages it supports and why"})
    same_as = fields.List(fields.Nested(SameAsSchema), metadata={
        "description": "Same-as links naming it (never merged: each entity stays its own)"})
    organisation = fields.String(metadata={"description": "The key that stands for its organisation in counts"})
    same_organisation = fields.List(fields.String())


class KnowledgeEntityQuerySchema(Schema):
    source = fields.String(validate=validate.OneOf(("member", "node", "hosted")))


class SuggestionSchema(Schema):
    entity = fields.String()
    name = fields.String()
    kind = fields.String()
    country = fields.String()
    score = fields.Float(metadata={"description": "0 to 1, best first"})
    reasons = fields.List(fields.String())
    fills = fields.List(fields.Dict(), metadata={"description": "The unsupported {stage, country} pairs it fills"})


class KnowledgeInviteSchema(Schema):
    entity = Text(required=True, validate=validate.Length(1, 200), metadata={"description": "A knowledge entity key"})


class InvitationSchema(Schema):
    id = fields.Integer()
    metacluster_id = fields.String()
    entity_key = fields.String()
    entity_name = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(INVITATION_STATUSES))
    invited_at = fields.DateTime()
    invited_by = fields.String()
    answered_at = fields.DateTime(allow_none=True)
    answered_by = fields.String(allow_none=True)


class InvitationAnswerSchema(Schema):
    answer = fields.String(required=True, validate=validate.OneOf(("accept", "decline")))


class InvitationQuerySchema(Schema):
    metacluster = Text(validate=validate.Length(1, 80), metadata={"description": "One meta-cluster's"})
    status = fields.String(validate=validate.OneOf(INVITATION_STATUSES))
