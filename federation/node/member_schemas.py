"""Marshmallow schemas of the cluster manager's member services at the node: activity, self-service links,
announcements (federation/node/member_api.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from marshmallow import RAISE, Schema, fields, validate, validates
from marshmallow import ValidationError as MarshmallowValidationError

from ..text import Text
from .schemas import NodeMemberSchema
from .self_service import SELF_SERVICE_FIELDS

DELIVERY_STATES = ("sent", "failed", "no_address", "not_sent")


class ActivityItemSchema(Schema):
    member_id = fields.String()
    name = fields.String()
    state = fields.String(validate=validate.OneOf(("dormant", "quiet", "unknown", "stale", "active")))
    reasons = fields.List(fields.String(), metadata={"description": "Why, e.g. \"no activity since 2025-03-02 "
                                                                    "(640 days)\", \"marked dormant\""})
    last_active = fields.Date(allow_none=True)
    days_inactive = fields.Integer(allow_none=True)
    record_age_days = fields.Integer(allow_none=True, metadata={"description": "Days since the node last updated "
                                                                               "the member's record"})
    reachable = fields.Boolean(metadata={"description": "Whether the member has a contact e-mail"})


class ActivityReportSchema(Schema):
    """The members that need a nudge, worst first (at most members.activity.max_listed), and the counts."""

    as_of = fields.Date()
    members = fields.Integer(metadata={"description": "Members of the node"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "Members per state"})
    unreachable = fields.Integer(metadata={"description": "Members without a contact e-mail"})
    needs_nudge = fields.Integer(metadata={"description": "Members that need a nudge (more than listed when cut)"})
    nudges = fields.List(fields.Nested(ActivityItemSchema))
    thresholds = fields.Dict(keys=fields.String(), values=fields.Integer())


class LinkRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    expires_in_days = fields.Float(load_default=None, allow_none=True,
                                   validate=validate.Range(min=0, min_inclusive=False, max=3650),
                                   metadata={"description": "The link's life (default "
                                                            "members.self_service.expires_in_days)"})
    send = fields.Boolean(load_default=False, metadata={"description": "E-mail the link to the member's contact "
                                                                       "address through the node's mail sender"})


class DeliverySchema(Schema):
    state = fields.String(validate=validate.OneOf(DELIVERY_STATES))
    detail = fields.String(allow_none=True)
    to = fields.String(allow_none=True)


class LinkSchema(Schema):
    """A link just made: its token is shown here only (the node keeps its hash)."""

    link_id = fields.Integer()
    member_id = fields.String()
    token = fields.String()
    url = fields.String(metadata={"description": "Where the member reads and updates its record"})
    expires_at = fields.DateTime()
    delivery = fields.Nested(DeliverySchema, allow_none=True)


class LinkListItemSchema(Schema):
    link_id = fields.Integer()
    member_id = fields.String()
    created_at = fields.DateTime()
    created_by = fields.String()
    expires_at = fields.DateTime()
    used_at = fields.DateTime(allow_none=True)
    state = fields.String(validate=validate.OneOf(("open", "used", "expired")))
    delivery = fields.String(allow_none=True)
    delivery_detail = fields.String(allow_none=True)


class SelfServiceUpdateSchema(NodeMemberSchema):
    """What a member may change of its record, each field as the member schema says (send only what changes)."""

    class Meta:
        exclude = tuple(name for name in NodeMemberSchema._declared_fields if name not in SELF_SERVICE_FIELDS)
        unknown = RAISE

    @validates("last_active")
    def _not_in_the_future(self, value: date | None, **_kwargs) -> None:
        # A member confirms its activity up to today: a date ahead would keep it "active" for years.
        if value is not None and value > datetime.now(UTC).date() + timedelta(days=1):
            raise MarshmallowValidationError("a member's last activity cannot be in the future")


class SelfServiceRecordSchema(Schema):
    member = fields.Nested(NodeMemberSchema)
    editable = fields.List(fields.String(), metadata={"description": "The fields a member may change"})
    expires_at = fields.DateTime(metadata={"description": "The link works once, until then"})


class SelfServiceResultSchema(Schema):
    member = fields.Nested(NodeMemberSchema)
    changed = fields.List(fields.String(), metadata={"description": "The fields the update changed"})
    published = fields.Boolean(metadata={"description": "Whether a new profile version was published"})


class AnnouncementRequestSchema(Schema):
    """An announcement: to a value chain's members, a sub-cluster's (of one chain, or of every chain with that
    sub-cluster), or, with neither, every member."""

    class Meta:
        unknown = RAISE

    title = Text(required=True, validate=validate.Length(1, 300))
    body = Text(required=True, multiline=True, validate=validate.Length(min=1))
    chain = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    subcluster = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    send = fields.Boolean(load_default=False, metadata={"description": "Send it now through the mail sender"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Only say who would get it"})


class AnnouncementDeliverySchema(Schema):
    member_id = fields.String()
    email = fields.String(allow_none=True)
    state = fields.String(validate=validate.OneOf(DELIVERY_STATES))
    detail = fields.String(allow_none=True)
    at = fields.DateTime(allow_none=True)
    reason = fields.String(metadata={"description": "Why the member is a recipient (dry run)"})


class AnnouncementSummarySchema(Schema):
    """An announcement as listed: who it went to and how many deliveries are in each state."""

    id = fields.Integer(allow_none=True, metadata={"description": "null in a dry run's answer"})
    title = fields.String()
    audience = fields.Dict(keys=fields.String(), values=fields.String())
    created_at = fields.DateTime()
    created_by = fields.String()
    recipients = fields.Integer()
    sender = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    delivery_counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class AnnouncementSchema(AnnouncementSummarySchema):
    """An announcement with its text and every recipient's delivery."""

    body = fields.String()
    deliveries = fields.List(fields.Nested(AnnouncementDeliverySchema))
    dry_run = fields.Boolean()
