"""Marshmallow schemas at the edge of the hub's matchmaking API (federation/hub/matches_api.py).

Widths a column fixes are checked here; the bounds an operator may tune (``matching.k``, page sizes, note length)
are ``matching.*`` settings, checked by the services (federation/hub/matching.py, federation/hub/meetings.py).
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..text import Text
from .match_tables import MAX_MEMBER_KEY, MEETING_STATES
from .meetings import ACTIONS


def _member_key(**kwargs) -> Text:
    return Text(validate=validate.Length(3, MAX_MEMBER_KEY),
                metadata={"description": "A member: NODE/ID (the hub's node id or the cluster id, then the member's "
                                         "id)", "example": "node-lb/qoot-wine"}, **kwargs)


class MatchQuerySchema(Schema):
    member = _member_key()
    cluster = Text(validate=validate.Length(1, 64), metadata={"description": "A cluster id or its hub node id"})
    metacluster = Text(validate=validate.Length(1, 80), metadata={"description": "A meta-cluster id or value chain"})
    country = fields.String(validate=validate.Regexp(r"^[A-Za-z]{2}$"),
                            metadata={"description": "Only partners of this country (ISO 3166-1 alpha-2)"})
    limit = fields.Integer(validate=validate.Range(1, 1000),
                           metadata={"description": "Suggestions per member (at most matching.k)"})
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    page_size = fields.Integer(validate=validate.Range(1, 1000),
                               metadata={"description": "Members per page (at most matching.max_page_size)"})

    @validates_schema
    def _one_subject(self, data, **_kwargs):
        given = [name for name in ("member", "cluster", "metacluster") if name in data]
        if len(given) != 1:
            raise ValidationError("give exactly one of member, cluster, metacluster", "_schema")


class MatchPartySchema(Schema):
    key = fields.String()
    node_id = fields.String()
    cluster_id = fields.String()
    country = fields.String()
    name = fields.String()
    kind = fields.String()
    audience = fields.String()


class MatchReasonSchema(Schema):
    scorer = fields.String()
    score = fields.Float()
    text = fields.String()


class MatchSuggestionSchema(Schema):
    rank = fields.Integer()
    score = fields.Float()
    partner = fields.Nested(MatchPartySchema)
    reasons = fields.List(fields.Nested(MatchReasonSchema))


class MatchGroupSchema(Schema):
    member = fields.Nested(MatchPartySchema)
    suggestions = fields.List(fields.Nested(MatchSuggestionSchema))


class MatchesSchema(Schema):
    subject = fields.Dict(metadata={"description": "What was asked: kind (member, cluster, metacluster) and key"})
    country = fields.String(allow_none=True)
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer(metadata={"description": "Members with suggestions this reader may see"})
    groups = fields.List(fields.Nested(MatchGroupSchema))


class MeetingCreateSchema(Schema):
    member = Text(required=True, validate=validate.Length(1, 128),
                  metadata={"description": "The acting node's own member id"})
    partner = _member_key(required=True)
    state = fields.String(load_default="requested", validate=validate.OneOf(("interested", "requested")))
    note = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(max=10_000))


class MeetingActionSchema(Schema):
    note = Text(load_default=None, allow_none=True, multiline=True, validate=validate.Length(max=10_000))


class MeetingQuerySchema(Schema):
    state = fields.String(validate=validate.OneOf(MEETING_STATES))


class MeetingStepSchema(Schema):
    state = fields.String()
    at = fields.String()
    by = fields.String()


class MeetingSchema(Schema):
    id = fields.Integer()
    member = fields.String()
    partner = fields.String()
    member_node_id = fields.String()
    partner_node_id = fields.String()
    member_country = fields.String()
    partner_country = fields.String()
    state = fields.String(metadata={"description": f"One of {', '.join(MEETING_STATES)}"})
    score = fields.Float(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    requested_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    held_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()
    history = fields.List(fields.Nested(MeetingStepSchema))


class CountryPairSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    intents = fields.Integer()
    initiated = fields.Integer()
    accepted = fields.Integer()
    held = fields.Integer()
    declined = fields.Integer()
    cancelled = fields.Integer()


class MeetingStatsSchema(Schema):
    intents = fields.Integer()
    initiated = fields.Integer(metadata={"description": "Meetings requested"})
    accepted = fields.Integer()
    held = fields.Integer()
    declined = fields.Integer()
    cancelled = fields.Integer()
    pairs = fields.List(fields.Nested(CountryPairSchema),
                        metadata={"description": "Per country pair, the requesting member's country first"})


#: The actions of ``POST /api/v1/matches/nodes/{node}/meetings/{id}/{action}``.
MEETING_ACTIONS = ACTIONS
