"""Field types and patterns of the profile document, shared by its cluster, member and knowledge schemas.

They live apart from :mod:`federation.profile.schema` so that :mod:`federation.profile.member_fields` (the member)
and the schema module (the cluster and the document) can both use them without importing each other.
"""

from __future__ import annotations

import pycountry
from marshmallow import Schema, ValidationError, fields, validate

from ..domain import LANGUAGES
from ..text import MULTI_LINE, ONE_LINE

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
#: A ROR id (https://ror.org): "0" then six characters of Crockford's base 32 and a two-digit checksum.
ROR_PATTERN = r"^0[a-hj-km-np-tv-z0-9]{6}[0-9]{2}$"
#: The shape of a FORD code ("2", "2.9", "2.10"); the FORD taxonomy (scheme RESEARCH_DOMAIN_SCHEME) says which exist.
FORD_PATTERN = r"^[0-9]{1,2}(\.[0-9]{1,2})?$"
#: The taxonomy research domains are codes of: the OECD Fields of Research and Development.
RESEARCH_DOMAIN_SCHEME = "ford"
#: Who a document (and each member in it) is for: anyone, or a hub the node trusts.
AUDIENCES = ("public", "federation")

#: The text rules of federation.text, the same at every door: no C0/C1 control character or DEL, no lone surrogate;
#: one-line text (names, cities, persons, codes) also no bidirectional embedding, override or isolate; free text
#: (descriptions, offers, needs) may hold tab, line feed and CR.
NO_CONTROLS = ONE_LINE
FREE_TEXT = MULTI_LINE


def _check_country(value: str) -> None:
    if not (isinstance(value, str) and len(value) == 2 and value.isupper()
            and pycountry.countries.get(alpha_2=value) is not None):
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code.")


class Country(fields.String):
    """An ISO 3166-1 alpha-2 code, upper case (``LB``, ``MA``)."""

    def __init__(self, **kwargs):
        super().__init__(validate=_check_country, metadata={"pattern": "^[A-Z]{2}$",
                                                            "description": "ISO 3166-1 alpha-2"}, **kwargs)


def LocalizedText(max_length: int = 4000, allow_empty: bool = False, multiline: bool = False,
                  **kwargs) -> fields.Dict:
    """Text by language tag (en, fr, ar); a field factory. ``multiline``: line breaks and tabs are allowed."""
    return fields.Dict(keys=fields.String(validate=validate.OneOf(LANGUAGES)),
                       values=fields.String(validate=[validate.Length(1, max_length),
                                                      FREE_TEXT if multiline else NO_CONTROLS]),
                       validate=None if allow_empty else _not_empty,
                       metadata={} if allow_empty else {"minProperties": 1}, **kwargs)


def _not_empty(value: dict) -> None:
    if not value:
        raise ValidationError("Give the text in at least one language.")


def ResearchDomains(max_items: int = 50,
                    description: str = "OECD Fields of Research and Development (FORD) codes, e.g. 2.9") -> fields.List:
    """FORD codes as strings ("2.9"); a field factory. The reader checks each against the FORD taxonomy."""
    return fields.List(fields.String(validate=validate.Regexp(FORD_PATTERN)), load_default=list,
                       validate=validate.Length(max=max_items), metadata={"description": description})


class IdentifiersSchema(Schema):
    """How registries know an organisation: its ROR id, its national registration number."""

    ror = fields.String(allow_none=True, validate=validate.Regexp(ROR_PATTERN),
                        metadata={"description": "ROR id without the https://ror.org/ prefix", "example": "05f0yaq80"})
    national_id = fields.String(allow_none=True, validate=[validate.Length(1, 64), NO_CONTROLS],
                                metadata={"description": "The national registry's number (company or university)"})
