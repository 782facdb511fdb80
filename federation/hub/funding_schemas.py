"""Marshmallow schemas of the hub's funding-calls API (``/api/v1/calls``): the calls, an import's report and the
eligibility of a meta-cluster or a pilot."""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from ..web import Text


class CallSchema(Schema):
    """A funding call as imported (README "Funding calls": the file's fields), with whether it is still open."""

    id = fields.String(required=True)
    programme = fields.String(required=True)
    title = fields.String(required=True)
    deadline = fields.String(required=True, metadata={"description": "ISO date"})
    opens = fields.String(allow_none=True, metadata={"description": "ISO date, or null"})
    countries = fields.List(fields.String(), metadata={"description": "eligible countries (lists expanded); empty: "
                                                                      "any"})
    country_lists = fields.List(fields.String(), metadata={"description": "the country lists the call named"})
    kinds = fields.List(fields.String(), metadata={"description": "eligible member kinds; empty: any"})
    min_partners = fields.Integer()
    min_countries = fields.Integer()
    required_kinds = fields.List(fields.List(fields.String()),
                                 metadata={"description": "one partner of each: any kind of the inner list"})
    required_regions = fields.List(fields.String(), metadata={"description": "one partner from each (country list "
                                                                             "or ISO code)"})
    topics = fields.List(fields.String(), metadata={"description": "the call's codes as pivot-scheme classes"})
    topic_codes = fields.List(fields.String(), metadata={"description": "the call's codes as the file wrote them"})
    keywords = fields.List(fields.String())
    link = fields.String()
    budget = fields.String(allow_none=True)
    languages = fields.List(fields.String())
    open = fields.Boolean(metadata={"description": "the deadline is today or later"})


class CallQuerySchema(Schema):
    all = fields.Boolean(load_default=False, metadata={"description": "every call, closed ones too (default: the "
                                                                      "open ones)"})


class ImportReportSchema(Schema):
    format = fields.String(metadata={"description": "csv or json"})
    calls = fields.Integer(metadata={"description": "calls in the file"})
    created = fields.List(fields.String())
    updated = fields.List(fields.String())
    unchanged = fields.Integer()


class EligibleQuerySchema(Schema):
    metacluster = Text(validate=validate.Length(max=80), metadata={"description": "a meta-cluster's id or value chain"})
    pilot = Text(validate=validate.Length(max=64), metadata={"description": "a pilot's id (federation readers)"})

    @validates_schema
    def one_of_them(self, data, **_kwargs):
        if ("metacluster" in data) == ("pilot" in data):
            raise SchemaError("give metacluster or pilot, one of them", "metacluster")


class CandidateSchema(Schema):
    key = fields.String()
    name = fields.String()
    kind = fields.String()
    country = fields.String()
    source = fields.String(metadata={"description": "cluster, member or knowledge"})
    same_value_chain = fields.Boolean()
    cluster = fields.String(allow_none=True, metadata={"description": "the node of the member's cluster"})


class GapSchema(Schema):
    rule = fields.String(metadata={"description": "the eligibility rule that found it"})
    text = fields.String(metadata={"description": "what is missing"})
    fillable = fields.Boolean(metadata={"description": "false when no partner can fill it (the deadline passed)"})
    candidates = fields.List(fields.Nested(CandidateSchema))


class GappedCallSchema(CallSchema):
    gaps = fields.List(fields.Nested(GapSchema))


class ConsortiumSchema(Schema):
    kind = fields.String(metadata={"description": "metacluster or pilot"})
    id = fields.String()
    name = fields.String()
    value_chain = fields.String()
    partners = fields.Integer()
    countries = fields.List(fields.String())
    kinds = fields.Dict(keys=fields.String(), values=fields.Integer())


class EligibilitySchema(Schema):
    consortium = fields.Nested(ConsortiumSchema)
    today = fields.String()
    open_calls = fields.Integer()
    checked = fields.Integer(metadata={"description": "open calls checked (funding.max_checked_calls at most)"})
    cut = fields.Boolean(metadata={"description": "more calls are open than were checked"})
    eligible = fields.List(fields.Nested(CallSchema))
    not_eligible = fields.List(fields.Nested(GappedCallSchema))
