"""Medicinal and aromatic plants: an example Med-MCI plugin (docs/plugins.md).

It implements every kind of hook: a code list with a crosswalk to NACE Rev. 2 (``medmci_register_taxonomies``), a
value chain (``medmci_register_value_chains``), a formation rule and two sub-clustering rules, and an observer that
writes a summary of each harvest into the hub's instance folder (``medmci_on_harvest_completed``).
"""

from __future__ import annotations

import json
from pathlib import Path

from federation import CodeKeywordRule, Decision, FormationRule, Stage, SubclusterRule, Taxonomy, ValueChain, hookimpl

HERE = Path(__file__).parent
NAME = "aromatic_plants"        # the entry-point name: settings under plugins.aromatic_plants
SCHEME = "aromatic-plants"      # members may tag activities as aromatic-plants:MAP3
CHAIN = "aromatic-plants"
#: This plugin's defaults; a hub overrides them in its medmci.yaml under plugins.aromatic_plants.
DEFAULTS = {"min_growers": 1}


def config(settings) -> dict:
    return {**DEFAULTS, **settings.plugin_config(NAME)}


@hookimpl
def medmci_register_taxonomies():
    # A cell of the "nace" column may hold several NACE classes: "01.28 02.30", "10.83;10.84", "21.20|20.42".
    return [Taxonomy.from_csv(HERE / "aromatic_plants.csv", scheme=SCHEME,
                              names={"en": "Aromatic and medicinal plants", "fr": "Plantes aromatiques et médicinales"},
                              label_columns={"en": "label_en", "fr": "label_fr"},
                              crosswalk_columns={"nace-rev2": "nace"},
                              source="docs/example_plugin (example data)")]


@hookimpl
def medmci_register_value_chains(taxonomies):
    def stage(stage_id, name, codes, kind="core"):
        # Prefixes in any loaded scheme, normalised to the pivot (NACE Rev. 2); an unknown code is refused here.
        return Stage(stage_id, {"en": name}, kind, taxonomies.pivot_prefixes(codes, f"{CHAIN}/{stage_id}"))

    return [ValueChain(CHAIN, {"en": "Aromatic and medicinal plants", "fr": "Plantes aromatiques et médicinales"}, (
        stage("growing", "Growing and wild harvest", {SCHEME: ["MAP1"]}),
        stage("processing", "Drying, blending, distilling", {SCHEME: ["MAP2", "MAP3"]}),
        stage("products", "Herbal medicines and cosmetics", {SCHEME: ["MAP4"]}),
        stage("trade", "Wholesale of pharmaceutical and chemical goods", {"nace-rev2": ["46.46", "46.75"]},
              "enabling"),
        stage("research", "Research in biotechnology", {"nace-rev2": ["72.11"]}, "support"),
    ), ecosystem="health")]


class NeedsGrowers(FormationRule):
    """The aromatic-plants meta-cluster forms only when its clusters grow or gather plants themselves."""

    name = "needs-growers"

    def __init__(self, minimum: int, taxonomies, growing: frozenset[str]):
        self.minimum = minimum
        self.growing = growing  # pivot (NACE) prefixes
        self._taxonomies = taxonomies  # (underscore: not part of the rule's fingerprint)

    def check_metacluster(self, chain, admitted):
        if chain.id != CHAIN:
            return None  # no opinion on the other value chains
        # A member may code its activities in any scheme: the index answers in pivot terms.
        growers = sum(1 for cluster in admitted for member in cluster.members
                      if any(self._taxonomies.under(a.scheme, a.code, self.growing) for a in member.activities))
        passed = growers >= self.minimum
        return Decision(passed, self.name, f"{growers} grower(s) {'≥' if passed else '<'} {self.minimum}")


class OrganicRule(SubclusterRule):
    """A rule of your own: members that say they are organic, whatever their codes."""

    value_chain = CHAIN
    name = "organic"
    names = {"en": "Organic producers", "fr": "Producteurs bio"}
    priority = 50  # before the code rule below (100): being organic decides first

    def match(self, member, taxonomies):
        return "says it is organic" if "organic" in member.text or " bio " in f" {member.text} " else None


@hookimpl
def medmci_register_formation_rules(settings, taxonomies):
    growing = taxonomies.pivot_prefixes({SCHEME: ["MAP1"]}, "needs-growers")
    return [NeedsGrowers(int(config(settings)["min_growers"]), taxonomies, growing)]


@hookimpl
def medmci_register_subcluster_rules(taxonomies):
    return [OrganicRule(),
            CodeKeywordRule(CHAIN, "essential-oils", {"en": "Essential oils", "fr": "Huiles essentielles"},
                            taxonomies.pivot_prefixes({SCHEME: ["MAP3"]}, "essential-oils"),
                            ["essential oil", "huile essentielle"], 100)]


@hookimpl
def medmci_on_harvest_completed(report, instance_path):
    """Keep the last harvest's counts in <hub instance>/aromatic_plants/last-harvest.json."""
    folder = Path(instance_path) / NAME
    folder.mkdir(parents=True, exist_ok=True)
    summary = {"run_id": report["run_id"], "counts": report["counts"],
               "formation_failures": report["formation_failures"]}
    (folder / "last-harvest.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
