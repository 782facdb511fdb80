"""The demo's sub-clustering comparison (QOOT's question: the pros and cons of sub-clustering): the agri-food
meta-cluster under the installed rules (by product: wine, snacks, agri-fresh, processing, parallel services) and
under the saved alternative by value-chain stage (config/subclusters/alternatives/agri-food-by-stage.yaml), asked
of the hub's API as the hub team would."""

from __future__ import annotations

from typing import Any

from .subclustering.report import render_comparison

METACLUSTER = "mc-agri-food"
RULE_SETS = ("installed", "agri-food-by-stage")


def subcluster_comparison(call: Any, token: str) -> dict:
    """The comparison as GET /api/v1/metaclusters/mc-agri-food/subclusters/compare answers it (``call``: the
    story's :class:`~federation.demo_story.HubCalls`)."""
    query = "&".join(f"rules={name}" for name in RULE_SETS)
    return call("GET", f"/api/v1/metaclusters/{METACLUSTER}/subclusters/compare?{query}", token)


def render_subcluster_comparison(comparison: dict) -> str:
    """The comparison for people, under a heading of the demo's."""
    return "\n".join(["", "Sub-clustering compared on agri-food (QOOT's question: by product or by stage?):",
                      render_comparison(comparison)])
