"""The member is defined once (federation.profile.member_fields): the document's fields, the columns both databases
store and the lists the node, the hub's read side and aggregation derive from them agree."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import MappedColumn

from federation.hub.aggregation import member_from_profile, member_from_view
from federation.hub.models import MemberView
from federation.node.models import MemberRow
from federation.node.service import MEMBER_FIELDS, STORED_FIELDS
from federation.profile.member_fields import (AUDIENCE_FIELDS, HUB_KEY, PROFILE_FIELDS, SHARED_FIELDS, MemberMixin,
                                              MemberSchema, absent, carried, from_hub_row, hub_row)
from federation.profile.schema import MemberSchema as MemberSchemaFromTheProfile
from tests.support.builders import member_doc


def mixin_columns() -> tuple[str, ...]:
    return tuple(name for name, value in vars(MemberMixin).items() if isinstance(value, MappedColumn))


def test_the_mixin_stores_every_profile_field_but_the_key_and_the_audience():
    assert mixin_columns() == SHARED_FIELDS + ("contact",)
    assert set(PROFILE_FIELDS) == {"id", "audience"} | set(mixin_columns())
    assert set(AUDIENCE_FIELDS) <= set(PROFILE_FIELDS)


def test_both_tables_have_the_mixins_columns_and_their_own_key():
    node = MemberRow.__table__.columns
    hub = MemberView.__table__.columns
    for name in mixin_columns():
        assert name in node and name in hub
    assert [c.name for c in node if c.primary_key] == ["id"]
    assert [c.name for c in hub if c.primary_key] == ["node_id", HUB_KEY]
    assert "audience" in hub and "visibility" in node


def test_the_lists_the_node_copies_are_those_it_always_copied():
    assert MemberSchemaFromTheProfile is MemberSchema
    assert MEMBER_FIELDS == ("id", "kind", "name", "city", "size", "activities", "offers", "needs",
                             "export_markets", "status", "last_active", "research_domains", "identifiers", "website")
    assert STORED_FIELDS == MEMBER_FIELDS + ("contact", "contact_visibility")


def test_an_absent_field_carries_its_load_default():
    assert [absent(name) for name in ("activities", "status", "audience", "city", "kind", "contact_visibility")] \
        == [[], "active", "public", None, None, None]
    assert absent("offers") is not absent("offers")  # a fresh list each time
    assert carried({"status": None}, "status") is None  # given, even as null, is not absent
    assert carried({}, "status") == "active"


def test_the_hub_row_of_a_profile_member_is_the_row_harvest_stored():
    member = MemberSchema().load({**member_doc("m1", "nace-rev2:11.02", city="Tyr", last_active="2024-11-30"),
                                  "contact": {"email": "a@example.org"}})
    m = member
    stored = {"node_id": "qoot", "member_id": m["id"], "kind": m["kind"], "name": m["name"],
              "city": m.get("city"), "size": m.get("size"), "activities": m.get("activities", []),
              "offers": m.get("offers", []), "needs": m.get("needs", []),
              "export_markets": m.get("export_markets", []), "status": m.get("status", "active"),
              "last_active": m.get("last_active"), "research_domains": m.get("research_domains", []),
              "identifiers": m.get("identifiers"), "website": m.get("website"),
              "audience": m.get("audience", "public"), "contact": m.get("contact")}
    assert hub_row("qoot", member) == stored
    assert list(hub_row("qoot", member)) == ["node_id", HUB_KEY] + list(PROFILE_FIELDS[1:])
    assert from_hub_row(MemberView(**stored)) == member


def test_a_bare_member_carries_what_the_schema_would_load():
    bare = {"id": "m2", "kind": "sme", "name": "Bare"}
    row = hub_row("qoot", bare)
    assert {k: v for k, v in row.items() if k not in ("node_id", HUB_KEY)} == \
        {k: v for k, v in MemberSchema().load(bare).items() if k != "id"}


def test_formation_reads_a_profile_member_as_it_reads_its_stored_row():
    member = MemberSchema().load({**member_doc("m1", "nace-rev2:11.02", city="Tyr"), "last_active": "2024-11-30",
                                  "offers": [{"text": "Wine", "codes": [{"scheme": "nace-rev2", "code": "11.02"}]}]})
    from_profile = member_from_profile("qoot", member, "LB")
    from_row = member_from_view(MemberView(**hub_row("qoot", member)), "LB")
    assert from_profile == from_row
    assert from_profile.last_active == date(2024, 11, 30) and from_profile.city == "Tyr"


def test_a_contact_email_is_one_line_text():
    loaded = MemberSchema().load(member_doc("m1", "nace-rev2:11.02", contact={"email": '"a.b"@x.example'}))
    assert loaded["contact"]["email"] == '"a.b"@x.example'  # a quoted local part stays valid
    errors = MemberSchema().validate(member_doc("m1", "nace-rev2:11.02", contact={"email": '"a\x07b"@x.example'}))
    assert errors["contact"]["email"] == ["control characters are not allowed (found U+0007)"]
