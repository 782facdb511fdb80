"""The plugin contract of the Med-MCI federation: every hook a plugin may implement.

This module is the whole contract. Built-in plugins (``plugins/``) implement these hooks exactly as a third-party
distribution does, through an entry point in the group ``medmci``::

    [project.entry-points.medmci]
    my_taxonomy = "my_package.my_module"

Hooks are called with keyword arguments. An implementation may accept any subset of a hook's arguments, so new
arguments are only ever added, never removed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from .domain import ValueChain
    from .rules import FormationRule, SubclusterRule
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
def medmci_register_formation_rules(settings: Settings) -> list[FormationRule]:
    """Provide rules that decide which clusters form a value chain's meta-cluster.

    Every rule is asked about every (cluster, value chain) pair and about every candidate meta-cluster; a cluster
    takes part only if no rule refuses it, and a meta-cluster forms only if no rule refuses it. Each verdict is kept
    as the explanation of the decision.

    :param settings: the settings (thresholds are read from ``plugin_config``).
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
# Federation lifecycle notifications (a failing observer is logged and never fails the harvest)
# ---------------------------------------------------------------------------------------------------------------

@hookspec
def medmci_on_harvest_completed(report: dict) -> None:
    """Called after a harvest run is stored and the meta-clusters are formed again.

    :param report: ``{"run_id", "started_at", "finished_at", "counts": {outcome: n}, "nodes": [{"node_id",
        "outcome", "reason"}], "aggregated": bool}``.
    :return: nothing; the return value is ignored.

    Example::

        @hookimpl
        def medmci_on_harvest_completed(report):
            log.info("harvest %s: %s", report["run_id"], report["counts"])
    """
