"""The hub's matchmaking tables (on :class:`~federation.hub.models.HubBase`; the service is federation.hub.matching).

- ``match_suggestions``: the stored top-k partners of every member, rank by rank, with the score and the reasons,
  and what the read side filters on (both sides' node, country and audience) so a read joins nothing.
- ``match_sources``: the node versions the stored suggestions were computed from; a node whose current version
  differs (or that left, or arrived) is what the next refresh recomputes.
- ``match_meetings``: meeting intents (TechDays): a member's interest in a partner, the request, the partner's
  answer, the meeting held or cancelled, with who did each step and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime
from .models import HubBase

#: Longest member key: ``<node_id>/<member_id>`` (64 + 1 + 128).
MAX_MEMBER_KEY = 200
#: A meeting's states. interested -> requested -> accepted | declined; accepted -> held; cancelled from any open one.
MEETING_STATES = ("interested", "requested", "accepted", "declined", "held", "cancelled")


class MatchSuggestion(HubBase):
    __tablename__ = "match_suggestions"
    __table_args__ = (Index("ix_match_suggestions_member_node", "member_node_id"),)

    member_key: Mapped[str] = mapped_column(String(MAX_MEMBER_KEY), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1 = best
    member_node_id: Mapped[str] = mapped_column(String(64))
    member_country: Mapped[str] = mapped_column(String(2))
    member_audience: Mapped[str] = mapped_column(String(16))
    partner_key: Mapped[str] = mapped_column(String(MAX_MEMBER_KEY))
    partner_node_id: Mapped[str] = mapped_column(String(64), index=True)
    partner_country: Mapped[str] = mapped_column(String(2))
    partner_audience: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # [{"scorer", "score", "text"}]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MatchSource(HubBase):
    __tablename__ = "match_sources"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer)


class MatchMeeting(HubBase):
    """One member's intent towards one partner. Names and countries are kept as they were at the first step, so
    the counts per country pair survive a member that leaves."""

    __tablename__ = "match_meetings"
    __table_args__ = (Index("ix_match_meetings_pair", "member_key", "partner_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_key: Mapped[str] = mapped_column(String(MAX_MEMBER_KEY))
    partner_key: Mapped[str] = mapped_column(String(MAX_MEMBER_KEY))
    member_node_id: Mapped[str] = mapped_column(String(64), index=True)
    partner_node_id: Mapped[str] = mapped_column(String(64), index=True)
    member_country: Mapped[str] = mapped_column(String(2))
    partner_country: Mapped[str] = mapped_column(String(2))
    # Both public when the intent was made: then an anonymous reader's counts include it.
    public: Mapped[bool] = mapped_column(default=True)
    state: Mapped[str] = mapped_column(String(16))  # MEETING_STATES
    score: Mapped[float | None] = mapped_column(Float)  # the suggestion's, when it was one
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    history: Mapped[list] = mapped_column(JSON, default=list)  # [{"state", "at", "by"}]
