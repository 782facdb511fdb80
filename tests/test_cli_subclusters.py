"""``medmci hub subclusters compare``: the installed rules against a rule file given by its path, read without
being installed; a bad file is a clear error naming the file and the field."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from federation.cli import main
from tests.support.environment import TEST_SETTINGS

DRAFT = """value_chain: agri-food
rules:
  - name: drinks
    names: {en: Drinks}
    codes: {nace-rev2: ["11"]}
  - name: food
    keywords: [biscuits, biscuiterie, oil, huilerie]
"""


def test_compare_the_installed_rules_with_a_rule_file(joined_federation, runner: CliRunner, tmp_path):
    hub, _client, _join = joined_federation
    instance = tmp_path / "hub"  # the joined hub's folder, and its database for the command
    (instance / "medmci.yaml").write_text(yaml.safe_dump({**TEST_SETTINGS, "database_url": hub.settings.database_url}),
                                          encoding="utf-8")
    draft = tmp_path / "draft.yaml"
    draft.write_text(DRAFT, encoding="utf-8")
    command = ["hub", "--instance", str(instance), "subclusters", "compare", "agri-food", "--rules", "installed",
               "--rules", str(draft)]
    result = runner.invoke(main, [*command, "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    a, b = answer["rule_sets"]
    assert (a["name"], b["name"], b["source"]) == ("installed", "draft.yaml", str(draft))
    # Keywords read names: "Qoot Biscuits", "Menara Biscuiterie", "Qoot Olive Oil", "Huilerie Menara".
    assert {s["name"]: s["members"] for s in b["sub_clusters"]} == {"drinks": 2, "food": 4, "other": 2}
    assert {(t["from"], t["to"]): t["members"] for t in answer["transitions"]} == {
        ("wine", "drinks"): 2, ("snacks-confectionery", "food"): 2, ("processing", "food"): 2,
        ("parallel-services", "other"): 2}
    text = runner.invoke(main, command)
    assert text.exit_code == 0, text.output
    assert "A: installed (the installed rules)" in text.output and f"B: draft.yaml ({draft})" in text.output
    assert "B (draft.yaml) leaves 2 more members in other than A (installed) (2 against 0)" in text.output
    assert [r.name for r in hub.registry.subcluster_rules["agri-food"]][0] == "wine"  # not installed

    draft.write_text(DRAFT.replace('["11"]', '["11", "99.99"]'), encoding="utf-8")
    refused = runner.invoke(main, command)
    assert refused.exit_code == 1
    assert f"{draft}: rules[0] (drinks).codes:" in refused.output and "99.99" in refused.output
    once = runner.invoke(main, command[:-2])
    assert once.exit_code == 2 and "give --rules exactly twice" in once.output
