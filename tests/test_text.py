"""federation.text: one table of characters, the same verdict at every door (request guards, the node's and the hub's
schemas, the profile schema the harvest validates with, registration), and the escaping used wherever text is shown.
The doors themselves are exercised over HTTP in test_api_hardening, test_hostile_node and test_registration_identity.
"""

from __future__ import annotations

import json
import re

import pytest
from marshmallow import Schema, ValidationError as SchemaError

from federation.display import guarded, shown
from federation.errors import BadRequest, ValidationError
from federation.hub.harvest import printable
from federation.hub.identity import check_text
from federation.profile.schema import FREE_TEXT, NO_CONTROLS, MemberSchema
from federation.text import MULTI_LINE_PATTERN, ONE_LINE_PATTERN, Text, escaped, stored, text_problem
from federation.web import parse_json_body

# (character, allowed in one-line text, allowed in multi-line text)
CHARACTERS = [
    ("\x00", False, False),  # NUL: PostgreSQL refuses it
    ("\x07", False, False),  # BEL, ends an OSC sequence
    ("\t", False, True),
    ("\n", False, True),
    ("\r", False, True),
    ("\x0b", False, False),  # vertical tab
    ("\x1b", False, False),  # ESC
    ("\x7f", False, False),  # DEL
    ("\x85", False, False),  # NEL, a C1 control
    ("\x9b", False, False),  # CSI in one byte
    ("\ud800", False, False),  # a lone surrogate
    ("\u202a", False, True), ("\u202b", False, True), ("\u202c", False, True),  # embeddings, pop
    ("\u202d", False, True), ("\u202e", False, True),  # overrides
    ("\u2066", False, True), ("\u2067", False, True), ("\u2068", False, True), ("\u2069", False, True),  # isolates
    ("\u200e", True, True), ("\u200f", True, True), ("\u061c", True, True),  # marks: Arabic text needs them
    ("\u200d", True, True),  # zero-width joiner
    ("\xa0", True, True),  # no-break space
    ("é", True, True), ("ق", True, True), ("\U0001F600", True, True),
]
IDS = [f"U+{ord(c):04X}" for c, *_ in CHARACTERS]


class _Doc(Schema):
    line = Text()
    lines = Text(multiline=True)


@pytest.mark.parametrize("char, one_line, multi_line", CHARACTERS, ids=IDS)
def test_every_door_gives_the_same_verdict(char, one_line, multi_line):
    value = f"a{char}b"
    assert (text_problem(value) is None) == one_line
    assert (text_problem(value, multiline=True) is None) == multi_line
    for validator, allowed in ((NO_CONTROLS, one_line), (FREE_TEXT, multi_line)):  # the profile's validators
        if allowed:
            assert validator(value) == value
        else:
            with pytest.raises(SchemaError, match=f"found U\\+{ord(char):04X}"):
                validator(value)
    errors = _Doc().validate({"line": value, "lines": value})  # the APIs' Text field
    assert ("line" not in errors) == one_line and ("lines" not in errors) == multi_line
    assert ("name" not in MemberSchema().validate({"id": "m", "kind": "sme", "name": value})) == one_line
    if one_line:  # registration
        assert check_text("name", value) == value
    else:
        with pytest.raises(ValidationError, match=f"name: .*found U\\+{ord(char):04X}"):
            check_text("name", value)


@pytest.mark.parametrize("char, one_line, multi_line", CHARACTERS, ids=IDS)
def test_a_json_body_string_is_multi_line_text_and_a_key_one_line(char, one_line, multi_line):
    body = ('{"k": %s}' % json.dumps(f"a{char}b")).encode()  # ensure_ascii: every non-ASCII character as \uXXXX
    if multi_line:
        assert parse_json_body(body, 8) == {"k": f"a{char}b"}
    else:
        with pytest.raises(ValidationError, match="k: "):
            parse_json_body(body, 8)
    key = body.replace(b'{"k": ', b"{").replace(b"}", b': 1}')
    if one_line:
        assert parse_json_body(key, 8) == {f"a{char}b": 1}
    else:
        with pytest.raises(ValidationError, match="a key of the body"):
            parse_json_body(key, 8)


def test_the_problem_names_the_character_and_the_rule():
    assert text_problem("exe.\u202etxt") == ("bidirectional formatting characters are not allowed (found U+202E, "
                                            "which reorders what is shown)")
    assert text_problem("a\x1bb") == "control characters are not allowed (found U+001B)"
    assert text_problem("a\x1bb", multiline=True) == ("control characters other than tab and line breaks are not "
                                                       "allowed (found U+001B)")
    assert text_problem("\ud800") == "lone surrogate characters are not allowed (found U+D800)"
    assert text_problem("قطب \u200fالزراعة") is None


def test_duplicate_keys_are_refused_at_any_depth():
    with pytest.raises(BadRequest, match="repeats the key 'b'") as info:
        parse_json_body(b'{"a": [{"b": 1, "c": 2, "b": 3}]}', 8)
    assert info.value.errors == {"json": ["duplicate key 'b'"]}
    assert parse_json_body(b'{"a": {"b": 1}, "b": {"a": 2}}', 8) == {"a": {"b": 1}, "b": {"a": 2}}


def test_the_published_patterns_match_the_rules():
    for char, one_line, multi_line in CHARACTERS:
        if "\ud800" <= char <= "\udfff":
            continue  # JSON text in UTF-8 cannot carry one; the schema pattern does not mention them
        assert bool(re.fullmatch(ONE_LINE_PATTERN, f"a{char}b")) == one_line, repr(char)
        assert bool(re.fullmatch(MULTI_LINE_PATTERN, f"a{char}b")) == multi_line, repr(char)


def test_one_escaping_for_the_terminal_and_for_stored_reasons():
    hostile = "\x1b]0;owned\x07 \u202eevil\x9b\nnext\u200f"
    assert shown(hostile) == escaped(hostile) == "\\x1b]0;owned\\x07 \\u202eevil\\x9b\\nnext\\u200f"
    assert printable(hostile) == stored(hostile) == shown(hostile)
    assert guarded(hostile) == "\\u001b]0;owned\\u0007 \\u202eevil\\u009b\nnext\\u200f"
    assert printable("x" * 5000, 100) == "x" * 100
    assert printable("\x1b" * 50, 10) == "\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b"[:10]
    assert printable(None) is None
    assert shown("Cluster Ménara \u200dق") == "Cluster Ménara \u200dق"
