"""The demo's Med-MCI method after the first harvest: step 1, then a pilot.

Two knowledge entities join directly: one runs a knowledge node (it asks to join like a cluster's node), the hub
hosts the other's profile and hands it a ``knowledge_member`` token to edit it with. The hub suggests whom to invite
to the agri-food meta-cluster, the hub team invites the best suggestions, and the invited entities answer with their
own credentials. Then the hub team runs a pilot on that meta-cluster: the clusters are invited and answer from their
nodes (a request signed with the node's key), the invited knowledge entities take part, the solver proposes working
teams, an activity and an outcome are recorded, and the report is written.

Every step goes over HTTP with the caller's own credentials, as in a real federation: the operator's token, the
hosted entity's token, the nodes' keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import requests

from .demo_benchmark import benchmark_sample
from .demo_funding import funding_sample
from .demo_matches import matches_sample
from .demo_members import NODE, member_services
from .demo_subclusters import subcluster_comparison
from .errors import FederationError, ValidationError
from .node.hub_answers import answer_invitation, answer_pilot
from .pilots.report import write_report
from .settings import read_yaml

#: The meta-cluster of the demo's pilot, and the pilot itself (seed 004: agri-food, the first meta-cluster).
PILOT_CHAIN = "agri-food"
PILOT = {"id": "agri-food-pilot", "name": "Mediterranean agri-food pilot",
         "goal": "Export-ready processing and packaging across Lebanon, Morocco, Spain and Latvia, with "
                 "the universities and technology centres that serve them"}
PILOT_COORDINATOR = "qoot"
#: How many of the ranked suggestions the hub team invites.
INVITED = 4
TIMEOUT_S = 60


@dataclass
class DemoStory:
    """What the story did: the suggestions and invitations, the pilot with its teams, and the report's files."""

    suggestions: list[dict] = field(default_factory=list)
    invitations: list[dict] = field(default_factory=list)
    #: The agri-food meta-cluster's scientific representation before the invitations and after the answers.
    before: dict | None = None
    after: dict | None = None
    pilots: list[dict] = field(default_factory=list)
    report_files: list[Path] = field(default_factory=list)
    #: The samples of the TechDays and Booster Track features, under their ``demo --json`` keys: ``matches``
    #: (demo_matches.py), ``subcluster_comparison`` (demo_subclusters.py), ``benchmark`` and ``freshness``
    #: (demo_benchmark.py), ``funding_calls`` (demo_funding.py), ``dormant`` and ``member_services`` (demo_members.py).
    samples: dict[str, Any] = field(default_factory=dict)


class HubCalls:
    """JSON calls to the demo's hub, each with one caller's token; a refusal stops the demo with the hub's reason."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False

    def __call__(self, method: str, path: str, token: str | None, body: Any = None, expect: int = 200) -> Any:
        response = self.session.request(method, self.url + path, json=body, timeout=TIMEOUT_S,
                                        headers={"Authorization": f"Bearer {token}"} if token else {})
        if response.status_code != expect:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise FederationError(f"demo: {method} {path} was refused ({response.status_code}): {message}")
        return response.json()

    def close(self) -> None:
        self.session.close()


def load_hosted(path: Path) -> dict:
    """A hosted entity's file (identity and knowledge block side by side) as the hub's create request."""
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not doc.get("id"):
        raise ValidationError(f"{path}: a hosted entity needs an id and its profile")
    identity = ("names", "country", "website", "value_chains", "description")
    block = {k: v for k, v in doc.items() if k not in identity and k not in ("id", "visibility")}
    return {"id": doc["id"], **{k: doc[k] for k in identity if k in doc}, "knowledge": block,
            "visibility": doc.get("visibility") or {}, "token_name": f"{doc['id']} (hosted)"}


def host_entities(call: HubCalls, operator: str, files: list[Path]) -> dict[str, str]:
    """The hub hosts each entity: the operator creates it (and its token), the entity then sets its own profile
    with that token. Returns each entity's key and token."""
    tokens = {}
    for path in files:
        request = load_hosted(path)
        created = call("POST", "/api/v1/knowledge/hosted", operator, request, expect=201)
        token = created["token"]
        # The entity edits its own profile (here: the same content, as it would after checking what the hub made).
        profile = {k: v for k, v in request.items() if k not in ("id", "token_name")}
        call("PUT", f"/api/v1/knowledge/hosted/{request['id']}", token, profile)
        tokens[created["key"]] = token
    return tokens


def run_story(federation, operator: str, hosted_tokens: dict[str, str], node_contexts: dict[str, Any],
              reports: Path) -> DemoStory:
    """Invitations to the agri-food meta-cluster, then its pilot (see the module's docstring)."""
    call = HubCalls(federation.hub_server.url)
    story = DemoStory()
    try:
        metacluster = f"mc-{PILOT_CHAIN}"
        story.before = call("GET", f"/api/v1/metaclusters/{metacluster}", operator)["scientific_representation"]
        story.suggestions = call("GET", f"/api/v1/metaclusters/{metacluster}/invitation-suggestions", operator)
        for position, suggestion in enumerate(story.suggestions[:INVITED]):
            invitation = call("POST", f"/api/v1/metaclusters/{metacluster}/invitations", operator,
                              {"entity": suggestion["entity"]}, expect=201)
            # The entity answers itself; in the demo the first ones accept and the last waits.
            if position < INVITED - 1:
                invitation = _answer(invitation, suggestion["entity"], hosted_tokens, node_contexts, call.url)
            story.invitations.append(_invitation(invitation, suggestion))
        story.after = call("GET", f"/api/v1/metaclusters/{metacluster}", operator)["scientific_representation"]
        # The entities that joined directly (they serve agri-food by their own profile) and the invitees that
        # accepted take part in the pilot.
        direct = sorted(set(hosted_tokens) | {n for n, c in node_contexts.items() if c.service.is_knowledge_node()})
        knowledge = direct + [i["entity"] for i in story.invitations if i["status"] == "accepted"]
        story.pilots.append(_pilot(call, operator, metacluster, node_contexts, knowledge))
        report = call("GET", f"/api/v1/pilots/{PILOT['id']}/report", operator)
        story.report_files = write_report(report, reports / PILOT["id"], ("html", "md"))
        story.pilots[-1]["report"] = [str(p) for p in story.report_files if p.suffix in (".html", ".md")]
        story.samples["matches"] = matches_sample(call, operator, node_contexts)
        story.samples["subcluster_comparison"] = subcluster_comparison(call, operator)
        story.samples.update(benchmark_sample(call, operator))
        story.samples["funding_calls"] = funding_sample(call, operator)
        story.samples.update(member_services(node_contexts[NODE]))
    finally:
        call.close()
    return story


def _answer(invitation: dict, key: str, hosted_tokens: dict[str, str], node_contexts: dict, hub_url: str) -> dict:
    """The invited entity accepts: a hosted entity with its own token, a knowledge node or a cluster's member with
    a request signed by its node's key. Unchanged when nobody in the demo speaks for it."""
    if key in hosted_tokens:
        call = HubCalls(hub_url)
        try:
            return call("POST", f"/api/v1/invitations/{invitation['id']}/answer", hosted_tokens[key],
                        {"answer": "accept"})
        finally:
            call.close()
    node_id = key.split("/", 1)[0]
    if node_id in node_contexts:
        return answer_invitation(node_contexts[node_id], invitation["id"], "accept", hub_url)
    return invitation


def _invitation(invitation: dict, suggestion: dict) -> dict:
    return {"id": invitation["id"], "entity": suggestion["entity"], "name": suggestion["name"],
            "kind": suggestion["kind"], "country": suggestion["country"], "score": suggestion["score"],
            "reason": "; ".join(suggestion["reasons"]), "fills": suggestion["fills"], "status": invitation["status"]}


def _pilot(call: HubCalls, operator: str, metacluster: str, node_contexts: dict, knowledge: list[str]) -> dict:
    pilot_id = PILOT["id"]
    call("POST", "/api/v1/pilots", operator, {**PILOT, "metacluster_id": metacluster,
                                               "coordinator": PILOT_COORDINATOR}, expect=201)
    document = call("GET", f"/api/v1/metaclusters/{metacluster}", operator)
    clusters = [c["node_id"] for c in document["clusters"] if c["node_id"] != PILOT_COORDINATOR]
    call("POST", f"/api/v1/pilots/{pilot_id}/participants", operator, {"kind": "cluster", "keys": clusters},
         expect=201)
    for node_id in clusters:  # each cluster answers from its own node, signed with the node's key
        answer_pilot(node_contexts[node_id], pilot_id, "accept", call.url)
    if knowledge:
        call("POST", f"/api/v1/pilots/{pilot_id}/participants", operator, {"kind": "knowledge", "keys": knowledge},
             expect=201)
    call("PATCH", f"/api/v1/pilots/{pilot_id}", operator, {"status": "active"})
    proposal = call("POST", f"/api/v1/pilots/{pilot_id}/teams/proposal", operator,
                    {"level": "clusters", "save": True})
    names = {p["key"]: p for p in call("GET", f"/api/v1/pilots/{pilot_id}", operator)["participants"]}
    everyone = sorted(names)
    today = date.today().isoformat()
    call("POST", f"/api/v1/pilots/{pilot_id}/activities", operator,
         {"date": today, "kind": "meeting", "title": "Kick-off and matchmaking session",
          "participants": everyone, "notes": "Teams formed; each team chose its first joint action."}, expect=201)
    call("POST", f"/api/v1/pilots/{pilot_id}/outcomes", operator,
         {"date": today, "kind": "mou", "title": "Memorandum of understanding on joint export promotion",
          "participants": [PILOT_COORDINATOR, *clusters[:2]]}, expect=201)
    teams = [{"name": t["name"], "score": t["score"], "reasons": t["reasons"],
              "members": [{k: m[k] for k in ("id", "name", "kind", "country", "region")} for m in t["members"]]}
             for t in proposal["teams"]]
    return {"id": pilot_id, "name": PILOT["name"], "metacluster": metacluster, "coordinator": PILOT_COORDINATOR,
            "status": "active", "participants": [names[k] for k in everyone], "teams": teams}
