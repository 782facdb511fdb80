"""Built-in team formation (hook ``medmci_form_teams``): OR-Tools CP-SAT, with a greedy heuristic beside it.

Settings: ``plugins.team_formation.solver`` (``cp-sat`` or ``greedy``), ``plugins.team_formation.workers`` and the
search time ``pilots.teams.time_limit_s``.

The model (:func:`solve_teams`): up to T team slots, T the most teams the scarce participants allow; x[p, t] puts
participant p in slot t, used[t] opens the slot. Each open slot holds ``team_size`` participants, at least
``min_countries`` countries, ``min_knowledge`` knowledge participants, one EU and one MENA participant when
``eu_and_mena`` applies; each participant is in at most k slots, a cluster in one at least; with k > 1 two
participants work together in one team at most (otherwise a copy of the best team would score twice). It
maximises the sum of ``pair_weight`` over the pairs of each team, then (second) how many participants have a team.
Slots open in order (used[t] >= used[t + 1]) so that equal solutions are not searched twice.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

from federation import ConfigurationError, Constraints, Participant, Team, ValidationError, hookimpl
from federation.pilots.regions import EU, MENA
from federation.pilots.teams import (
    both_regions,
    minimum_teams,
    pair_weight,
    team_problems,
    team_score,
)

NAME = "team_formation"
#: The solver's random seed: the same pilot gives the same teams (with one worker).
SEED = 1
#: Improvement passes of the greedy heuristic's local search (each pass tries every move and swap once).
GREEDY_PASSES = 50


@dataclass(frozen=True)
class Solution:
    """What the solver found: the teams (participant ids), its status and the objective (sum of team scores)."""

    groups: list[tuple[str, ...]]
    status: str  # "optimal", "feasible" (the time ran out), "infeasible" (proved) or "unknown" (none found in time)
    objective: int
    start: int = -1  # the objective of the greedy heuristic's teams the search started from (-1: it found none)


@hookimpl(trylast=True)  # a plugin that answers comes first
def medmci_form_teams(participants, constraints, settings):
    config = settings.plugin_config(NAME)
    solver = config["solver"]
    workers = config["workers"]
    time_limit_s = settings.get("pilots.teams.time_limit_s")
    if solver not in ("cp-sat", "greedy"):
        raise ConfigurationError(f"settings: plugins.{NAME}.solver must be cp-sat or greedy, got {solver!r}")
    if not isinstance(time_limit_s, (int, float)) or isinstance(time_limit_s, bool) or not time_limit_s >= 0:
        raise ConfigurationError(f"settings: pilots.teams.time_limit_s must be a number of seconds >= 0, "
                                 f"got {time_limit_s!r}")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ConfigurationError(f"settings: plugins.{NAME}.workers must be a whole number >= 1, got {workers!r}")
    if solver == "greedy":
        groups, how = greedy_teams(participants, constraints), "proposed by the greedy heuristic (solver: greedy)"
    else:
        solution = solve_teams(participants, constraints, time_limit_s, workers)
        if solution.status == "infeasible":
            raise ValidationError("no teams meet every constraint together: the solver proved it (each constraint "
                                  "alone can be met; relax team_size, min_countries, min_knowledge or eu_and_mena)",
                                  {"constraints": ["no teams meet every constraint together"]})
        if solution.status == "unknown" or solution.start > solution.objective:
            groups = _greedy_after_timeout(participants, constraints, time_limit_s)
            how = f"proposed by the greedy heuristic: the solver found no better teams in {time_limit_s} s"
        else:
            groups = solution.groups
            how = ("proposed by the CP-SAT solver (optimal)" if solution.status == "optimal" else
                   f"proposed by the CP-SAT solver (the best found in {time_limit_s} s, maybe not optimal)")
    scored = sorted(((team_score(_members(participants, group)), group) for group in groups),
                    key=lambda pair: (-pair[0], pair[1]))  # the best team first
    return [Team(f"Team {i}", group, score, (how,)) for i, (score, group) in enumerate(scored, 1)]


def _greedy_after_timeout(participants, constraints, time_limit_s) -> list[tuple[str, ...]]:
    try:
        return greedy_teams(participants, constraints)
    except ValidationError as exc:
        raise ValidationError(f"the solver found no teams within {time_limit_s} s (pilots.teams.time_limit_s) and "
                              f"the greedy heuristic found none either: {exc.message}",
                              {"constraints": [exc.message]}) from exc


def _members(participants: Sequence[Participant], group: Sequence[str]) -> list[Participant]:
    by_id = {p.id: p for p in participants}
    return [by_id[i] for i in group]


def team_slots(participants: Sequence[Participant], constraints: Constraints) -> int:
    """The most teams there can be: each needs ``team_size[0]`` places, ``min_knowledge`` knowledge participants
    and, when required, an EU and a MENA participant, and each participant gives at most k places."""
    k = constraints.max_teams_per_participant
    slots = k * len(participants) // constraints.team_size[0]
    if constraints.min_knowledge:
        slots = min(slots, k * sum(p.kind == "knowledge" for p in participants) // constraints.min_knowledge)
    if constraints.eu_and_mena and both_regions(participants):
        slots = min(slots, *(k * sum(p.region == r for p in participants) for r in (EU, MENA)))
    return slots


# ---------------------------------------------------------------------------------------------------------------
# CP-SAT
# ---------------------------------------------------------------------------------------------------------------

def solve_teams(participants: Sequence[Participant], constraints: Constraints, time_limit_s: float,
                workers: int) -> Solution:
    """The teams CP-SAT finds within ``time_limit_s`` (see the module's docstring for the model). The search starts
    from the greedy heuristic's teams when it finds some (``Solution.start``: a large pilot's search may end before
    it reports them, or with worse teams; the plugin then takes the heuristic's)."""
    from ortools.sat.python import cp_model  # imported when teams are formed, not when every app loads its plugins

    people = list(participants)
    slots = range(team_slots(people, constraints))
    if not slots:
        return Solution([], "infeasible", 0)
    model = cp_model.CpModel()
    v = _Variables({(p, t): model.new_bool_var(f"x{p}_{t}") for p in range(len(people)) for t in slots},
                   [model.new_bool_var(f"used{t}") for t in slots])
    for t in slots:
        _team_constraints(model, v, t, people, constraints)
        if t:
            model.add(v.used[t - 1] >= v.used[t])  # slots open in order: equal solutions are not searched twice
    _membership_constraints(model, v, slots, people, constraints)
    score = _pair_terms(model, v, slots, people, constraints)
    # The score first; among equal scores, more participants with a team (worth less than one point of score).
    model.maximize((len(people) + 1) * sum(score) + sum(v.placed))
    start = _hint(model, v, people, constraints)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = SEED
    # Probing in presolve took most of the time of 60-participant pilots (seconds) and found little.
    solver.parameters.cp_model_probing_level = 0
    status = solver.solve(model)
    named = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible", cp_model.INFEASIBLE: "infeasible"}
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Solution([], named.get(status, "unknown"), 0, start)
    groups = [tuple(people[p].id for p in range(len(people)) if solver.value(v.x[p, t]))
              for t in slots if solver.value(v.used[t])]
    return Solution(groups, named[status], sum(team_score(_members(people, g)) for g in groups), start)


@dataclass
class _Variables:
    """The model's variables, kept to give the search a complete starting point (:func:`_hint`)."""

    x: dict  # (participant, slot) -> participant in the slot's team
    used: list  # slot -> the slot holds a team
    has: dict = field(default_factory=dict)  # (country, slot) -> may be 1 only if the team has that country
    both: dict = field(default_factory=dict)  # (i, j, slot) -> may be 1 only if both are in the team
    placed: list = field(default_factory=list)  # participant -> may be 1 only if it has a team


def _team_constraints(model, v: _Variables, t: int, people, constraints) -> None:
    """One slot: its size when open (nothing when closed), knowledge, regions and countries."""
    low, high = constraints.team_size
    x_t = [v.x[p, t] for p in range(len(people))]
    model.add(sum(x_t) >= low * v.used[t])
    model.add(sum(x_t) <= high * v.used[t])
    if constraints.min_knowledge:
        model.add(sum(var for var, p in zip(x_t, people, strict=True) if p.kind == "knowledge")
                  >= constraints.min_knowledge * v.used[t])
    if constraints.eu_and_mena and both_regions(people):
        for region in (EU, MENA):
            model.add(sum(var for var, p in zip(x_t, people, strict=True) if p.region == region) >= v.used[t])
    if constraints.min_countries > 1:
        for country in sorted({p.country for p in people}):
            has = v.has[country, t] = model.new_bool_var(f"has_{country}_{t}")
            model.add(has <= sum(var for var, p in zip(x_t, people, strict=True) if p.country == country))
        model.add(sum(v.has[c, t] for c in sorted({p.country for p in people}))
                  >= constraints.min_countries * v.used[t])


def _membership_constraints(model, v: _Variables, slots, people, constraints) -> None:
    """Each participant in at most k slots, a cluster in one at least; ``placed`` for the objective's second part."""
    for p, person in enumerate(people):
        memberships = sum(v.x[p, t] for t in slots)
        model.add(memberships <= constraints.max_teams_per_participant)
        if person.kind == "cluster":
            model.add(memberships >= 1)
        has_team = model.new_bool_var(f"placed{p}")
        model.add(has_team <= memberships)
        v.placed.append(has_team)


def _pair_terms(model, v: _Variables, slots, people, constraints) -> list:
    """The objective's terms: pair_weight times "both in slot t", for each weighted pair and slot; with k > 1 each
    pair is together in one slot at most."""
    k = constraints.max_teams_per_participant
    terms = []
    for i, j in combinations(range(len(people)), 2):
        weight = pair_weight(people[i], people[j])
        if not weight and k == 1:
            continue
        for t in slots:
            both = v.both[i, j, t] = model.new_bool_var(f"y{i}_{j}_{t}")
            model.add_bool_and([v.x[i, t], v.x[j, t]]).only_enforce_if(both)
            if k > 1:  # both == (x_i and x_j), so that a pair is seen in every team it is in
                model.add_bool_or([~v.x[i, t], ~v.x[j, t], both])
            if weight:
                terms.append(weight * both)
        if k > 1:
            model.add(sum(v.both[i, j, t] for t in slots) <= 1)
    return terms


def _hint(model, v: _Variables, people, constraints) -> int:
    """Start the search from the greedy heuristic's teams when it finds some, every variable hinted (a partial hint
    left 60-participant pilots without any solution in 10 s). Returns their objective, -1 when there are none."""
    try:
        groups = greedy_teams(people, constraints)
    except ValidationError:
        return -1
    index = {p.id: i for i, p in enumerate(people)}
    teams = [{index[i] for i in group} for group in groups]
    for t, used in enumerate(v.used):
        model.add_hint(used, t < len(teams))
    for (p, t), var in v.x.items():
        model.add_hint(var, t < len(teams) and p in teams[t])
    for (country, t), var in v.has.items():
        model.add_hint(var, t < len(teams) and any(people[p].country == country for p in teams[t]))
    for (i, j, t), var in v.both.items():
        model.add_hint(var, t < len(teams) and {i, j} <= teams[t])
    for p, var in enumerate(v.placed):
        model.add_hint(var, any(p in team for team in teams))
    return sum(team_score(_members(people, group)) for group in groups)


# ---------------------------------------------------------------------------------------------------------------
# The greedy heuristic
# ---------------------------------------------------------------------------------------------------------------

def greedy_teams(participants: Sequence[Participant], constraints: Constraints) -> list[tuple[str, ...]]:
    """Teams built greedily, then improved by local search: fast, every constraint met when it succeeds, no
    promise of the best score. Used with ``solver: greedy``, and when CP-SAT finds nothing in its time.

    1. Number of teams: enough to give everyone a place (n / max size), at least the fewest that hold every
       cluster, at most what the scarce participants allow (:func:`team_slots`).
    2. Requirements first, team by team: ``min_knowledge`` knowledge participants, then an EU and a MENA one
       (when required), then participants of new countries until ``min_countries``; each time the candidate that
       gains most with the team so far (clusters first, since they must be placed anyway; knowledge participants
       last, since every team needs its own).
    3. The clusters not yet placed, each into the team with room where it gains most; then teams below the
       minimum size are filled; then everyone else with memberships left joins the team where it gains most (for a
       second or later team, only where it gains something).
    4. Local search: move one participant or swap two between teams while the score grows and every constraint
       holds, at most ``GREEDY_PASSES`` passes.

    Raises :class:`ValidationError` (with what is missing) when it cannot meet the constraints."""
    people = sorted(participants, key=lambda p: p.id)
    k = constraints.max_teams_per_participant
    low, high = constraints.team_size
    require_regions = constraints.eu_and_mena and both_regions(people)
    count = min(max(minimum_teams(people, constraints), math.ceil(len(people) / high)), team_slots(people,
                                                                                                   constraints))
    if count < 1:
        raise ValidationError("the greedy heuristic found no room for a single team", {"constraints": ["no room"]})
    teams: list[list[Participant]] = [[] for _ in range(count)]
    uses: Counter[str] = Counter()

    def gain(p: Participant, team: list[Participant]) -> int:
        return sum(pair_weight(p, m) for m in team)

    def can_join(p: Participant, team: list[Participant]) -> bool:
        return (uses[p.id] < k and len(team) < high and p not in team
                and not (k > 1 and any(_together(p, m, teams) for m in team)))

    def best(candidates, team) -> Participant | None:
        fits = [p for p in candidates if can_join(p, team)]
        # Clusters first (they must be placed anyway), knowledge participants last (every team needs some).
        return max(fits, key=lambda p: (p.kind == "cluster", p.kind != "knowledge", gain(p, team), -uses[p.id]),
                   default=None)

    def add(p: Participant, team: list[Participant]) -> None:
        team.append(p)
        uses[p.id] += 1

    def require(candidates: list[Participant], team: list[Participant], what: str) -> None:
        chosen = best(candidates, team)
        if chosen is None:
            raise ValidationError(f"the greedy heuristic ran out of participants for {what}", {"constraints": [what]})
        add(chosen, team)

    for team in teams:
        for _ in range(constraints.min_knowledge):
            require([p for p in people if p.kind == "knowledge"], team, "min_knowledge")
        for region in (EU, MENA) if require_regions else ():
            if not any(m.region == region for m in team):
                require([p for p in people if p.region == region], team, "eu_and_mena")
        while len({m.country for m in team}) < constraints.min_countries:
            require([p for p in people if p.country not in {m.country for m in team}], team, "min_countries")
    for p in people:
        if p.kind == "cluster" and not uses[p.id]:
            room = [t for t in teams if can_join(p, t)]
            if not room:
                raise ValidationError(f"the greedy heuristic found no team with room for cluster {p.id!r}",
                                      {"constraints": ["team_size"]})
            add(p, max(room, key=lambda t: (gain(p, t), -len(t))))
    for team in teams:
        while len(team) < low:
            chosen = best(people, team)
            if chosen is None:
                raise ValidationError("the greedy heuristic could not fill every team to its minimum size",
                                      {"constraints": ["team_size"]})
            add(chosen, team)
    for p in sorted(people, key=lambda p: -sum(pair_weight(p, q) for q in people)):
        while uses[p.id] < k:
            room = [t for t in teams if can_join(p, t) and (not uses[p.id] or gain(p, t) > 0)]
            if not room:
                break
            add(p, max(room, key=lambda t: (gain(p, t), -len(t))))
    _improve(teams, constraints, require_regions)
    for team in teams:
        if problems := team_problems(team, constraints, require_regions):
            raise ValidationError(f"the greedy heuristic's teams break constraints: {'; '.join(problems)}",
                                  {"constraints": problems})
    return [tuple(p.id for p in team) for team in teams]


def _together(a: Participant, b: Participant, teams: list[list[Participant]]) -> bool:
    return any(a in team and b in team for team in teams)


def _improve(teams: list[list[Participant]], constraints: Constraints, require_regions: bool) -> None:
    """Moves and swaps between two teams that raise the score and keep every constraint (in place)."""
    for _ in range(GREEDY_PASSES):
        if not _improve_once(teams, constraints, require_regions):
            return


def _improve_once(teams: list[list[Participant]], constraints: Constraints, require_regions: bool) -> bool:
    """The first move (one participant to another team) or swap that raises the score, made; False if none."""
    for first, second in ((a, b) for a in range(len(teams)) for b in range(len(teams)) if a != b):
        a, b = teams[first], teams[second]
        before = team_score(a) + team_score(b)
        others = [t for i, t in enumerate(teams) if i not in (first, second)]
        for p in a:
            if p in b:
                continue
            rest = [m for m in a if m is not p]
            options = [(rest, [*b, p])] + [([*rest, q], [*(m for m in b if m is not q), p]) for q in b if q not in a]
            for new_a, new_b in options:
                if (team_score(new_a) + team_score(new_b) > before
                        and not team_problems(new_a, constraints, require_regions)
                        and not team_problems(new_b, constraints, require_regions)
                        and (constraints.max_teams_per_participant == 1 or not _pair_repeated(new_a, new_b, others))):
                    teams[first], teams[second] = new_a, new_b
                    return True
    return False


def _pair_repeated(a: list[Participant], b: list[Participant], others: list[list[Participant]]) -> bool:
    """Whether two participants would work together in two teams (a cover repeats no pair)."""
    pairs = Counter(frozenset((x.id, y.id)) for team in (a, b, *others) for x, y in combinations(team, 2))
    return any(n > 1 for n in pairs.values())
