"""The demo's sample of a cluster manager's work with its members, at the QOOT node: the members that need a nudge
most (dormant ones, with why), a one-time self-service link with which one of them confirms over the node's HTTP
API that it is active again, and an announcement to the wine sub-cluster, written as .eml files by the file sender.

:func:`member_services` returns the JSON-able dict (``demo --json`` keys ``dormant`` and ``member_services``);
:func:`render_member_services` prints it.
"""

from __future__ import annotations

from typing import Any

import requests

from .display import shown
from .errors import FederationError

#: The node, and the sub-cluster its announcement goes to (QOOT's wineries, seed 003).
NODE = "qoot"
CHAIN, SUBCLUSTER = "agri-food", "wine"
#: Dormant members the sample lists.
DORMANT_SHOWN = 5
MANAGER = "demo-manager"
ANNOUNCEMENT = ("Wine export mission: who is coming?",
                "Dear members,\n\nthe cluster is preparing a joint wine export mission with the federation's Spanish "
                "and Latvian partners. Reply to this message if your winery wants to take part.\n\nThe QOOT team\n")
TIMEOUT_S = 30


def member_services(node: Any) -> dict:
    """Run the sample on ``node`` (a served node's services: its activity, self-service links, announcements) and
    return ``{"dormant": [...], "member_services": {"link": {...}, "announcement": {...}}}``."""
    report = node.activity.nudges()
    dormant = [n for n in report["nudges"] if n["state"] == "dormant"]
    sample = [{"member_id": n["member_id"], "name": n["name"], "reasons": n["reasons"],
               "last_active": n["last_active"].isoformat() if n["last_active"] else None} for n in dormant]
    member = next((n for n in dormant if n["reachable"]), None)
    services: dict = {"node": NODE, "needs_nudge": report["needs_nudge"], "counts": report["counts"],
                      "unreachable": report["unreachable"]}
    if member is not None:
        services["link"] = _use_link(node, member["member_id"])
    announcement = node.announcements.create(*ANNOUNCEMENT, CHAIN, SUBCLUSTER, send=True, actor=MANAGER)
    services["announcement"] = {
        "id": announcement["id"], "title": announcement["title"], "audience": announcement["audience"],
        "sender": announcement["sender"], "delivery_counts": announcement["delivery_counts"],
        "recipients": [{"member_id": d["member_id"], "state": d["state"]} for d in announcement["deliveries"]],
        "folder": str(node.settings.instance_path / str(node.settings.get("mail.file_folder")))}
    return {"dormant": sample[:DORMANT_SHOWN], "member_services": services}


def _use_link(node: Any, member_id: str) -> dict:
    """The manager e-mails the member a link; the member reads its record and confirms it is active, over HTTP."""
    link = node.self_service.create_link(member_id, send=True, actor=MANAGER)
    session = requests.Session()
    session.trust_env = False
    try:
        record = session.get(link["url"], timeout=TIMEOUT_S)
        update = session.put(link["url"], json={"status": "active"}, timeout=TIMEOUT_S)
        again = session.put(link["url"], json={"status": "dormant"}, timeout=TIMEOUT_S)
    finally:
        session.close()
    if record.status_code != 200 or update.status_code != 200:
        raise FederationError(f"demo: the self-service link was refused ({record.status_code}, "
                              f"{update.status_code}): {update.text[:300]}")
    return {"member_id": member_id, "link_id": link["link_id"], "sent": (link["delivery"] or {}).get("state"),
            "status_before": record.json()["member"]["status"], "changed": update.json()["changed"],
            "published": update.json()["published"], "second_use": again.status_code}


def render_member_services(sample: dict) -> str:
    services = sample.get("member_services")
    if not services:
        return ""
    counts = ", ".join(f"{n} {state}" for state, n in services["counts"].items() if n)
    # An active member without a contact e-mail needs a nudge too: without it the counts do not add up.
    lines = ["", f"Members to nudge at {services['node']} ({counts}; {services['unreachable']} without a contact "
                 f"e-mail; {services['needs_nudge']} need a nudge), the dormant ones first:"]
    lines += [f"  {shown(d['member_id'])} {shown(d['name'])}: {shown('; '.join(d['reasons']))}"
              for d in sample["dormant"]]
    link = services.get("link")
    if link:
        lines.append(f"  Self-service link {link['link_id']} e-mailed to {shown(link['member_id'])} ({link['sent']}): "
                     f"the member confirmed it is active ({', '.join(link['changed'])} changed; new profile version: "
                     f"{'yes' if link['published'] else 'no'}); used again: HTTP {link['second_use']}")
    announcement = services["announcement"]
    states = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(announcement["delivery_counts"].items()))
    count = len(announcement["recipients"])
    lines.append(f"  Announcement \"{shown(announcement['title'])}\" to the {SUBCLUSTER} sub-cluster: "
                 f"{count} member{'' if count == 1 else 's'} ({states}); .eml files in {announcement['folder']}")
    return "\n".join(lines)
