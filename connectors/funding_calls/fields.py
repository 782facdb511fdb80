"""The fields of a funding call as a file writes them: names, their English and French aliases, and which are
required. A CSV header cell and a JSON key are compared by the member import's key (case, accents, spaces and
``_``/``-``/``.`` between words ignored: ``Min partners`` and ``MIN_PARTNERS`` are one name)."""

from __future__ import annotations

import difflib

from connectors.member_import.headers import header_key

#: The fields, in the documented order (README "Funding calls").
FIELDS = ("id", "programme", "title", "deadline", "opens", "countries", "kinds", "min_partners", "min_countries",
          "required_kinds", "required_regions", "topics", "keywords", "link", "budget", "languages")
REQUIRED = ("programme", "title", "deadline", "link")
#: Fields that hold a list: ``;`` between items in a CSV cell, a JSON list (or one text with ``;``) in JSON.
LIST_FIELDS = ("countries", "kinds", "required_kinds", "required_regions", "topics", "keywords", "languages")

#: Other names of each field, English first, then French.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("call id", "identifier", "reference", "identifiant", "référence"),
    "programme": ("program", "funding programme", "funding program", "programme de financement"),
    "title": ("call title", "name", "titre", "intitulé", "nom"),
    "deadline": ("closing date", "submission deadline", "date limite", "échéance", "date de clôture"),
    "opens": ("opening date", "open date", "ouverture", "date d'ouverture"),
    "countries": ("eligible countries", "pays éligibles", "pays"),
    "kinds": ("eligible kinds", "entity kinds", "eligible entities", "types d'entités", "entités éligibles"),
    "min_partners": ("minimum partners", "partenaires minimum", "nombre minimum de partenaires"),
    "min_countries": ("minimum countries", "pays minimum", "nombre minimum de pays"),
    "required_kinds": ("required partner kinds", "types requis", "types de partenaires requis"),
    "required_regions": ("régions requises",),
    "topics": ("topic codes", "codes", "thèmes", "thématiques"),
    "keywords": ("key words", "mots clés", "mots-clés"),
    "link": ("url", "website", "lien", "site web"),
    "budget": ("amount", "montant"),
    "languages": ("language", "langues", "langue"),
}

#: key -> field, for every field name and alias.
KNOWN: dict[str, str] = {}
for _field in FIELDS:
    for _name in (_field, *ALIASES.get(_field, ())):
        if KNOWN.setdefault(header_key(_name), _field) != _field:
            raise AssertionError(f"funding call alias {_name!r} names two fields")  # a mistake in the table


def field_of(name: str) -> str | None:
    """The field a header cell or JSON key names, or ``None``."""
    return KNOWN.get(header_key(name))


def unknown_field(name: str) -> str:
    """The message for a name no field has, with the closest known one."""
    match = difflib.get_close_matches(header_key(name), list(KNOWN), n=1, cutoff=0.6)
    hint = f" (did you mean {KNOWN[match[0]]}?)" if match else ""
    return f"unknown field {name[:64]!r}{hint}; known: {', '.join(FIELDS)}"
