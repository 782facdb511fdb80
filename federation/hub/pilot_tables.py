"""The hub's pilot tables (on :class:`~federation.hub.models.HubBase`; the service is federation.hub.pilots).

- ``pilots``: a meta-cluster the hub team takes forward: its goal, coordinator, status and dates, the scientific
  representation figures as they were when it was created (never changed afterwards) and its team constraints.
- ``pilot_participants``: the clusters invited (and their answers) and the knowledge entities taking part.
- ``pilot_teams``: working teams, with the history of every edit.
- ``pilot_activities`` / ``pilot_outcomes``: what the pilot did and what came of it.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime
from .models import HubBase

#: A pilot's statuses, in the only order they may follow.
PILOT_STATUSES = ("proposed", "active", "closed")
PARTICIPANT_KINDS = ("cluster", "knowledge")
PARTICIPANT_STATUSES = ("invited", "accepted", "declined", "taking_part")
ACTIVITY_KINDS = ("meeting", "training", "benchmarking_visit", "market_mission", "other")
OUTCOME_KINDS = ("mou", "joint_project", "funding_application", "new_member", "other")
#: Longest participant key: a knowledge member's ``<node_id>/<member_id>`` (64 + 1 + 128).
MAX_PARTICIPANT_KEY = 200
#: The widest name, title or team name the columns hold (pilots.max_name_chars may only be lower).
MAX_NAME_COLUMN = 300


class Pilot(HubBase):
    __tablename__ = "pilots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_COLUMN))
    goal: Mapped[str] = mapped_column(Text)
    # No foreign key: a meta-cluster's row is formed again (or retired) by harvests; the pilot outlives that.
    metacluster_id: Mapped[str] = mapped_column(String(80), index=True)
    coordinator_node_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # PILOT_STATUSES
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    # The representation figures of the meta-cluster when the pilot was created: the "before" of its report.
    figures_at_start: Mapped[dict | None] = mapped_column(JSON)
    team_constraints: Mapped[dict] = mapped_column(JSON, default=dict)


class PilotParticipant(HubBase):
    """A cluster (key: its hub node id) or a knowledge entity (key: its knowledge-entity key) of a pilot. Name and
    country are kept as they were when it was added, so the report still names a cluster that left the hub."""

    __tablename__ = "pilot_participants"

    pilot_id: Mapped[str] = mapped_column(ForeignKey("pilots.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_PARTICIPANT_KEY), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # PARTICIPANT_KINDS
    name: Mapped[str] = mapped_column(String(MAX_NAME_COLUMN))
    country: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))  # PARTICIPANT_STATUSES
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(200))


class PilotTeam(HubBase):
    __tablename__ = "pilot_teams"
    __table_args__ = (UniqueConstraint("pilot_id", "name", name="uq_pilot_teams_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pilot_id: Mapped[str] = mapped_column(ForeignKey("pilots.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_COLUMN))
    members: Mapped[list] = mapped_column(JSON, default=list)  # participant keys
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last pilots.max_team_history edits: {"by", "at", "before": {name, members}, "after": {name, members}}.
    history: Mapped[list] = mapped_column(JSON, default=list)


class PilotActivity(HubBase):
    __tablename__ = "pilot_activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pilot_id: Mapped[str] = mapped_column(ForeignKey("pilots.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))  # ACTIVITY_KINDS
    title: Mapped[str] = mapped_column(String(MAX_NAME_COLUMN))
    notes: Mapped[str | None] = mapped_column(Text)
    participants: Mapped[list] = mapped_column(JSON, default=list)  # participant keys
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PilotOutcome(HubBase):
    __tablename__ = "pilot_outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pilot_id: Mapped[str] = mapped_column(ForeignKey("pilots.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))  # OUTCOME_KINDS
    title: Mapped[str] = mapped_column(String(MAX_NAME_COLUMN))
    link: Mapped[str | None] = mapped_column(String(500))
    participants: Mapped[list] = mapped_column(JSON, default=list)  # participant keys
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
