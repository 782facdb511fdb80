"""The table behind incremental formation (beside ``models.py``, which other work changes at the same time).

``metacluster_parts``: one row per value chain and candidate cluster, with the node version it was formed from and
the entries of its chain and knowledge members. A new version of a node rewrites that node's rows only; the
``metaclusters.document`` keeps the summary (clusters, sub-cluster counts, coverage, gaps, decisions) and the read
side puts the member lists back from these rows.
"""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import HubBase


class MetaClusterPart(HubBase):
    """What one cluster, as of one of its versions, brings to one value chain's meta-cluster."""

    __tablename__ = "metacluster_parts"

    metacluster_id: Mapped[str] = mapped_column(ForeignKey("metaclusters.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer)  # the node's version these entries were formed from
    members: Mapped[list] = mapped_column(JSON, default=list)  # chain-member entries (none unless admitted)
    knowledge: Mapped[list] = mapped_column(JSON, default=list)  # knowledge-member entries
