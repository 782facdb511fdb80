"""Which stages of a value chain a knowledge entity supports, and why.

Three kinds of evidence, each a :class:`StageLink`:

- ``domain``: one of its research domains (FORD codes) falls under a stage's ``fields``. A field covers itself and
  every field under it: a stage listing ``"4"`` is supported by a domain ``"4.1"``; a stage listing ``"4.1"`` is not
  supported by a domain ``"4"`` alone, which does not say the entity works on agriculture rather than veterinary
  science (as a coarse activity code is never placed more precisely than it says);
- ``activity``: one of its activity codes lies on a stage, by the placement formation uses
  (:func:`federation.code_placement.place_code`: the code's pivot classes, all on the chain);
- ``claim``: it says it serves the stage (``serves`` of its knowledge profile). A claim of a stage the chain does not
  have is no link (the chain may have been edited since).

Pure functions: no database, no web.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..code_placement import place_code
from ..domain import RESEARCH_FIELDS_SCHEME, Activity, KnowledgeEntity, ValueChain
from ..taxonomy import TaxonomyIndex

#: The kinds of evidence, in the order links are listed for one stage.
HOW = ("domain", "activity", "claim")


@dataclass(frozen=True, slots=True)
class StageLink:
    """One piece of evidence that an entity supports a stage.

    ``reason`` is the sentence a person reads ("FORD 2.9 Industrial biotechnology supports processing");
    ``evidence`` the part of it that names what matched ("FORD 2.9 Industrial biotechnology"), for sentences that
    say more (an invitation's reasons)."""

    stage: str
    how: str  # one of HOW
    reason: str
    evidence: str

    def as_dict(self) -> dict:
        return {"stage": self.stage, "how": self.how, "reason": self.reason, "evidence": self.evidence}


def field_words(code: str, taxonomies: TaxonomyIndex) -> str:
    """``FORD 2.9 Industrial biotechnology``; the bare code when the FORD list is not loaded or lacks it."""
    ford = taxonomies.by_scheme.get(RESEARCH_FIELDS_SCHEME)
    if ford is not None and code in ford:
        return f"FORD {code} {ford.label(code)}"
    return f"FORD {code}"


def field_under(domain: str, fields: frozenset[str], taxonomies: TaxonomyIndex) -> str | None:
    """The field of ``fields`` that covers ``domain`` (the domain itself or a field above it), else ``None``. Uses
    the FORD list's parents when it is loaded; otherwise the codes' dotted form ("4" is above "4.1")."""
    ford = taxonomies.by_scheme.get(RESEARCH_FIELDS_SCHEME)
    if ford is not None and domain in ford:
        return next((code for code in ford.ancestors(domain) if code in fields), None)
    parts = domain.split(".")
    return next((code for code in (".".join(parts[:n]) for n in range(len(parts), 0, -1)) if code in fields), None)


def place_entity(entity: KnowledgeEntity, chain: ValueChain, taxonomies: TaxonomyIndex) -> list[StageLink]:
    """Every link of ``entity`` to the stages of ``chain``: in chain order, and for each stage by domain, activity,
    then claim, each piece of evidence once."""
    found: dict[tuple[str, str, str], StageLink] = {}

    def add(stage: str, how: str, evidence: str, reason: str) -> None:
        found.setdefault((stage, how, evidence), StageLink(stage, how, reason, evidence))

    domains = list(dict.fromkeys(entity.research_domains))
    for stage in chain.stages:
        if not stage.fields:
            continue
        for domain in domains:
            if field_under(domain, stage.fields, taxonomies) is not None:
                words = field_words(domain, taxonomies)
                add(stage.id, "domain", words, f"{words} supports {stage.id}")
    for activity in dict.fromkeys(entity.activities):
        code = place_code(activity, chain, taxonomies)
        for stage_id in code.stages:
            words = _activity_words(code.words, activity, taxonomies)
            add(stage_id, "activity", words, f"its activity {words} is in {stage_id}")
    stage_ids = {s.id for s in chain.stages}
    for stage_id in entity.serves.get(chain.id, ()):
        if stage_id in stage_ids:
            add(stage_id, "claim", "its own claim", f"{entity.name} says it serves {stage_id}")
    order = {s.id: position for position, s in enumerate(chain.stages)}
    return sorted(found.values(), key=lambda link: (order[link.stage], HOW.index(link.how)))


def _activity_words(words: str, activity: Activity, taxonomies: TaxonomyIndex) -> str:
    """The code as written, with its label when it stands for itself: ``nace-rev2:71.20 (Technical testing and
    analysis)``; a code that maps to others keeps the placement's words (``isic-rev4:7210 maps to ...``)."""
    taxonomy = taxonomies.by_scheme.get(activity.scheme)
    if words != str(activity) or taxonomy is None or activity.code not in taxonomy:
        return words
    return f"{words} ({taxonomy.label(activity.code)})"


def stages_of(links: list[StageLink]) -> list[str]:
    """The stages ``links`` support, each once, in their order."""
    return list(dict.fromkeys(link.stage for link in links))
