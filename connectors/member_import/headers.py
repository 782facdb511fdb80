"""The header row: which column holds which member field.

Header cells are compared by a key that ignores case, accents and Arabic diacritics, surrounding and repeated
spaces, and ``_``/``-``/``.`` between words, so ``Contact person``, ``CONTACT_PERSON`` and `` contact-person `` are
one name. Each field also answers to the French and Arabic names in :data:`ALIASES` (documented in config/README.md,
"members.csv"; tests/test_member_import.py checks the two agree). Columns without a header are ignored when all
their cells are empty (the trailing empty columns spreadsheets write); an unknown column is refused with the
closest known name.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from .errors import ImportFormatError

#: The import's columns, in the documented order: the member's fields as a file writes them.
COLUMNS = ("id", "kind", "name", "city", "size", "activities", "offers", "needs", "export_markets", "status",
           "last_active", "research_domains", "ror", "national_id", "website", "visibility", "email", "phone",
           "contact_person", "contact_visibility")
REQUIRED_COLUMNS = ("kind", "name")

#: Other names of each column, English first, then French, then Arabic.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("identifier", "member id", "identifiant", "المعرف", "معرف"),
    "kind": ("type", "category", "catégorie", "nature", "النوع", "الفئة"),
    "name": ("organisation", "organization", "company", "nom", "raison sociale", "dénomination", "الاسم",
             "اسم المؤسسة"),
    "city": ("town", "ville", "localité", "commune", "المدينة"),
    "size": ("taille", "الحجم"),
    "activities": ("activity codes", "codes", "activités", "codes d'activité", "code activité", "الأنشطة",
                   "رموز النشاط"),
    "offers": ("offres", "العروض"),
    "needs": ("besoins", "الاحتياجات"),
    "export_markets": ("markets", "marchés export", "marchés d'export", "pays d'export", "أسواق التصدير"),
    "status": ("statut", "état", "الحالة"),
    "last_active": ("last activity", "dernière activité", "آخر نشاط"),
    "research_domains": ("fields of research", "fields of science", "ford codes", "domaines de recherche",
                         "domaines scientifiques", "مجالات البحث", "الميادين العلمية"),
    "ror": ("ror id", "identifiant ror", "معرف ror"),
    "national_id": ("national identifier", "registration number", "company number", "identifiant national",
                    "numéro d'immatriculation", "immatriculation", "الرقم الوطني", "رقم التسجيل"),
    "website": ("web site", "url", "site web", "site internet", "الموقع الإلكتروني"),
    "visibility": ("visibilité", "الظهور"),
    "email": ("e-mail", "mail", "email address", "courriel", "adresse e-mail", "البريد الإلكتروني"),
    "phone": ("telephone", "tel", "téléphone", "tél", "الهاتف"),
    "contact_person": ("contact name", "personne de contact", "interlocuteur", "جهة الاتصال",
                       "الشخص المسؤول"),
    "contact_visibility": ("visibilité du contact", "visibilité contact", "ظهور جهة الاتصال"),
}

_SEPARATORS = re.compile(r"[\s_\-.]+")


def header_key(text: str) -> str:
    """The comparison key of a header cell: NFKC, case folded, without combining marks (accents, harakat) or
    tatweel, with spaces, ``_``, ``-`` and ``.`` between words made one space."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c) and c != "\u0640")
    return _SEPARATORS.sub(" ", text).strip()


#: key -> column, for every column name and alias.
KNOWN: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column, *ALIASES.get(_column, ())):
        _key = header_key(_name)
        if KNOWN.setdefault(_key, _column) != _column:
            raise AssertionError(f"header alias {_name!r} names two columns")  # a mistake in the table above


@dataclass(frozen=True)
class Header:
    """The columns of a file: ``fields[i]`` is the column at position ``i`` (``None``: a column without a header,
    which must stay empty), and the header cells as written (for messages)."""

    fields: tuple[str | None, ...]
    written: tuple[str, ...]

    def column_of(self, field: str) -> str:
        """The header cell as the file wrote it, for a field."""
        return self.written[self.fields.index(field)]


def closest(cell: str) -> str | None:
    """The known column whose name or alias is closest to ``cell`` (difflib), if one is close enough."""
    match = difflib.get_close_matches(header_key(cell), list(KNOWN), n=1, cutoff=0.6)
    return KNOWN[match[0]] if match else None


def read_header(cells: list[str], max_columns: int) -> Header:
    """Map the header cells to columns; raise :class:`ImportFormatError` listing every problem at once."""
    while cells and not (cells[-1] or "").strip():
        cells = cells[:-1]  # trailing empty columns
    if not cells:
        raise ImportFormatError("the file is empty: expected a header row")
    if len(cells) > max_columns:
        raise ImportFormatError(f"the header has {len(cells)} columns, more than the {max_columns} allowed "
                                f"(setting node.import.max_columns); the import knows {len(COLUMNS)}")
    fields: list[str | None] = []
    unknown: list[str] = []
    first: dict[str, str] = {}
    repeated: list[str] = []
    for raw in cells:
        cell = (raw or "").strip()
        if not cell:
            fields.append(None)
            continue
        column = KNOWN.get(header_key(cell))
        if column is None:
            hint = closest(cell)
            unknown.append(f"{cell} (did you mean {hint}?)" if hint else f"{cell} (no close match)")
        elif column in first:
            if column not in repeated:
                repeated.append(column)
        else:
            first[column] = cell
        fields.append(column)
    problems = []
    if repeated:
        problems.append(f"repeated column(s): {', '.join(repeated)}; each column may appear once")
    missing = [c for c in REQUIRED_COLUMNS if c not in first]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if problems:
        if missing or unknown:
            problems.append(f"expected {', '.join(COLUMNS)} (or their French or Arabic names: config/README.md)")
        if not first:  # nothing known in it: most often a title row above the header
            problems.append("the header must be the first row (remove any title rows above it)")
        raise ImportFormatError("; ".join(problems))
    return Header(tuple(fields), tuple((c or "").strip() for c in cells))
