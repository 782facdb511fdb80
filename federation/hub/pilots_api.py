"""The hub's pilots API: thin views over :class:`~federation.hub.pilots.PilotService` and
:class:`~federation.hub.pilot_work.PilotWork`.

Reads need ``federation:read``; the operator's writes ``pilots:write``. An invited cluster answers for itself only:
with a ``node_operator`` token bound to its node, or a request signed (RFC 9421) with its node's key, as a push
is (``notify()`` in federation/hub/api.py). That check runs before the body is parsed.
"""

from __future__ import annotations

from functools import wraps

from flask import make_response, request
from flask.views import MethodView

from ..errors import Forbidden, Unauthorized
from ..pilots.report import render_html
from ..signing.urls import received_url
from ..token_guard import current_principal, require
from ..tokens import ERROR_HEADERS_ATTRIBUTE, bearer_challenge
from ..web import Blueprint
from .api import LIST_PAGE, actor, hub, paged, window
from .pilot_schemas import (
    ActivityInSchema,
    ActivitySchema,
    AnswerSchema,
    InviteSchema,
    OutcomeInSchema,
    OutcomeSchema,
    ParticipantSchema,
    PilotCreateSchema,
    PilotReportSchema,
    PilotSchema,
    PilotStatusSchema,
    TeamEditSchema,
    TeamOutSchema,
    TeamProposalOutSchema,
    TeamProposalSchema,
    TeamsSaveSchema,
)

#: The HTML report loads nothing: its charts are data: URIs and its style is inline. Anything else is refused.
REPORT_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
                 "form-action 'none'; frame-ancestors 'none'")

pilots_bp = Blueprint("pilots", __name__, url_prefix="/api/v1/pilots",
                      description="Pilots: a formed meta-cluster taken forward, its participants, teams, activities "
                                  "and outcomes")


@pilots_bp.route("")
class Pilots(MethodView):
    @pilots_bp.response(200, PilotSchema(many=True))
    @pilots_bp.paginate(**LIST_PAGE)
    @require("federation:read")
    def get(self, pagination_parameters):
        """Pilots, newest first (paginated)"""
        return paged(pagination_parameters, hub().pilots.page(*window(pagination_parameters)))

    @pilots_bp.arguments(PilotCreateSchema)
    @pilots_bp.response(201, PilotSchema)
    @require("pilots:write")
    def post(self, data):
        """Create a pilot (proposed) from a formed meta-cluster, coordinated by one of its clusters; the meta-cluster's
        scientific-representation figures are kept as they are now"""
        return hub().pilots.create(data["id"], data["name"], data["goal"], data["metacluster_id"],
                                   data["coordinator"], actor(), data["team_constraints"])


@pilots_bp.route("/<pilot_id>")
class PilotView(MethodView):
    @pilots_bp.response(200, PilotSchema)
    @require("federation:read")
    def get(self, pilot_id):
        """One pilot, with its participants"""
        return hub().pilots.get(pilot_id)

    @pilots_bp.arguments(PilotStatusSchema)
    @pilots_bp.response(200, PilotSchema)
    @require("pilots:write")
    def patch(self, data, pilot_id):
        """Change the status: proposed -> active -> closed (409 for anything else)"""
        return hub().pilots.set_status(pilot_id, data["status"], actor())


@pilots_bp.route("/<pilot_id>/participants")
class Participants(MethodView):
    @pilots_bp.response(200, ParticipantSchema(many=True))
    @require("federation:read")
    def get(self, pilot_id):
        """The participants and their answers"""
        return hub().pilots.participants(pilot_id)

    @pilots_bp.arguments(InviteSchema)
    @pilots_bp.response(201, ParticipantSchema(many=True))
    @require("pilots:write")
    def post(self, data, pilot_id):
        """Invite clusters of the meta-cluster, or add knowledge entities serving it (all or none)"""
        return hub().pilots.invite(pilot_id, data["kind"], data["keys"], actor())


def cluster_itself(view):
    """Only the invited cluster answers: a request signed with its node's key, or its node_operator token. Checked
    before flask-smorest parses the body (this decorator sits above ``arguments``)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        key = kwargs["key"]
        if "Signature" in request.headers or "Signature-Input" in request.headers:
            node_id = hub().nodes.resolve_id(key)
            hub().nodes.verify_node_request(node_id, request.method, received_url(request), request.headers,
                                            request.get_data())
            return view(*args, **{**kwargs, "key": node_id, "answered_by": f"node:{node_id}"})
        principal = current_principal()
        if principal.is_anonymous:
            exc = Unauthorized("only the invited cluster answers: send its node_operator token, or sign the request "
                               "with its node's key")
            setattr(exc, ERROR_HEADERS_ATTRIBUTE, bearer_challenge())
            raise exc
        if principal.node_id is None:
            raise Forbidden(f"token '{principal.name}' ({principal.role}) speaks for no cluster: only the invited "
                            f"cluster answers, with a token bound to its node or its node's signature")
        node_id = hub().nodes.resolve_id(key)
        if principal.node_id != node_id:
            raise Forbidden(f"token '{principal.name}' is bound to node '{principal.node_id}', not '{node_id}': a "
                            f"cluster answers for itself only")
        return view(*args, **{**kwargs, "key": node_id, "answered_by": f"{principal.role}:{principal.name}"})

    return guarded


@pilots_bp.route("/<pilot_id>/participants/<key>/answer", methods=["POST"])
@pilots_bp.doc(security=[{"bearerAuth": ["federation:read"]}, {"httpSignature": []}],
               responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"})
@cluster_itself
@pilots_bp.arguments(AnswerSchema)
@pilots_bp.response(200, ParticipantSchema)
def answer(data, pilot_id, key, answered_by):
    """An invited cluster accepts or declines (key: its hub node id or cluster id). Only the cluster itself: a
    node_operator token bound to its node, or a request signed (RFC 9421) with its node's key"""
    return hub().pilots.answer(pilot_id, key, data["answer"], answered_by)


@pilots_bp.route("/<pilot_id>/teams")
class Teams(MethodView):
    @pilots_bp.response(200, TeamOutSchema(many=True))
    @require("federation:read")
    def get(self, pilot_id):
        """The working teams, by name, with their edit history"""
        return hub().pilot_work.teams(pilot_id)

    @pilots_bp.arguments(TeamsSaveSchema)
    @pilots_bp.response(201, TeamOutSchema(many=True))
    @require("pilots:write")
    def post(self, data, pilot_id):
        """Save teams (all or none); every member must take part in the pilot"""
        return hub().pilot_work.save_teams(pilot_id, data["teams"], actor())


@pilots_bp.route("/<pilot_id>/teams/proposal", methods=["POST"])
@require("pilots:write")
@pilots_bp.arguments(TeamProposalSchema)
@pilots_bp.response(200, TeamProposalOutSchema)
def propose_teams(data, pilot_id):
    """Propose working teams (hook medmci_form_teams) of the accepted clusters or their members, and the knowledge
    participants, meeting the constraints, each with its reasons; save: true stores them (all or none). 409/422 with
    the reason when no teams can meet the constraints, nothing stored"""
    return hub().pilot_teams.propose(pilot_id, data["level"], data["constraints"], data["save"], actor())


@pilots_bp.route("/<pilot_id>/report", methods=["GET"])
@require("federation:read")
@pilots_bp.response(200, PilotReportSchema)
def report(pilot_id):
    """The pilot's report as data: from its meta-cluster to its outcomes, with the scientific-representation
    figures at the start and now (the HTML rendering is at report.html)"""
    return hub().pilots.report_data(pilot_id)


@pilots_bp.route("/<pilot_id>/report.html", methods=["GET"])
@require("federation:read")
@pilots_bp.doc(responses={"200": {"description": "The report as one self-contained HTML page (charts embedded)",
                                  "content": {"text/html": {"schema": {"type": "string"}}}},
                          "404": "NOT_FOUND"})
def report_html(pilot_id):
    """The pilot's report as one self-contained HTML page; its Content-Security-Policy forbids every external
    resource"""
    response = make_response(render_html(hub().pilots.report_data(pilot_id)))
    response.content_type = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = REPORT_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@pilots_bp.route("/<pilot_id>/teams/<name>")
class TeamView(MethodView):
    @pilots_bp.arguments(TeamEditSchema)
    @pilots_bp.response(200, TeamOutSchema)
    @require("pilots:write")
    def patch(self, data, pilot_id, name):
        """Add or remove members, or rename the team; the edit is kept in its history"""
        return hub().pilot_work.edit_team(pilot_id, name, actor(), data["add"], data["remove"], data["rename"])


@pilots_bp.route("/<pilot_id>/activities")
class Activities(MethodView):
    @pilots_bp.response(200, ActivitySchema(many=True))
    @require("federation:read")
    def get(self, pilot_id):
        """Activities, by date"""
        return hub().pilot_work.activities(pilot_id)

    @pilots_bp.arguments(ActivityInSchema)
    @pilots_bp.response(201, ActivitySchema)
    @require("pilots:write")
    def post(self, data, pilot_id):
        """Record an activity of participants of the pilot"""
        return hub().pilot_work.add_activity(pilot_id, data["date"], data["kind"], data["title"],
                                             data["participants"], actor(), data["notes"])


@pilots_bp.route("/<pilot_id>/outcomes")
class Outcomes(MethodView):
    @pilots_bp.response(200, OutcomeSchema(many=True))
    @require("federation:read")
    def get(self, pilot_id):
        """Outcomes, by date"""
        return hub().pilot_work.outcomes(pilot_id)

    @pilots_bp.arguments(OutcomeInSchema)
    @pilots_bp.response(201, OutcomeSchema)
    @require("pilots:write")
    def post(self, data, pilot_id):
        """Record an outcome of participants of the pilot"""
        return hub().pilot_work.add_outcome(pilot_id, data["date"], data["kind"], data["title"],
                                            data["participants"], actor(), data["link"])
