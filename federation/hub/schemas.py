"""Marshmallow schemas at the edge of the hub's API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..catalog_api import StageSchema
from ..key_schema import PublishedKeySchema
from ..profile.knowledge import KnowledgeSchema
from ..profile.schema import ClusterSchema
from ..tokens import HUB_ROLES, SCOPES
from ..web import Text
from .nodes import DECISIONS, STATUSES


class NodeRegistrationSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$"),
                       metadata={"description": "The hub's id for this node (a slug)", "example": "qoot"})
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                     metadata={"description": "The node's base URL (discovery at /.well-known/med-mci)"})
    name = Text(load_default=None, validate=validate.Length(max=300))
    country = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]{2}$"),
                            metadata={"description": "Optional check: the country the operator expects"})


class JoinRequestSchema(Schema):
    node_url = fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                          metadata={"description": "The node's base URL; its discovery document must publish the "
                                                   "key that signed this request"})
    name = Text(load_default=None, validate=validate.Length(max=300))


class NodeDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(tuple(DECISIONS)))
    reason = Text(load_default=None, multiline=True, validate=validate.Length(max=1000))


class TokenRequestSchema(Schema):
    name = Text(required=True, validate=validate.Length(1, 200))
    role = fields.String(required=True, validate=validate.OneOf(tuple(HUB_ROLES)))
    scopes = fields.List(fields.String(validate=validate.OneOf(sorted(SCOPES))), load_default=None,
                         validate=validate.Length(max=len(SCOPES)),
                         metadata={"description": "A subset of the role's scopes; default: all of them"})
    node_id = Text(load_default=None, validate=validate.Length(1, 64),
                   metadata={"description": "Required for node_operator tokens"})
    entity_key = Text(load_default=None, validate=validate.Length(1, 200),
                      metadata={"description": "Required for knowledge_member tokens: the hosted profile it speaks "
                                               "for (hosted:<id>)"})


class TokenSchema(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()
    scopes = fields.List(fields.String())
    node_id = fields.String(allow_none=True)
    entity_key = fields.String(allow_none=True, metadata={"description": "The knowledge entity a knowledge_member "
                                                                         "token is bound to (hosted:<id>)"})
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class TokenCreatedSchema(TokenSchema):
    token = fields.String(metadata={"description": "The token itself: shown once, store it now"})


class AuditQuerySchema(Schema):
    # No load_default (None) on query parameters: a query string has no null, and the docs must not say otherwise.
    action = Text(validate=validate.Length(max=64), metadata={"description": "An action or its prefix (registration.)"})
    node_id = Text(validate=validate.Length(max=64))
    limit = fields.Integer(validate=validate.Range(1, 1000),
                           metadata={"description": "The page size (an older name of page_size)"})


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    node_id = fields.String(allow_none=True)
    details = fields.Dict()


class NodeStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class IgnoredSchemeSchema(Schema):
    scheme = fields.String()
    codes = fields.Integer(metadata={"description": "Codes in this scheme the hub left out"})
    members = fields.Integer(metadata={"description": "Members that use it"})


class IgnoredPartsSchema(Schema):
    """What the hub set aside of a node's current version: the value chains and activity schemes it does not know
    (plugins the node has and the hub lacks). The rest of the profile is kept and formed as usual."""

    value_chains = fields.List(fields.String(), metadata={"description": "The first 20, sorted"})
    value_chains_total = fields.Integer()
    schemes = fields.List(fields.Nested(IgnoredSchemeSchema), metadata={"description": "The first 20, sorted"})
    schemes_total = fields.Integer()


class NodeSchema(Schema):
    id = fields.String()
    url = fields.String()
    name = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending, active, paused, rejected or suspended"})
    cluster_id = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    health = fields.String(metadata={"description": "ok, degraded (failing) or unavailable (failing for days)"})
    next_attempt_at = fields.DateTime(allow_none=True, metadata={"description": "Backoff: not fetched before"})
    first_failure_at = fields.DateTime(allow_none=True)
    fetch_requested_at = fields.DateTime(allow_none=True, metadata={"description": "A push asked for a fetch"})
    hub_keys = fields.List(fields.Dict(), metadata={"description": "In the answer to a join request only"})
    registered_at = fields.DateTime()
    profile_url = fields.String(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    last_success_at = fields.DateTime(allow_none=True)
    last_outcome = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    consecutive_failures = fields.Integer()
    ignored = fields.Nested(IgnoredPartsSchema, allow_none=True,
                            metadata={"description": "What the hub set aside of the node's current version "
                                                     "(null: nothing)"})
    catalog_url = fields.String(metadata={"description": "In the answer to a join request only: the hub's signed "
                                                         "catalogue (value chains and schemes it knows)"})


class VersionSchema(Schema):
    id = fields.Integer()
    sequence = fields.Integer()
    schema_version = fields.String()
    sha256 = fields.String()
    etag = fields.String(allow_none=True)
    fetched_at = fields.DateTime()
    size = fields.Integer()
    ignored = fields.Nested(IgnoredPartsSchema, allow_none=True,
                            metadata={"description": "What the hub set aside when it read this version"})


class HarvestRequestSchema(Schema):
    nodes = fields.List(Text(validate=validate.Length(1, 64)), load_default=None,
                        validate=validate.Length(max=10_000),
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
    outcome = fields.String(metadata={"description": "queued (waiting for a worker), running, new_version, "
                                                    "not_modified, unchanged or failed"})
    details = fields.Raw(allow_none=True)
    version_id = fields.Integer(allow_none=True)
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    worker = fields.String(allow_none=True, metadata={"description": "host/pid of the process, or the Celery worker, "
                                                                     "that did the fetch"})
    chains = fields.List(fields.String(), allow_none=True,
                         metadata={"description": "value chains a new version bears on (formed again)"})


class RunSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "running, finished, partial (every fetch recorded, but a "
                                                    "plugin's rule failed some value chain's formation: see error), "
                                                    "or failed (lease expired, or the run stopped on an error)"})
    error = fields.String(allow_none=True)
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
    members = fields.List(fields.String(), metadata={"description": "member ids as node_id/member_id (in the API, "
                                                                    "at most api.embedded_members of them)"})
    members_total = fields.Integer(metadata={"description": "How many members the sub-cluster has (API only)"})


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
    via = fields.String(metadata={"description": "invitation: a knowledge entity that accepted the meta-cluster's "
                                                 "invitation (absent for the members formation placed)"})
    accepted_at = fields.DateTime(metadata={"description": "When it accepted the invitation (via invitation)"})


class PlacedMemberSchema(KnowledgeMemberSchema):
    """A chain member of a meta-cluster: where it was placed, by which rule, and why."""

    sub_cluster = fields.String()
    rule = fields.String()
    notes = fields.List(fields.String(), metadata={
        "description": "What a coarse activity code left undecided: counted on several stages, only partly on the "
                       "chain, or between sub-clusters"})


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
    members = fields.List(fields.Nested(PlacedMemberSchema), metadata={
        "description": "At most api.embedded_members; all of them at /api/v1/metaclusters/{id}/members"})
    members_total = fields.Integer(metadata={"description": "How many chain members the meta-cluster has"})
    knowledge_members = fields.List(fields.Nested(KnowledgeMemberSchema), metadata={
        "description": "At most api.embedded_members; all of them at /api/v1/metaclusters/{id}/knowledge-members"})
    knowledge_members_total = fields.Integer()
    stage_coverage = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    gaps = fields.List(fields.String())
    country_gaps = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    scientific_representation = fields.Dict(allow_none=True, metadata={
        "description": "The knowledge figures of a formed meta-cluster (null otherwise), counted once per "
                       "organisation over its knowledge members (invitees included) and the entities serving its "
                       "chain: knowledge_per_100_members, by_country, by_stage, triple_helix, unsupported, "
                       "organisations, clusters (the same per cluster)"})


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
    stages = fields.List(fields.String(), metadata={"description": "A member's: the stages its codes count on"})
    explanation = fields.List(fields.String(), metadata={
        "description": "A member's: how each of its codes falls on the chain, in its own scheme's words, and what "
                       "its sub-cluster placement could not decide"})


class WhySchema(Schema):
    cluster_id = fields.String()
    node_id = fields.String()
    country = fields.String()
    member_id = fields.String(allow_none=True)
    placements = fields.List(fields.Nested(PlacementSchema))
    not_placed = fields.List(fields.Nested(PlacementSchema), metadata={
        "description": "A member's: every other value chain, with why it is not on it (its codes, or its "
                       "cluster's verdict); empty for a cluster"})


class FreshnessSchema(Schema):
    """How fresh a cluster's data is at the hub (federation/hub/freshness.py)."""

    state = fields.String(validate=validate.OneOf(("fresh", "ageing", "stale")), metadata={
        "description": "The worst of: the last accepted version's age, the median age of the members' last "
                       "activity (benchmark.freshness.ageing_days, stale_days), failing fetches (failing_stale_days)"})
    why = fields.List(fields.String(), metadata={"description": "What makes it ageing or stale"})
    last_version_at = fields.DateTime(allow_none=True)
    last_version_age_days = fields.Integer(allow_none=True)
    last_fetch_at = fields.DateTime(allow_none=True, metadata={"description": "The hub's last successful fetch"})
    stale_since = fields.DateTime(allow_none=True)
    members = fields.Integer(metadata={"description": "Members the reader may see"})
    members_last_active_median_days = fields.Float(allow_none=True)
    members_without_last_active_share = fields.Float(allow_none=True)


class HubClusterSchema(ClusterSchema):
    """A cluster as the hub serves it: the profile's cluster, with the node and the version it comes from; a
    knowledge node's is the organisation's identity, with its knowledge block."""

    node_id = fields.String()
    kind = fields.String(validate=validate.OneOf(("cluster", "knowledge")), metadata={
        "description": "cluster, or knowledge: a knowledge node (a university, research or technology centre or TTO "
                       "publishing its own profile), never a candidate of a meta-cluster"})
    knowledge = fields.Nested(KnowledgeSchema, allow_none=True, metadata={
        "description": "A knowledge node's block: its public rendering to an anonymous reader"})
    members = fields.Integer()
    version_id = fields.Integer()
    updated_at = fields.DateTime()
    stale_since = fields.DateTime(allow_none=True, metadata={
        "description": "Fetches of this node fail since then; the data is its last good version"})
    freshness = fields.Nested(FreshnessSchema, allow_none=True)


class HubDiscoverySchema(Schema):
    """The hub's discovery document at /.well-known/med-mci-hub."""

    schema = fields.String(metadata={"example": "med-mci/hub"})
    version = fields.String(metadata={"example": "1.0"})
    keys = fields.List(fields.Nested(PublishedKeySchema), metadata={
        "description": "Keys that sign the hub's requests; a node serves its federation audience to them"})
    registrations_url = fields.Url(metadata={"description": "Where a node asks to join (POST, signed)"})
    catalog_url = fields.Url(metadata={"description": "The hub's signed catalogue: the value chains and activity "
                                                      "schemes it knows, which the nodes that trust it accept"})
