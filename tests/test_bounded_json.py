"""Every bound of :func:`federation.signing.parse_bounded` holds at its limit exactly: depth, values (member names
included), number length, duplicate names; and the bytes-level depth proof agrees with a walk of the parsed values
on any document, whatever its strings hold (brackets, quotes, backslashes, escapes)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from federation.signing import DocumentLimitError, JsonLimits, parse_bounded
from federation.signing.bounded import _nests_within, _shape


def nested(depth: int, leaf="x") -> str:
    """JSON nested ``depth`` levels, objects and arrays in turn (a scalar is depth 0)."""
    text = json.dumps(leaf)
    for level in range(depth):
        text = f'{{"k": {text}}}' if level % 2 else f"[{text}]"
    return text


@pytest.mark.parametrize("depth", [0, 1, 2, 5, 6, 31, 32])
def test_a_document_at_the_depth_limit_is_read(depth):
    assert parse_bounded(nested(depth).encode(), JsonLimits(max_depth=max(depth, 1))).document == json.loads(
        nested(depth))


@pytest.mark.parametrize("depth", [2, 7, 33, 100])
def test_one_level_deeper_is_refused(depth):
    with pytest.raises(DocumentLimitError, match=rf"nests deeper than {depth - 1} levels \(limits.max_json_depth\)"):
        parse_bounded(nested(depth).encode(), JsonLimits(max_depth=depth - 1))


def test_far_too_deep_is_refused_as_too_deep_not_a_crash():
    with pytest.raises(DocumentLimitError, match="nests deeper than 32 levels"):
        parse_bounded(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize("text", [
    '["[[[[[[[[", "{{{{{{{{"]',  # brackets in strings do not nest
    r'["\"[[[[[[[[", "\\", "\\\"]]]]", "]]]]"]',  # escaped quotes and backslashes around them
    r'{"a\"[[[[": "\\\\[[[[[[", "\u005b\u005b": ["\\"]}',
])
def test_brackets_inside_strings_do_not_count(text):
    assert parse_bounded(text.encode(), JsonLimits(max_depth=2)).document == json.loads(text)


def test_a_deep_document_is_not_hidden_behind_strings():
    text = '["\\\\", [[["\\"]", "[", "]"]]], "]]]"]'  # 4 levels, strings closing and opening brackets around them
    assert parse_bounded(text.encode(), JsonLimits(max_depth=4))
    with pytest.raises(DocumentLimitError, match="nests deeper than 3 levels"):
        parse_bounded(text.encode(), JsonLimits(max_depth=3))


@pytest.mark.parametrize("text, values", [
    ("1", 1), ("[]", 1), ("[1, 2, 3]", 4), ('{"a": 1}', 3), ('{"a": 1, "b": 2}', 5),
    ('{"a": {"b": [1, {"c": null}]}}', 9), ('[{}, [], ""]', 4),
])
def test_values_are_counted_exactly_at_the_limit(text, values):
    """Member names count as values: an object of two members is five values."""
    assert parse_bounded(text.encode(), JsonLimits(max_items=values)).document == json.loads(text)
    with pytest.raises(DocumentLimitError, match=rf"more than {values - 1} JSON values \(limits.max_json_items\)"):
        parse_bounded(text.encode(), JsonLimits(max_items=values - 1))


def test_a_large_object_is_counted_with_its_member_names():
    text = json.dumps({f"m{i}": i for i in range(600)})  # 1,201 values, 600 commas and colons each
    assert parse_bounded(text.encode(), JsonLimits(max_items=1201))
    with pytest.raises(DocumentLimitError, match="more than 1000 JSON values"):
        parse_bounded(text.encode(), JsonLimits(max_items=1000))


@pytest.mark.parametrize("number", ["1" * 10, "-" + "1" * 9, "1.5e+123", "0." + "5" * 8])
def test_numbers_at_the_digit_limit_are_read_and_one_more_is_refused(number):
    limits = JsonLimits(max_number_digits=len(number))
    assert parse_bounded(f"[{number}]".encode(), limits).document == json.loads(f"[{number}]")
    longer = number[:-1] + "1" + number[-1]
    with pytest.raises(DocumentLimitError, match=rf"a number of {len(longer)} .* \(limits.max_number_digits\)"):
        parse_bounded(f"[{longer}]".encode(), limits)


def test_digits_in_strings_are_not_numbers():
    assert parse_bounded(json.dumps(["9" * 500]).encode(), JsonLimits(max_number_digits=3))


@pytest.mark.parametrize("text", ['{"a": 1, "a": 2}', '[{"x": {"a": 1, "b": 2, "a": 3}}]', '{"\\u0061": 1, "a": 2}'])
def test_a_duplicate_member_name_is_refused(text):
    with pytest.raises(ValueError, match="duplicate member 'a'"):
        parse_bounded(text.encode())


@pytest.mark.parametrize("data", [b'{"a": 1', b"[1, 2,]", b"NaN", b"[Infinity]", b'"\xff"', b""])
def test_what_is_not_strict_json_is_refused(data):
    with pytest.raises(ValueError, match="it is not valid JSON"):
        parse_bounded(data)


# Strings made of the characters that matter to the byte-level scan, and any others.
_TRICKY = st.text(st.sampled_from('[]{}"\\/:,u0aé\n\U0001F600'), max_size=8) | st.text(max_size=6)
_DOCUMENTS = st.recursive(st.none() | st.booleans() | st.integers() | _TRICKY,
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY, inner, max_size=4),
                          max_leaves=25)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCUMENTS, st.booleans(), st.sampled_from([None, 1]))
@example({"[": ["\\", {'"]': "["}]}, True, None)
def test_the_byte_scan_measures_depth_as_the_walk_does(document, ascii_only, indent):
    data = json.dumps(document, ensure_ascii=ascii_only, indent=indent).encode("utf-8", "surrogatepass")
    depth, _count = _shape(document, 1_000, None)
    for max_depth in {max(depth - 1, 0), depth, depth + 1}:
        assert _nests_within(data, max_depth) == (depth <= max_depth)
