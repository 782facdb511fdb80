"""The plugin contract of the Med-MCI federation: every hook a plugin may implement.

This module is the whole contract. Built-in plugins (``plugins/``) implement these hooks exactly as a third-party
distribution does, through an entry point in the group ``medmci``::

    [project.entry-points.medmci]
    my_taxonomy = "my_package.my_module"

Hooks are called with keyword arguments. An implementation may accept any subset of a hook's arguments, so new
arguments are only ever added, never removed.

Plugins fail loudly. Every error raised by or about a plugin is a :class:`federation.PluginError` that names the
plugin (entry-point name and distribution), the hook and the cause; ``medmci plugins`` lists broken plugins with
their error (and exits 1). A node or hub does not start with a broken plugin, except where refusing would stop a
running federation for something harmless: then it warns (logged, and shown by ``medmci plugins``):

- refused: a plugin that does not import; a hook this contract does not have (a misspelt name); a hook argument the
  hook does not offer; a wrapper on a registration hook; a registration hook that raises or returns something other
  than a list of what it registers;
- refused: what a registration hook returns, when it breaks a rule given under that hook below;
- warned: a name in ``plugins.disabled`` that matches no installed plugin (a plugin disabled, then uninstalled,
  leaves its name behind; a misspelt name leaves the plugin on, so the warning suggests the closest name);
- warned: a crosswalk to a scheme no loaded plugin provides (unused), and a value chain's ecosystem when the
  ecosystem list (setting ``ecosystem_scheme``) is not loaded (it cannot be checked).

Rules run while the hub forms meta-clusters: a rule that raises fails the formation of that value chain alone, with
the error (rule, plugin, hook, cause) recorded; the chain's last meta-cluster is kept and the harvest run ends
``partial``. A notification hook (``medmci_on_*``) that raises is logged with its plugin's name and never fails the
work it observes.

A complete example plugin (a taxonomy, a value chain, a rule and an observer) is in ``docs/example_plugin/``, with
a guide in ``docs/plugins.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from .benchmarking.indicators import Indicator
    from .domain import ValueChain
    from .eligibility import EligibilityRule
    from .mail import MailSender
    from .matching.scorers import Scorer
    from .pilots.teams import Constraints, Participant, Team
    from .rules import FormationRule, SubclusterRule
    from .science.invitations import InvitationCandidate
    from .settings import Settings
    from .taxonomy import Taxonomy, TaxonomyIndex

PROJECT = "medmci"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------------------------------------------------------
# Taxonomies
# ---------------------------------------------------------------------------------------------------------------

@hookspec
def medmci_register_taxonomies(settings: Settings) -> list[Taxonomy]:
    """Provide code lists: activity classifications (NACE, ISIC, ...) or other lists (EU ecosystems).

    Called once when a node or hub starts. Every scheme may be provided by one plugin only; the pivot scheme
    (setting ``pivot_scheme``) must be provided by some plugin. Crosswalks declared on a taxonomy, in either
    direction, let members tag activities in any scheme and still be classified the same way.

    Refused at load: a scheme another plugin provides too; a code whose parent is not in the list; a crosswalk
    that names codes of its own scheme it lacks, or codes the target scheme lacks (when that scheme is loaded).
    Warned: a crosswalk to a scheme no loaded plugin provides (it is not used).

    **The CSV format** read by ``Taxonomy.from_csv`` (UTF-8, with or without BOM; a header row; every cell is
    text, so leading zeros stay)::

        code,level,parent,label_en,label_fr,nace
        A,1,,Agriculture,Agriculture,A
        01,2,A,Crop and animal production,Culture et production animale,01
        0111,4,01,Growing of cereals,Culture de céréales,01.11
        1080,4,10,Animal feeds,Aliments pour animaux,10.91;10.92

    - ``code``: the code as members write it (unique in the file);
    - ``level``: a whole number, 1 for the top (sections), larger below; empty means 1;
    - ``parent``: the code just above (empty at the top); it must be a code of the same file. Stage and rule
      prefixes match a code and everything under it through these parents;
    - labels: one column per language, named in ``label_columns={"en": "label_en", "fr": "label_fr"}``; an empty
      cell falls back to English, then to any label;
    - crosswalk columns: one per other scheme, named in ``crosswalk_columns={"nace-rev2": "nace"}`` (or the pair
      ``crosswalk_column=("nace-rev2", "nace")``). A cell holds the code's equivalents in that scheme: one, several
      separated by ``;``, ``|`` or spaces (a code the other scheme splits in several), or none (empty). Declaring
      the crosswalk in either scheme is enough: the index derives the other direction.

    A code list that is not of activities (the EU ecosystems) is a taxonomy with ``activity=False``: members cannot
    tag activities with it.

    :param settings: the node's or hub's settings; read your block with ``settings.plugin_config("name")``.
    :return: a list of :class:`federation.Taxonomy`.

    Example::

        @hookimpl
        def medmci_register_taxonomies(settings):
            return [Taxonomy.from_csv(HERE / "naf.csv", scheme="naf-rev2", names={"fr": "NAF rév. 2"},
                                      label_columns={"fr": "label_fr"}, crosswalk_column=("nace-rev2", "nace"))]
    """


# ---------------------------------------------------------------------------------------------------------------
# Value chains and rules
# ---------------------------------------------------------------------------------------------------------------

@hookspec
def medmci_register_value_chains(settings: Settings, taxonomies: TaxonomyIndex) -> list[ValueChain]:
    """Provide value chains: ordered stages, each defined by activity-code prefixes.

    Stage prefixes must be normalised to the pivot scheme with ``taxonomies.pivot_prefixes(...)``, which also
    refuses unknown codes. Value chain ids must be unique across plugins.

    Refused at load: an id another plugin provides too, empty or longer than 64 characters; no stage; two stages
    with one id; a stage kind other than ``core``, ``enabling`` or ``support`` (``federation.STAGE_KINDS``); stage
    prefixes that are not codes of the pivot scheme (a string instead of a set, an ISIC code where NACE is the
    pivot); an ``ecosystem`` that is not a code of the ecosystem list (setting ``ecosystem_scheme``). Warned: an
    ecosystem when that list is not loaded (it cannot be checked, and refusing would stop a hub whose operator
    disabled the list).

    A value chain whose plugin is disabled or uninstalled is retired: its meta-cluster leaves every view at the
    hub's next formation (the next harvest, or ``medmci hub reform`` now).

    :param settings: the settings.
    :param taxonomies: every loaded taxonomy, to validate and normalise codes.
    :return: a list of :class:`federation.ValueChain`.

    Example::

        @hookimpl
        def medmci_register_value_chains(settings, taxonomies):
            stage = Stage("fishing", {"en": "Fishing"}, "core", taxonomies.pivot_prefixes({"nace-rev2": ["03"]}, "x"))
            return [ValueChain("blue-food", {"en": "Blue food"}, (stage,))]
    """


@hookspec
def medmci_register_formation_rules(settings: Settings, taxonomies: TaxonomyIndex,
                                    value_chains: dict[str, ValueChain]) -> list[FormationRule]:
    """Provide rules that decide which clusters form a value chain's meta-cluster.

    Every rule is asked about every (cluster, value chain) pair and about every candidate meta-cluster; a cluster
    takes part only if no rule refuses it, and a meta-cluster forms only if no rule refuses it. Each verdict is kept
    as the explanation of the decision.

    Refused at load: a rule without ``check_cluster`` and ``check_metacluster`` methods (subclass
    ``FormationRule``) or without a name. A rule that raises while the hub forms a value chain fails that chain's
    formation (recorded with the rule's and plugin's names; the last meta-cluster is kept, the harvest run ends
    ``partial``); the other chains are formed.

    :param settings: the settings (thresholds are read from ``plugin_config``).
    :param taxonomies: every loaded taxonomy: a rule may keep it to read members' codes in pivot terms.
    :param value_chains: the loaded value chains by id.
    :return: a list of :class:`federation.FormationRule`.

    Example::

        class NeedsUniversity(FormationRule):
            name = "needs-university"
            def check_metacluster(self, chain, admitted):
                has = any(m.kind == "university" for c in admitted for m in c.members)
                return Decision(has, self.name, "a university takes part" if has else "no university")
    """


@hookspec
def medmci_register_subcluster_rules(settings: Settings, taxonomies: TaxonomyIndex,
                                     value_chains: dict[str, ValueChain]) -> list[SubclusterRule]:
    """Provide sub-clustering rules: each puts members of one value chain's meta-cluster into a named sub-cluster.

    For each member, the rules of its chain are tried by ``priority`` then registration order; the first match
    wins. A rule for a value chain nobody provides is a configuration error.

    Refused at load: a rule without a ``match`` method, a name (other than ``other``, the sub-cluster of members no
    rule places) or a numeric priority; a rule for a value chain no plugin provides; ``prefixes`` that are not codes
    of the pivot scheme. A rule that raises while a chain is formed fails that chain's formation, as a formation
    rule does.

    :param settings: the settings.
    :param taxonomies: to normalise code prefixes.
    :param value_chains: the loaded value chains by id.
    :return: a list of :class:`federation.SubclusterRule`.

    Example::

        @hookimpl
        def medmci_register_subcluster_rules(settings, taxonomies, value_chains):
            return [CodeKeywordRule("agri-food", "olive-oil", {"en": "Olive oil"},
                                    taxonomies.pivot_prefixes({"nace-rev2": ["10.41"]}, "olive"), ["olive"], 10)]
    """


@hookspec(firstresult=True)
def medmci_read_subcluster_rules(document: object, source: str, settings: Settings, taxonomies: TaxonomyIndex,
                                 value_chains: dict[str, ValueChain]) -> list[SubclusterRule] | None:
    """Read a sub-clustering rule set that is *not* installed: a file given to ``medmci hub subclusters compare``,
    a rule set posted to ``/api/v1/metaclusters/<id>/subclusters/compare``, or a saved alternative (setting
    ``subclusters.alternatives_path``). The hub compares it with another rule set; formation never sees it.

    First result wins: return the rules the document defines, as :func:`medmci_register_subcluster_rules` would
    return them had the document been installed (same priorities), or ``None`` when the document is not of your
    format (the next plugin is asked). ``document`` is untrusted: a parsed YAML or JSON value (YAML aliases are
    refused before it reaches you), at most ``subclusters.max_rule_set_bytes`` long.

    When the document is of your format but wrong, raise :class:`federation.ConfigurationError` whose message
    names ``source`` and the field (``rules[2].codes``): the caller gets it as a 400. Refused (a
    :class:`federation.PluginError` naming the plugin, 500): any other exception; something other than a list; a rule
    :func:`medmci_register_subcluster_rules` would refuse. Refused as the document's fault (400): rules of another
    value chain than the one compared, more rules than ``subclusters.max_rules``, no rule at all.

    :param document: the parsed rule set (the built-in reads the shape of ``config/subclusters/<chain>.yaml``).
    :param source: how to name the document in messages (a file name, ``rules[1]`` of a request).
    :param settings: the hub's settings.
    :param taxonomies: to normalise code prefixes.
    :param value_chains: the loaded value chains by id.
    :return: a list of :class:`federation.SubclusterRule`, or ``None`` to pass.

    Example::

        @hookimpl
        def medmci_read_subcluster_rules(document, source, taxonomies):
            if not isinstance(document, dict) or "olive_only" not in document:
                return None
            return [CodeKeywordRule("agri-food", "olive-oil", {"en": "Olive oil"},
                                    taxonomies.pivot_prefixes({"nace-rev2": ["10.41"]}, source), (), 10)]
    """


# ---------------------------------------------------------------------------------------------------------------
# Pilots
# ---------------------------------------------------------------------------------------------------------------

@hookspec(firstresult=True)
def medmci_form_teams(pilot: object, participants: list[Participant], constraints: Constraints,
                      settings: Settings) -> list[Team] | None:
    """Propose a pilot's working teams: groups of participants (clusters, members, knowledge entities) that work
    together.

    Called by ``propose_teams()`` (``federation/pilots/teams.py``) once the constraints are known to be possible
    for these participants. The implementations are asked one by one in pluggy's order (the last registered
    first); the first that returns a list wins, ``None`` passes to the next. The built-in (``team_formation``,
    OR-Tools CP-SAT) is registered ``trylast``, so any other plugin that answers comes first.

    Every team must satisfy ``constraints``: ``team_size`` (min, max) participants, at least ``min_countries``
    countries, at least ``min_knowledge`` participants of kind ``knowledge``, one participant of region ``EU`` and
    one of ``MENA`` when ``eu_and_mena`` is set and both regions take part; each participant in at most
    ``max_teams_per_participant`` teams, every participant of kind ``cluster`` in one at least. Maximise the sum of
    ``team_score()`` (shared priority topics and offer/need pairs, ``federation.pilots.teams``).

    Refused (a :class:`federation.PluginError` naming the plugin): an exception other than a
    :class:`federation.FederationError`; something other than a list of ``Team``; an empty list; a team naming an
    unknown participant or one twice, breaking a constraint, with the same participants or name as another, or
    with reasons that are not short texts; a participant in too many teams; a cluster participant in none. When
    no teams meet the constraints, raise :class:`federation.ValidationError` with the reason: the caller gets it.
    A team's ``score`` and the reasons about topics, offers and needs, and countries are computed by the federation
    (so every plugin's teams are measured alike); the plugin's own reasons are kept after them.

    :param pilot: the pilot the teams are for, as its caller gives it (read it, never change it).
    :param participants: the :class:`~federation.pilots.teams.Participant` list (id, kind, name, country, region,
        topics, offers, needs); at most ``pilots.teams.max_participants``.
    :param constraints: the :class:`~federation.pilots.teams.Constraints` every team must satisfy.
    :param settings: the settings: search at most ``pilots.teams.time_limit_s`` seconds; your block is
        ``settings.plugin_config("name")``.
    :return: a list of :class:`~federation.pilots.teams.Team` (name, member ids, score, reasons), or ``None`` to
        let the next plugin answer.

    Example::

        @hookimpl
        def medmci_form_teams(pilot, participants, constraints):
            if len(participants) > constraints.team_size[1]:
                return None  # one team only: leave larger pilots to the next plugin
            return [Team("everyone", tuple(p.id for p in participants), 0, ("one team for a small pilot",))]
    """


# ---------------------------------------------------------------------------------------------------------------
# Scientific representation
# ---------------------------------------------------------------------------------------------------------------

@hookspec(firstresult=True)
def medmci_rank_invitations(metacluster: dict, representation: dict, candidates: list[InvitationCandidate],
                            settings: Settings) -> list[dict] | None:
    """Rank the knowledge organisations a meta-cluster could invite (``federation/science/invitations.py``).

    First result wins: the implementations are asked in pluggy's order (the last registered first, so an installed
    plugin comes before the built-in ``invitation_ranking``) and the first that returns a list ranks; return
    ``None`` to leave the ranking to the next one. One ranking, not a merge: scores of two rankers do not compare,
    and a merge would list an organisation twice.

    Each suggestion is ``{"entity": key, "score": 0..1, "reasons": [text], "fills": [{"stage", "country"}]}``, best
    first; candidates left out are not suggested. The hub adds the entity's ``name``, ``kind`` and ``country``.
    Refused (a :class:`federation.PluginError` naming the plugin, and no ranking): raising; a wrapper; anything but a
    list of such dicts; an entity that is not a candidate, or named twice; a score that is not a number from 0 to 1;
    reasons that are not a list of at most 20 texts of at most 500 characters; fills that are not the candidate's.

    :param metacluster: the meta-cluster's full document (``clusters``, ``countries``, ``stages``, ``members``,
        ``knowledge_members``...).
    :param representation: its figures (``federation/science/representation.py``): ``by_country``, ``by_stage``,
        ``triple_helix``, ``unsupported`` [{stage, country}], ``organisations``, ``clusters``.
    :param candidates: :class:`federation.InvitationCandidate` objects: ``entity`` (a
        :class:`federation.KnowledgeEntity`), ``links`` (stage links with ``stage``, ``how``, ``reason``,
        ``evidence``), ``fills`` ((stage, country) pairs of its own country without knowledge support),
        ``open_stages`` (stages without knowledge support in any country), ``specificity`` (0..1: the share of its
        research domains that support the chain), ``evidence(stage)``.
    :param settings: the hub's settings; read your block with ``settings.plugin_config("name")``.
    :return: a list of suggestions, or ``None`` to pass.

    Example::

        @hookimpl
        def medmci_rank_invitations(candidates):
            # Technology-transfer offices first, then by the gaps they fill in their own country.
            ranked = sorted(candidates, key=lambda c: (c.entity.kind != "tto", -len(c.fills), c.key))
            return [{"entity": c.key, "score": round(1 / (position + 1), 3),
                     "reasons": [f"supports {stage} in {country}" for stage, country in c.fills],
                     "fills": [{"stage": stage, "country": country} for stage, country in c.fills]}
                    for position, c in enumerate(ranked)]
    """


# ---------------------------------------------------------------------------------------------------------------
# Matchmaking
# ---------------------------------------------------------------------------------------------------------------

@hookspec
def medmci_match_scorers(settings: Settings, taxonomies: TaxonomyIndex,
                         value_chains: dict[str, ValueChain]) -> list[Scorer]:
    """Provide match scorers: each scores how well a member of another country suits a member as a partner
    (``federation/matching/``). The hub ranks partners by the weighted sum of every scorer's score.

    A scorer (subclass :class:`federation.matching.Scorer`) has a ``name`` (quoted by the reasons), a default
    ``weight`` (a number >= 0; 0 turns it off) and two methods:

    - ``features(members) -> (left, right)``: two ``scipy.sparse`` matrices of shape ``(len(members), f)``, the same
      ``f``, such that the score of partner ``j`` for member ``i`` is ``left[i] . right[j]``. No negative entry and
      every row of Euclidean norm at most 1 (so the score is in [0, 1]); ``federation.matching.scorers.blocks``
      builds such rows from any non-negative features. A score must depend on the two members alone (not on the
      rest of the federation): the hub refreshes suggestions incrementally when a node changes.
    - ``explain(a, b) -> list[str]``: short texts saying why ``b`` suits ``a`` ("exports to ES"), asked only for the
      pairs kept; at most ``matching.max_reasons_per_scorer`` of ``matching.max_reason_chars`` characters are kept.

    Refused at load: a scorer without both methods, without a name, with a weight that is not a number >= 0, or
    with the name of a scorer registered before it. Refused when matching runs (a :class:`federation.PluginError`
    naming the plugin): ``features`` raising, or returning something other than two sparse matrices of that shape
    with those bounds; ``explain`` raising or returning something other than a list of texts.

    :param settings: the settings; read your block with ``settings.plugin_config("name")``.
    :param taxonomies: every loaded taxonomy (members' codes are pivot codes).
    :param value_chains: the loaded value chains by id (members' ``stages`` are (chain id, stage index) pairs).
    :return: a list of scorers.

    Example::

        class SameKind(Scorer):
            name, weight = "same-kind", 0.1
            def features(self, members):
                kinds = sorted({m.kind for m in members})
                rows = sparse.csr_matrix(([1.0] * len(members), [kinds.index(m.kind) for m in members],
                                          range(len(members) + 1)), shape=(len(members), len(kinds)))
                return rows, rows
            def explain(self, a, b):
                return [f"both are {a.kind}"]

        @hookimpl
        def medmci_match_scorers(settings):
            return [SameKind()]
    """


# ---------------------------------------------------------------------------------------------------------------
# Federation lifecycle notifications (a failing observer is logged and never fails the harvest)
# ---------------------------------------------------------------------------------------------------------------

@hookspec
def medmci_on_harvest_completed(report: dict, settings: Settings, instance_path: Path) -> None:
    """Called after a harvest run is stored and the meta-clusters are formed again.

    Observers get the context the other hooks get: the hub's settings, and the hub's instance folder (where a
    plugin may keep files of its own, in a folder named after it). Take only the arguments you need: pluggy passes
    an implementation only the arguments it names, so one written as ``(report)`` keeps working.

    :param report: ``{"run_id", "started_at", "finished_at", "counts": {outcome: n}, "nodes": [{"node_id",
        "outcome", "http_status", "reason"}], "aggregated": bool, "formation_failures": [{"plugin",
        "distribution", "hook", "cause", "message"}], "retired_value_chains": [id], "reread": {"nodes": [id],
        "failures": [{"node_id", "reason"}]}}`` (``reread``: nodes whose set-aside parts were read again, first).
    :param settings: the hub's settings; read your block with ``settings.plugin_config("name")``.
    :param instance_path: the hub's instance folder (a :class:`pathlib.Path`).
    :return: nothing; the return value is ignored.

    Example::

        @hookimpl
        def medmci_on_harvest_completed(report, settings, instance_path):
            folder = instance_path / "my_plugin"
            folder.mkdir(exist_ok=True)
            (folder / "last-harvest.json").write_text(json.dumps(report["counts"]), encoding="utf-8")
    """


# ---------------------------------------------------------------------------------------------------------------
# Benchmarking
# ---------------------------------------------------------------------------------------------------------------

@hookspec
def medmci_benchmark_indicators(settings: Settings) -> list[Indicator]:
    """Provide benchmark indicators: figures the hub computes for every cluster and ranks against its peers
    (``medmci hub benchmark``, ``GET /api/v1/clusters/{id}/benchmark``; ``federation/hub/benchmarks.py``).

    Called once when the hub starts. Each :class:`federation.Indicator` has a ``name`` (unique, no spaces or
    commas), ``labels`` per language (``en`` required; ``fr``, ``ar``), a ``unit``, ``higher_is_better`` (True,
    False, or None when neither is) and ``compute(facts)``: a number from a :class:`federation.ClusterFacts`, or
    ``None`` when the indicator does not apply to that cluster. The facts are what the reader may see (an anonymous
    reader's hold the public members only and ``pilots`` is ``None``): compute from them alone, never read the
    database. Invent no official score: a federation's own indicators are its own.

    Refused at load: raising; something other than a list of ``Indicator``; an indicator without a name or an
    English label, with labels in a language other than en, fr, ar, or whose name another indicator has. Refused
    when the hub computes (a :class:`federation.PluginError` naming the plugin): ``compute`` raising or answering
    something other than a number or ``None``.

    :param settings: the hub's settings; read your block with ``settings.plugin_config("name")``.
    :return: a list of :class:`federation.Indicator`.

    Example::

        @hookimpl
        def medmci_benchmark_indicators(settings):
            return [Indicator("investors", {"en": "Investors", "fr": "Investisseurs"}, "members", True,
                              lambda facts: sum(1 for m in facts.members if m.kind == "investor"))]
    """


# ---------------------------------------------------------------------------------------------------------------
# Funding calls
# ---------------------------------------------------------------------------------------------------------------

@hookspec
def medmci_eligibility_rules(settings: Settings) -> list[EligibilityRule]:
    """Provide the rules that decide whether a consortium (a meta-cluster's or a pilot's partners) may apply to a
    funding call, and what it lacks when it may not.

    Called once when the hub starts (``Hub.build()``); every rule of every plugin is asked about every open call
    (``federation/hub/funding.py``). A rule's ``check(call, consortium)`` returns a list of
    :class:`federation.Gap`: each says what is missing ("needs a partner from an EU member state", "needs 3
    countries, has 2: LB, MA") and which partner would fill it (countries, kinds, codes, a new country); an empty
    list when the condition is met or the call sets none. A call is eligible when no rule returns a gap. Rules
    count ``consortium.eligible_for(call)``: the partners from the call's countries and of its kinds. The
    built-ins (``eligibility``: countries, kinds, minimum partners and countries, required kinds and regions,
    deadline, topics) are ``plugins/eligibility.py``.

    Refused at load (a :class:`federation.PluginError` naming the plugin): raising; returning something other than
    a list of :class:`federation.EligibilityRule` with a ``name`` and its own ``check``. Refused when asked (the
    eligibility request fails with that error): a ``check`` that raises or returns anything but a list of ``Gap``
    with a text of at most 500 characters.

    :param settings: the hub's settings: the country lists are ``federation.CountryLists.from_settings(settings)``
        (``funding.country_lists``); your block is ``settings.plugin_config("name")``.
    :return: a list of :class:`federation.EligibilityRule`.

    Example::

        class NeedsAnSme(EligibilityRule):
            name = "needs-sme"
            def check(self, call, consortium):
                smes = [p for p in consortium.eligible_for(call) if p.kind == "sme"]
                return [] if smes else [Gap("needs an SME", kinds=frozenset({"sme"}))]

        @hookimpl
        def medmci_eligibility_rules(settings):
            return [NeedsAnSme()]
    """


# ---------------------------------------------------------------------------------------------------------------
# Member communication (at the node)
# ---------------------------------------------------------------------------------------------------------------

@hookspec
def medmci_mail_senders(settings: Settings) -> list[MailSender]:
    """Provide ways to send e-mail from a node to its members: announcements and self-service links
    (``federation/mail.py``; the built-ins ``file``, ``console`` and ``smtp`` are in ``plugins/mail_senders.py``).

    Called once when a node is built, with the node's own settings. The setting ``mail.sender`` names the one the
    node uses. A sender has a ``name`` and a ``send(message)`` method: ``message`` is a
    :class:`federation.MailMessage` (``to``, ``subject``, ``body``, ``sender``: the From address, ``headers``) and
    the answer a :class:`federation.Delivery` (``"sent"`` or ``"failed"``, and a short detail: where it went, or
    why not). Send one message per call and do not retry: the node records each recipient's delivery. Keep your
    own bounds (a connection timeout): the node sends at most ``mail.max_recipients`` messages per announcement.

    Refused at load: a sender without a name or without ``send``; a name another plugin provides too. Not refused
    but recorded: a ``send`` that raises, or answers something other than a ``Delivery``, is a failed delivery of
    that message (with the error as its detail); the other recipients are still sent theirs.

    :param settings: the node's settings (``mail.*``; your block with ``settings.plugin_config("name")``; the
        node's folder is ``settings.instance_path``).
    :return: a list of :class:`federation.MailSender`.

    Example::

        class Outbox(MailSender):
            name = "outbox"
            def __init__(self, folder):
                self.folder = folder
            def send(self, message):
                path = self.folder / f"{len(list(self.folder.iterdir()))}.txt"
                path.write_text(f"{message.to}\n{message.subject}\n\n{message.body}", encoding="utf-8")
                return Delivery("sent", str(path))

        @hookimpl
        def medmci_mail_senders(settings):
            return [Outbox(Path(settings.instance_path))]
    """
