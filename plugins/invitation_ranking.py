"""The built-in ranking of knowledge organisations a meta-cluster could invite (hook ``medmci_rank_invitations``).

A candidate's score is a weighted mean (weights in the ``plugins.invitation_ranking`` settings) of four parts, each
from 0 to 1:

- ``own_country_gap``: the (stage, country) pairs of its own country it would support where no knowledge
  organisation of the meta-cluster does: 1 - 1/2^n (one gap 0.5, two 0.75 ...), so the first gap counts most;
- ``open_stage``: the stages no knowledge organisation supports in any country of the meta-cluster, likewise;
- ``specificity``: the share of its research domains that support the chain (a food-technology institute before
  a university that lists every field);
- ``services``: how many services it offers (testing, training, contract research ...), full at
  ``services_for_full_score``.

The default weights put a gap in the candidate's own country first (a partner next door is the one a cluster can
work with), then a stage nobody supports anywhere, then specificity and services.
"""

from __future__ import annotations

from federation import ConfigurationError, hookimpl

NAME = "invitation_ranking"
#: Digits of a score: enough to order, few enough to read.
SCORE_DIGITS = 3
#: Evidence quoted per reason ("FORD 2.9 Industrial biotechnology, FORD 1.6 Biological sciences").
EVIDENCE_QUOTED = 3


def _weight(config: dict, key: str) -> float:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigurationError(f"settings: plugins.{NAME}.{key} must be a number of at least 0, not {value!r}")
    return float(value)


def _saturating(count: int) -> float:
    return 1 - 0.5 ** count


@hookimpl
def medmci_rank_invitations(metacluster, representation, candidates, settings):
    config = settings.plugin_config(NAME)
    weights = {"own_country_gap": _weight(config, "own_country_gap_weight"),
               "open_stage": _weight(config, "open_stage_weight"),
               "specificity": _weight(config, "specificity_weight"),
               "services": _weight(config, "services_weight")}
    full_services = config["services_for_full_score"]
    if isinstance(full_services, bool) or not isinstance(full_services, int) or full_services < 1:
        raise ConfigurationError(f"settings: plugins.{NAME}.services_for_full_score must be a whole number of at "
                                 f"least 1, not {full_services!r}")
    limit = config["max_suggestions"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ConfigurationError(f"settings: plugins.{NAME}.max_suggestions must be a whole number of at least 0, "
                                 f"not {limit!r}")
    total = sum(weights.values())
    if not total:
        raise ConfigurationError(f"settings: plugins.{NAME}: the weights add up to 0")
    chain = metacluster.get("value_chain", "the chain")
    suggestions = []
    for candidate in candidates:
        services = sorted(set(candidate.entity.services))
        parts = {"own_country_gap": _saturating(len(candidate.fills)),
                 "open_stage": _saturating(len(candidate.open_stages)),
                 "specificity": candidate.specificity,
                 "services": min(1.0, len(services) / full_services)}
        score = sum(weights[name] * parts[name] for name in weights) / total
        suggestions.append({"entity": candidate.key, "score": round(min(1.0, score), SCORE_DIGITS),
                            "reasons": _reasons(candidate, services, chain),
                            "fills": [{"stage": stage, "country": country} for stage, country in candidate.fills]})
    suggestions.sort(key=lambda s: (-s["score"], s["entity"]))
    return suggestions[:limit]


def _reasons(candidate, services: list[str], chain: str) -> list[str]:
    """"supports processing in TN, where no knowledge member does; FORD 2.9 Industrial biotechnology", then the
    open stages, specificity and services."""
    out = []
    for stage, country in candidate.fills:
        anywhere = ", nor in any other country of the meta-cluster" if stage in candidate.open_stages else ""
        out.append(f"supports {stage} in {country}, where no knowledge member does{anywhere}; "
                   f"{_evidence(candidate, stage)}")
    filled = {stage for stage, _country in candidate.fills}
    for stage in candidate.open_stages:
        if stage not in filled:
            out.append(f"supports {stage}, which no knowledge member supports in any country of the meta-cluster; "
                       f"{_evidence(candidate, stage)}")
    domains = len(set(candidate.entity.research_domains))
    if domains:
        on_chain = round(candidate.specificity * domains)
        if domains == 1:
            out.append(f"its one research domain {'supports' if on_chain else 'does not support'} {chain}")
        else:
            out.append(f"{on_chain} of its {domains} research domains {'supports' if on_chain == 1 else 'support'} "
                       f"{chain}")
    if services:
        out.append(f"offers {', '.join(services)}")
    return out


def _evidence(candidate, stage: str) -> str:
    evidence = candidate.evidence(stage)
    more = len(evidence) - EVIDENCE_QUOTED
    return ", ".join(evidence[:EVIDENCE_QUOTED]) + (f" and {more} more" if more > 0 else "")
