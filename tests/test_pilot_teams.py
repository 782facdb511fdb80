"""Pilots' working teams: constraints checked before any plugin runs, the built-in CP-SAT plugin's teams meet every
constraint with their reasons, a third-party plugin comes first, a broken answer names its plugin, and the greedy
heuristic is feasible and never better than the solver's optimum."""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from federation import hookimpl
from federation.errors import ConfigurationError, PluginError, ValidationError
from federation.pilots.regions import region_of, regions
from federation.pilots.teams import Constraints, Participant, Team, check_request, propose_teams, team_score
from federation.plugin_manager import get_plugin_manager
from federation.settings import Settings
from plugins.team_formation import greedy_teams, solve_teams

PRIORITY_TOPICS = ("internationalisation", "export", "research_development", "innovation", "training",
                   "digitalisation", "sustainability", "financing", "standards_certification", "market_access")
CODES = ("10.41", "10.39", "13.10", "20.42", "46.33", "72.19")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.load(tmp_path, environ={})


@pytest.fixture
def pm(settings):
    return get_plugin_manager(settings)


def participant(settings, pid, kind, name, country, topics=(), offers=(), needs=()) -> Participant:
    return Participant(pid, kind, name, country, region_of(country, settings), frozenset(topics), frozenset(offers),
                       frozenset(needs))


def pilot_participants(settings) -> list[Participant]:
    """2 EU and 3 MENA clusters, 2 knowledge members (one EU, one MENA)."""
    return [
        participant(settings, "qoot", "cluster", "QOOT", "LB", {"export", "digitalisation"}, {"10.41"}),
        participant(settings, "menara", "cluster", "Menara", "MA", {"export", "digitalisation"}, (), {"10.41"}),
        participant(settings, "2ts", "cluster", "2TS", "TN", {"innovation"}, {"13.10"}, {"20.42"}),
        participant(settings, "andalucia", "cluster", "Agro Andalucia", "ES", {"export"}, {"10.39"}, {"13.10"}),
        participant(settings, "prato", "cluster", "Prato Tessile", "IT", {"innovation", "sustainability"},
                    {"13.10", "20.42"}),
        participant(settings, "usj", "knowledge", "USJ", "LB", {"research_development"}, {"72.19"}),
        participant(settings, "upv", "knowledge", "UPV", "ES", {"research_development", "innovation"}, {"72.19"},
                    {"10.41"}),
    ]


def assert_every_constraint(teams, people, constraints):
    """Checked here from the definitions, not with the module's own checker."""
    by_id = {p.id: p for p in people}
    low, high = constraints.team_size
    both = {"EU", "MENA"} <= {p.region for p in people}
    for team in teams:
        members = [by_id[i] for i in team.members]
        assert low <= len(members) <= high
        assert len({m.country for m in members}) >= constraints.min_countries
        assert sum(m.kind == "knowledge" for m in members) >= constraints.min_knowledge
        if constraints.eu_and_mena and both:
            assert {"EU", "MENA"} <= {m.region for m in members}
    counts = {p.id: sum(p.id in t.members for t in teams) for p in people}
    assert max(counts.values()) <= constraints.max_teams_per_participant
    assert all(counts[p.id] >= 1 for p in people if p.kind == "cluster")


def best_partition_score(people, constraints) -> int:
    """The best score of a split into two teams, by trying every split."""
    best = -1
    for size in range(constraints.team_size[0], constraints.team_size[1] + 1):
        for first in combinations(people, size):
            second = [p for p in people if p not in first]
            teams = [Team("1", tuple(p.id for p in first)), Team("2", tuple(p.id for p in second))]
            try:
                assert_every_constraint(teams, people, constraints)
            except AssertionError:
                continue
            best = max(best, team_score(first) + team_score(second))
    return best


def test_regions_come_from_settings(tmp_path, settings):
    assert [region_of(c, settings) for c in ("LB", "ma", "TN", "ES", "FR", "TR", "US")] == \
        ["MENA", "MENA", "MENA", "EU", "EU", "MENA", "other"]
    moved = Settings.load(tmp_path, {"regions": {"mena": ["LB", "US"]}}, environ={})
    assert (region_of("US", moved), region_of("MA", moved)) == ("MENA", "other")
    with pytest.raises(ConfigurationError, match="regions.eu and regions.mena both list ES"):
        regions(Settings.load(tmp_path, {"regions": {"mena": ["ES"]}}, environ={}))
    with pytest.raises(ConfigurationError, match="regions.eu must list two-letter"):
        regions(Settings.load(tmp_path, {"regions": {"eu": ["Spain"]}}, environ={}))


def test_the_built_in_teams_meet_every_constraint_with_reasons(pm, settings):
    people = pilot_participants(settings)
    constraints = Constraints(team_size=(3, 4), min_countries=2, eu_and_mena=True, min_knowledge=1)
    teams = propose_teams(pm, {"id": "pilot-1"}, people, constraints, settings, labels={"10.41": "olive oil"})
    assert len(teams) == 2
    assert_every_constraint(teams, people, constraints)
    assert sorted(i for t in teams for i in t.members) == sorted(p.id for p in people)  # a partition
    by_id = {p.id: p for p in people}
    for team in teams:
        assert team.score == team_score([by_id[i] for i in team.members])
        countries = sorted({by_id[i].country for i in team.members})
        assert f"{len(countries)} countries: {', '.join(countries)} (EU and MENA)" in team.reasons
        assert "proposed by the CP-SAT solver (optimal)" in team.reasons
    # The one best partition (by brute force over every split in two teams), best team first, and why.
    assert [t.members for t in teams] == [("qoot", "menara", "andalucia", "usj"), ("2ts", "prato", "upv")]
    assert sum(t.score for t in teams) == best_partition_score(people, constraints) == 9
    assert teams[0].reasons == (
        "QOOT and Menara both prioritise digitalisation", "QOOT, Menara and Agro Andalucia all prioritise export",
        "QOOT members offer 10.41 olive oil that Menara's members need", "3 countries: ES, LB, MA (EU and MENA)",
        "knowledge: USJ (LB)", "proposed by the CP-SAT solver (optimal)")
    assert teams[1].reasons[:2] == ("2TS, Prato Tessile and UPV all prioritise innovation",
                                    "Prato Tessile members offer 20.42 that 2TS's members need")
    # The same request gives the same teams (fixed seed, one worker).
    assert propose_teams(pm, {"id": "pilot-1"}, people, constraints, settings,
                         labels={"10.41": "olive oil"}) == teams


def test_a_participant_may_serve_several_teams(pm, settings):
    people = pilot_participants(settings)[:5] + [pilot_participants(settings)[6]]  # one knowledge member, UPV
    constraints = Constraints(team_size=(3, 4), min_countries=2, min_knowledge=1, max_teams_per_participant=2)
    teams = propose_teams(pm, None, people, constraints, settings)
    assert len(teams) == 2 and all("upv" in t.members for t in teams)
    assert_every_constraint(teams, people, constraints)
    pairs = [frozenset(pair) for t in teams for pair in combinations(t.members, 2)]
    assert len(pairs) == len(set(pairs))  # no two participants work together twice


@pytest.mark.parametrize(("constraints", "key", "message"), [
    (Constraints((3, 4), min_knowledge=1), "min_knowledge",
     "at least 1 knowledge member per team: 3 teams of 4 to place the 9 clusters need 3 knowledge participants, "
     "the pilot has 1"),
    (Constraints((5, 4)), "team_size", "must be (min, max) whole numbers with 1 <= min <= max, got (5, 4)"),
    (Constraints((3, 4), min_countries=5), "min_countries",
     "at least 5 countries per team: a team has at most 4 participants (team_size)"),
    (Constraints((2, 12), min_countries=4, min_knowledge=0), "min_countries",
     "at least 4 countries per team: the participants come from 3 countries (ES, LB, MA)"),
    (Constraints((11, 12), min_knowledge=0), "team_size", "teams of at least 11 need 11 participants, the pilot has 10"),
    (Constraints((2, 2), min_knowledge=0), "eu_and_mena",
     "one EU participant per team: 5 teams to place the 9 clusters need 5 EU participants, the pilot has 2"),
    (Constraints((3, 4), max_teams_per_participant=0), "max_teams_per_participant", "must be a whole number >= 1, got 0"),
])
def test_impossible_constraints_are_refused_with_the_reason(pm, settings, constraints, key, message):
    people = ([participant(settings, f"lb{i}", "cluster", f"LB {i}", "LB") for i in range(4)]
              + [participant(settings, f"ma{i}", "cluster", f"MA {i}", "MA") for i in range(3)]
              + [participant(settings, f"es{i}", "cluster", f"ES {i}", "ES") for i in range(2)]
              + [participant(settings, "usj", "knowledge", "USJ", "LB")])
    with pytest.raises(ValidationError) as raised:
        propose_teams(pm, None, people, constraints, settings)
    assert raised.value.errors == {key: [message]}
    assert raised.value.message == f"{key}: {message}"


def test_participants_are_checked(settings):
    people = pilot_participants(settings)
    constraints = Constraints((3, 4))
    with pytest.raises(ValidationError, match="participant ids given twice: qoot"):
        check_request([*people, people[0]], constraints, settings)
    with pytest.raises(ValidationError, match="of kind 'company', not one of cluster, member, knowledge"):
        check_request([*people, Participant("x", "company", "X", "FR", "EU")], constraints, settings)
    small = Settings.load(settings.instance_path, {"pilots": {"teams": {"max_participants": 5}}}, environ={})
    with pytest.raises(ValidationError, match=r"7 participants, more than one request may hold "
                                              r"\(pilots.teams.max_participants = 5\)"):
        check_request(people, constraints, small)


def jointly_impossible(settings) -> list[Participant]:
    """Each constraint alone can be met; together they cannot: the cluster's team of two needs the one knowledge
    participant, who is from the same country."""
    return [participant(settings, "qoot", "cluster", "QOOT", "LB"),
            participant(settings, "usj", "knowledge", "USJ", "LB"),
            participant(settings, "cordoba", "member", "Cordoba Oils", "ES")]


@pytest.mark.parametrize("solver", ["cp-sat", "greedy"])
def test_constraints_no_teams_meet_together_are_a_clear_error(tmp_path, solver):
    settings = Settings.load(tmp_path, {"plugins": {"team_formation": {"solver": solver}}}, environ={})
    constraints = Constraints((2, 2), min_countries=2, eu_and_mena=False, min_knowledge=1)
    with pytest.raises(ValidationError) as raised:
        propose_teams(get_plugin_manager(settings), None, jointly_impossible(settings), constraints, settings)
    expected = ("no teams meet every constraint together: the solver proved it" if solver == "cp-sat"
                else "the greedy heuristic")
    assert raised.value.message.startswith(expected)


def test_the_greedy_setting_uses_the_heuristic(tmp_path):
    settings = Settings.load(tmp_path, {"plugins": {"team_formation": {"solver": "greedy"}}}, environ={})
    people = pilot_participants(settings)
    constraints = Constraints((3, 4))
    teams = propose_teams(get_plugin_manager(settings), None, people, constraints, settings)
    assert_every_constraint(teams, people, constraints)
    assert all("proposed by the greedy heuristic (solver: greedy)" in t.reasons for t in teams)


def test_the_heuristic_answers_when_the_solver_finds_nothing_in_time(tmp_path):
    """With no time to search (0 s), CP-SAT stops before any solution: the greedy heuristic's teams are used."""
    settings = Settings.load(tmp_path, {"pilots": {"teams": {"time_limit_s": 0}}}, environ={})
    people = pilot_participants(settings)
    constraints = Constraints((3, 4))
    teams = propose_teams(get_plugin_manager(settings), None, people, constraints, settings)
    assert_every_constraint(teams, people, constraints)
    assert all("proposed by the greedy heuristic: the solver found no better teams in 0 s" in t.reasons for t in teams)
    with pytest.raises(ValidationError, match=r"the solver found no teams within 0 s \(pilots.teams.time_limit_s\) "
                                              "and the greedy heuristic found none either"):
        propose_teams(get_plugin_manager(settings), None, jointly_impossible(settings),
                      Constraints((2, 2), eu_and_mena=False), settings)


def test_a_third_party_plugin_comes_first(tmp_path, monkeypatch):
    """A module named in plugins.extra, loaded as any third-party plugin is, answers before the built-in; its
    teams get the federation's score and reasons, its own reason kept after them."""
    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "medmci_test_pairs.py").write_text(
        "from federation import hookimpl\n"
        "from federation.pilots.teams import Team\n"
        "@hookimpl\n"
        "def medmci_form_teams(pilot, participants):\n"
        "    assert pilot == {'id': 'pilot-1'}\n"
        "    ids = [p.id for p in participants]\n"
        "    return [Team('north-south', ('qoot', 'andalucia', 'usj'), 99, ('paired by hand',)),\n"
        "            Team('rest', tuple(i for i in ids if i not in ('qoot', 'andalucia', 'usj')), 0, ())]\n",
        encoding="utf-8")
    (folder / "medmci_test_passes.py").write_text(
        "from federation import hookimpl\n"
        "@hookimpl\n"
        "def medmci_form_teams(participants):\n"
        "    return None\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    settings = Settings.load(tmp_path, {"plugins": {"extra": ["medmci_test_pairs"]}}, environ={})
    people = pilot_participants(settings)
    teams = propose_teams(get_plugin_manager(settings), {"id": "pilot-1"}, people, Constraints((3, 4)), settings)
    assert [(t.name, t.members) for t in teams] == [
        ("north-south", ("qoot", "andalucia", "usj")), ("rest", ("menara", "2ts", "prato", "upv"))]
    north = teams[0]
    assert north.score == 1  # QOOT and Agro Andalucia share export; not the plugin's 99
    assert north.reasons == ("QOOT and Agro Andalucia both prioritise export", "2 countries: ES, LB (EU and MENA)",
                             "knowledge: USJ (LB)", "paired by hand")
    # A plugin that returns None passes to the next: here the built-in.
    settings = Settings.load(tmp_path, {"plugins": {"extra": ["medmci_test_passes"]}}, environ={})
    teams = propose_teams(get_plugin_manager(settings), None, people, Constraints((3, 4)), settings)
    assert all("proposed by the CP-SAT solver (optimal)" in t.reasons for t in teams)


def broken_answers():
    ok = ("qoot", "andalucia", "usj")
    rest = ("menara", "2ts", "prato", "upv")
    return [
        ([Team("a", ("qoot", "nobody", "usj")), Team("b", rest)], "team 'a' names unknown participants: 'nobody'"),
        ([Team("a", ("qoot", "menara", "usj")), Team("b", ("2ts", "andalucia", "prato", "upv"))],
         "team 'a' has no EU participant, and eu_and_mena asks for one of each region"),
        ([Team("a", ok), Team("b", ("menara", "2ts", "prato", "usj"))],
         "puts 'usj' in more than 1 team (max_teams_per_participant)"),
        ([Team("a", ok)], "leaves cluster participants out of every team: '2ts', 'menara', 'prato'"),
        ([Team("a", ("qoot", "andalucia"))],
         "team 'a' has 2 participants, outside team_size 3-4; has 0 knowledge participants, min_knowledge is 1"),
        ("teams", "returned str, not a list of Team"),
        ([Team("a", ok), Team("a", rest)], "returned two teams named 'a'"),
    ]


@pytest.mark.parametrize(("answer", "cause"), broken_answers())
def test_a_broken_answer_is_a_plugin_error_naming_the_plugin(pm, settings, answer, cause):
    class Broken:
        @staticmethod
        @hookimpl
        def medmci_form_teams(participants):
            return answer

    pm.register(Broken, name="broken_teams")
    with pytest.raises(PluginError) as raised:
        propose_teams(pm, None, pilot_participants(settings), Constraints((3, 4)), settings)
    assert (raised.value.plugin, raised.value.hook, raised.value.cause) == \
        ("broken_teams", "medmci_form_teams", cause)


def test_a_plugin_that_raises_is_named(pm, settings):
    class Raises:
        @staticmethod
        @hookimpl
        def medmci_form_teams():
            raise KeyError("region")

    pm.register(Raises, name="raising_teams")
    with pytest.raises(PluginError, match=r"plugin 'raising_teams' \(not from an installed distribution\) failed "
                                          r"in hook medmci_form_teams: raised KeyError: 'region'"):
        propose_teams(pm, None, pilot_participants(settings), Constraints((3, 4)), settings)


def random_instance(rng: random.Random, settings) -> tuple[list[Participant], Constraints]:
    countries = ["LB", "MA", "TN", "EG", "ES", "IT", "FR", "GR"]
    people = []
    for i in range(rng.randint(7, 10)):
        kind = rng.choice(["cluster", "cluster", "member", "knowledge"])
        people.append(participant(settings, f"p{i}", kind, f"P{i}", rng.choice(countries),
                                  rng.sample(PRIORITY_TOPICS, rng.randint(0, 3)),
                                  rng.sample(CODES, rng.randint(0, 2)), rng.sample(CODES, rng.randint(0, 2))))
    constraints = Constraints(team_size=(rng.randint(2, 3), rng.randint(3, 5)), min_countries=rng.randint(1, 3),
                              eu_and_mena=rng.random() < 0.7, min_knowledge=rng.randint(0, 1),
                              max_teams_per_participant=rng.choice([1, 1, 2]))
    return people, constraints


def test_the_greedy_heuristic_is_feasible_and_never_beats_the_solver(settings, capsys):
    """Random pilots the solver proves optimal: the heuristic's teams meet every constraint, and its score is at
    most the optimum. The ratio is printed (run with -s)."""
    rng = random.Random(11)
    ratios = []
    while len(ratios) < 25:
        people, constraints = random_instance(rng, settings)
        try:
            check_request(people, constraints, settings)
            groups = greedy_teams(people, constraints)
        except ValidationError:
            continue  # constraints these participants cannot meet, or the heuristic missed them: not compared
        solution = solve_teams(people, constraints, time_limit_s=60, workers=1)
        assert solution.status == "optimal"
        teams = [Team(str(i), g) for i, g in enumerate(groups)]
        assert_every_constraint(teams, people, constraints)
        pairs = [frozenset(pair) for g in groups for pair in combinations(g, 2)]
        assert len(pairs) == len(set(pairs))
        by_id = {p.id: p for p in people}
        greedy = sum(team_score([by_id[i] for i in g]) for g in groups)
        assert greedy <= solution.objective
        ratios.append(greedy / solution.objective if solution.objective else 1.0)
    with capsys.disabled():
        print(f"\ngreedy / CP-SAT optimum over {len(ratios)} random pilots: mean {sum(ratios) / len(ratios):.3f}, "
              f"min {min(ratios):.3f}, optimal in {sum(r == 1.0 for r in ratios)}")
