"""Member self-service at the node (federation/node/self_service.py), over real HTTP on SQLite and PostgreSQL: the
admin makes a one-time link, the member reads and updates its own record with it alone, and every way of misusing
a link is refused with a clear error and changes nothing."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import update

from federation.node.models import MemberLink
from tests.support.builders import cluster_doc, load_node, member_doc, node_instance

EMAIL = {"email": "contact@chateau-qoot.example"}


@pytest.fixture
def node(make_node, serve):
    """A served node with two members: ``(app, base URL, admin session)``."""
    def make(overrides: dict | None = None):
        app = make_node("qoot", overrides)
        load_node(app, cluster_doc(), [member_doc("qoot-wine", "nace-rev2:11.02", name="Chateau Qoot", contact=EMAIL),
                                       member_doc("qoot-oil", "nace-rev2:10.41", name="Qoot Olive Oil")])
        url = serve(app).url
        admin = requests.Session()
        admin.trust_env = False
        admin.headers["Authorization"] = "Bearer " + app.extensions["medmci"].tokens.create("mgr", "node_admin")[1]
        return app, url, admin
    return make


def anonymous() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def sequence(app) -> int:
    return app.extensions["medmci"].service.publication("public").sequence


def make_link(admin, url: str, member_id: str = "qoot-wine", **body) -> dict:
    answer = admin.post(f"{url}/api/v1/members/{member_id}/links", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_member_reads_and_updates_its_record_once_with_its_link(node):
    app, url, admin = node()
    link = make_link(admin, url, expires_in_days=2)
    assert link["url"] == f"{url}/api/v1/self-service/{link['token']}"
    assert link["delivery"] is None  # not asked to be sent
    member = anonymous()
    record = member.get(link["url"], timeout=10)
    assert record.status_code == 200, record.text
    assert record.json()["member"]["name"] == "Chateau Qoot"
    assert "name" in record.json()["editable"] and "activities" not in record.json()["editable"]
    before = sequence(app)

    update_ = member.put(link["url"], json={"name": "Château Qoot", "city": "Zahle",
                                            "contact": {**EMAIL, "phone": "+961 8 123 456"},
                                            "contact_visibility": {"email": "federation"}}, timeout=10)
    assert update_.status_code == 200, update_.text
    result = update_.json()
    assert result["changed"] == ["city", "contact", "contact_visibility", "last_active", "name"]
    assert result["member"]["name"] == "Château Qoot" and result["member"]["city"] == "Zahle"
    assert result["member"]["last_active"] == datetime.now(UTC).date().isoformat()  # an update is activity
    # A new profile version, published with the new name.
    assert result["published"] and sequence(app) == before + 1
    profile = json.loads(member.get(f"{url}/api/v1/profile", timeout=10).content)
    assert {m["id"]: m["name"] for m in profile["members"]}["qoot-wine"] == "Château Qoot"
    # The audit log names the member and the link, and what changed.
    event, = app.extensions["medmci"].hubs.audit.events("member.updated")
    assert event["actor"] == f"member:qoot-wine via link {link['link_id']}"
    assert event["details"]["changed"]["name"] == {"from": "Chateau Qoot", "to": "Château Qoot"}
    assert event["details"]["changed"]["city"] == {"from": "Beirut", "to": "Zahle"}

    # Used up: a second update, or even a read, is refused, and nothing changes.
    again = member.put(link["url"], json={"name": "Someone Else"}, timeout=10)
    assert again.status_code == 409 and "was used on" in again.json()["message"]
    assert member.get(link["url"], timeout=10).status_code == 409
    assert app.extensions["medmci"].service.get_member("qoot-wine")["name"] == "Château Qoot"
    assert sequence(app) == before + 1
    listed, = admin.get(f"{url}/api/v1/members/qoot-wine/links", timeout=10).json()
    assert (listed["link_id"], listed["state"], listed["created_by"]) == (link["link_id"], "used", "admin:mgr")


def test_an_invalid_update_changes_nothing_and_leaves_the_link_usable(node):
    app, url, admin = node()
    link = make_link(admin, url)
    before = (sequence(app), app.extensions["medmci"].service.get_member("qoot-wine"))
    for body, field in (({"kind": "university"}, "kind"),                 # not a member's to change
                        ({"activities": []}, "activities"),
                        ({"contact": {"email": "not an address"}}, "contact"),
                        ({"visibility": "everyone"}, "visibility"),
                        ({"offers": [{"text": "Wine", "codes": [{"scheme": "nace-rev2", "code": "99.99"}]}]},
                         "offers"),
                        ({"last_active": "2099-01-01"}, "last_active")):  # "active" for years to come
        answer = anonymous().put(link["url"], json=body, timeout=10)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.json()["errors"], answer.json()
    assert (sequence(app), app.extensions["medmci"].service.get_member("qoot-wine")) == before
    assert app.extensions["medmci"].hubs.audit.events("member.updated") == []
    assert anonymous().put(link["url"], json={"status": "active"}, timeout=10).status_code == 200  # still usable


def test_an_expired_link_and_a_tampered_one_are_refused(node):
    app, url, admin = node()
    expired, good = make_link(admin, url), make_link(admin, url)
    with app.extensions["medmci"].db.session() as session:  # as if its week had passed
        session.execute(update(MemberLink).where(MemberLink.id == expired["link_id"])
                        .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    for method in ("get", "put"):
        answer = anonymous().request(method, expired["url"], json={"city": "Tyre"}, timeout=10)
        assert answer.status_code == 410 and "expired on" in answer.json()["message"], answer.text
    token = good["token"]
    # A character of the signed value changed (the last character of a base64 text may carry unused bits only).
    tampered = token[:3] + ("A" if token[3] != "A" else "B") + token[4:]
    for candidate in (tampered, "not-a-link", good["token"].split(".")[0] + ".x"):
        answer = anonymous().put(f"{url}/api/v1/self-service/{candidate}", json={"city": "Tyre"}, timeout=10)
        assert answer.status_code == 403, answer.text
        assert "not valid" in answer.json()["message"]
    assert app.extensions["medmci"].service.get_member("qoot-wine")["city"] == "Beirut"
    assert anonymous().get(good["url"], timeout=10).status_code == 200  # the good one is untouched


def test_two_uses_at_once_apply_once(node):
    app, url, admin = node()
    link = make_link(admin, url)

    def use(city: str) -> int:
        return anonymous().put(link["url"], json={"city": city}, timeout=20).status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(use, ["Tyre", "Sidon"]))
    assert codes == [200, 409]
    assert len(app.extensions["medmci"].hubs.audit.events("member.updated")) == 1
    assert app.extensions["medmci"].service.get_member("qoot-wine")["city"] in ("Tyre", "Sidon")


def test_links_are_bounded_rate_limited_and_sent_by_mail(node):
    app, url, admin = node({"rate_limits": {"self_service": "3 per hour"},
                            "members": {"self_service": {"max_body_bytes": 300, "max_open_links": 2}}})
    link = make_link(admin, url, send=True)
    assert link["delivery"]["state"] == "sent" and link["delivery"]["to"] == EMAIL["email"]
    mail, = (app.extensions["medmci"].settings.instance_path / "mail").glob("*.eml")
    text = mail.read_text(encoding="utf-8")
    assert "To: contact@chateau-qoot.example" in text and link["url"] in text.replace("=\n", "")
    assert make_link(admin, url, "qoot-oil", send=True)["delivery"]["state"] == "no_address"
    make_link(admin, url)
    third = admin.post(f"{url}/api/v1/members/qoot-wine/links", json={}, timeout=10)
    assert third.status_code == 409 and "max_open_links" in third.json()["message"]
    too_long = admin.post(f"{url}/api/v1/members/qoot-wine/links", json={"expires_in_days": 365}, timeout=10)
    assert too_long.status_code == 422
    big = anonymous().put(link["url"], data=json.dumps({"city": "x" * 400}), timeout=10,
                          headers={"Content-Type": "application/json"})
    assert big.status_code == 413  # refused before the rate limit counts it
    assert [anonymous().get(link["url"], timeout=10).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_the_managers_own_update_is_audited_with_its_token(node):
    app, url, admin = node()
    member = admin.get(f"{url}/api/v1/members/qoot-oil", timeout=10).json()
    answer = admin.put(f"{url}/api/v1/members/qoot-oil", json={**member, "city": "Saida"}, timeout=10)
    assert answer.status_code == 200, answer.text
    event, = app.extensions["medmci"].hubs.audit.events("member.updated")
    assert event["actor"] == "admin:mgr" and event["details"]["changed"] == {"city": {"from": "Beirut",
                                                                                     "to": "Saida"}}


def test_node_members_link_prints_the_url_once(runner, tmp_path, registry):
    from federation.cli import main

    instance = str(node_instance(tmp_path / "qoot", registry, public_url="http://127.0.0.1:5001"))
    made = runner.invoke(main, ["node", "--instance", instance, "members", "link", "lb-1", "--expires-in", "36h",
                                "--json"])
    assert made.exit_code == 0, made.output
    link = json.loads(made.output)
    assert link["url"].startswith("http://127.0.0.1:5001/api/v1/self-service/")
    listed = runner.invoke(main, ["node", "--instance", instance, "members", "links"])
    assert "lb-1" in listed.output and "open" in listed.output and link["token"] not in listed.output
    wrong = runner.invoke(main, ["node", "--instance", instance, "members", "link", "lb-1", "--expires-in", "a"])
    assert wrong.exit_code == 1 and "--expires-in 'a'" in wrong.output


def test_a_removed_members_links_die_with_it(node):
    """A member that left keeps its e-mail: its open link must not edit whoever later gets the same id (a new
    member created with it, or the id re-imported), by deletion or by an import that replaces the members."""
    app, url, admin = node()
    deleted, replaced = make_link(admin, url, "qoot-wine"), make_link(admin, url, "qoot-oil")
    assert admin.delete(f"{url}/api/v1/members/qoot-wine", timeout=10).status_code == 204
    service = app.extensions["medmci"].service
    service.import_members("id,name,kind,activities,city\nqoot-wine,Newcomer Wines,sme,nace-rev2:11.02,Zahle\n",
                           replace=True)  # qoot-oil removed, qoot-wine back as another organisation
    service.import_members("id,name,kind,activities,city\nqoot-wine,Newcomer Wines,sme,nace-rev2:11.02,Zahle\n"
                           "qoot-oil,Other Oil,sme,nace-rev2:10.41,Tyre\n")
    for link in (deleted, replaced):
        answer = anonymous().put(link["url"], json={"name": "Hijacked"}, timeout=10)
        assert answer.status_code == 410 and "expired on" in answer.json()["message"], answer.text
        assert anonymous().get(link["url"], timeout=10).status_code == 410
    assert {service.get_member(m)["name"] for m in ("qoot-wine", "qoot-oil")} == {"Newcomer Wines", "Other Oil"}
    states = {item["link_id"]: item["state"] for item in admin.get(f"{url}/api/v1/members/qoot-wine/links",
                                                                    timeout=10).json()}
    assert states == {deleted["link_id"]: "expired"}


@pytest.mark.parametrize("text", ["nan", "inf", "1e400d", "1e12"])
def test_an_expiry_that_is_no_duration_is_a_clear_error(text):
    from federation.errors import ValidationError
    from federation.node.self_service import parse_expiry

    with pytest.raises(ValidationError, match=f"--expires-in '{text}'"):
        parse_expiry(text)


def test_a_contact_email_carries_no_control_character(node):
    """A quoted local part is a valid address to the e-mail validator, escape sequences included: a member must not
    put an ESC (or a bidi override) in the To header of the node's mail, or in the profile the hub harvests."""
    app, url, admin = node()
    link = make_link(admin, url)
    for email in ('"a\x1b[31mb"@chateau-qoot.example', '"a\u202eb"@chateau-qoot.example'):
        answer = anonymous().put(link["url"], json={"contact": {"email": email}}, timeout=10)
        assert answer.status_code == 422, answer.text
        assert "not allowed" in json.dumps(answer.json()["errors"]["contact"]["email"])
    assert app.extensions["medmci"].service.get_member("qoot-wine")["contact"]["email"] == EMAIL["email"]
