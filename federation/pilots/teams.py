"""Working teams of a pilot: which participants (clusters, members, knowledge entities) work together.

:func:`propose_teams` checks the constraints against the participants (an impossible constraint is a
:class:`ValidationError` saying which one and why), asks the plugins (hook ``medmci_form_teams``: the first that
returns a list wins), checks what the plugin returned (a broken team is a :class:`PluginError` naming it) and
gives each team its score and reasons, computed here so that every plugin's teams are measured the same way.

The score of a team is the sum, over its pairs of participants, of :func:`pair_weight`: the priority topics they
share plus the codes one offers that the other needs (both ways). Plugins maximise the sum over teams.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import pluggy

from ..errors import ConfigurationError, FederationError, PluginError, ValidationError
from ..plugin_manager import plugin_error
from ..settings import Settings
from .regions import EU, MENA, REGION_NAMES

HOOK = "medmci_form_teams"
KINDS = ("cluster", "member", "knowledge")
#: A team's name, and each reason a plugin adds, are at most this long (they are shown in reports).
MAX_NAME_CHARS = 200
MAX_REASON_CHARS = 500
#: Offer/need codes named per pair in a reason; the others are counted.
CODES_SHOWN = 3
#: How topic slugs read in a sentence, where replacing "_" by a space is not enough.
TOPIC_WORDS = {"research_development": "research and development",
               "standards_certification": "standards and certification"}


@dataclass(frozen=True)
class Participant:
    """One participant of a pilot: a cluster, a member of one, or a knowledge entity."""

    id: str
    kind: str  # one of KINDS
    name: str
    country: str  # ISO 3166-1 alpha-2
    region: str  # "EU", "MENA" or "other": federation.pilots.regions, from settings
    topics: frozenset[str] = frozenset()  # priority topics
    offers: frozenset[str] = frozenset()  # activity codes its members offer
    needs: frozenset[str] = frozenset()  # activity codes its members need

    def __post_init__(self) -> None:
        for name in ("topics", "offers", "needs"):  # callers may pass any iterable; sets compare and hash
            object.__setattr__(self, name, frozenset(getattr(self, name)))


@dataclass(frozen=True)
class Constraints:
    """What every team must satisfy. ``team_size`` is (min, max) members."""

    team_size: tuple[int, int]
    min_countries: int = 2
    eu_and_mena: bool = True  # one EU and one MENA participant per team, when both regions take part
    min_knowledge: int = 1
    max_teams_per_participant: int = 1  # 1: a partition; k > 1: a participant may work in k teams


@dataclass(frozen=True)
class Team:
    """A proposed team: participant ids, its score and why it was put together."""

    name: str
    members: tuple[str, ...]
    score: float = 0.0
    reasons: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------------------------------------------------------
# The measure every plugin maximises
# ---------------------------------------------------------------------------------------------------------------

def pair_weight(a: Participant, b: Participant) -> int:
    """What two participants gain by working together: shared priority topics, plus codes one offers and the other
    needs, counted both ways."""
    return len(a.topics & b.topics) + len(a.offers & b.needs) + len(b.offers & a.needs)


def team_score(members: Sequence[Participant]) -> int:
    """The sum of :func:`pair_weight` over the pairs of a team."""
    return sum(pair_weight(a, b) for a, b in combinations(members, 2))


def both_regions(participants: Iterable[Participant]) -> bool:
    """Whether EU and MENA participants both take part (only then does ``eu_and_mena`` ask for one of each)."""
    regions = {p.region for p in participants}
    return EU in regions and MENA in regions


def team_problems(members: Sequence[Participant], constraints: Constraints, require_regions: bool) -> list[str]:
    """What one team breaks of ``constraints`` (empty: nothing). ``require_regions``: :func:`both_regions` of the
    pilot and ``constraints.eu_and_mena``."""
    problems = []
    low, high = constraints.team_size
    if not low <= len(members) <= high:
        problems.append(f"has {len(members)} participants, outside team_size {low}-{high}")
    countries = sorted({m.country for m in members})
    if len(countries) < constraints.min_countries:
        problems.append(f"has {_count(len(countries), 'country', 'countries')} ({', '.join(countries)}), "
                        f"min_countries is {constraints.min_countries}")
    if require_regions:
        problems += [f"has no {region} participant, and eu_and_mena asks for one of each region"
                     for region in (EU, MENA) if not any(m.region == region for m in members)]
    knowledge = sum(m.kind == "knowledge" for m in members)
    if knowledge < constraints.min_knowledge:
        problems.append(f"has {knowledge} knowledge participants, min_knowledge is {constraints.min_knowledge}")
    return problems


def minimum_teams(participants: Sequence[Participant], constraints: Constraints) -> int:
    """The fewest teams that hold every cluster participant, each team keeping ``min_knowledge`` places for
    knowledge participants (at least one team)."""
    clusters = sum(p.kind == "cluster" for p in participants)
    room = constraints.team_size[1] - constraints.min_knowledge
    return max(1, math.ceil(clusters / room)) if room > 0 else 1


# ---------------------------------------------------------------------------------------------------------------
# Constraints against participants, before any plugin runs
# ---------------------------------------------------------------------------------------------------------------

def check_request(participants: Sequence[Participant], constraints: Constraints, settings: Settings) -> None:
    """Refuse participants or constraints that cannot work, with the constraint and the reason: a
    :class:`ValidationError` whose ``errors`` are keyed by constraint (or ``participants``)."""
    limit = settings.get("pilots.teams.max_participants")
    if not participants:
        _refuse("participants", "no participants: a team needs some")
    if len(participants) > limit:
        _refuse("participants", f"{len(participants)} participants, more than one request may hold "
                                f"(pilots.teams.max_participants = {limit})")
    ids = Counter(p.id for p in participants)
    if repeated := sorted(i for i, n in ids.items() if n > 1):
        _refuse("participants", f"participant ids given twice: {', '.join(repeated[:5])}")
    for p in participants:
        if p.kind not in KINDS:
            _refuse("participants", f"participant {p.id!r} is of kind {p.kind!r}, not one of {', '.join(KINDS)}")
        if p.region not in REGION_NAMES:
            _refuse("participants", f"participant {p.id!r} is in region {p.region!r}, not one of "
                                    f"{', '.join(REGION_NAMES)}")
    for name in ("min_countries", "min_knowledge", "max_teams_per_participant"):
        value = getattr(constraints, name)
        lowest = 0 if name == "min_knowledge" else 1
        if not _whole(value) or value < lowest:
            _refuse(name, f"must be a whole number >= {lowest}, got {value!r}")
    size = constraints.team_size
    if (not isinstance(size, (tuple, list)) or len(size) != 2 or not all(_whole(v) for v in size)
            or not 1 <= size[0] <= size[1]):
        _refuse("team_size", f"must be (min, max) whole numbers with 1 <= min <= max, got {size!r}")
    _check_feasible(participants, constraints)


def _check_feasible(participants: Sequence[Participant], c: Constraints) -> None:
    """Necessary conditions, each with its arithmetic; the solver decides the rest."""
    low, high = c.team_size
    k = c.max_teams_per_participant
    n = len(participants)
    countries = sorted({p.country for p in participants})
    clusters = sum(p.kind == "cluster" for p in participants)
    knowledge = sum(p.kind == "knowledge" for p in participants)
    if n < low:
        _refuse("team_size", f"teams of at least {low} need {low} participants, the pilot has {n}")
    if c.min_countries > high:
        _refuse("min_countries", f"at least {c.min_countries} countries per team: a team has at most {high} "
                                 "participants (team_size)")
    if c.min_countries > len(countries):
        _refuse("min_countries", f"at least {c.min_countries} countries per team: the participants come from "
                                 f"{_count(len(countries), 'country', 'countries')} ({', '.join(countries)})")
    if c.min_knowledge > high:
        _refuse("min_knowledge", f"at least {c.min_knowledge} knowledge participants per team: a team has at most "
                                 f"{high} participants (team_size)")
    if clusters and c.min_knowledge >= high:
        _refuse("min_knowledge", f"teams of at most {high} with {c.min_knowledge} knowledge participants each leave "
                                 f"no place for the {_count(clusters, 'cluster', 'clusters')}")
    teams = minimum_teams(participants, c)
    each = f" (each in at most {k} teams)" if k > 1 else ""
    placing = f" to place the {_count(clusters, 'cluster', 'clusters')}" if clusters else ""
    if teams * c.min_knowledge > k * knowledge:
        _refuse("min_knowledge", f"at least {_count(c.min_knowledge, 'knowledge member', 'knowledge members')} per "
                                 f"team: {_count(teams, 'team', 'teams')} of {high}{placing} need "
                                 f"{teams * c.min_knowledge} knowledge participants{each}, the pilot has "
                                 f"{knowledge}")
    if c.eu_and_mena and both_regions(participants):
        if high < 2:
            _refuse("eu_and_mena", "one EU and one MENA participant per team: teams of at most 1 cannot hold both")
        for region in (EU, MENA):
            present = sum(p.region == region for p in participants)
            if teams > k * present:
                _refuse("eu_and_mena", f"one {region} participant per team: {_count(teams, 'team', 'teams')}"
                                       f"{placing} need {teams} {region} participants{each}, the pilot has "
                                       f"{present}")
    if teams * low > k * n:
        _refuse("team_size", f"{_count(teams, 'team', 'teams')} of at least {low}{placing} need {teams * low} "
                             f"places, the {n} participants fill {k * n}{each}")


def _refuse(constraint: str, reason: str) -> None:
    raise ValidationError(f"{constraint}: {reason}", {constraint: [reason]})


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# ---------------------------------------------------------------------------------------------------------------
# Asking the plugins, and checking their answer
# ---------------------------------------------------------------------------------------------------------------

def propose_teams(pm: pluggy.PluginManager, pilot: Any, participants: Sequence[Participant],
                  constraints: Constraints, settings: Settings,
                  labels: Mapping[str, str] | None = None) -> list[Team]:
    """The teams the first plugin that answers proposes, checked, with their score and reasons.

    ``pilot`` is passed to the plugins as it is. ``labels`` (code -> label, optional) words the offer/need reasons
    ("10.41 olive oil"). Raises :class:`ValidationError` for impossible constraints (before any plugin runs, or
    from the plugin when it finds no teams), :class:`PluginError` for a plugin that raised or broke a constraint,
    :class:`federation.errors.ConfigurationError` when no plugin answers."""
    participants = list(participants)
    check_request(participants, constraints, settings)
    plugin, result = _first_answer(pm, pilot=pilot, participants=participants, constraints=constraints,
                                   settings=settings)
    by_id = {p.id: p for p in participants}
    teams = _accepted(pm, plugin, result, by_id, constraints)
    return [Team(team.name, team.members, team_score([by_id[i] for i in team.members]),
                 tuple(_unique([*explain_team([by_id[i] for i in team.members], labels), *team.reasons])))
            for team in teams]


def _first_answer(pm: pluggy.PluginManager, **kwargs: Any) -> tuple[str, object]:
    """Call the implementations in pluggy's order, one by one so that an answer is traced to its plugin."""
    for impl in reversed(getattr(pm.hook, HOOK).get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            raise plugin_error(pm, impl.plugin_name, HOOK, "this hook takes no wrappers: return a list or None")
        try:
            result = impl.function(*(kwargs[name] for name in impl.argnames))
        except FederationError:
            raise  # the plugin's own clear answer (no teams meet the constraints: a ValidationError)
        except Exception as exc:
            raise plugin_error(pm, impl.plugin_name, HOOK, f"raised {type(exc).__name__}: {exc}") from exc
        if result is not None:
            return impl.plugin_name, result
    raise ConfigurationError("no plugin forms teams (hook medmci_form_teams): is the team_formation plugin "
                             "disabled?")


def _accepted(pm: pluggy.PluginManager, plugin: str, result: object, by_id: Mapping[str, Participant],
              constraints: Constraints) -> list[Team]:
    def broken(cause: str) -> PluginError:
        return plugin_error(pm, plugin, HOOK, cause)

    if not isinstance(result, (list, tuple)):
        raise broken(f"returned {type(result).__name__}, not a list of Team")
    if not result:
        raise broken("returned no teams (return None to let another plugin answer)")
    require_regions = constraints.eu_and_mena and both_regions(by_id.values())
    teams: list[Team] = []
    seen_names: set[str] = set()
    seen_sets: set[frozenset[str]] = set()
    used: Counter[str] = Counter()
    for team in result:
        if not isinstance(team, Team):
            raise broken(f"returned a {type(team).__name__} among its teams, not a Team")
        name = team.name
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
            raise broken(f"returned a team whose name is not text of 1-{MAX_NAME_CHARS} characters: {name!r:.80}")
        if name in seen_names:
            raise broken(f"returned two teams named {name!r}")
        members = tuple(team.members) if isinstance(team.members, (list, tuple)) else None
        if members is None or not all(isinstance(i, str) for i in members):
            raise broken(f"team {name!r}: members must be a list of participant ids")
        if unknown := sorted({i for i in members if i not in by_id}):
            raise broken(f"team {name!r} names unknown participants: {', '.join(map(repr, unknown[:5]))}")
        if len(set(members)) != len(members):
            raise broken(f"team {name!r} lists a participant twice")
        if problems := team_problems([by_id[i] for i in members], constraints, require_regions):
            raise broken(f"team {name!r} {'; '.join(problems)}")
        if frozenset(members) in seen_sets:
            raise broken(f"team {name!r} has the same participants as another team")
        reasons = team.reasons
        if not isinstance(reasons, (list, tuple)) or not all(
                isinstance(r, str) and len(r) <= MAX_REASON_CHARS for r in reasons):
            raise broken(f"team {name!r}: reasons must be a list of texts of at most {MAX_REASON_CHARS} characters")
        seen_names.add(name)
        seen_sets.add(frozenset(members))
        used.update(members)
        teams.append(Team(name, members, 0.0, tuple(reasons)))
    k = constraints.max_teams_per_participant
    if over := sorted(i for i, n in used.items() if n > k):
        raise broken(f"puts {', '.join(map(repr, over[:5]))} in more than {_count(k, 'team', 'teams')} "
                     "(max_teams_per_participant)")
    if missing := sorted(i for i, p in by_id.items() if p.kind == "cluster" and not used[i]):
        raise broken(f"leaves cluster participants out of every team: {', '.join(map(repr, missing[:5]))}")
    return teams


# ---------------------------------------------------------------------------------------------------------------
# Reasons
# ---------------------------------------------------------------------------------------------------------------

def explain_team(members: Sequence[Participant], labels: Mapping[str, str] | None = None) -> list[str]:
    """Why these participants fit together: the priority topics they share, the codes some offer that others
    need, and the countries (and regions) they bring."""
    reasons = []
    shared: dict[tuple[str, ...], list[str]] = {}
    for topic in sorted({t for m in members for t in m.topics}):
        holders = tuple(m.id for m in members if topic in m.topics)
        if len(holders) >= 2:
            shared.setdefault(holders, []).append(TOPIC_WORDS.get(topic, topic.replace("_", " ")))
    names = {m.id: m.name for m in members}
    for holders, topics in shared.items():
        who = _and([names[i] for i in holders])
        reasons.append(f"{who} {'both' if len(holders) == 2 else 'all'} prioritise {_and(topics)}")
    for a in members:
        for b in members:
            codes = sorted(a.offers & b.needs)
            if a is b or not codes:
                continue
            worded = [f"{code} {labels[code]}" if labels and code in labels else code for code in codes[:CODES_SHOWN]]
            if len(codes) > CODES_SHOWN:
                worded.append(f"{len(codes) - CODES_SHOWN} more")
            offerer = f"{a.name} members offer" if a.kind == "cluster" else f"{a.name} offers"
            needer = f"{b.name}'s members need" if b.kind == "cluster" else f"{b.name} needs"
            reasons.append(f"{offerer} {_and(worded)} that {needer}")
    countries = sorted({m.country for m in members})
    regions = sorted({m.region for m in members} & {EU, MENA})
    reasons.append(f"{_count(len(countries), 'country', 'countries')}: {', '.join(countries)}"
                   + (f" ({' and '.join(regions)})" if regions else ""))
    knowledge = [f"{m.name} ({m.country})" for m in members if m.kind == "knowledge"]
    if knowledge:
        reasons.append(f"knowledge: {', '.join(knowledge)}")
    return reasons


def bounded_reasons(reasons: Sequence[str], limit: int) -> list[str]:
    """At most ``limit`` reasons: over it, the middle is cut (the pairwise topics and offers) and counted in a line
    of its own, so that the last ones stay, what the team is as a whole (its countries, its knowledge
    participants, the plugin's own word)."""
    if len(reasons) <= limit:
        return list(reasons)
    if limit < 3:  # no room for a note between two ends: the team's last words
        return list(reasons[len(reasons) - limit:]) if limit > 0 else []
    head = (limit - 1) // 2
    tail = limit - 1 - head
    cut = len(reasons) - head - tail
    return [*reasons[:head], f"and {_count(cut, 'more reason', 'more reasons')} (pilots.max_reasons)",
            *reasons[len(reasons) - tail:]]


def _and(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _unique(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(texts))
