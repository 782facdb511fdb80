"""Announcements from a node to its members (federation/node/announcements.py, recipients.py) and the mail senders
that deliver them (federation/mail.py, plugins/mail_senders.py): recipients by value chain and sub-cluster as the
hub's formation places them, the file sender's .eml files over the node's HTTP API, a failure recorded per
recipient, a third-party sender plugin, and SMTP against a tiny in-process server."""

from __future__ import annotations

import dataclasses
import json
import socketserver
import threading

import pytest
import requests

from federation import Delivery, MailMessage
from federation.errors import ValidationError
from federation.mail import Mailer
from federation.node.app import Node
from federation.node.recipients import Audience, select_recipients
from federation.settings import deep_merge
from plugins.mail_senders import SmtpSender
from tests.support.builders import cluster_doc, load_node, member_doc, node_instance
from tests.support.environment import TEST_SETTINGS
from tests.support.servers import closed_port_url

CLUSTER = cluster_doc()  # qoot, claims agri-food
MEMBERS = [
    member_doc("wine", "nace-rev2:11.02", name="Chateau Qoot", contact={"email": "wine@qoot.example"}),
    member_doc("biscuits", "nace-rev2:10.82", name="Qoot Biscuits", contact={"email": "biscuits@bounce.example"}),
    member_doc("grapes", "nace-rev2:01.21", name="Bekaa Vineyards", visibility="private"),
    member_doc("uni", "nace-rev2:85.42", kind="university", name="Qoot University",
               contact={"email": "tto@uni.example"}),
    member_doc("chips", "nace-rev2:26.11", name="Qoot Chips Factory"),  # electronics: on no agri-food stage
]


def test_recipients_are_placed_as_the_hub_places_them(registry):
    wine = select_recipients(Audience("agri-food", "wine"), registry, CLUSTER, MEMBERS)
    assert list(wine) == ["grapes", "wine"]  # private members are members too
    assert wine["wine"].startswith("sub-cluster wine of agri-food")
    chain = select_recipients(Audience("agri-food"), registry, CLUSTER, MEMBERS)
    assert list(chain) == ["biscuits", "grapes", "uni", "wine"]
    assert chain["uni"].startswith("serves agri-food")
    assert list(select_recipients(Audience(subcluster="wine"), registry, CLUSTER, MEMBERS)) == ["grapes", "wine"]
    assert list(select_recipients(Audience(), registry, CLUSTER, MEMBERS)) == sorted(m["id"] for m in MEMBERS)
    assert list(select_recipients(Audience("electronics"), registry, CLUSTER, MEMBERS)) == ["chips"]


def test_an_unknown_chain_or_sub_cluster_is_refused_naming_the_known_ones(registry):
    with pytest.raises(ValidationError) as chain:
        select_recipients(Audience("agri-fud"), registry, CLUSTER, MEMBERS)
    assert "agri-food" in chain.value.errors["chain"][0]
    with pytest.raises(ValidationError) as sub:
        select_recipients(Audience("agri-food", "whine"), registry, CLUSTER, MEMBERS)
    assert "known: " in sub.value.errors["subcluster"][0] and "wine" in sub.value.errors["subcluster"][0]


def test_an_announcement_to_a_sub_cluster_is_recorded_and_written_as_eml_files(make_node, serve):
    app = make_node("qoot")
    load_node(app, CLUSTER, MEMBERS)
    node = app.extensions["medmci"]
    url = serve(app).url
    admin = requests.Session()
    admin.trust_env = False
    admin.headers["Authorization"] = "Bearer " + node.tokens.create("mgr", "node_admin")[1]
    body = {"title": "Harvest fair in Zahle", "body": "Dear members,\nthe wine fair opens on 3 May.\n",
            "chain": "agri-food", "subcluster": "wine", "send": True}
    answer = admin.post(f"{url}/api/v1/announcements", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert (made["recipients"], made["audience"], made["sender"]) == (2, {"chain": "agri-food",
                                                                          "subcluster": "wine"}, "file")
    assert {d["member_id"]: d["state"] for d in made["deliveries"]} == {"wine": "sent", "grapes": "no_address"}
    assert made["delivery_counts"] == {"no_address": 1, "sent": 1}
    eml, = (node.settings.instance_path / "mail").glob("*.eml")
    text = eml.read_text(encoding="utf-8")
    assert "To: wine@qoot.example" in text and "Subject: Harvest fair in Zahle" in text
    assert "the wine fair opens on 3 May." in text and f"X-Medmci-Announcement: {made['id']}" in text
    listed, = admin.get(f"{url}/api/v1/announcements", timeout=10).json()
    assert (listed["id"], listed["created_by"], listed["delivery_counts"]) == (made["id"], "admin:mgr",
                                                                               {"no_address": 1, "sent": 1})
    event, = node.hubs.audit.events("announcement.created")
    assert event["details"]["recipients"] == 2
    # Refused, with nothing recorded: a control character in the title, an unknown sub-cluster, too many members.
    for bad, status, field in (({**body, "title": "Fair\x1b[2J"}, 422, "title"),
                               ({**body, "subcluster": "whine"}, 422, "subcluster")):
        refused = admin.post(f"{url}/api/v1/announcements", json=bad, timeout=10)
        assert refused.status_code == status and field in refused.json()["errors"], refused.text
    node.announcements.limits = dataclasses.replace(node.announcements.limits, max_recipients=1)
    crowded = admin.post(f"{url}/api/v1/announcements", json={**body, "subcluster": None}, timeout=10)
    assert crowded.status_code == 409 and "mail.max_recipients" in crowded.json()["message"]
    assert len(admin.get(f"{url}/api/v1/announcements", timeout=10).json()) == 1


class Flaky:
    """A sender whose transport refuses one address (raises) and answers nonsense for another."""

    name = "flaky"

    def send(self, message: MailMessage) -> Delivery:
        if "bounce" in message.to:
            raise ConnectionRefusedError("[Errno 111] Connection refused")
        if message.to.startswith("tto@"):
            return "ok"  # type: ignore[return-value]  # not a Delivery: recorded as a failure
        return Delivery("sent", "fine")


def test_a_failing_sender_fails_that_recipient_only_and_the_announcement_can_be_sent_again(make_node):
    app = make_node("qoot")
    load_node(app, CLUSTER, MEMBERS)
    announcements = app.extensions["medmci"].announcements
    announcements.mailer = Mailer(Flaky(), "cluster@qoot.example")  # type: ignore[arg-type]
    made = announcements.create("Agri-food news", "Body", "agri-food", send=True, actor="test")
    states = {d["member_id"]: (d["state"], d["detail"]) for d in made["deliveries"]}
    assert states["wine"] == ("sent", "fine")
    assert states["biscuits"] == ("failed", "ConnectionRefusedError: [Errno 111] Connection refused")
    assert states["uni"][0] == "failed" and "not a Delivery" in states["uni"][1]
    assert states["grapes"] == ("no_address", "no contact e-mail: cannot be reached")
    announcements.mailer = Mailer(type("Fixed", (), {"name": "fixed", "send": lambda self, m: Delivery("sent")})(),
                                  "cluster@qoot.example")  # type: ignore[arg-type]
    again = announcements.send(made["id"])  # the failed ones only
    assert {d["member_id"]: d["state"] for d in again["deliveries"]} == \
        {"wine": "sent", "biscuits": "sent", "uni": "sent", "grapes": "no_address"}


def test_a_third_party_sender_plugin_is_chosen_by_mail_sender(tmp_path):
    from tests.plugins import outbox_mail

    settings = deep_merge(TEST_SETTINGS, {"plugins": {"extra": ["tests.plugins.outbox_mail"]},
                                          "mail": {"sender": "outbox"}})  # (on SQLite: the sender is the point)
    node = Node.build(tmp_path / "node", settings)
    try:
        load_node(type("App", (), {"extensions": {"medmci": node}})(), CLUSTER, MEMBERS)
        outbox_mail.OUTBOX.clear()
        made = node.announcements.create("Snacks", "Body", subcluster="snacks-confectionery", send=True)
        assert made["sender"] == "outbox"
        assert {d["member_id"]: d["state"] for d in made["deliveries"]} == {"biscuits": "failed"}
        assert "550 mailbox biscuits@bounce.example unavailable" in made["deliveries"][0]["detail"]
        link = node.self_service.create_link("wine", send=True)
        assert link["delivery"]["state"] == "sent"
        assert [m.to for m in outbox_mail.OUTBOX] == ["wine@qoot.example"] and link["url"] in outbox_mail.OUTBOX[0].body
    finally:
        node.close()
    with pytest.raises(Exception, match="mail.sender is 'pigeon', which no plugin provides"):
        Node.build(tmp_path / "other", deep_merge(settings, {"mail": {"sender": "pigeon"}}))


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every command accepted, the message kept."""

    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.strip().upper()
            if command.startswith(b"EHLO") or command.startswith(b"HELO"):
                self.wfile.write(b"250 test\r\n")
            elif command == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                data = []
                while (part := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(part)
                self.server.received.append(b"".join(data))  # type: ignore[attr-defined]
                self.wfile.write(b"250 queued\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                self.wfile.write(b"250 ok\r\n")


def test_smtp_sends_through_the_configured_server_and_a_refused_connection_is_a_failure():
    message = MailMessage("wine@qoot.example", "Fair", "Line one\nLine two\n", "cluster@qoot.example")
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpHandler) as server:
        server.received = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            sender = SmtpSender("127.0.0.1", server.server_address[1], False, "", "", 5)
            delivery = sender.send(message)
        finally:
            server.shutdown()
    assert delivery.state == "sent" and delivery.detail.startswith("accepted by 127.0.0.1:")
    received, = server.received  # type: ignore[attr-defined]
    assert b"To: wine@qoot.example" in received and b"Subject: Fair" in received and b"Line two" in received
    from federation.mail import deliver

    port = int(closed_port_url().rsplit(":", 1)[1])
    refused = deliver(SmtpSender("127.0.0.1", port, False, "", "", 2), message)
    assert refused.state == "failed" and "ConnectionRefusedError" in refused.detail
    assert SmtpSender("", 25, True, "", "", 2).send(message) == \
        Delivery("failed", "settings: mail.smtp.host is empty: set the SMTP server to send through")


def test_a_header_injection_through_a_title_is_refused_by_the_message():
    with pytest.raises(ValueError):
        bytes(MailMessage("a@b.example", "Hi\r\nBcc: all@x.example", "Body", "c@d.example").as_email())


def test_node_announce_sends_to_a_sub_cluster_from_the_command_line(runner, tmp_path, registry):
    from federation.cli import main

    instance = node_instance(tmp_path / "qoot", registry)
    body = tmp_path / "body.txt"
    body.write_text("The wine fair opens on 3 May.\n", encoding="utf-8")
    sent = runner.invoke(main, ["node", "--instance", str(instance), "announce", "--title", "Wine fair", "--body",
                                str(body), "--subcluster", "wine", "--send"])
    assert sent.exit_code == 0, sent.output
    assert "announcement 1 sent to wine: 1 member(s); 1 sent" in sent.output and "lb-1" in sent.output
    assert len(list((instance / "mail").glob("*.eml"))) == 1
    listed = json.loads(runner.invoke(main, ["node", "--instance", str(instance), "announcements", "list",
                                             "--json"]).output)
    assert [(a["id"], a["delivery_counts"]) for a in listed] == [(1, {"sent": 1})]
    unknown = runner.invoke(main, ["node", "--instance", str(instance), "announce", "--title", "x", "--body",
                                   str(body), "--chain", "agri-fud"])
    assert unknown.exit_code == 1 and "no value chain 'agri-fud'" in unknown.output


class Hanging:
    """A sender whose transport takes its whole timeout for each message (an SMTP server that never answers): each
    call moves the test's clock on by ``seconds``."""

    name = "hanging"

    def __init__(self, clock: list[float], seconds: float):
        self.clock, self.seconds, self.calls = clock, seconds, 0

    def send(self, message: MailMessage) -> Delivery:
        self.calls += 1
        self.clock[0] += self.seconds
        return Delivery("failed", "TimeoutError: timed out")


def test_a_send_stops_at_its_deadline_and_the_rest_is_sent_later(make_node):
    """mail.max_recipients (2000) times mail.smtp.timeout_s (10 s) would hold one request for hours: a send stops
    trying once mail.send_deadline_s has passed, and says so; the recipients left are not_sent, for a later send."""
    app = make_node("qoot", {"mail": {"send_deadline_s": 15}})
    load_node(app, CLUSTER, MEMBERS)
    announcements = app.extensions["medmci"].announcements
    clock = [1000.0]
    announcements.clock = lambda: clock[0]
    hanging = Hanging(clock, 10)
    announcements.mailer = Mailer(hanging, "cluster@qoot.example")  # type: ignore[arg-type]
    made = announcements.create("Agri-food news", "Body", send=True, actor="test")  # 3 of 5 with an address
    assert hanging.calls == 2  # at 0 s and 10 s, before the deadline; at 20 s no more
    states = {d["member_id"]: (d["state"], d["detail"]) for d in made["deliveries"]}
    assert [states[m][0] for m in ("biscuits", "uni", "wine")] == ["failed", "failed", "not_sent"]
    assert states["wine"][1] == ("not tried: the send took longer than mail.send_deadline_s (15 s); send the "
                                 "announcement again")
    announcements.mailer = Mailer(type("Fixed", (), {"name": "fixed", "send": lambda self, m: Delivery("sent")})(),
                                  "cluster@qoot.example")  # type: ignore[arg-type]
    again = announcements.send(made["id"])
    assert {d["member_id"]: (d["state"], d["detail"]) for d in again["deliveries"] if d["email"]} == \
        {"biscuits": ("sent", ""), "uni": ("sent", ""), "wine": ("sent", "")}
