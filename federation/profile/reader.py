"""Reading a profile document: version check first, then the schema, then the codes against the taxonomies.

A document is either read whole or refused whole, with errors naming the field, the member and the code.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import Schema, fields
from marshmallow import ValidationError as SchemaError

from ..errors import UnsupportedVersion, ValidationError
from ..taxonomy import TaxonomyIndex
from .fastload import FastList, GiveUp
from .schema import PROFILE_SCHEMA_ID, ProfileSchema

#: Deepest nesting a profile may have (a valid one needs 6): refused before anything else reads it.
MAX_DEPTH = 32

#: Major version -> (schema class, highest minor version this software knows).
SUPPORTED_VERSIONS: dict[int, tuple[type, int]] = {1: (ProfileSchema, 2)}


VERSION = re.compile(r"([0-9]{1,4})\.([0-9]{1,4})")  # ASCII digits only: str.isdigit() admits "²" and "٣"


def parse_version(value: Any) -> tuple[int, int]:
    match = VERSION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        message = f"profile version must be a string like '1.0', got {value!r}"
        raise UnsupportedVersion(message, {"version": [message]})
    return int(match.group(1)), int(match.group(2))


#: Longest number a profile may write (a sequence needs 16 digits); int() of a longer one is slow, and Python refuses
#: more than 4,300 digits with a ValueError: refused here first, as an invalid document.
MAX_NUMBER_DIGITS = 100


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number of {len(text)} digits is over the limit of {MAX_NUMBER_DIGITS}")
    return int(text)


def read_profile(raw: bytes | str | Mapping, taxonomies: TaxonomyIndex | None = None,
                 value_chains: Iterable[str] | None = None, max_unknown_bytes: int | None = None) -> dict:
    """Parse and validate a profile document; raise :class:`ValidationError` (or its subclass
    :class:`UnsupportedVersion`) on anything wrong. ``max_unknown_bytes``: how much content a newer minor version
    may carry in fields this software does not know (limits.max_unknown_bytes; None: no limit)."""
    if isinstance(raw, (bytes, str)):
        try:
            doc = json.loads(raw, parse_int=_bounded_int)
        except RecursionError as exc:
            raise ValidationError("profile JSON is nested too deeply") from exc
        except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError, a number over the limit
            raise ValidationError(f"profile is not valid JSON: {exc}") from exc
    else:
        doc = raw
    profile = _plainly_valid(doc)
    if profile is not None:
        if taxonomies is not None:
            validate_codes(profile, taxonomies, value_chains)
        return profile
    if json_depth(doc) > MAX_DEPTH:
        raise ValidationError(f"profile JSON is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(doc, dict):
        raise ValidationError("profile must be a JSON object")
    if doc.get("schema") != PROFILE_SCHEMA_ID:
        raise UnsupportedVersion(f"not a {PROFILE_SCHEMA_ID} document (schema is {doc.get('schema')!r})",
                                 {"schema": [f"must be {PROFILE_SCHEMA_ID!r}"]})
    major, minor = parse_version(doc.get("version"))
    if major not in SUPPORTED_VERSIONS:
        readable = ", ".join(f"{m}.x" for m in SUPPORTED_VERSIONS)
        raise UnsupportedVersion(f"profile version {doc['version']} is not supported (this software reads {readable})",
                                 {"version": [f"unsupported major version {major}"]})
    schema_cls, known_minor = SUPPORTED_VERSIONS[major]
    schema = _schema(schema_cls)
    if minor > known_minor:
        # A newer minor version only adds optional fields, at any depth: read what we know, ignore the rest (up to
        # max_unknown_bytes of it: the hub keeps the bytes it accepts, unknown fields included).
        unknown: list[int] = [0]
        doc = known_fields(doc, schema, unknown)
        if max_unknown_bytes is not None and unknown[0] > max_unknown_bytes:
            message = (f"profile {doc.get('version')} carries {unknown[0]} bytes in fields this software does not "
                       f"know, over the limit of {max_unknown_bytes} (limits.max_unknown_bytes)")
            raise ValidationError(message, {"_schema": [message]})
    profile = _fast_load(schema, doc)
    if profile is None:
        try:
            profile = schema.load(doc)
        except SchemaError as exc:
            raise ValidationError("profile does not match the schema", exc.messages) from exc
    if taxonomies is not None:
        validate_codes(profile, taxonomies, value_chains)
    return profile


_schemas: dict[type, Schema] = {}
_fast_members: dict[type, FastList | None] = {}
_lock = threading.Lock()

#: The schema-level hooks of a profile schema the fast path knows how to honour (it checks member ids itself).
_KNOWN_HOOKS = {"validates_schema": [("_unique_member_ids", False, {"pass_original": False,
                                                                     "skip_on_field_errors": True})]}


def _schema(schema_cls: type) -> Schema:
    """One instance per schema class, built once (marshmallow schemas hold no state between loads)."""
    schema = _schemas.get(schema_cls)
    if schema is None:
        with _lock:
            schema = _schemas.get(schema_cls) or schema_cls()
            members = schema.fields.get("members")
            fast = None
            if {k: v for k, v in schema._hooks.items() if v} == _KNOWN_HOOKS and isinstance(members, fields.List) \
                    and isinstance(members.inner, fields.Nested) and not members.validators:
                with contextlib.suppress(TypeError):
                    fast = FastList(members.inner.schema)
            _fast_members[schema_cls] = fast
            _schemas[schema_cls] = schema
    return schema


def _plainly_valid(doc: Any) -> dict | None:
    """The loaded profile when ``doc`` is an object of a version this software knows exactly (no newer minor) and
    the schema accepts it through the fast path; None otherwise (then every check runs in order, with its message).
    A document the schema accepts has the schema's shape, a few levels deep: the depth check has nothing to add."""
    if type(doc) is not dict or doc.get("schema") != PROFILE_SCHEMA_ID:
        return None
    version = doc.get("version")
    match = VERSION.fullmatch(version) if isinstance(version, str) else None
    if match is None or int(match.group(1)) not in SUPPORTED_VERSIONS:
        return None
    schema_cls, known_minor = SUPPORTED_VERSIONS[int(match.group(1))]
    if int(match.group(2)) > known_minor:
        return None
    return _fast_load(_schema(schema_cls), doc)


def _fast_load(schema: Schema, doc: dict) -> dict | None:
    """The document as ``schema.load`` gives it, the members through :mod:`.fastload`; None when that path is
    not sure (marshmallow then loads the whole document and says what is wrong)."""
    fast = _fast_members.get(type(schema))
    if fast is None or type(doc) is not dict or type(doc.get("members")) is not list:
        return None
    try:
        members = fast.load(doc["members"])
        profile = schema.load({**doc, "members": []})
    except (GiveUp, SchemaError):
        return None
    if len({m["id"] for m in members}) != len(members):
        return None  # duplicate ids: the schema's own check words the refusal
    profile["members"] = members
    return profile


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion (a hostile document must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def known_fields(data: Any, schema: Schema, unknown: list[int] | None = None) -> Any:
    """``data`` without the keys ``schema`` (and its nested schemas) does not declare; ``unknown[0]`` is increased
    by the size of what was left out (its compact JSON, in bytes)."""
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        field = schema.fields.get(key)
        if field is None:
            if unknown is not None:
                unknown[0] += len(key) + len(json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                                                        default=str).encode("utf-8", "surrogatepass"))
            continue
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested) and isinstance(inner.schema, Schema):
            out[key] = ([known_fields(v, inner.schema, unknown) for v in value] if isinstance(field, fields.List)
                        and isinstance(value, list) else known_fields(value, inner.schema, unknown))
        else:
            out[key] = value
    return out


def validate_codes(profile: Mapping, taxonomies: TaxonomyIndex, value_chains: Iterable[str] | None = None) -> None:
    """Refuse unknown schemes, codes and value chains; every error names the member and the code."""
    errors: dict = {}
    if value_chains is not None:
        known = set(value_chains)
        for index, chain in enumerate(profile.get("cluster", {}).get("value_chains", [])):
            if chain not in known:
                errors.setdefault("cluster", {}).setdefault("value_chains", {})[index] = [
                    f"unknown value chain {chain!r} (known: {', '.join(sorted(known))})"]
    for m_index, member in enumerate(profile.get("members", [])):
        member_errors = member_code_errors(member, taxonomies)
        if member_errors:
            errors.setdefault("members", {})[m_index] = member_errors
    if errors:
        first = first_message(errors)
        raise ValidationError(f"profile has unknown codes: {first}", errors)


def member_code_errors(member: Mapping, taxonomies: TaxonomyIndex) -> dict:
    """Code errors of one member, shaped like marshmallow's messages, each naming the member."""
    errors: dict = {}
    label = member.get("id") or member.get("name")

    def check(field: str, index: int, code: Mapping, sub: int | None = None):
        reason = taxonomies.check(code.get("scheme", ""), code.get("code", ""))
        if reason:
            message = f"member {label!r}: {reason}"
            slot = errors.setdefault(field, {})
            if sub is None:
                slot[index] = {"code": [message]}
            else:
                slot.setdefault(index, {}).setdefault("codes", {})[sub] = {"code": [message]}

    for index, code in enumerate(member.get("activities", [])):
        check("activities", index, code)
    for field in ("offers", "needs"):
        for index, item in enumerate(member.get(field, [])):
            for sub, code in enumerate(item.get("codes", [])):
                check(field, index, code, sub)
    return errors


def first_message(errors: Any, with_path: bool = True) -> str:
    """The first leaf message of a nested error dict with the path of the field it is about, for one-line summaries
    ("members.3.name: Longer than maximum length 300."). Schema-wide errors (marshmallow's ``_schema``) have no
    field to name, and a dict's value error is named by its key ("names.en", not "names.en.value")."""
    path = []
    while isinstance(errors, dict) and errors:
        key, errors = next(iter(errors.items()))
        if key not in ("_schema", "value"):
            path.append(str(key))
    text = str(errors[0]) if isinstance(errors, list) and errors else str(errors)
    return f"{'.'.join(path)}: {text}" if path and with_path else text
