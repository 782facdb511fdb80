"""Built-in formation rules (thresholds in settings, ``plugins.formation``):

- ``min-chain-members``: a cluster takes part with at least N active members on the chain;
- ``min-countries``: a meta-cluster needs clusters from at least N countries (the Med-MCI method: clusters of
  different countries on the same value chain).
"""

from __future__ import annotations

from federation import ConfigurationError, Decision, FormationRule, hookimpl

NAME = "formation"


class MinChainMembers(FormationRule):
    name = "min-chain-members"

    def __init__(self, minimum: int, count_dormant: bool):
        self.minimum = minimum
        self.count_dormant = count_dormant

    def check_cluster(self, cluster, chain, chain_members):
        counted = [m for m in chain_members if self.count_dormant or m.status == "active"]
        what = "members" if self.count_dormant else "active members"
        passed = len(counted) >= self.minimum
        return Decision(passed, self.name,
                        f"{len(counted)} {what} on {chain.id} {'≥' if passed else '<'} {self.minimum}")


class MinCountries(FormationRule):
    name = "min-countries"

    def __init__(self, minimum: int):
        self.minimum = minimum

    def check_metacluster(self, chain, admitted):
        countries = sorted({c.country for c in admitted})
        passed = len(countries) >= self.minimum
        listed = ", ".join(countries) or "none"
        return Decision(passed, self.name,
                        f"{len(countries)} countr{'y' if len(countries) == 1 else 'ies'} ({listed}) "
                        f"{'≥' if passed else '<'} {self.minimum}")


def _positive_int(config: dict, key: str) -> int:
    value = config.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"settings: plugins.{NAME}.{key} must be a whole number ≥ 1, got {value!r}")
    return value


@hookimpl
def medmci_register_formation_rules(settings):
    config = settings.plugin_config(NAME)
    return [MinChainMembers(_positive_int(config, "min_chain_members"), bool(config["count_dormant"])),
            MinCountries(_positive_int(config, "min_countries"))]
