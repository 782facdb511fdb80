"""The hub's funding-call table (on :class:`~federation.hub.models.HubBase`; the service is
:mod:`federation.hub.funding`).

- ``funding_calls``: one call for proposals per id, as the last import gave it: the columns the hub sorts and
  filters by (programme, title, deadline, opens) and the whole call as data (``document``,
  :func:`federation.eligibility.call_to_dict`: country lists already expanded to countries, topic codes already
  normalised to the pivot scheme, as they were when it was imported).
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime

from sqlalchemy import JSON, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime
from .models import HubBase


class FundingCallRow(HubBase):
    __tablename__ = "funding_calls"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    programme: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    deadline: Mapped[dt.date] = mapped_column(Date, index=True)
    opens: Mapped[dt.date | None] = mapped_column(Date)
    document: Mapped[dict] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(200))
