"""The EU's 14 industrial ecosystems, names only (see SOURCE.md: the official ecosystem-to-NACE table was not
available, so none is invented). Value chains link to an ecosystem by its id; it is not an activity scheme."""

import csv
from pathlib import Path

from federation import Code, Taxonomy, hookimpl

HERE = Path(__file__).parent
SCHEME = "eu-ecosystems"


@hookimpl
def medmci_register_taxonomies():
    with open(HERE / "eu_ecosystems.csv", encoding="utf-8", newline="") as fh:
        codes = {row["ecosystem_id"]: Code(row["ecosystem_id"], 1, None, {"en": row["ecosystem_en"]})
                 for row in csv.DictReader(fh)}
    return [Taxonomy(scheme=SCHEME, names={"en": "EU industrial ecosystems"}, codes=codes, activity=False,
                     source="European Cluster Collaboration Platform, typology, Table 1 (see SOURCE.md)")]
