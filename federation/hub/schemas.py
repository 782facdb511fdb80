"""Marshmallow schemas at the edge of the hub's API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..catalog_api import StageSchema
from .nodes import STATUSES


class NodeRegistrationSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$"),
                       metadata={"description": "The hub's id for this node (a slug)", "example": "qoot"})
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                     metadata={"description": "The node's base URL (discovery at /.well-known/med-mci)"})
    name = fields.String(load_default=None, validate=validate.Length(max=300))


class NodeStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class NodeSchema(Schema):
    id = fields.String()
    url = fields.String()
    name = fields.String(allow_none=True)
    status = fields.String()
    registered_at = fields.DateTime()
    profile_url = fields.String(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    last_success_at = fields.DateTime(allow_none=True)
    last_outcome = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    consecutive_failures = fields.Integer()


class VersionSchema(Schema):
    id = fields.Integer()
    sequence = fields.Integer()
    schema_version = fields.String()
    sha256 = fields.String()
    etag = fields.String(allow_none=True)
    fetched_at = fields.DateTime()
    size = fields.Integer()


class HarvestRequestSchema(Schema):
    nodes = fields.List(fields.String(), load_default=None,
                        metadata={"description": "Node ids to harvest; default: every active node"})


class NodeOutcomeSchema(Schema):
    node_id = fields.String()
    outcome = fields.String(metadata={"description": "new_version, not_modified, unchanged or failed"})
    http_status = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)


class HarvestReportSchema(Schema):
    run_id = fields.Integer()
    started_at = fields.String()
    finished_at = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    aggregated = fields.Boolean()
    nodes = fields.List(fields.Nested(NodeOutcomeSchema))


class AttemptSchema(NodeOutcomeSchema):
    details = fields.Raw(allow_none=True)
    version_id = fields.Integer(allow_none=True)
    started_at = fields.DateTime()
    finished_at = fields.DateTime()


class RunSchema(Schema):
    id = fields.Integer()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    aggregated = fields.Boolean()
    attempts = fields.List(fields.Nested(AttemptSchema))


class DecisionSchema(Schema):
    passed = fields.Boolean()
    rule = fields.String()
    reason = fields.String()


class ClusterEntrySchema(Schema):
    id = fields.String()
    node_id = fields.String()
    name = fields.String()
    country = fields.String()
    claims_chain = fields.Boolean()
    members_on_chain = fields.Integer()
    decisions = fields.List(fields.Nested(DecisionSchema))


class SubClusterSchema(Schema):
    name = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    members = fields.List(fields.String(), metadata={"description": "member ids as node_id/member_id"})


class KnowledgeMemberSchema(Schema):
    id = fields.String(metadata={"description": "node_id/member_id"})
    member_id = fields.String()
    name = fields.String()
    kind = fields.String()
    country = fields.String()
    cluster_id = fields.String()
    node_id = fields.String()
    city = fields.String(allow_none=True)
    status = fields.String()
    stages = fields.List(fields.String())
    reason = fields.String(metadata={"description": "Why the member serves or belongs to the meta-cluster"})


class PlacedMemberSchema(KnowledgeMemberSchema):
    """A chain member of a meta-cluster: where it was placed, by which rule, and why."""

    sub_cluster = fields.String()
    rule = fields.String()


class MetaClusterSchema(Schema):
    id = fields.String()
    value_chain = fields.String()
    value_chain_names = fields.Dict(keys=fields.String(), values=fields.String())
    ecosystem = fields.String(allow_none=True)
    formed = fields.Boolean()
    decisions = fields.List(fields.Nested(DecisionSchema))
    countries = fields.List(fields.String())
    clusters = fields.List(fields.Nested(ClusterEntrySchema))
    excluded_clusters = fields.List(fields.Nested(ClusterEntrySchema))
    stages = fields.List(fields.Nested(StageSchema))
    sub_clusters = fields.List(fields.Nested(SubClusterSchema))
    members = fields.List(fields.Nested(PlacedMemberSchema))
    knowledge_members = fields.List(fields.Nested(KnowledgeMemberSchema))
    stage_coverage = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    gaps = fields.List(fields.String())
    country_gaps = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class MetaClusterQuerySchema(Schema):
    formed = fields.String(load_default="true", validate=validate.OneOf(("true", "false", "all")))


class PlacementSchema(Schema):
    metacluster_id = fields.String()
    value_chain = fields.String()
    metacluster_formed = fields.Boolean(allow_none=True)
    subject = fields.String()
    included = fields.Boolean()
    sub_cluster = fields.String(allow_none=True)
    reasons = fields.List(fields.Nested(DecisionSchema))


class WhySchema(Schema):
    cluster_id = fields.String()
    node_id = fields.String()
    country = fields.String()
    member_id = fields.String(allow_none=True)
    placements = fields.List(fields.Nested(PlacementSchema))


class HubClusterSchema(Schema):
    id = fields.String()
    node_id = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    country = fields.String()
    website = fields.String(allow_none=True)
    value_chains = fields.List(fields.String())
    description = fields.Dict(keys=fields.String(), values=fields.String())
    members = fields.Integer()
    version_id = fields.Integer()
    updated_at = fields.DateTime()
