"""Reading a profile document: version check first, then the schema, then the codes against the taxonomies.

A document is either read whole or refused whole, with errors naming the field, the member and the code.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from marshmallow import Schema, fields
from marshmallow import ValidationError as SchemaError

from ..errors import UnsupportedVersion, ValidationError
from ..taxonomy import TaxonomyIndex
from .fastload import FastList, GiveUp
from .field_types import RESEARCH_DOMAIN_SCHEME
from .schema import PROFILE_SCHEMA_ID, ProfileSchema

#: Deepest nesting a profile may have (a valid one needs 6): refused before anything else reads it.
MAX_DEPTH = 32

#: Major version -> (schema class, highest minor version this software knows).
SUPPORTED_VERSIONS: dict[int, tuple[type, int]] = {1: (ProfileSchema, 3)}


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
                 value_chains: Iterable[str] | None = None, max_unknown_bytes: int | None = None,
                 ignored: dict | None = None) -> dict:
    """Parse and validate a profile document; raise :class:`ValidationError` (or its subclass
    :class:`UnsupportedVersion`) on anything wrong. ``max_unknown_bytes``: how much content a newer minor version
    may carry in fields this software does not know (limits.max_unknown_bytes; None: no limit).

    ``ignored``: a dict to keep, rather than refuse, a document that names value chains or activity schemes this
    software does not know (a node with a plugin the reader lacks): those parts are left out of the profile returned
    and described in ``ignored`` (:func:`set_aside_unknown`). Unknown codes of a known scheme are still refused."""
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
            _check_codes(profile, taxonomies, value_chains, ignored)
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
        _check_codes(profile, taxonomies, value_chains, ignored)
    return profile


def _check_codes(profile: dict, taxonomies: TaxonomyIndex, value_chains: Iterable[str] | None,
                 ignored: dict | None) -> None:
    if ignored is not None:
        ignored.update(set_aside_unknown(profile, taxonomies, value_chains))
    validate_codes(profile, taxonomies, value_chains)


_schemas: dict[type, Schema] = {}
_fast_members: dict[type, FastList | None] = {}
_lock = threading.Lock()

#: The schema-level hooks of a profile schema the fast path knows how to honour (it checks member ids and knowledge
#: profiles itself), by name: marshmallow lists them in name order.
_KNOWN_HOOKS = {"validates_schema": [(name, False, {"pass_original": False, "skip_on_field_errors": True})
                                     for name in ("_knowledge_profile_lists_no_members", "_unique_member_ids")]}


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
    if len({m["id"] for m in members}) != len(members) or (members and profile.get("knowledge") is not None):
        return None  # duplicate ids, a knowledge profile with members: the schema's own checks word the refusal
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


class CodeChecker(Protocol):
    """What code validation asks of the taxonomies: a :class:`TaxonomyIndex`, or a node's view that adds the
    schemes its hubs publish (federation.node.catalogs.KnownCodes)."""

    def check(self, scheme: str, code: str) -> str | None: ...

    @property
    def by_scheme(self) -> Mapping[str, Any]: ...


#: At most this many unknown value chains and schemes are named in a report of what was set aside (the counts
#: cover them all): a document may name thousands, the report stays small.
MAX_NAMED_UNKNOWN = 20


def set_aside_unknown(profile: dict, taxonomies: TaxonomyIndex, value_chains: Iterable[str] | None) -> dict:
    """Take out of ``profile`` (a loaded document, changed in place) the value chains and the activity codes of
    schemes this software does not know; return what was taken, ``{}`` when nothing was::

        {"value_chains": ["blue-food"], "value_chains_total": 1,
         "schemes": [{"scheme": "cpa-2.1", "codes": 3, "members": 2}], "schemes_total": 1}

    What a reader keeps of such a document is what it understands: the cluster's other chains, every member, and
    each member's codes in known schemes."""
    report: dict = {}
    knowledge = profile.get("knowledge")
    if value_chains is not None:
        known = set(value_chains)
        cluster = profile.get("cluster", {})
        chains = cluster.get("value_chains", [])
        unknown_chains = [c for c in chains if c not in known]
        if unknown_chains:
            cluster["value_chains"] = [c for c in chains if c in known]
        if knowledge and knowledge.get("serves"):
            served = knowledge["serves"]
            unknown_chains += [s["value_chain"] for s in served if s["value_chain"] not in known
                               and s["value_chain"] not in unknown_chains]
            knowledge["serves"] = [s for s in served if s["value_chain"] in known]
        if unknown_chains:
            report["value_chains"] = sorted(unknown_chains)[:MAX_NAMED_UNKNOWN]
            report["value_chains_total"] = len(unknown_chains)
    # A scheme the reader knows but that is no activity list (an ecosystem list) is an error, not another plugin's.
    known_schemes = set(taxonomies.by_scheme)
    codes: dict[str, int] = {}
    members: dict[str, int] = {}

    def keep(items: list, member_schemes: set) -> list:
        kept = []
        for code in items:
            scheme = code.get("scheme", "")
            if scheme in known_schemes:
                kept.append(code)
            else:
                codes[scheme] = codes.get(scheme, 0) + 1
                member_schemes.add(scheme)
        return kept

    def keep_domains(holder: dict, member_schemes: set) -> None:
        """Research domains are FORD codes: set aside whole when this reader lacks the FORD taxonomy."""
        if holder.get("research_domains") and RESEARCH_DOMAIN_SCHEME not in known_schemes:
            codes[RESEARCH_DOMAIN_SCHEME] = codes.get(RESEARCH_DOMAIN_SCHEME, 0) + len(holder["research_domains"])
            member_schemes.add(RESEARCH_DOMAIN_SCHEME)
            holder["research_domains"] = []

    for member in profile.get("members", []):
        member_schemes: set[str] = set()
        if member.get("activities"):
            member["activities"] = keep(member["activities"], member_schemes)
        for field in ("offers", "needs"):
            for item in member.get(field) or ():
                if item.get("codes"):
                    item["codes"] = keep(item["codes"], member_schemes)
        keep_domains(member, member_schemes)
        for scheme in member_schemes:
            members[scheme] = members.get(scheme, 0) + 1
    if knowledge:  # counted as one member: the organisation
        own_schemes: set[str] = set()
        if knowledge.get("activities"):
            knowledge["activities"] = keep(knowledge["activities"], own_schemes)
        for holder in (knowledge, *(knowledge.get("units") or ())):
            keep_domains(holder, own_schemes)
        for scheme in own_schemes:
            members[scheme] = members.get(scheme, 0) + 1
    if codes:
        report["schemes"] = [{"scheme": s, "codes": codes[s], "members": members[s]}
                             for s in sorted(codes)[:MAX_NAMED_UNKNOWN]]
        report["schemes_total"] = len(codes)
    return report


def ignored_summary(report: Mapping | None) -> str:
    """One line for people of a :func:`set_aside_unknown` report ("" when nothing was set aside)::

        value chains blue-food; schemes cpa-2.1 (3 codes, 2 members)"""
    if not report:
        return ""
    parts = []
    chains = list(report.get("value_chains") or ())
    if chains:
        more = int(report.get("value_chains_total") or len(chains)) - len(chains)
        parts.append("value chains " + ", ".join(chains) + (f" and {more} more" if more > 0 else ""))
    schemes = list(report.get("schemes") or ())
    if schemes:
        more = int(report.get("schemes_total") or len(schemes)) - len(schemes)
        parts.append("schemes " + ", ".join(f"{s.get('scheme')} ({s.get('codes')} codes, {s.get('members')} members)"
                                            for s in schemes) + (f" and {more} more" if more > 0 else ""))
    return "; ".join(parts)


def validate_codes(profile: Mapping, taxonomies: CodeChecker, value_chains: Iterable[str] | None = None) -> None:
    """Refuse unknown schemes, codes, research domains and value chains (and, when ``value_chains`` maps ids to
    chains, unknown stages a knowledge profile claims); every error names the member (or field) and the code."""
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
    knowledge = profile.get("knowledge")
    if knowledge:
        knowledge_errors = knowledge_code_errors(knowledge, taxonomies, value_chains)
        if knowledge_errors:
            errors["knowledge"] = knowledge_errors
    if errors:
        first = first_message(errors)
        raise ValidationError(f"profile has unknown codes: {first}", errors)


def research_domain_error(code: str, taxonomies: CodeChecker) -> str | None:
    """Why ``code`` is no research domain (a FORD code), or None."""
    ford = taxonomies.by_scheme.get(RESEARCH_DOMAIN_SCHEME)
    if ford is None:
        return (f"research domain {code!r} cannot be checked: no loaded plugin provides the FORD taxonomy "
                f"(scheme {RESEARCH_DOMAIN_SCHEME!r})")
    return None if code in ford else f"unknown research domain {code!r} (not a FORD code)"


def _domain_errors(holder: Mapping, taxonomies: CodeChecker, label: str) -> dict:
    out = {}
    for index, code in enumerate(holder.get("research_domains") or ()):
        reason = research_domain_error(code, taxonomies)
        if reason:
            out[index] = [f"{label}: {reason}"]
    return {"research_domains": out} if out else {}


def knowledge_code_errors(knowledge: Mapping, taxonomies: CodeChecker,
                          value_chains: Iterable[str] | None = None) -> dict:
    """Code errors of a knowledge block, shaped like marshmallow's messages: its activity codes, its research
    domains and its units', the value chains it serves (and their stages, when ``value_chains`` maps ids to
    chains)."""
    errors: dict = _domain_errors(knowledge, taxonomies, "knowledge")
    for index, code in enumerate(knowledge.get("activities") or ()):
        reason = taxonomies.check(code.get("scheme", ""), code.get("code", ""))
        if reason:
            errors.setdefault("activities", {})[index] = {"code": [f"knowledge: {reason}"]}
    for index, unit in enumerate(knowledge.get("units") or ()):
        unit_errors = _domain_errors(unit, taxonomies, f"unit {unit.get('id')!r}")
        if unit_errors:
            errors.setdefault("units", {})[index] = unit_errors
    if value_chains is not None:
        chains = value_chains if isinstance(value_chains, Mapping) else dict.fromkeys(value_chains)
        for index, served in enumerate(knowledge.get("serves") or ()):
            if served["value_chain"] not in chains:
                errors.setdefault("serves", {})[index] = {"value_chain": [
                    f"unknown value chain {served['value_chain']!r} (known: {', '.join(sorted(chains))})"]}
                continue
            stages = {stage.id for stage in getattr(chains[served["value_chain"]], "stages", ())}
            for s_index, stage in enumerate(served.get("stages") or ()):
                if stages and stage not in stages:
                    errors.setdefault("serves", {}).setdefault(index, {}).setdefault("stages", {})[s_index] = [
                        f"{served['value_chain']} has no stage {stage!r} (its stages: {', '.join(sorted(stages))})"]
    return errors


def member_code_errors(member: Mapping, taxonomies: CodeChecker) -> dict:
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
    errors.update(_domain_errors(member, taxonomies, f"member {label!r}"))
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
