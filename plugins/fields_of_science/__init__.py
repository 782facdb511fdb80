"""The OECD Fields of Research and Development (FORD, Frascati Manual 2015): the research domains universities,
research centres and technology centres declare, and the value chains' stage links read (see SOURCE.md). A code
list, not an activity scheme: members tag research domains with it, never activities."""

from pathlib import Path

from federation import Taxonomy, hookimpl

HERE = Path(__file__).parent
SCHEME = "ford"


@hookimpl
def medmci_register_taxonomies():
    return [Taxonomy.from_csv(HERE / "ford.csv", scheme=SCHEME,
                              names={"en": "Fields of Research and Development (OECD FORD)"},
                              label_columns={"en": "label_en"}, activity=False,
                              source="OECD Frascati Manual 2015, Fields of Research and Development (see SOURCE.md)")]
