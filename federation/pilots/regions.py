"""Which region a country belongs to for the pilots' teams: ``EU``, ``MENA`` or ``other``.

The lists are configuration (``regions.eu`` and ``regions.mena`` in config/settings.yaml, ISO 3166-1 alpha-2
codes), not code: the Interreg NEXT MED area changes between programming periods, and an operator may count a
country differently for a pilot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConfigurationError
from ..settings import Settings

EU = "EU"
MENA = "MENA"
OTHER = "other"
REGION_NAMES = (EU, MENA, OTHER)


@dataclass(frozen=True)
class Regions:
    """The countries of each region, as configured."""

    eu: frozenset[str]
    mena: frozenset[str]

    def of(self, country: str) -> str:
        """``EU``, ``MENA`` or ``other`` for an ISO alpha-2 country code (case-insensitive)."""
        code = country.upper()
        if code in self.eu:
            return EU
        if code in self.mena:
            return MENA
        return OTHER


def regions(settings: Settings) -> Regions:
    """The configured regions; a list that is not of two-letter codes, or a country in both, is a
    :class:`ConfigurationError` naming the setting."""
    eu = _codes(settings.get("regions.eu"), "regions.eu")
    mena = _codes(settings.get("regions.mena"), "regions.mena")
    if both := sorted(eu & mena):
        raise ConfigurationError(f"settings: regions.eu and regions.mena both list {', '.join(both)}")
    return Regions(eu, mena)


def region_of(country: str, settings: Settings) -> str:
    """The region of one country under ``settings`` (see :func:`regions`)."""
    return regions(settings).of(country)


def _codes(value: object, key: str) -> frozenset[str]:
    if not isinstance(value, Iterable) or isinstance(value, (str, bytes)):
        raise ConfigurationError(f"settings: {key} must be a list of ISO 3166-1 alpha-2 country codes")
    codes = set()
    for item in value:
        if not isinstance(item, str) or len(item) != 2 or not item.isascii() or not item.isalpha():
            raise ConfigurationError(f"settings: {key} must list two-letter country codes, got {item!r}")
        codes.add(item.upper())
    return frozenset(codes)
