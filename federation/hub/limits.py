"""What one node may cost the hub and put in it: the limits of a fetch, gathered from the settings.

Each limit has its setting (``limits.*``, ``trust.*``; defaults and comments in config/settings.yaml, README "How a
new cluster joins the federation"); a refusal names it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..signing.bounded import DEFAULT_JSON_LIMITS, JsonLimits
from . import keyring


@dataclass(frozen=True)
class HarvestLimits:
    """What one node may cost the hub and put in it (settings ``limits.*`` and ``trust.*``; README)."""

    json: JsonLimits = DEFAULT_JSON_LIMITS
    max_members: int = 10_000  # limits.max_members_per_profile
    max_unknown_bytes: int = 65_536  # limits.max_unknown_bytes: fields of a newer minor version this hub ignores
    max_stored_bytes: int = 200_000_000  # limits.max_stored_bytes_per_node: oldest superseded versions pruned
    trust: keyring.TrustLimits = keyring.TrustLimits()

    @classmethod
    def from_settings(cls, settings) -> "HarvestLimits":
        get = settings.get
        return cls(json=JsonLimits(max_depth=int(get("limits.max_json_depth", 32)),
                                   max_items=int(get("limits.max_json_items", 1_000_000)),
                                   max_number_digits=int(get("limits.max_number_digits", 100))),
                   max_members=int(get("limits.max_members_per_profile", 10_000)),
                   max_unknown_bytes=int(get("limits.max_unknown_bytes", 65_536)),
                   max_stored_bytes=int(get("limits.max_stored_bytes_per_node", 200_000_000)),
                   trust=keyring.TrustLimits(max_signatures=int(get("trust.max_signatures", 4)),
                                             verify_budget_s=float(get("trust.verify_budget_s", 5)),
                                             max_keys=int(get("limits.max_keys_per_node", 8)),
                                             max_request_signature_bytes=int(get(
                                                 "trust.max_request_signature_bytes",
                                                 keyring.MAX_REQUEST_SIGNATURE_BYTES))))
