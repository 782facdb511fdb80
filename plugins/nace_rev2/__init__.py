"""NACE Rev. 2 (Eurostat): 21 sections, 88 divisions, 272 groups, 615 classes; English and French labels, and the
NACE Rev. 2 -> ISIC Rev. 4 concordance. Data and provenance: ``nace_rev2.csv`` and ``SOURCE.md`` beside this file."""

from pathlib import Path

from federation import Taxonomy, hookimpl

HERE = Path(__file__).parent
SCHEME = "nace-rev2"


@hookimpl
def medmci_register_taxonomies():
    return [Taxonomy.from_csv(
        HERE / "nace_rev2.csv", scheme=SCHEME,
        names={"en": "NACE Rev. 2", "fr": "NACE Rév. 2"},
        label_columns={"en": "label_en", "fr": "label_fr"},
        crosswalk_column=("isic-rev4", "isic4"),
        source="Eurostat NACE Rev. 2 via OCA/community-data-files (see SOURCE.md)",
    )]
