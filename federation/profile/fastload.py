"""A faster way through the profile schema for documents it accepts, with marshmallow's exact result.

Marshmallow spends most of a 400-member profile's validation in its generic machinery, not in the checks. For the
member list, this module walks the declared fields itself with the same checks: the validators marshmallow would
call (Length, Regexp, OneOf and Equal inlined to their own tests, any other called as is); any doubt (a type it does
not expect, a failed check, an unknown name, a field kind it does not handle) makes it give up, and the caller loads
the whole document with marshmallow as before, so refusals and their messages are marshmallow's own. A member is
accepted here only if marshmallow accepts it, with the same output (tests/test_profile.py compares them on
generated documents).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate
from marshmallow.validate import Validator

from ..text import ONE_LINE
from .schema import Country

#: The fields read as strings: marshmallow's String and its subclasses that only add validators.
_STRINGS = (fields.String, fields.Email)


class GiveUp(Exception):
    """Not sure: let marshmallow decide."""


def _give_up(*_args):
    raise GiveUp()


def _check(validator) -> Callable[[Any], bool]:
    """A predicate that is true exactly when ``validator`` accepts a value (a str or a list here)."""
    kind = type(validator)
    if kind is type(ONE_LINE):  # federation.text's rules: the same search, without building the message
        return validator.accepts
    if kind is validate.Length:
        low, high, equal = validator.min, validator.max, validator.equal
        if equal is not None:
            return lambda value: len(value) == equal
        low = -1 if low is None else low
        high = float("inf") if high is None else high
        return lambda value: low <= len(value) <= high
    if kind is validate.Regexp:
        match = validator.regex.match
        return lambda value: match(value) is not None
    if kind is validate.OneOf:
        choices = validator.choices
        try:
            allowed = frozenset(choices)
        except TypeError:
            allowed = None
        if allowed is not None and all(type(c) is str for c in allowed):
            return lambda value: type(value) is str and value in allowed  # for a str, the answer of ``in choices``
    if kind is validate.Equal:
        comparable = validator.comparable
        return lambda value: value == comparable

    def generic(value) -> bool:
        try:
            result = validator(value)
        except ValidationError:
            return False
        return not (result is False and not isinstance(validator, Validator))
    return generic


def _predicate(field) -> Callable[[Any], bool] | None:
    """One predicate for all of ``field``'s validators (``None`` without any): true when every one accepts."""
    predicates = [_check(v) for v in field.validators]
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:  # the common pair (a text rule and a length): no loop per value
        first, second = predicates
        return lambda value: first(value) and second(value)
    return lambda value: all(predicate(value) for predicate in predicates)


def _checks(field) -> Callable[[Any], None] | None:
    accepts = _predicate(field)
    if accepts is None:
        return None

    def check(value):
        if not accepts(value):
            raise GiveUp()
    return check


def _converter(field, name: str) -> Callable[[Any, dict], Any]:
    """``convert(value, data)``: the loaded value of a present, non-null ``value`` of ``field``, or GiveUp."""
    check = _checks(field)
    if type(field) in _STRINGS:
        # The most frequent converter (every text of every member): its checks called directly, not via ``check``.
        accepts = _predicate(field)
        if accepts is None:
            def plain_string(value, _data):
                if type(value) is not str:
                    raise GiveUp()
                return value
            return plain_string

        def string(value, _data):
            if type(value) is not str or not accepts(value):
                raise GiveUp()
            return value
        return string
    if type(field) is Country:
        accepted: set[str] = set()  # codes accepted so far: a small, fixed domain

        def country(value, _data):
            if type(value) is not str:
                raise GiveUp()
            if value not in accepted:
                if check is not None:
                    check(value)
                accepted.add(value)
            return value
        return country
    if type(field) is fields.Date and field.DESERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT) \
            == date.fromisoformat:
        def iso_date(value, _data):  # marshmallow's own parse of an ISO date, without its generic machinery
            if type(value) is not str:
                raise GiveUp()
            try:
                out = date.fromisoformat(value)
            except ValueError:
                raise GiveUp() from None
            if check is not None:
                check(out)
            return out
        return iso_date
    if type(field) is fields.Dict and field.mapping_type is dict and type(field.key_field) in _STRINGS \
            and type(field.value_field) in _STRINGS:
        key, item = _converter(field.key_field, name), _converter(field.value_field, name)

        def mapping(value, data):
            if type(value) is not dict:
                raise GiveUp()
            out = {key(k, data): item(v, data) for k, v in value.items()}  # a None key or value gives up
            if check is not None:
                check(out)
            return out
        return mapping
    if type(field) is fields.List:
        inner = field.inner
        item = _converter(inner, name)
        item_allows_none = inner.allow_none

        def items(value, data):
            if type(value) is not list:
                raise GiveUp()
            out = [(None if item_allows_none else _give_up()) if v is None else item(v, data) for v in value]
            if check is not None:
                check(out)
            return out
        return items
    if type(field) is fields.Nested and isinstance(field.nested, type) and issubclass(field.nested, Schema) \
            and not field.many and field.only is None and not field.exclude and field.unknown is None:
        try:
            load = loader(field.schema)
        except TypeError:
            load = None
        if load is not None and check is None:
            if _flat_and_pure(field.schema):
                return _remembering(load)

            def nested(value, _data):
                if type(value) is not dict:
                    raise GiveUp()
                return load(value)
            return nested

    def any_field(value, data):  # marshmallow itself, for the kinds not walked here
        try:
            return field.deserialize(value, name, data)
        except ValidationError:
            raise GiveUp() from None
    return any_field


#: Validators whose answer depends on the value alone (no state, no outside lookup).
_PURE_VALIDATORS = (validate.Length, validate.Regexp, validate.OneOf, validate.Equal, type(ONE_LINE))
#: Most inputs one nested schema remembers (activity codes repeat: a few hundred distinct in a large import).
_REMEMBERED = 4096


def _flat_and_pure(schema: Schema) -> bool:
    """Whether a schema's load is a function of its input's items alone: string fields only, checked by pure
    validators, with immutable defaults (its result may then be remembered and copied)."""
    return all(type(f) in _STRINGS and not callable(f.load_default)
               and all(type(v) in _PURE_VALIDATORS for v in f.validators) for f in schema.fields.values())


def _remembering(load: Callable[[dict], dict]) -> Callable[[Any, dict], dict]:
    """A nested converter that loads each distinct input of string values once (a copy of the result each time)."""
    seen: dict[tuple, dict] = {}

    def nested(value, _data):
        if type(value) is not dict:
            raise GiveUp()
        items = tuple(value.items())
        for _key, item in items:
            if type(item) is not str:  # only plain strings are remembered: equal means identical
                return load(value)
        out = seen.get(items)
        if out is None:
            out = load(value)
            if len(seen) < _REMEMBERED:
                seen[items] = out
        return dict(out)
    return nested


def loader(schema: Schema) -> Callable[[dict], dict]:
    """``load(data)``: what ``schema.load(data)`` returns when it accepts ``data``; GiveUp otherwise (TypeError
    when the schema is one this module does not walk)."""
    if schema.unknown != RAISE or any(schema._hooks.values()):  # hooks: not walked here
        raise TypeError("schema not walked")
    names = frozenset(schema.fields)
    entries = []
    for name, field in schema.fields.items():
        if field.data_key not in (None, name) or field.attribute not in (None, name) or field.dump_only:
            raise TypeError("schema not walked")
        default = field.load_default
        entries.append((name, _converter(field, name), field.allow_none, default, callable(default),
                        field.required))

    def load(data: dict) -> dict:
        if not names.issuperset(data):
            raise GiveUp()  # an unknown name: marshmallow refuses it
        out = {}
        for name, convert, allow_none, default, call_default, required in entries:
            value = data.get(name, missing)
            if value is missing:
                if default is not missing:
                    out[name] = default() if call_default else default
                elif required:
                    raise GiveUp()
            elif value is None:
                if not allow_none:
                    raise GiveUp()
                out[name] = None
            else:
                out[name] = convert(value, data)
        return out
    return load


#: The first name of :func:`loader` (tests import it).
_loader = loader


class FastList:
    """Loads a list of documents of one schema (the members of a profile), or raises :class:`GiveUp`."""

    def __init__(self, schema: Schema):
        self._load = loader(schema)

    def load(self, items) -> list[dict]:
        if type(items) is not list:
            raise GiveUp()
        load = self._load
        return [load(item) if type(item) is dict else _give_up() for item in items]
