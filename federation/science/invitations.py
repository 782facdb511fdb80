"""Whom a meta-cluster could invite: knowledge organisations that do not serve it yet and would support a stage
where it has no knowledge support, ranked by the ``medmci_rank_invitations`` hook.

A candidate is one organisation (same-as entities are one, :func:`federation.science.identity.canonical`; none of
them serves the meta-cluster) whose stage links (:func:`federation.science.stages.place_entity`) fill an
*unsupported* (stage, country) pair of its own country (see :mod:`federation.science.representation`), or support a
stage that no knowledge organisation of the meta-cluster supports in any country (an *open* stage). The hook ranks
them; what a plugin returns is checked here, and anything wrong is a :class:`~federation.errors.PluginError` naming
the plugin.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pluggy

from ..domain import KnowledgeEntity, ValueChain
from ..plugin_manager import plugin_error
from ..settings import Settings
from ..taxonomy import TaxonomyIndex
from .identity import SameAs, canonical, same_as_links
from .representation import entity_from_entry
from .stages import StageLink, field_under, place_entity

HOOK = "medmci_rank_invitations"
#: Reasons kept per suggestion, and characters per reason: a plugin's text is shown to people as it is.
MAX_REASONS = 20
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class InvitationCandidate:
    """An organisation a meta-cluster could invite, and what it would bring.

    ``entity`` stands for the organisation (its knowledge node, else hosted profile, else a cluster's member);
    ``same_as`` the keys of its other entities; ``links`` its stage links (every entity's); ``fills`` the
    unsupported (stage, country) pairs of its countries it supports; ``open_stages`` the stages it supports that no
    knowledge organisation of the meta-cluster supports anywhere; ``specificity`` the share of its research
    domains that support some stage of the chain (0 without domains)."""

    entity: KnowledgeEntity
    same_as: tuple[str, ...]
    links: tuple[StageLink, ...]
    fills: tuple[tuple[str, str], ...]
    open_stages: tuple[str, ...]
    specificity: float

    @property
    def key(self) -> str:
        return self.entity.key

    def evidence(self, stage: str) -> list[str]:
        """What links it to ``stage``, each once: ``FORD 2.9 Industrial biotechnology``, an activity, a claim."""
        return list(dict.fromkeys(link.evidence for link in self.links if link.stage == stage))


def invitation_candidates(document: Mapping, figures: Mapping, entities: Iterable[KnowledgeEntity],
                          chain: ValueChain, taxonomies: TaxonomyIndex,
                          links: Iterable[SameAs] | None = None) -> list[InvitationCandidate]:
    """The candidates of the meta-cluster ``document`` whose representation is ``figures``
    (:func:`federation.science.representation.representation` of the same entities), by key."""
    known = {e.key: e for e in entities}
    for entry in document.get("knowledge_members") or ():
        known.setdefault(entry["id"], entity_from_entry(entry))
    mapping = canonical(known.values(), same_as_links(known.values()) if links is None else links)
    serving = {mapping.get(key, key) for org in figures["organisations"] for key in org["entities"]}
    unsupported = {(pair["stage"], pair["country"]) for pair in figures["unsupported"]}
    open_stages = {stage for stage, support in figures["by_stage"].items() if not support["knowledge"]}
    groups: dict[str, list[KnowledgeEntity]] = {}
    for key in sorted(known):
        if mapping[key] not in serving:
            groups.setdefault(mapping[key], []).append(known[key])
    stage_order = {s.id: position for position, s in enumerate(chain.stages)}
    out = []
    for representative, group in sorted(groups.items()):
        found: dict[tuple[str, str, str], StageLink] = {}
        for entity in group:
            for link in place_entity(entity, chain, taxonomies):
                found.setdefault((link.stage, link.how, link.evidence), link)
        stage_links = tuple(sorted(found.values(), key=lambda link: stage_order[link.stage]))
        stages = sorted({link.stage for link in stage_links}, key=stage_order.__getitem__)
        countries = sorted({e.country for e in group})
        fills = tuple((stage, country) for stage in stages for country in countries
                      if (stage, country) in unsupported)
        opened = tuple(stage for stage in stages if stage in open_stages)
        if not fills and not opened:
            continue
        out.append(InvitationCandidate(known[representative], tuple(e.key for e in group if e.key != representative),
                                       stage_links, fills, opened, _specificity(group, chain, taxonomies)))
    return out


def _specificity(group: Sequence[KnowledgeEntity], chain: ValueChain, taxonomies: TaxonomyIndex) -> float:
    domains = {d for entity in group for d in entity.research_domains}
    if not domains:
        return 0.0
    on_chain = [d for d in domains if any(field_under(d, s.fields, taxonomies) for s in chain.stages)]
    return len(on_chain) / len(domains)


def rank_invitations(pm: pluggy.PluginManager, metacluster: Mapping, representation: Mapping,
                     candidates: Sequence[InvitationCandidate], settings: Settings) -> list[dict]:
    """The suggestions of the first implementation of ``medmci_rank_invitations`` (in pluggy's order: the last
    registered first, so a third-party ranking comes before the built-in) that returns a list; ``[]`` when none
    does. Each suggestion is checked and completed with the entity's ``name``, ``kind`` and ``country``."""
    arguments = {"metacluster": metacluster, "representation": representation, "candidates": list(candidates),
                 "settings": settings}
    for impl in reversed(getattr(pm.hook, HOOK).get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            raise plugin_error(pm, impl.plugin_name, HOOK, "a ranking hook takes no wrapper: return a list instead")
        try:
            result = impl.function(*(arguments[name] for name in impl.argnames))
        except Exception as exc:  # any failure of a plugin is reported with its name
            raise plugin_error(pm, impl.plugin_name, HOOK, f"raised {type(exc).__name__}: {exc}") from exc
        if result is None:
            continue
        try:
            return checked_suggestions(result, candidates)
        except ValueError as exc:
            raise plugin_error(pm, impl.plugin_name, HOOK, str(exc)) from exc
    return []


def checked_suggestions(result: object, candidates: Sequence[InvitationCandidate]) -> list[dict]:
    """``result`` as suggestions, or ValueError saying what is wrong: a list of ``{"entity": a candidate's key,
    "score": a number from 0 to 1, "reasons": [text], "fills": [{"stage", "country"}]}``, each entity once."""
    if not isinstance(result, (list, tuple)):
        raise ValueError(f"returned {type(result).__name__}, not a list of suggestions")
    by_key = {c.key: c for c in candidates}
    seen: set[str] = set()
    out = []
    for position, item in enumerate(result, start=1):
        where = f"suggestion #{position}"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where} is {type(item).__name__}, not a dict")
        key = item.get("entity")
        if not isinstance(key, str) or key not in by_key:
            raise ValueError(f"{where} names entity {key!r}, which is not a candidate")
        if key in seen:
            raise ValueError(f"{where} names entity {key!r} a second time")
        seen.add(key)
        score = item.get("score")
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) \
                or not 0 <= score <= 1:
            raise ValueError(f"{where} ({key}): score {score!r} is not a number from 0 to 1")
        reasons = item.get("reasons", [])
        if not isinstance(reasons, (list, tuple)) or len(reasons) > MAX_REASONS or not all(
                isinstance(r, str) and len(r) <= MAX_REASON_CHARS for r in reasons):
            raise ValueError(f"{where} ({key}): reasons must be a list of at most {MAX_REASONS} texts of at most "
                             f"{MAX_REASON_CHARS} characters")
        out.append({"entity": key, "name": by_key[key].entity.name, "kind": by_key[key].entity.kind,
                    "country": by_key[key].entity.country, "score": float(score), "reasons": list(reasons),
                    "fills": _fills(item.get("fills", []), by_key[key], where)})
    return out


def _fills(fills: object, candidate: InvitationCandidate, where: str) -> list[dict]:
    """A suggestion's ``fills``: pairs among the candidate's own ``fills``."""
    if not isinstance(fills, (list, tuple)):
        raise ValueError(f"{where} ({candidate.key}): fills must be a list of {{'stage', 'country'}}")
    own = set(candidate.fills)
    out = []
    for pair in fills:
        if not isinstance(pair, Mapping) or (pair.get("stage"), pair.get("country")) not in own:
            raise ValueError(f"{where} ({candidate.key}): fills {pair!r}, which is not one of the candidate's "
                             f"unsupported (stage, country) pairs")
        out.append({"stage": pair["stage"], "country": pair["country"]})
    return out
