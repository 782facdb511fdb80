"""The node's published documents rendered in one pass (federation/node/publishing.py) are the bytes marshmallow and
``json.dumps`` give for the same members, for both audiences; withdrawals read from the previous document; the
schema fast path's additions (ISO dates, string dicts, remembered codes) load what marshmallow loads and refuse what
it refuses."""

from __future__ import annotations

import json
from datetime import date

import pytest
from marshmallow import ValidationError as SchemaError

from federation.node.publishing import published_ids
from federation.node.schemas import NodeMemberInputSchema
from federation.profile import ProfileSchema
from federation.profile.fastload import GiveUp, _loader
from tests.support.builders import cluster_doc

MEMBERS = [
    {"id": "p1", "kind": "sme", "name": "Huilerie Zeytouna زيتونة", "city": "Saïda", "size": "small",
     "activities": [{"scheme": "nace-rev2", "code": "10.41"}, {"scheme": "isic-rev4", "code": "1040"}],
     "offers": [{"text": "Huile d'olive\ten gros", "codes": [{"scheme": "nace-rev2", "code": "10.41"}]}],
     "needs": [{"text": "Bouteilles", "codes": []}], "export_markets": ["FR", "DE"], "status": "dormant",
     "last_active": date(2024, 5, 1), "visibility": "public",
     "contact": {"email": "a@p1.example", "phone": "+961 1 234 567", "person": "Rima"},
     "contact_visibility": {"email": "public", "phone": "federation"}},
    {"id": "f1", "kind": "university", "name": "Université \"Libre\"", "visibility": "federation",
     "contact": {"email": "f1@u.example"}, "contact_visibility": {"email": "federation"}},
    {"id": "p2", "kind": "startup", "name": "Dattes", "visibility": "public",
     "contact": {"phone": "+212 5 22"}, "contact_visibility": {"phone": "public"}},
    {"id": "x1", "kind": "sme", "name": "Private", "visibility": "private",
     "contact": {"email": "x@x.example"}, "contact_visibility": {"email": "public"}},
]
VISIBLE = {"public": ("public",), "federation": ("public", "federation")}


@pytest.fixture
def service(make_node):
    service = make_node("qoot").extensions["medmci"].service
    service.put_cluster(cluster_doc())
    for member in MEMBERS:
        service.create_member(member)
    return service


def marshmallow_document(service, audience: str) -> bytes:
    """The document as the node rendered it before: every member dumped by marshmallow, the whole encoded once."""
    published = json.loads(service.publication(audience).body)
    members = []
    for stored in sorted(service.list_members(), key=lambda m: m["id"]):
        if stored["visibility"] not in VISIBLE[audience]:
            continue
        levels = stored["contact_visibility"] or {}
        contact = {k: v for k, v in (stored["contact"] or {}).items()
                   if v and levels.get(k, "private") in VISIBLE[audience]}
        member = {k: v for k, v in stored.items() if k not in ("visibility", "contact_visibility")}
        members.append({**member, "audience": "public" if stored["visibility"] == "public" else "federation",
                        "contact": contact or None})
    document = ProfileSchema().dump({**published, "published_at": service.publication(audience).published_at,
                                     "members": members})
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@pytest.mark.parametrize("audience", ["public", "federation"])
def test_each_audience_gets_the_bytes_marshmallow_and_json_dumps_give(service, audience):
    body = service.publication(audience).body
    assert body == marshmallow_document(service, audience)
    ids = [m["id"] for m in json.loads(body)["members"]]
    assert ids == (["p1", "p2"] if audience == "public" else ["f1", "p1", "p2"])
    contacts = {m["id"]: m["contact"] for m in json.loads(body)["members"]}
    if audience == "public":
        assert contacts == {"p1": {"email": "a@p1.example"}, "p2": {"phone": "+212 5 22"}}
    else:
        assert contacts["p1"] == {"email": "a@p1.example", "phone": "+961 1 234 567"}


def test_a_member_made_private_is_withdrawn_from_the_documents_that_had_it(service):
    service.update_member("p1", {**MEMBERS[0], "visibility": "private"})
    for audience in ("public", "federation"):
        document = json.loads(service.publication(audience).body)
        assert document["withdrawn"] == ["p1"] and "p1" not in {m["id"] for m in document["members"]}
        assert service.publication(audience).body == marshmallow_document(service, audience)
    service.update_member("p1", MEMBERS[0])  # shared again: no longer withdrawn
    assert json.loads(service.publication("public").body)["withdrawn"] == []


def test_published_ids_reads_only_the_member_ids(service):
    assert published_ids(service.publication("federation").body) == {"f1", "p1", "p2"}
    assert published_ids(b'{"members": [{"id": "a", "offers": [{"id": "not a member"}]}, {"name": "no id"}]}') \
        == {"a"}
    assert published_ids(b"not json") == set() and published_ids(b"[1]") == set()


# -- the schema's fast path: what it now walks itself ------------------------------------------------------------

BASE = {"id": "m1", "kind": "sme", "name": "A"}


@pytest.mark.parametrize("extra", [
    {"last_active": "2024-05-01"}, {"last_active": "2024-13-01"}, {"last_active": ""}, {"last_active": 5},
    {"last_active": "2024-05-01T10:00:00"}, {"last_active": "20240501"},
    {"contact_visibility": {"email": "public"}}, {"contact_visibility": {"email": "world"}},
    {"contact_visibility": {"fax": "public"}}, {"contact_visibility": {"email": None}}, {"contact_visibility": []},
    {"contact": {"email": "a@b.example"}}, {"contact": {"email": "not an address"}},
    {"name": "bad\u202ename"}, {"offers": [{"text": "line\nbreak"}]}, {"city": "x\x1b[31m"},
    {"activities": [{"scheme": "nace-rev2", "code": "10.41"}] * 3},
    {"activities": [{"scheme": "nace-rev2", "code": "x" * 17}]},
    {"activities": [{"scheme": "nace-rev2", "code": "10.41", "extra": "1"}]},
    {"activities": [{"scheme": "nace-rev2", "code": 1041}]},
])
def test_the_fast_path_loads_what_marshmallow_loads_and_gives_up_otherwise(extra):
    schema = NodeMemberInputSchema()
    fast = _loader(schema)
    for _ in range(2):  # the second time through remembered codes
        data = {**BASE, **extra}
        try:
            expected = schema.load(data)
        except SchemaError:
            with pytest.raises(GiveUp):
                fast(data)
            continue
        assert fast(data) == expected


def test_remembered_codes_are_copies():
    fast = _loader(NodeMemberInputSchema())
    first = fast({**BASE, "activities": [{"scheme": "nace-rev2", "code": "10.41"}]})
    first["activities"][0]["code"] = "changed"
    again = fast({**BASE, "activities": [{"scheme": "nace-rev2", "code": "10.41"}]})
    assert again["activities"] == [{"scheme": "nace-rev2", "code": "10.41"}]
