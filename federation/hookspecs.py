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

    from .domain import ValueChain
    from .mail import MailSender
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
