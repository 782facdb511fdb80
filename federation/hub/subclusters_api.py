"""The hub's API for sub-clustering compared: two rule sets applied to one meta-cluster, side by side.

GET compares named rule sets and is open: an anonymous reader's comparison counts public members only. POST
compares rule sets that are not saved (the hub team's drafts) and needs a token with ``federation:read``; it stores
nothing, and its body is bounded by ``subclusters.max_request_bytes``.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate

from ..token_guard import require
from ..web import Blueprint, body_limit
from .api import OPTIONAL_READER, federation_reader, hub

subclusters_bp = Blueprint("subclusters", __name__, url_prefix="/api/v1",
                           description="Sub-clustering rule sets compared on a meta-cluster")

RULES = {"description": "A rule set, twice (A, then B): `installed`, a plugin's name or a saved alternative's name"}


class CompareQuerySchema(Schema):
    rules = fields.List(fields.String(validate=validate.Length(1, 100)), required=True,
                        validate=validate.Length(equal=2), metadata=RULES)


class RuleSetItem(fields.Field):
    """A rule set of a POST: a name (as GET's), the YAML text of a rule file, or its document as an object."""

    def _deserialize(self, value, attr, data, **kwargs):
        if (isinstance(value, str) and value) or isinstance(value, dict):
            return value
        raise ValidationError("a rule set's name, the YAML text of a rule file, or its document (an object)")


class CompareBodySchema(Schema):
    rules = fields.List(RuleSetItem(metadata={"oneOf": [{"type": "string"}, {"type": "object"}]}), required=True,
                        validate=validate.Length(equal=2),
                        metadata={"description": "Two rule sets (A, then B), each a name, a rule file's YAML text, "
                                                 "or its document: {value_chain, rules: [{name, names, codes, "
                                                 "keywords}]}, the format of config/subclusters/<chain>.yaml"})


class SubClusterFiguresSchema(Schema):
    name = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    members = fields.Integer()
    share = fields.Float(metadata={"description": "Of the chain members compared"})
    countries = fields.Dict(keys=fields.String(), values=fields.Integer(),
                            metadata={"description": "Members per country"})
    clusters = fields.Integer()
    knowledge_members = fields.Integer(metadata={"description": "Knowledge members this set's rules place here"})
    cross_border = fields.Boolean(metadata={"description": "Members from two countries or more"})


class BalanceSchema(Schema):
    entropy = fields.Float(metadata={"description": "Normalised Shannon entropy of the sizes of the defined "
                                                    "sub-clusters: 1 all equal, 0 all in one"})
    effective_sub_clusters = fields.Float(metadata={"description": "As many equal sub-clusters would spread "
                                                                   "members as evenly"})
    largest = fields.String(allow_none=True)
    largest_share = fields.Float()


class RuleSetFiguresSchema(Schema):
    label = fields.String(metadata={"example": "A"})
    name = fields.String()
    source = fields.String()
    defined = fields.Integer(metadata={"description": "Sub-clusters the rule set defines"})
    sub_clusters = fields.List(fields.Nested(SubClusterFiguresSchema))
    other = fields.Integer(metadata={"description": "Members no rule places"})
    balance = fields.Nested(BalanceSchema)
    cross_border_sub_clusters = fields.Integer()


class TransitionSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    members = fields.Integer()


class MoverSchema(Schema):
    id = fields.String()
    name = fields.String()
    country = fields.String()
    node_id = fields.String()
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    reason = fields.String(metadata={"description": "Why B's rules place it there"})


class ComparisonSchema(Schema):
    metacluster_id = fields.String()
    value_chain = fields.String()
    audience = fields.String(metadata={"description": "public: an anonymous reader's, public members only"})
    formed = fields.Boolean()
    members = fields.Integer()
    knowledge_members = fields.Integer()
    rule_sets = fields.List(fields.Nested(RuleSetFiguresSchema))
    transitions = fields.List(fields.Nested(TransitionSchema))
    moved = fields.Integer()
    movers = fields.List(fields.Nested(MoverSchema), metadata={"description": "The first subclusters.max_movers"})
    findings = fields.List(fields.String(), metadata={"description": "What B gains and loses against A"})


@subclusters_bp.route("/metaclusters/<metacluster_id>/subclusters/compare")
class Compare(MethodView):
    @subclusters_bp.arguments(CompareQuerySchema, location="query")
    @subclusters_bp.response(200, ComparisonSchema)
    @subclusters_bp.doc(security=OPTIONAL_READER)
    def get(self, query, metacluster_id):
        """Two named sub-clustering rule sets applied to a meta-cluster, side by side (an anonymous reader's
        comparison counts public members only)"""
        return hub().subclusters.by_names(metacluster_id, query["rules"], federation_reader())

    @subclusters_bp.arguments(CompareBodySchema)
    @subclusters_bp.response(200, ComparisonSchema)
    @require("federation:read")
    @body_limit("subclusters.max_request_bytes")
    def post(self, data, metacluster_id):
        """Two rule sets, saved or not, applied to a meta-cluster, side by side; nothing is installed or stored"""
        return hub().subclusters.by_documents(metacluster_id, data["rules"], True)
