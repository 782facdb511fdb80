"""What one node may cost the hub and put in it: the limits of a fetch, gathered from the settings.

Each limit has its setting (``limits.*``, ``trust.*``; defaults and comments in config/settings.yaml, README "How a
new cluster joins the federation"); a refusal names it. Built without settings, the limits are the packaged defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..settings import packaged_default, packaged_settings
from ..signing.bounded import JsonLimits
from . import keyring


def json_limits(settings) -> JsonLimits:
    """The bounds of parsing one document (``limits.max_json_depth``, ``max_json_items``, ``max_number_digits``)."""
    return JsonLimits(max_depth=int(settings.get("limits.max_json_depth")),
                      max_items=int(settings.get("limits.max_json_items")),
                      max_number_digits=int(settings.get("limits.max_number_digits")))


@dataclass(frozen=True)
class HarvestLimits:
    """What one node may cost the hub and put in it (settings ``limits.*`` and ``trust.*``; README)."""

    json: JsonLimits = field(default_factory=lambda: json_limits(packaged_settings()))
    max_members: int = field(default_factory=packaged_default("limits.max_members_per_profile", int))
    # content in fields of a newer minor version this hub ignores
    max_unknown_bytes: int = field(default_factory=packaged_default("limits.max_unknown_bytes", int))
    # past it, the oldest superseded versions are pruned
    max_stored_bytes: int = field(default_factory=packaged_default("limits.max_stored_bytes_per_node", int))
    trust: keyring.TrustLimits = field(default_factory=keyring.TrustLimits)

    @classmethod
    def from_settings(cls, settings) -> HarvestLimits:
        return cls(json=json_limits(settings),
                   max_members=int(settings.get("limits.max_members_per_profile")),
                   max_unknown_bytes=int(settings.get("limits.max_unknown_bytes")),
                   max_stored_bytes=int(settings.get("limits.max_stored_bytes_per_node")),
                   trust=keyring.TrustLimits.from_settings(settings))
