"""What matchmaking reads (one member as the matcher sees it) and what it returns (suggestions with reasons)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MatchMember:
    """One member of a cluster, as the matcher reads it.

    Codes are pivot-scheme codes (``10.32``). ``stages`` are the ``(value chain id, stage index)`` pairs its codes
    fall on (index from 0, in the chain's order; :func:`federation.matching.stages_of` computes them).
    ``export_markets`` are ISO country codes, ``languages`` language tags (``en``, ``fr``, ``ar``). ``audience`` is
    the member's (``public`` or ``federation``): the matcher ranks every member; who may see a suggestion is decided
    by the caller that shows it."""

    key: str  # "node_id/member_id"
    cluster_id: str
    node_id: str
    country: str
    kind: str
    name: str
    offer_codes: tuple[str, ...] = ()
    need_codes: tuple[str, ...] = ()
    activity_codes: tuple[str, ...] = ()
    offers_text: str = ""
    needs_text: str = ""
    stages: tuple[tuple[str, int], ...] = ()
    export_markets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    audience: str = "public"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a partner is suggested: a scorer's own score of the pair (0..1, before weighting) and a short text."""

    scorer: str
    score: float
    text: str

    def as_dict(self) -> dict:
        return {"scorer": self.scorer, "score": self.score, "text": self.text}


@dataclass(frozen=True, slots=True)
class Suggestion:
    """``partner`` suggested to ``member`` (both member keys) with the weighted score (0..1) and the reasons."""

    member: str
    partner: str
    score: float
    reasons: tuple[Reason, ...] = ()

    def as_dict(self) -> dict:
        return {"member": self.member, "partner": self.partner, "score": self.score,
                "reasons": [reason.as_dict() for reason in self.reasons]}
