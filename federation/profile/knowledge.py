"""The ``knowledge`` block of a profile document (1.3): what a university, research centre, technology centre or
technology-transfer office says of itself when it runs a node of its own (a knowledge node).

A document with this block is a knowledge profile: it lists no members, and its ``cluster`` object carries the
organisation's identity (id, names, country, website, the value chains it serves, description). A node publishes
one rendering per audience, each holding only the fields that audience may see; ``federation_fields`` names the
fields of a federation rendering that the public one leaves out, so the hub (which reads the federation rendering)
can give an anonymous reader the public one (:func:`public_rendering`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pycountry
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..domain import KNOWLEDGE_ENTITY_KINDS
from .field_types import ID_PATTERN, NO_CONTROLS, SLUG_PATTERN, IdentifiersSchema, LocalizedText, ResearchDomains
from .member_fields import CONTACT_FIELDS, ActivityCodeSchema, ContactSchema

SERVICES = ("testing", "training", "contract_research", "incubation", "equipment", "consulting",
            "technology_transfer")
UNIT_KINDS = ("faculty", "laboratory", "platform", "department", "centre")
#: A stage id of a value chain (config/value_chains/*.yaml).
STAGE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MAX_UNITS = 200
MAX_DOMAINS = 50
MAX_KEYWORDS = 50
MAX_SERVED_CHAINS = 50
#: The fields a knowledge node may keep from an audience (contact per field); kind, names and country never are.
HIDEABLE_FIELDS = ("city", "identifiers", "research_domains", "activities", "keywords", "services", "languages",
                   "units", "serves", *(f"contact.{name}" for name in CONTACT_FIELDS))


def _check_language(value: str) -> None:
    if not (isinstance(value, str) and len(value) == 2 and value.islower()
            and pycountry.languages.get(alpha_2=value) is not None):
        raise ValidationError(f"{value!r} is not an ISO 639-1 language code.")


def _unique(what: str, key: str | None = None):
    """A validator refusing a list that holds an item (or an item's ``key``) twice, naming it."""
    def check(items: list) -> None:
        seen: set = set()
        for item in items:
            value = item.get(key) if key is not None and isinstance(item, Mapping) else item
            if value in seen:
                raise ValidationError(f"{what} {value!r} is listed twice")
            seen.add(value)
    return check


def Keywords() -> fields.List:
    return fields.List(fields.String(validate=[validate.Length(1, 100), NO_CONTROLS]), load_default=list,
                       validate=validate.Length(max=MAX_KEYWORDS))


def Services() -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(SERVICES)), load_default=list,
                       validate=[validate.Length(max=len(SERVICES)), _unique("service")])


class UnitSchema(Schema):
    """A faculty, laboratory, platform, department or centre of the organisation."""

    id = fields.String(required=True, validate=validate.Regexp(ID_PATTERN))
    names = LocalizedText(max_length=300, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    research_domains = ResearchDomains(MAX_DOMAINS)
    keywords = Keywords()
    services = Services()


class ServedChainSchema(Schema):
    """A value chain the organisation serves, and the stages of it it claims to support."""

    value_chain = fields.String(required=True, validate=validate.Regexp(SLUG_PATTERN))
    stages = fields.List(fields.String(validate=validate.Regexp(STAGE_PATTERN)), load_default=list,
                         validate=[validate.Length(max=50), _unique("stage")])


class KnowledgeSchema(Schema):
    """The knowledge block of a knowledge profile (1.3)."""

    kind = fields.String(required=True, validate=validate.OneOf(KNOWLEDGE_ENTITY_KINDS))
    city = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=120), NO_CONTROLS])
    identifiers = fields.Nested(IdentifiersSchema, load_default=None, allow_none=True)
    research_domains = ResearchDomains(MAX_DOMAINS)
    activities = fields.List(fields.Nested(ActivityCodeSchema), load_default=list, validate=validate.Length(max=50),
                             metadata={"description": "Activity codes (NACE 72, 85.42, 71.20...)"})
    keywords = Keywords()
    services = Services()
    languages = fields.List(fields.String(validate=_check_language), load_default=list,
                            validate=[validate.Length(max=20), _unique("language")],
                            metadata={"description": "ISO 639-1 codes of the languages it works in"})
    units = fields.List(fields.Nested(UnitSchema), load_default=list,
                        validate=[validate.Length(max=MAX_UNITS), _unique("unit id", "id")])
    serves = fields.List(fields.Nested(ServedChainSchema), load_default=list,
                         validate=[validate.Length(max=MAX_SERVED_CHAINS), _unique("value chain", "value_chain")])
    contact = fields.Nested(ContactSchema, load_default=None, allow_none=True)
    federation_fields = fields.List(fields.String(validate=validate.OneOf(HIDEABLE_FIELDS)), load_default=list,
                                    validate=_unique("field"),
                                    metadata={"description": "The fields of this rendering only federation readers "
                                                             "may see (contact fields as contact.email...): a reader "
                                                             "showing it to anyone else leaves them out"})

    @validates_schema
    def _hidden_fields_exist(self, data, **_kwargs):
        """Nothing to say of a field the rendering does not hold."""
        for name in data.get("federation_fields", []):
            if name not in HIDEABLE_FIELDS:
                continue  # the field's own validator names it
            top, _dot, sub = name.partition(".")
            value = data.get(top)
            if sub and not (value or {}).get(sub):
                raise ValidationError({"federation_fields": [f"{name!r} is not in this rendering"]})


def profile_kind(profile: Mapping) -> str:
    """``"knowledge"`` for a knowledge profile (one with a ``knowledge`` block), ``"cluster"`` otherwise."""
    return "knowledge" if profile.get("knowledge") is not None else "cluster"


def without(block: Mapping, hidden: set[str] | frozenset[str]) -> dict:
    """``block`` without the fields ``hidden`` (names of :data:`HIDEABLE_FIELDS`): lists emptied, values nulled,
    contact fields removed (a contact left empty is null)."""
    out = dict(block)
    contact = dict(out.get("contact") or {})
    for name in hidden:
        top, _dot, sub = name.partition(".")
        if sub:
            contact.pop(sub, None)
        elif top in out:
            out[top] = [] if isinstance(out[top], list) else None
    if "contact" in out:
        out["contact"] = {k: v for k, v in contact.items() if v} or None
    return out


#: Who may see a knowledge field: anyone, the federation (the hub and its authenticated readers), or no one else.
VISIBILITY_LEVELS = ("public", "federation", "private")
#: The levels each audience's rendering holds.
AUDIENCE_LEVELS = {"public": ("public",), "federation": ("public", "federation")}


def default_level(field: str) -> str:
    """The visibility of a field its owner gave none: contact fields are private, the others public."""
    return "private" if field.startswith("contact.") else "public"


def field_levels(visibility: Mapping | None) -> dict[str, str]:
    """Every hideable field's visibility, the defaults filled in."""
    given = visibility or {}
    return {field: given.get(field, default_level(field)) for field in HIDEABLE_FIELDS}


def _present(block: Mapping, field: str) -> bool:
    top, _dot, sub = field.partition(".")
    value = block.get(top)
    return bool((value or {}).get(sub)) if sub else bool(value)


def rendering(block: Mapping, visibility: Mapping | None, audience: str) -> dict:
    """The knowledge block as ``audience`` may see it, with the fields only the federation sees named in
    ``federation_fields`` (so a reader of the federation rendering can show anyone the public one). A knowledge node
    publishes these renderings; the hub renders the profiles it hosts the same way."""
    visible = AUDIENCE_LEVELS[audience]
    levels = field_levels(visibility)
    out = without(block, {field for field, level in levels.items() if level not in visible})
    out["federation_fields"] = [field for field, level in levels.items()
                                if level == "federation" and level in visible and _present(out, field)]
    return out


def public_rendering(block: Mapping) -> dict:
    """What an anonymous reader may see of a knowledge block read from a federation rendering."""
    out = without(block, set(block.get("federation_fields") or ()))
    out["federation_fields"] = []
    return out
