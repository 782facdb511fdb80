"""Blue food: fishing and aquaculture through processing to market; a value chain the built-ins lack."""

from federation import CodeKeywordRule, Stage, ValueChain, hookimpl

CHAIN = "blue-food"


@hookimpl
def medmci_register_value_chains(taxonomies):
    def stage(stage_id, name, codes, kind="core"):
        return Stage(stage_id, {"en": name}, kind, taxonomies.pivot_prefixes({"nace-rev2": codes}, f"{CHAIN}/{stage_id}"))

    return [ValueChain(CHAIN, {"en": "Blue food", "fr": "Alimentation bleue"}, (
        stage("catch-and-farm", "Fishing and aquaculture", ["03"]),
        stage("processing", "Fish processing", ["10.20"]),
        stage("market", "Fish trade", ["46.38", "47.23"]),
    ), ecosystem="agri_food")]


@hookimpl
def medmci_register_subcluster_rules(taxonomies):
    return [CodeKeywordRule(CHAIN, "aquaculture", {"en": "Aquaculture"},
                            taxonomies.pivot_prefixes({"nace-rev2": ["03.2"]}, "aquaculture"), ["aquaculture"], 10)]
