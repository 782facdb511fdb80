"""The cluster's cooperation profile (``cluster.cooperation``, 1.3): what it wants to work on, with whom and where,
and the opportunities its members' offers and needs make (derived by the node when it publishes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from marshmallow import Schema, ValidationError, fields, validate

from ..domain import MEMBER_KINDS
from .field_types import NO_CONTROLS, Country

PRIORITY_TOPICS = ("internationalisation", "export", "research_development", "innovation", "training",
                   "digitalisation", "sustainability", "financing", "standards_certification", "market_access")
#: Who a cluster may look for: any kind of member, or another cluster.
PARTNER_KINDS = (*MEMBER_KINDS, "cluster")
#: Most offer (and need) codes the opportunities list, most members first.
MAX_OPPORTUNITIES = 20
MAX_OTHER_TOPICS = 10


class OpportunitySchema(Schema):
    scheme = fields.String(required=True, validate=[validate.Length(1, 32), NO_CONTROLS])
    code = fields.String(required=True, validate=[validate.Length(1, 16), NO_CONTROLS])
    members = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                             metadata={"description": "How many members shared with this audience give the code"})


class OpportunitiesSchema(Schema):
    """The codes the cluster's members offer and need, as many members as give each (derived by the node)."""

    offers = fields.List(fields.Nested(OpportunitySchema), load_default=list,
                         validate=validate.Length(max=MAX_OPPORTUNITIES))
    needs = fields.List(fields.Nested(OpportunitySchema), load_default=list,
                        validate=validate.Length(max=MAX_OPPORTUNITIES))


def _unique(items: list) -> None:
    repeated = [item for index, item in enumerate(items) if item in items[:index]]
    if repeated:
        raise ValidationError(f"{repeated[0]!r} is listed twice")


class CooperationSchema(Schema):
    """What the cluster seeks in cooperation (1.3)."""

    priority_topics = fields.List(fields.String(validate=validate.OneOf(PRIORITY_TOPICS)), load_default=list,
                                  validate=[validate.Length(max=len(PRIORITY_TOPICS)), _unique])
    other_topics = fields.List(fields.String(validate=[validate.Length(1, 200), NO_CONTROLS]), load_default=list,
                               validate=validate.Length(max=MAX_OTHER_TOPICS))
    partners_sought = fields.List(fields.String(validate=validate.OneOf(PARTNER_KINDS)), load_default=list,
                                  validate=[validate.Length(max=len(PARTNER_KINDS)), _unique])
    target_markets = fields.List(Country(), load_default=list, validate=[validate.Length(max=250), _unique])
    opportunities = fields.Nested(OpportunitiesSchema, load_default=None, allow_none=True,
                                  metadata={"description": "Derived by the node from the offers and needs of the "
                                                           "members this audience sees (up to 20 codes each)"})


class OpportunityCounter:
    """Counts, per offered and needed code, the members that give it (each member once per code)."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = {"offers": Counter(), "needs": Counter()}

    def add(self, member: Mapping) -> None:
        for side, counter in self.counts.items():
            counter.update({(code["scheme"], code["code"]) for item in member.get(side) or ()
                            for code in item.get("codes") or ()})

    def opportunities(self) -> dict:
        """``{"offers": [...], "needs": [...]}``: up to :data:`MAX_OPPORTUNITIES` each, most members first, ties by
        code."""
        return {side: [{"scheme": scheme, "code": code, "members": n} for (scheme, code), n in
                       sorted(counter.items(), key=lambda item: (-item[1], item[0][1], item[0][0]))[:MAX_OPPORTUNITIES]]
                for side, counter in self.counts.items()}


def opportunities_of(members: Iterable[Mapping]) -> dict:
    """The opportunities of ``members`` (each with its ``offers`` and ``needs``)."""
    counter = OpportunityCounter()
    for member in members:
        counter.add(member)
    return counter.opportunities()
