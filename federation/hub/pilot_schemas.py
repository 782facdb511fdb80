"""Marshmallow schemas at the edge of the hub's pilots API (federation/hub/pilots_api.py).

Widths a column fixes are checked here; the lengths and counts an operator may tune are ``pilots.*`` settings,
checked by the services (federation/hub/pilots.py, federation/hub/pilot_work.py).
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..text import Text
from .pilot_tables import (
    ACTIVITY_KINDS,
    MAX_NAME_COLUMN,
    MAX_PARTICIPANT_KEY,
    OUTCOME_KINDS,
    PARTICIPANT_KINDS,
    PARTICIPANT_STATUSES,
    PILOT_STATUSES,
)

#: The widest outcome link a column holds.
MAX_LINK = 500

_KEY = Text(validate=validate.Length(1, MAX_PARTICIPANT_KEY),
            metadata={"description": "A participant: a cluster's hub node id, or a knowledge entity's key"})


class TeamConstraintsSchema(Schema):
    """What team formation must respect (the medmci_form_teams hook reads them)."""

    team_size = fields.List(fields.Integer(validate=validate.Range(1, 1000)), validate=validate.Length(2, 2),
                            metadata={"description": "[min, max] members per team", "example": [3, 5]})
    min_countries = fields.Integer(validate=validate.Range(1, 100))
    eu_and_mena = fields.Boolean(metadata={"description": "Each team has EU and MENA members"})
    min_knowledge = fields.Integer(validate=validate.Range(0, 1000))
    max_teams_per_participant = fields.Integer(validate=validate.Range(1, 1000))

    @validates_schema
    def _ordered(self, data, **_kwargs):
        size = data.get("team_size")
        if size and size[0] > size[1]:
            raise ValidationError("min is larger than max", "team_size")


class PilotCreateSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$"),
                       metadata={"description": "The pilot's id (a slug)", "example": "olive-oil-2026"})
    name = Text(required=True, validate=validate.Length(1, MAX_NAME_COLUMN))
    goal = Text(required=True, multiline=True, validate=validate.Length(min=1))
    metacluster_id = Text(required=True, validate=validate.Length(1, 80),
                          metadata={"description": "A formed meta-cluster, by id or value chain"})
    coordinator = Text(required=True, validate=validate.Length(1, 64),
                       metadata={"description": "The coordinating cluster (hub node id or cluster id): one of the "
                                                "meta-cluster's clusters"})
    team_constraints = fields.Nested(TeamConstraintsSchema, load_default=None, allow_none=True)


class PilotStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(PILOT_STATUSES),
                           metadata={"description": "proposed -> active -> closed, nothing else"})


class ParticipantSchema(Schema):
    key = fields.String()
    kind = fields.String(metadata={"description": " or ".join(PARTICIPANT_KINDS)})
    name = fields.String()
    country = fields.String(allow_none=True)
    status = fields.String(metadata={"description": ", ".join(PARTICIPANT_STATUSES)})
    invited_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
    answered_by = fields.String(allow_none=True)


class PilotCountsSchema(Schema):
    teams = fields.Integer()
    activities = fields.Integer()
    outcomes = fields.Integer()


class PilotSchema(Schema):
    id = fields.String()
    name = fields.String()
    goal = fields.String()
    metacluster_id = fields.String()
    coordinator_node_id = fields.String()
    status = fields.String(metadata={"description": ", ".join(PILOT_STATUSES)})
    created_at = fields.DateTime()
    activated_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    created_by = fields.String()
    figures_at_start = fields.Dict(allow_none=True, metadata={
        "description": "The meta-cluster's scientific-representation figures when the pilot was created (kept "
                       "unchanged; null when none were known)"})
    team_constraints = fields.Dict()
    participants = fields.List(fields.Nested(ParticipantSchema), metadata={"description": "One pilot only"})
    counts = fields.Nested(PilotCountsSchema, metadata={"description": "One pilot only"})


class InviteSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(PARTICIPANT_KINDS), metadata={
        "description": "cluster: invite clusters of the meta-cluster (they answer); knowledge: add knowledge "
                       "entities serving it (they take part)"})
    keys = fields.List(_KEY, required=True, validate=validate.Length(min=1))


class AnswerSchema(Schema):
    answer = fields.String(required=True, validate=validate.OneOf(("accept", "decline")))


class TeamSchema(Schema):
    name = Text(required=True, validate=validate.Length(1, MAX_NAME_COLUMN))
    members = fields.List(_KEY, required=True, validate=validate.Length(min=1))
    score = fields.Float(load_default=None, allow_none=True, allow_nan=False)
    reasons = fields.List(Text(multiline=True), load_default=list)


class TeamsSaveSchema(Schema):
    teams = fields.List(fields.Nested(TeamSchema), required=True, validate=validate.Length(min=1))


class TeamEditSchema(Schema):
    add = fields.List(_KEY, load_default=list)
    remove = fields.List(_KEY, load_default=list)
    rename = Text(load_default=None, validate=validate.Length(1, MAX_NAME_COLUMN))


class TeamChangeSchema(Schema):
    by = fields.String()
    at = fields.String()
    before = fields.Dict()
    after = fields.Dict()


class TeamOutSchema(Schema):
    name = fields.String()
    members = fields.List(fields.String())
    score = fields.Float(allow_none=True)
    reasons = fields.List(fields.String())
    created_by = fields.String()
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True)
    history = fields.List(fields.Nested(TeamChangeSchema), metadata={"description": "Edits, oldest first"})


class _EntrySchema(Schema):
    date = fields.Date(required=True)
    title = Text(required=True, validate=validate.Length(1, MAX_NAME_COLUMN))
    participants = fields.List(_KEY, load_default=list)


class ActivityInSchema(_EntrySchema):
    kind = fields.String(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    notes = Text(multiline=True, load_default=None, allow_none=True)


class OutcomeInSchema(_EntrySchema):
    kind = fields.String(required=True, validate=validate.OneOf(OUTCOME_KINDS))
    link = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"},
                      validate=validate.Length(max=MAX_LINK))


class _EntryOutSchema(Schema):
    id = fields.Integer()
    date = fields.Date()
    kind = fields.String()
    title = fields.String()
    participants = fields.List(fields.String())
    created_by = fields.String()
    created_at = fields.DateTime()


class ActivitySchema(_EntryOutSchema):
    notes = fields.String(allow_none=True)


class OutcomeSchema(_EntryOutSchema):
    link = fields.String(allow_none=True)


class TeamProposalSchema(Schema):
    level = fields.String(load_default="clusters", validate=validate.OneOf(("clusters", "members")), metadata={
        "description": "clusters: the accepted clusters and the knowledge participants; members: the accepted "
                       "clusters' chain members in the meta-cluster and the knowledge participants (at most "
                       "pilots.teams.max_participants)"})
    constraints = fields.Nested(TeamConstraintsSchema, load_default=dict, metadata={
        "description": "Over the pilot's team_constraints, over the pilots.teams.defaults settings"})
    save = fields.Boolean(load_default=False, metadata={
        "description": "Store the teams (and keep the constraints as the pilot's team_constraints); false: only "
                       "return them"})


class ProposedParticipantSchema(Schema):
    id = fields.String(metadata={"description": "A participant's key, or a member's <node_id>/<member_id>"})
    kind = fields.String(metadata={"description": "cluster, member or knowledge"})
    name = fields.String()
    country = fields.String()
    region = fields.String(metadata={"description": "EU, MENA or other (settings: regions)"})
    topics = fields.List(fields.String(), metadata={"description": "Priority and other topics"})
    offers = fields.List(fields.String(), metadata={"description": "Pivot codes its members offer"})
    needs = fields.List(fields.String(), metadata={"description": "Pivot codes its members need"})


class ProposedTeamSchema(Schema):
    name = fields.String()
    score = fields.Float(metadata={"description": "Shared topics plus codes one offers and another needs, over the "
                                                  "team's pairs"})
    reasons = fields.List(fields.String())
    members = fields.List(fields.Nested(ProposedParticipantSchema))


class TeamProposalOutSchema(Schema):
    pilot_id = fields.String()
    level = fields.String()
    constraints = fields.Dict(metadata={"description": "The constraints the teams meet"})
    saved = fields.Boolean()
    participants = fields.List(fields.Nested(ProposedParticipantSchema))
    teams = fields.List(fields.Nested(ProposedTeamSchema))


class PilotReportSchema(Schema):
    """The report's data (federation/pilots/report.py documents every part)."""

    generated_at = fields.String()
    language = fields.String()
    pilot = fields.Dict()
    metacluster = fields.Dict()
    participants = fields.List(fields.Dict())
    teams = fields.List(fields.Dict())
    activities = fields.List(fields.Dict())
    outcomes = fields.List(fields.Dict())
    representation = fields.Dict(metadata={"description": "{start, now}: the scientific-representation figures "
                                                          "when the pilot was created and today (null: none)"})
