"""The settings every test app starts from, and where the optional PostgreSQL lives."""

from __future__ import annotations

import os

POSTGRES_URL = os.environ.get("MEDMCI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Short harvest limits so that tests of slow and hanging nodes end quickly; test nodes listen on loopback, which the
#: hub refuses to reach unless allowed (tests of that refusal narrow the allow-list).
TEST_SETTINGS = {"harvest": {"timeout_s": 2, "connect_timeout_s": 1, "concurrency": 4,
                             "allow_networks": ["127.0.0.0/8"],
                             # Every fetch reads the discovery document, so tests of what a node's discovery says
                             # see it at once; tests/test_discovery_cache.py tests the default (a day).
                             "discovery_max_age_s": 0},
                 # Nodes push to the hubs they trust from a background thread; tests of push turn it on.
                 "node": {"notify_hubs": False}}
#: The built-in plugins (entry points of this distribution) and the hooks each implements.
BUILTIN_PLUGIN_HOOKS = {
    "benchmark_indicators": ["medmci_benchmark_indicators"],
    "eligibility": ["medmci_eligibility_rules"],
    "eu_ecosystems": ["medmci_register_taxonomies"],
    "fields_of_science": ["medmci_register_taxonomies"],
    "formation": ["medmci_register_formation_rules"],
    "invitation_ranking": ["medmci_rank_invitations"],
    "isic_rev4": ["medmci_register_taxonomies"],
    "mail_senders": ["medmci_mail_senders"],
    "match_scorers": ["medmci_match_scorers"],
    "nace_rev2": ["medmci_register_taxonomies"],
    "subclustering": ["medmci_read_subcluster_rules", "medmci_register_subcluster_rules"],
    "team_formation": ["medmci_form_teams"],
    "value_chains": ["medmci_register_value_chains"],
}
#: The instance folder (under the test's tmp_path) of the hub that ``make_node``'s nodes trust.
TEST_HUB = "hub"


def harvest_settings(**extra) -> dict:
    """Hub overrides: the short test limits plus ``extra`` (the ``harvest`` block is replaced as a whole)."""
    return {"harvest": {**TEST_SETTINGS["harvest"], **extra}}
