"""A compromised or hostile node against a real hub over HTTP on 127.0.0.1, on SQLite and PostgreSQL (issue #8, A):
bounded signature checks, verification before reading, versions that move forward only, per-node limits, storage
errors that stay one node's failure, and the small ones (huge numbers, redirects, unsigned current bytes).

Hostile nodes are :class:`tests.test_harvest.FakeNode` servers: keys of their own, a signed discovery document, and
a profile behaviour switched by each test.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
import yaml
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import DataError

import federation.hub.fetch as fetch_module
import federation.hub.store as store_module
import federation.signing as signing
from connectors.http_fetch import DISCOVERY_PATH, SIGNATURE_HEADER
from federation.cli import main
from federation.errors import SignatureError, ValidationError
from federation.hub.keyring import TrustLimits
from federation.hub.models import AuditEvent, FetchAttempt, HarvestRun, NodeRecord
from federation.hub.verify import verify_versions
from federation.hub.app import create_hub_app
from federation.signing import KeyStore, public_jwk, sign_document, sign_request
from tests.support.builders import AGRI_CODES, PUBLISHED_AT, member_doc, profile_bytes
from tests.support.environment import TEST_SETTINGS, harvest_settings
from tests.support.fake_node import FakeHandler, serve_json
from tests.support.hub_state import by_node, versions
from tests.support.nodes import real_node


def signed_profile(fake, body: bytes) -> None:
    """The fake node serves ``body``, signed by its own key (fresh at every request), without validators."""
    fake.profile = serve_json(body)


def document(sequence: int = 1, members: list | None = None, published_at: datetime = PUBLISHED_AT, **top) -> dict:
    doc = json.loads(profile_bytes(sequence=sequence, members=members))
    doc["published_at"] = published_at.isoformat()
    doc.update(top)
    return doc


def body_of(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def raw_headers(h: FakeHandler, status: int, body: bytes, lines: list[tuple[str, str]]) -> None:
    """Send ``body`` with header lines as given (a header may repeat: requests joins the lines with commas)."""
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    for name, value in lines:
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(body)


def audit_actions(hub, node_id: str) -> list[str]:
    return [e["action"] for e in hub.audit.events(node_id=node_id)]


def attempts(hub) -> list[FetchAttempt]:
    with hub.db.session() as session:
        return list(session.scalars(select(FetchAttempt).order_by(FetchAttempt.id)))


@pytest.fixture
def spy_read_profile(monkeypatch):
    """Records every document the harvester validates (a refusal before validation leaves it empty)."""
    calls: list = []
    real = fetch_module.read_profile

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(fetch_module, "read_profile", spy)
    return calls


@pytest.fixture
def count_canonical(monkeypatch):
    """Counts RFC 8785 canonicalisations (the costly step of a signature check)."""
    calls = []
    real = signing.Canonical.of.__func__

    def counted(cls, document):
        if not isinstance(document, signing.Canonical):  # (the fake node signs with canonical_json itself)
            calls.append(1)
        return real(cls, document)

    monkeypatch.setattr(signing.Canonical, "of", classmethod(counted))
    return calls


def registered(make_hub, fake, overrides: dict | None = None, node_id: str = "menara"):
    hub = make_hub(overrides=overrides)
    hub.nodes.register(node_id, fake.url)
    return hub


# -- A1: signature amplification ----------------------------------------------------------------------------------

def test_a_flood_of_signature_headers_is_refused_before_the_body_is_read(backend, make_hub, fake_node,
                                                                          count_canonical, spy_read_profile):
    """Tens of thousands of copies of the node's own signature (100 header lines of ~60 KB) on a large profile:
    refused on the header's size alone, in a moment; the node's last good version stays."""
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    body = profile_bytes(sequence=2, members=[member_doc(f"m{i}", *AGRI_CODES) for i in range(2000)])
    jws = fake.signature_for(body)
    line = ",".join([jws] * (60_000 // (len(jws) + 1)))
    fake.profile = lambda h: raw_headers(h, 200, body, [(SIGNATURE_HEADER, line)] * 90)

    count_canonical.clear()
    spy_read_profile.clear()
    outcome = hub.harvester.harvest()["nodes"][0]
    assert count_canonical == [] and spy_read_profile == []  # refused on the header alone: no work on the body
    assert outcome["outcome"] == "failed"
    assert "Med-MCI-Signature header of" in outcome["reason"]
    assert "over the limit of 8192 (trust.max_signature_header_bytes)" in outcome["reason"]
    assert [v.sequence for v in versions(hub, "menara")] == [1]


@pytest.mark.parametrize("lines", [[(SIGNATURE_HEADER, "x" * 70_000)], [("X-Filler", "x")] * 150],
                         ids=["a-70-KB-line", "150-lines"])
def test_headers_over_http_client_limits_are_reported_as_too_large(backend, make_hub, fake_node, lines):
    """Issue #8, finding 10: the hub did connect; the node's answer was refused. Not "cannot connect"."""
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    fake.profile = lambda h: raw_headers(h, 200, profile_bytes(sequence=2), lines)
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["outcome"] == "failed"
    assert outcome["reason"].startswith(f"{fake.url}: the node's response headers are too large (got more than "), \
        outcome["reason"]
    assert "cannot connect" not in outcome["reason"]
    assert [v.sequence for v in versions(hub, "menara")] == [1]


def test_a_redirect_refused_by_the_address_guard_names_the_redirect_target(backend, make_hub, fake_node):
    """Issue #8, finding 10: the reason named the node's own URL as refused, not where it sent the hub."""
    fake = fake_node(serve_json(profile_bytes()), host="127.0.0.2")
    hub = make_hub(overrides=harvest_settings(allow_networks=["127.0.0.2/32"]))
    hub.nodes.register("menara", fake.url)
    target = "http://169.254.169.254/latest/meta-data/"
    fake.profile = lambda h: h.send_body(302, b"", None, {"Location": target})
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["outcome"] == "failed"
    assert outcome["reason"].startswith(f"refused to fetch {target}: unsafe address: "), outcome["reason"]
    assert "169.254.169.254 is a cloud metadata endpoint" in outcome["reason"]
    assert [v.sequence for v in versions(hub, "menara")] == []


def test_more_signatures_than_a_node_may_have_are_refused_unread(backend, make_hub, fake_node, count_canonical,
                                                                 spy_read_profile):
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake)
    body = profile_bytes(sequence=2)
    fake.profile = lambda h: h.send_body(200, body, signature=",".join([fake.signature_for(body)] * 5))
    count_canonical.clear()

    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["outcome"] == "failed"
    assert outcome["reason"] == ("refused (signature): too many signatures: 5 signatures, over the limit of 4 "
                                 "(trust.max_signatures)")
    assert count_canonical == [] and spy_read_profile == []


def test_the_document_is_canonicalised_once_for_all_its_signatures(backend, make_hub, fake_node, count_canonical):
    """Four signatures by the node's key, the first three not matching: one canonicalisation, the fourth wins."""
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    body = profile_bytes(sequence=2)
    kid, key = fake.keys.current
    stale = [sign_document(profile_bytes(sequence=n), key, kid, htu=fake.profile_url, sub="menara") for n in (7, 8, 9)]
    fake.profile = lambda h: h.send_body(200, body, signature=",".join([*stale, fake.signature_for(body)]))
    count_canonical.clear()

    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    assert len(count_canonical) == 1
    stored = versions(hub, "menara")[-1]
    assert "," not in stored.signature  # the signature that verified, which `hub verify` checks again
    assert [r["status"] for r in verify_versions(hub.db, "menara")] == ["ok", "ok"]


def test_verification_stops_at_its_time_budget(backend, make_hub, fake_node, spy_read_profile):
    """trust.verify_budget_s bounds the whole check of one registration or fetch (0 here: spent before the first
    signature)."""
    fake = fake_node(serve_json(profile_bytes()))
    hub = make_hub(overrides={"trust": {"verify_budget_s": 0}})
    with pytest.raises(ValidationError, match=r"signatures not checked within 0 s \(trust.verify_budget_s\)"):
        hub.nodes.register("menara", fake.url)
    hub.nodes.trust_limits = TrustLimits()  # registered with the default budget; the harvest keeps 0
    hub.nodes.register("menara", fake.url)
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["outcome"] == "failed"
    assert outcome["reason"] == ("refused (signature): verification budget spent: signatures not checked within "
                                 "0 s (trust.verify_budget_s)")
    assert spy_read_profile == [] and versions(hub, "menara") == []


def test_registration_refuses_a_signature_flood_on_the_discovery_document(backend, make_hub, fake_node,
                                                                          count_canonical):
    fake = fake_node(serve_json(profile_bytes()))

    def flooded(h: FakeHandler) -> None:
        doc = h.server.discovery_document()
        jws = sign_document(doc, *reversed(h.server.keys.current))
        raw_headers(h, 200, json.dumps(doc).encode(), [(SIGNATURE_HEADER, ",".join([jws] * 6))])

    fake.discovery = flooded
    hub = make_hub(overrides={"trust": {"max_signature_header_bytes": 100_000}})
    count_canonical.clear()
    with pytest.raises(ValidationError) as refused:
        hub.nodes.register("menara", fake.url)
    assert count_canonical == []  # refused on the count of signatures: none was checked
    assert "6 signatures, over the limit of 4 (trust.max_signatures)" in refused.value.message
    with hub.db.session() as session:
        assert session.get(NodeRecord, "menara") is None


def test_an_anonymous_join_with_a_signature_flood_is_refused_quickly(backend, make_hub, fake_node, serve,
                                                                     count_canonical):
    """The join endpoint over HTTP: a large discovery document (floats: the slow canonical form) with a thousand
    signatures by the node's own key id, all but the last not matching. The hub reads it through the same bounded
    check, answers 422 naming the limit within moments (not a thousand canonicalisations), and records nothing."""
    fake = fake_node(serve_json(profile_bytes()))

    def flooded(h: FakeHandler) -> None:
        doc = {**h.server.discovery_document(), "padding": [1.5] * 20_000}
        good = sign_document(doc, *reversed(h.server.keys.current))
        bad = sign_document({"other": 1}, *reversed(h.server.keys.current))
        raw_headers(h, 200, json.dumps(doc).encode(), [(SIGNATURE_HEADER, ",".join([bad] * 25))] * 39
                    + [(SIGNATURE_HEADER, ",".join([bad] * 24 + [good]))])

    fake.discovery = flooded
    hub = make_hub(overrides={"trust": {"max_signature_header_bytes": 10_000_000}})
    hub_url = serve(create_hub_app(hub=hub)).url
    kid, key = fake.keys.current
    request = requests.Request("POST", hub_url + "/api/v1/registrations", json={"node_url": fake.url}).prepare()
    sign_request(request, key, kid)
    count_canonical.clear()
    response = requests.Session().send(request, timeout=30)
    assert count_canonical == []  # not a thousand canonicalisations: none, the count of signatures refuses it
    assert response.status_code == 422, response.text
    assert "1000 signatures, over the limit of 4 (trust.max_signatures)" in response.json()["message"]
    with hub.db.session() as session:
        assert session.scalar(select(NodeRecord.id)) is None


def test_a_discovery_document_has_its_own_size_cap(backend, make_hub, fake_node):
    fake = fake_node(serve_json(profile_bytes()))

    def padded(h: FakeHandler) -> None:
        doc = h.server.discovery_document()
        doc["padding"] = "x" * 300_000
        h.send_body(200, json.dumps(doc).encode())

    fake.discovery = padded
    hub = make_hub()
    with pytest.raises(ValidationError, match="over the cap of 262144"):
        hub.nodes.register("menara", fake.url)


# -- A2: verify before reading ------------------------------------------------------------------------------------

def test_an_unsigned_huge_profile_is_refused_without_being_validated(backend, make_hub, fake_node, spy_read_profile):
    """200,000 empty members, unsigned (the member limit raised so that the signature is what refuses it): refused
    for its signature; the schema and the taxonomies never see it."""
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake, {"limits": {"max_members_per_profile": 1_000_000}})
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    spy_read_profile.clear()
    huge = body_of(document(sequence=2, members=[{}] * 200_000))
    fake.profile = lambda h: h.send_body(200, huge, signature=None)

    outcome = hub.harvester.harvest()["nodes"][0]
    assert (outcome["outcome"], outcome["reason"]) == ("failed", "refused (signature): unsigned")
    assert spy_read_profile == []
    other_key = KeyStore.load_or_create(fake.keys.folder.parent / "other-keys").current
    fake.profile = lambda h: h.send_body(200, huge, signature=fake.signature_for(huge, key=other_key))
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["reason"].startswith("refused (signature): unknown key id")
    assert spy_read_profile == []
    assert [v.sequence for v in versions(hub, "menara")] == [1]
    assert audit_actions(hub, "menara")[:2] == ["document.refused", "document.refused"]


# -- A3: versions move forward only -------------------------------------------------------------------------------

def test_an_older_signed_version_is_refused_and_the_current_one_stays(backend, make_hub, fake_node, tmp_path):
    fake = fake_node(serve_json(body_of(document(sequence=12))))
    hub = registered(make_hub, fake)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    # Sequence 3, freshly signed (what a replay within the freshness window, or a rolled-back node, serves).
    signed_profile(fake, body_of(document(sequence=3, members=[member_doc("old-1", AGRI_CODES[0])])))
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["outcome"] == "failed"
    assert outcome["reason"].startswith("refused (sequence): sequence 3 is lower than the current version's 12")
    # The same sequence with other bytes (another publication time): refused too.
    signed_profile(fake, body_of(document(sequence=12, members=[member_doc("fork-1", AGRI_CODES[0])],
                                          published_at=PUBLISHED_AT + timedelta(hours=1))))
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["reason"].startswith("refused (sequence): sequence 12 is the current version's, with other bytes")
    assert [v.sequence for v in versions(hub, "menara")] == [12]
    assert {m["id"] for m in hub.queries.cluster_members("menara")} == {"menara-0", "menara-1", "menara-2"}
    assert hub.queries.clusters()[0]["stale_since"] is not None  # marked stale, kept

    # A reinstalled node restarts at 1: the operator accepts it (CLI, audited), then the next good version counts.
    instance = hub.settings.instance_path
    (instance / "medmci.yaml").write_text(yaml.safe_dump({**TEST_SETTINGS, "database_url": hub.settings.database_url}))
    result = CliRunner().invoke(main, ["hub", "--instance", str(instance), "accept-sequence-reset", "menara"])
    assert result.exit_code == 0, result.output
    assert "the next good version may carry any sequence (current: 12)" in result.output
    assert audit_actions(hub, "menara")[0] == "sequence.reset_accepted"
    signed_profile(fake, body_of(document(sequence=1, members=[member_doc("new-1", AGRI_CODES[0])],
                                          published_at=PUBLISHED_AT + timedelta(days=1))))
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    assert [m["id"] for m in hub.queries.cluster_members("menara")] == ["new-1"]
    # The old members left the current view; the document does not say the node withdrew them (a 1.1 document):
    # the stored history is not rewritten.
    assert "sequence.reset_applied" in audit_actions(hub, "menara")
    assert "member.purged" not in audit_actions(hub, "menara")
    with hub.db.session() as session:
        assert session.get(NodeRecord, "menara").sequence_reset_at is None  # one reset, used once
    signed_profile(fake, body_of(document(sequence=0)))  # forward only again, from the new numbering
    assert hub.harvester.harvest()["nodes"][0]["reason"].startswith(
        "refused (sequence): sequence 0 is lower than the current version's 1")


# -- A4: per-node limits ------------------------------------------------------------------------------------------

def test_a_profile_over_the_member_limit_is_refused_before_its_signature(backend, make_hub, fake_node,
                                                                         spy_read_profile, count_canonical):
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake, {"limits": {"max_members_per_profile": 50}})
    signed_profile(fake, profile_bytes(members=[member_doc(f"m{i}", AGRI_CODES[0]) for i in range(51)]))
    count_canonical.clear()
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["outcome"] == "failed"
    assert outcome["reason"] == ("invalid profile: the profile lists 51 members, over the limit of 50 "
                                 "(limits.max_members_per_profile)")
    assert spy_read_profile == [] and count_canonical == []
    signed_profile(fake, profile_bytes(members=[member_doc(f"m{i}", AGRI_CODES[0]) for i in range(50)]))
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    assert len(hub.queries.cluster_members("menara")) == 50


def test_unknown_content_of_a_newer_minor_version_is_bounded(backend, make_hub, fake_node):
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake, {"limits": {"max_unknown_bytes": 10_000}})
    bulky = document(sequence=2, version="1.9", future={"blob": "x" * 20_000})
    signed_profile(fake, body_of(bulky))
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["outcome"] == "failed"
    assert "bytes in fields this software does not know, over the limit of 10000 (limits.max_unknown_bytes)" \
        in outcome["reason"]
    signed_profile(fake, body_of(document(sequence=3, version="1.9", future={"note": "small"})))
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"


def test_a_node_publishing_too_many_keys_is_refused_at_registration_and_at_refresh(backend, make_hub, fake_node,
                                                                                    tmp_path):
    spare = [public_jwk(KeyStore.load_or_create(tmp_path / f"k{i}").public_keys()[
        KeyStore.load_or_create(tmp_path / f"k{i}").current[0]]) for i in range(9)]
    fake = fake_node(serve_json(profile_bytes()))
    fake.extra_keys = spare
    hub = make_hub()
    with pytest.raises(ValidationError, match=r"publishes 10 keys, over the limit of 8 \(limits.max_keys_per_node\)"):
        hub.nodes.register("menara", fake.url)

    fake.extra_keys = []
    hub.nodes.register("menara", fake.url)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    # The node signs with a new key and publishes it among too many: the key refresh refuses them all.
    new_kid, new_key = KeyStore.load_or_create(tmp_path / "k0").current
    fake.extra_keys = spare
    fake.signing_key = (new_kid, new_key)
    signed_profile(fake, profile_bytes(sequence=2))
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["outcome"] == "failed"
    assert "publishes 10 keys, over the limit of 8 (limits.max_keys_per_node)" in outcome["reason"]
    with hub.db.session() as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "key.added",
                                                       AuditEvent.details["kid"].as_string() == new_kid)) is None


def test_stored_bytes_per_node_prune_the_oldest_superseded_versions(backend, make_hub, fake_node):
    first = profile_bytes(sequence=1)
    fake = fake_node(serve_json(first))
    hub = registered(make_hub, fake, {"limits": {"max_stored_bytes_per_node": int(len(first) * 3.5)}})
    for sequence in range(1, 7):
        signed_profile(fake, profile_bytes(sequence=sequence))
        assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    kept = versions(hub, "menara")
    assert [v.sequence for v in kept] == [4, 5, 6]
    assert sum(len(v.body) for v in kept) <= len(first) * 3.5
    assert hub.queries.clusters()[0]["version_id"] == kept[-1].id
    pruned = [e for e in hub.audit.events(action="version.pruned", node_id="menara")]
    assert len(pruned) == 3 and pruned[-1]["details"]["setting"] == "limits.max_stored_bytes_per_node"
    assert [r["status"] for r in verify_versions(hub.db, "menara")] == ["ok", "ok", "ok"]
    with hub.db.session() as session:
        assert all(a.version_id is None or a.version_id in {v.id for v in kept}
                   for a in session.scalars(select(FetchAttempt)))


def test_retention_never_drops_the_current_or_the_last_verified_version(backend, make_hub, fake_node):
    """A limit smaller than two versions: the current one and the one before it (the latest whose signature still
    verifies besides it) stay, whatever the limit says."""
    fake = fake_node(serve_json(profile_bytes(sequence=1)))
    hub = registered(make_hub, fake, {"limits": {"max_stored_bytes_per_node": 10}})
    for sequence in (1, 2, 3):
        signed_profile(fake, profile_bytes(sequence=sequence))
        assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    assert [v.sequence for v in versions(hub, "menara")] == [2, 3]


# -- A5: what PostgreSQL refuses and SQLite swallows --------------------------------------------------------------

HOSTILE_TEXT = [  # (field path in the document, value, what the reason says after "path: ")
    ("members.0.name", "Bad\x00Name", "control characters are not allowed (found U+0000)"),
    ("cluster.names.en", "Menara\x1b[31m", "control characters are not allowed (found U+001B)"),
    # Issue #8, finding 4: what registration refused, the harvest accepted (ESC, OSC, bidi overrides).
    ("cluster.names.en", "Evil \x1b[31mRED\x1b[0m \u202eeman", "(found U+001B)"),
    ("cluster.names.en", "Evil \u202eeman", "bidirectional formatting characters are not allowed (found U+202E"),
    ("members.0.name", "\x1b]0;owned\x07Qoot", "control characters are not allowed (found U+001B)"),
    ("members.0.name", "\x1b[2J", "(found U+001B)"),
    ("members.0.name", "Evil \u202eeman", "(found U+202E"),
    ("members.0.name", "Isolated \u2066x\u2069", "(found U+2066"),
    ("members.0.city", "Beirut\u202d", "(found U+202D"),
    ("members.0.contact.person", "Nadia \u202e", "(found U+202E"),
    ("members.0.name", "C1 \x9b31m", "(found U+009B)"),
    ("members.0.offers.0.text", "olive oil\x1b[2J", "control characters other than tab and line breaks"),
    ("cluster.website", "https://menara.example.org/" + "a" * 600, "Longer than maximum length 500."),
]


def _put(doc: dict, path: str, value) -> None:
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key, following in zip(keys, keys[1:]):
        if isinstance(doc, list):
            doc.extend({} for _ in range(key + 1 - len(doc)))
        elif doc.get(key) is None:
            doc[key] = [] if isinstance(following, int) else {}
        doc = doc[key]
    doc[keys[-1]] = value


@pytest.mark.parametrize("path, value, problem", HOSTILE_TEXT, ids=[f"{p}-{i}" for i, (p, *_) in
                                                                      enumerate(HOSTILE_TEXT)])
def test_control_characters_and_overlong_values_are_refused_at_validation(backend, path, value, problem, make_node,
                                                                         make_hub, serve, fake_node):
    """The harvest refuses the characters the node's API and registration refuse (federation.text), with a reason
    naming the field; nothing of the document is stored, and the other node's harvest goes on."""
    _app, qoot_url = real_node(make_node, serve)
    doc = document(sequence=2)
    _put(doc, path, value)
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake)
    hub.nodes.register("qoot", qoot_url)
    assert hub.harvester.harvest(["menara"])["nodes"][0]["outcome"] == "new_version"  # sequence 1, clean
    signed_profile(fake, body_of(doc))

    outcomes = by_node(hub.harvester.harvest())
    assert outcomes["qoot"]["outcome"] == "new_version"
    assert outcomes["menara"]["outcome"] == "failed"
    reason = outcomes["menara"]["reason"]
    assert reason.startswith("invalid profile: profile does not match the schema (" + path + ": "), reason
    assert problem in reason, reason
    assert [v.sequence for v in versions(hub, "menara")] == [1]
    assert all(c not in reason for c in "\x00\x1b\x07\x9b\u202e\u202d\u2066"), reason  # stored escaped
    served = json.dumps(hub.queries.cluster_members("menara"), ensure_ascii=False)
    assert value not in served and "Evil" not in served


def test_unsigned_header_values_are_bounded(backend, make_hub, fake_node):
    """An ETag over 200 characters and a Content-Type over 100 (no signature covers headers, and an unchanged body
    is not stored again): the hub neither stores nor sends back the ETag, keeps the media type, and the run
    finishes on both databases."""
    body = profile_bytes()
    long_etag = '"' + "e" * 300 + '"'

    def behaviour(h: FakeHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json; charset=utf-8; " + "x" * 120)
        h.send_header("ETag", long_etag)
        h.send_header("Last-Modified", "L" * 150)
        h.send_header(SIGNATURE_HEADER, h.server.signature_for(body))
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    fake = fake_node(behaviour)
    hub = registered(make_hub, fake)
    for expected in ("new_version", "unchanged"):
        report = hub.harvester.harvest()
        assert report["nodes"][0]["outcome"] == expected, report
    stored = versions(hub, "menara")[0]
    assert (stored.etag, stored.last_modified, stored.content_type) == (None, None, "application/json")
    with hub.db.session() as session:
        assert session.get(NodeRecord, "menara").etag is None
        assert session.scalar(select(HarvestRun.status).order_by(HarvestRun.id.desc()).limit(1)) == "finished"
    assert all("If-None-Match" not in headers for path, headers in fake.requests if path == fake.PROFILE_PATH)


def test_a_nodes_error_message_is_stored_escaped(backend, make_node, make_hub, serve, fake_node):
    """A node's error answer carries NUL and terminal escapes: the reason is kept with them escaped (PostgreSQL
    stores no NUL in text), and the other node's outcome is recorded."""
    _app, qoot_url = real_node(make_node, serve)
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake)
    hub.nodes.register("qoot", qoot_url)
    fake.profile = lambda h: h.send_body(503, json.dumps({"message": "down\u0000\u001b[2J"}).encode())
    outcomes = by_node(hub.harvester.harvest())
    assert outcomes["qoot"]["outcome"] == "new_version"
    assert outcomes["menara"]["reason"].endswith("answered HTTP 503 Service Unavailable: down\\x00\\x1b[2J")
    with hub.db.session() as session:
        assert session.get(NodeRecord, "menara").last_error == outcomes["menara"]["reason"]
        assert session.scalar(select(HarvestRun.status)) == "finished"


def test_a_storage_error_is_that_nodes_failed_fetch_and_the_run_finishes(backend, make_node, make_hub, serve,
                                                                        fake_node, monkeypatch):
    _app, qoot_url = real_node(make_node, serve)
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake)
    hub.nodes.register("qoot", qoot_url)
    real = store_module.HarvestStore._store_version

    def store_version(self, session, run_id, outcome, remember=True):
        if outcome.node_id == "menara":
            raise DataError("INSERT ...", {}, Exception("invalid byte sequence for encoding"))
        return real(self, session, run_id, outcome, remember)

    monkeypatch.setattr(store_module.HarvestStore, "_store_version", store_version)
    report = hub.harvester.harvest()
    outcomes = by_node(report)
    assert outcomes["qoot"]["outcome"] == "new_version"
    assert outcomes["menara"]["outcome"] == "failed"
    assert outcomes["menara"]["reason"].startswith("the hub could not store this fetch: Exception: invalid byte")
    assert {a.node_id: a.outcome for a in attempts(hub)} == {"qoot": "new_version", "menara": "failed"}
    assert versions(hub, "menara") == []
    with hub.db.session() as session:
        assert session.get(NodeRecord, "menara").health == "degraded"
        assert session.scalar(select(HarvestRun.status)) == "finished"


def test_quiet_outcomes_are_recorded_even_when_their_batch_fails(backend, make_node, make_hub, serve, fake_node,
                                                                 monkeypatch):
    _app, qoot_url = real_node(make_node, serve)
    fake = fake_node(serve_json(profile_bytes(), etag='"m1"'))
    hub = registered(make_hub, fake)
    hub.nodes.register("qoot", qoot_url)
    hub.harvester.harvest()

    def broken(self, run_id, outcomes):
        raise DataError("UPDATE nodes ...", {}, Exception("value too long for type character varying(200)"))

    monkeypatch.setattr(store_module.HarvestStore, "_record_quiet_together", broken)
    report = hub.harvester.harvest()
    assert {n["node_id"]: n["outcome"] for n in report["nodes"]} == {"qoot": "not_modified",
                                                                     "menara": "not_modified"}
    assert [a.outcome for a in attempts(hub)[-2:]] == ["not_modified", "not_modified"]


def test_a_run_that_stops_leaves_no_fetch_running(backend, make_node, make_hub, serve, fake_node):
    _app, qoot_url = real_node(make_node, serve)
    fake = fake_node(serve_json(profile_bytes(), etag='"m1"'))
    hub = registered(make_hub, fake)
    hub.nodes.register("qoot", qoot_url)

    def crash(_outcome):
        raise RuntimeError("the operator's terminal went away")

    with pytest.raises(RuntimeError):
        hub.harvester.harvest(progress=crash)
    rows = attempts(hub)
    assert len(rows) == 2 and "running" not in {a.outcome for a in rows}
    with hub.db.session() as session:
        run = session.scalar(select(HarvestRun))
        assert run.status == "failed" and "RuntimeError" in run.error


# -- A7: the small ones -------------------------------------------------------------------------------------------

def test_a_number_of_thousands_of_digits_is_an_invalid_profile(backend, make_hub, fake_node, caplog):
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake)
    body = body_of(document(sequence=2)).replace(b'"sequence": 2', b'"sequence": ' + b"9" * 5000)
    signed_profile(fake, body)
    with caplog.at_level("ERROR"):
        outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["reason"] == ("invalid profile: a number of 5000 digits is over the limit of 100 "
                                 "(limits.max_number_digits)")
    assert "unexpected error" not in caplog.text and "Traceback" not in caplog.text


def test_a_failed_redirect_names_the_redirect_target(backend, make_hub, fake_node):
    fake = fake_node(serve_json(profile_bytes()))
    hub = registered(make_hub, fake)
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    target = f"http://127.0.0.2:{sock.getsockname()[1]}"
    sock.close()
    fake.discovery = lambda h: h.send_body(302, b"", None, {"Location": target + DISCOVERY_PATH})
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["outcome"] == "failed"
    assert outcome["reason"].startswith(f"cannot connect to {target} (redirected from {fake.url})")


def test_serving_the_current_bytes_unsigned_does_not_make_the_node_healthy(backend, make_hub, fake_node):
    body = profile_bytes()
    fake = fake_node(serve_json(body))
    hub = registered(make_hub, fake)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    fake.profile = lambda h: h.send_response(500) or h.end_headers()
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "failed"

    fake.profile = lambda h: h.send_body(200, body, signature=None)  # the current bytes, no signature
    outcome = hub.harvester.harvest()["nodes"][0]
    assert (outcome["outcome"], outcome["reason"]) == ("failed", "refused (signature): unsigned")
    with hub.db.session() as session:
        node = session.get(NodeRecord, "menara")
        assert (node.health, node.consecutive_failures) == ("degraded", 2)

    fake.profile = serve_json(body)  # the same bytes, signed: unchanged, and healthy again
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "unchanged"
    with hub.db.session() as session:
        assert session.get(NodeRecord, "menara").health == "ok"


@pytest.mark.parametrize("case", ["oversized", "unsigned-structure", "stale"])
def test_a_join_is_refused_on_its_signature_alone_before_the_hub_fetches_anything(backend, make_hub, fake_node,
                                                                                   serve, case):
    """What a request signature says without a key (its size, its structure, its age) is checked before the hub
    reads the joining node's discovery document: a hostile client cannot make the hub connect anywhere."""
    fake = fake_node(serve_json(profile_bytes()))
    hub = make_hub()
    hub_url = serve(create_hub_app(hub=hub)).url
    kid, key = fake.keys.current
    request = requests.Request("POST", hub_url + "/api/v1/registrations", json={"node_url": fake.url}).prepare()
    sign_request(request, key, kid, created=int(datetime.now(timezone.utc).timestamp()) - 3600 if case == "stale"
                 else None)
    if case == "oversized":
        request.headers["Signature-Input"] = request.headers["Signature-Input"].replace(
            f'keyid="{kid}"', 'keyid="' + "k" * 5000 + '"')
    elif case == "unsigned-structure":
        request.headers["Signature-Input"] = 'medmci=("@method");created=1;keyid="x"'
    response = requests.Session().send(request, timeout=30)
    assert response.status_code == 401, response.text
    message = response.json()["message"]
    assert {"oversized": "request signature too large", "unsigned-structure": "does not cover @method/@target-uri",
            "stale": "request signature too old"}[case] in message
    assert len(response.content) < 1000
    assert fake.requests == []  # the node's discovery document was never asked for
    with hub.db.session() as session:
        assert session.scalar(select(NodeRecord.id)) is None


def test_the_hub_bounds_a_joins_signature_by_its_own_setting(backend, make_hub, fake_node, serve):
    """trust.max_request_signature_bytes is the hub's setting too: lowered below an honest signature's size, an
    honest join is refused on its size alone, before anything is fetched."""
    fake = fake_node(serve_json(profile_bytes()))
    hub = make_hub(overrides={"trust": {"max_request_signature_bytes": 100}})
    assert hub.nodes.trust_limits.max_request_signature_bytes == 100
    kid, key = fake.keys.current
    request = requests.Request("POST", "http://hub.example/api/v1/registrations",
                               json={"node_url": fake.url}).prepare()
    sign_request(request, key, kid)
    with pytest.raises(SignatureError, match="over the limit of 100"):
        hub.nodes.request_join(fake.url, "POST", request.url, request.headers, request.body)
    assert fake.requests == []
