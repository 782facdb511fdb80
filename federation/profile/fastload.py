"""A faster way through the profile schema for documents it accepts, with marshmallow's exact result.

Marshmallow spends most of a 400-member profile's validation in its generic machinery, not in the checks. For the
member list, this module walks the declared fields itself, calling the same validators; any doubt (a type it does
not expect, a failed check, an unknown name, a field kind it does not handle) makes it give up, and the caller loads
the whole document with marshmallow as before, so refusals and their messages are marshmallow's own. A member is
accepted here only if marshmallow accepts it, with the same output (tests/test_profile.py compares them on
generated documents).
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, missing
from marshmallow.validate import Validator

from .schema import Country


class GiveUp(Exception):
    """Not sure: let marshmallow decide."""


_STR, _COUNTRY, _LIST, _NESTED, _FIELD = range(5)


class _Plan:
    """How to load one schema's fields: (name, field, kind, inner plan) in declared order."""

    def __init__(self, schema: Schema):
        if schema.unknown != RAISE or any(h for h in schema._hooks.values()):  # noqa: SLF001 - hooks: give up
            raise TypeError("schema not planned")
        self.names = frozenset(schema.fields)
        self.entries = []
        for name, field in schema.fields.items():
            if field.data_key not in (None, name) or field.attribute not in (None, name) or field.dump_only:
                raise TypeError("schema not planned")
            self.entries.append((name, field, *_kind(field)))


def _kind(field) -> tuple[int, object]:
    if type(field) is fields.String:
        return _STR, None
    if type(field) is Country:
        return _COUNTRY, set()  # the codes accepted so far: a small, fixed domain
    if type(field) is fields.List:
        return _LIST, _kind(field.inner)
    if type(field) is fields.Nested and isinstance(field.nested, type) and issubclass(field.nested, Schema) \
            and not field.many and field.only is None and field.exclude == () and field.unknown is None:
        try:
            return _NESTED, _Plan(field.schema)
        except TypeError:
            pass
    return _FIELD, None


def _validated(field, value):
    for validator in field.validators:
        try:
            result = validator(value)
        except ValidationError:
            raise GiveUp() from None
        if result is False and not isinstance(validator, Validator):
            raise GiveUp()
    return value


def _value(field, kind: int, inner, value, name: str, data: dict):
    if value is None:
        if field.allow_none:
            return None
        raise GiveUp()
    if kind == _STR:
        if type(value) is not str:
            raise GiveUp()
        return _validated(field, value)
    if kind == _COUNTRY:
        if type(value) is not str:
            raise GiveUp()
        if value not in inner:
            _validated(field, value)
            inner.add(value)
        return value
    if kind == _LIST:
        if type(value) is not list:
            raise GiveUp()
        item_kind, item_inner = inner
        return _validated(field, [_value(field.inner, item_kind, item_inner, item, name, data) for item in value])
    if kind == _NESTED:
        if type(value) is not dict:
            raise GiveUp()
        return _load(inner, value)
    try:
        return field.deserialize(value, name, data)  # marshmallow itself, for the kinds not walked here
    except ValidationError:
        raise GiveUp() from None


def _load(plan: _Plan, data: dict) -> dict:
    if not plan.names.issuperset(data):
        raise GiveUp()  # an unknown name: marshmallow refuses it
    out = {}
    for name, field, kind, inner in plan.entries:
        if name in data:
            out[name] = _value(field, kind, inner, data[name], name, data)
        else:
            default = field.load_default
            if default is not missing:
                out[name] = default() if callable(default) else default
            elif field.required:
                raise GiveUp()
    return out


class FastList:
    """Loads a list of documents of one schema (the members of a profile), or raises :class:`GiveUp`."""

    def __init__(self, schema: Schema):
        self.plan = _Plan(schema)

    def load(self, items) -> list[dict]:
        if type(items) is not list:
            raise GiveUp()
        return [_load(self.plan, item) if type(item) is dict else _give_up() for item in items]


def _give_up():
    raise GiveUp()
