"""The hub's matchmaking API: partner suggestions and meeting intents (thin views over
:class:`~federation.hub.matching.MatchService` and :class:`~federation.hub.meetings.MeetingService`).

Suggestions and the meeting counts are open reads: an anonymous reader sees what involves public members only, a
``federation:read`` token everything. A node acts for its own members only (``node_itself``): a request signed
with its node's key (as ``answer_pilot()`` in federation/node/hub_answers.py signs), or a ``node_operator`` token
bound to it; the operator (``matches:write``, an event organiser) may act for any node. For a meeting, the acting
node must also be on the side the action belongs to (the partner's node accepts). Both are checked before the body
is parsed.
"""

from __future__ import annotations

from functools import wraps

from flask import request
from flask.views import MethodView

from ..errors import Forbidden, NotFound, Unauthorized
from ..signing.urls import received_url
from ..token_guard import current_principal, require
from ..tokens import ERROR_HEADERS_ATTRIBUTE, bearer_challenge
from ..web import Blueprint
from .api import LIST_PAGE, OPTIONAL_READER, federation_reader, hub, paged, window
from .match_schemas import (
    MatchesSchema,
    MatchQuerySchema,
    MeetingActionSchema,
    MeetingCreateSchema,
    MeetingQuerySchema,
    MeetingSchema,
    MeetingStatsSchema,
)
from .meetings import ACTIONS

#: The operator's scope for acting for any node (an event organiser recording meetings).
WRITE_SCOPE = "matches:write"
NODE_ACTS = [{"httpSignature": []}, {"bearerAuth": ["push:write"]}, {"bearerAuth": [WRITE_SCOPE]}]

matches_bp = Blueprint("matches", __name__, url_prefix="/api/v1/matches",
                       description="Cross-border partner suggestions with their reasons, and meeting intents")


def node_itself(view):
    """Only the node itself acts for its members (see the module docstring); for a meeting, only a node on the
    action's side. Checked before flask-smorest parses the body (this decorator sits above ``arguments``)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        node_id = hub().nodes.resolve_id(kwargs["node"])
        if "Signature" in request.headers or "Signature-Input" in request.headers:
            hub().nodes.verify_node_request(node_id, request.method, received_url(request), request.headers,
                                            request.get_data())
            by = f"node:{node_id}"
        else:
            principal = current_principal()
            if principal.is_anonymous:
                exc = Unauthorized(f"only node {node_id!r} acts for its members: sign the request with its key, or "
                                   f"send its node_operator token")
                setattr(exc, ERROR_HEADERS_ATTRIBUTE, bearer_challenge())
                raise exc
            if principal.node_id != node_id and not (principal.node_id is None and principal.has(WRITE_SCOPE)):
                bound = (f"is bound to node '{principal.node_id}'" if principal.node_id else
                         f"({principal.role}) lacks scope '{WRITE_SCOPE}'")
                raise Forbidden(f"token '{principal.name}' {bound}: a node acts for its own members only, not "
                                f"for node '{node_id}'")
            by = f"{principal.role}:{principal.name}"
        if "meeting_id" in kwargs:
            if kwargs["action"] not in ACTIONS:
                raise NotFound(f"no action {kwargs['action']!r} (one of {', '.join(ACTIONS)})")
            hub().meetings.check_side(hub().meetings.get(kwargs["meeting_id"]), kwargs["action"], node_id)
        return view(*args, **{**kwargs, "node": node_id, "by": by})

    return guarded


@matches_bp.route("")
class Matches(MethodView):
    @matches_bp.arguments(MatchQuerySchema, location="query")
    @matches_bp.response(200, MatchesSchema)
    @matches_bp.doc(security=OPTIONAL_READER)
    def get(self, query):
        """Partner suggestions in other countries, best first, grouped by member: of one member (member=NODE/ID),
        of a cluster's members (cluster=ID) or of a meta-cluster's (metacluster=ID); each with its score, the
        partner (cluster, country, name, kind) and the reasons. Never a contact field; an anonymous reader sees
        only suggestions between public members"""
        subject = next(name for name in ("member", "cluster", "metacluster") if name in query)
        return hub().matches.suggestions(subject, query[subject], federation_reader(), query.get("country"),
                                         query.get("limit"), query["page"], query.get("page_size"))


@matches_bp.route("/meetings/stats", methods=["GET"])
@matches_bp.response(200, MeetingStatsSchema)
@matches_bp.doc(security=OPTIONAL_READER)
def meeting_stats():
    """Meetings initiated (requested), accepted and held, in all and per country pair; an anonymous reader's
    counts leave out intents that involved a federation-only member"""
    return hub().meetings.stats(federation_reader())


@matches_bp.route("/meetings", methods=["GET"])
@matches_bp.arguments(MeetingQuerySchema, location="query")
@matches_bp.response(200, MeetingSchema(many=True))
@matches_bp.paginate(**LIST_PAGE)
@require("federation:read")
def meetings(query, pagination_parameters):
    """Every meeting intent, newest first (paginated)"""
    return paged(pagination_parameters, hub().meetings.page(None, query.get("state"), *window(pagination_parameters)))


@matches_bp.route("/nodes/<node>/meetings")
class NodeMeetings(MethodView):
    @matches_bp.doc(security=NODE_ACTS, responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"})
    @node_itself
    @matches_bp.arguments(MeetingQuerySchema, location="query")
    @matches_bp.response(200, MeetingSchema(many=True))
    @matches_bp.paginate(**LIST_PAGE)
    def get(self, query, pagination_parameters, node, by):
        """The meeting intents of a node's members, either side, newest first (paginated)"""
        return paged(pagination_parameters, hub().meetings.page(node, query.get("state"),
                                                                *window(pagination_parameters)))

    @matches_bp.doc(security=NODE_ACTS, responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"})
    @node_itself
    @matches_bp.arguments(MeetingCreateSchema)
    @matches_bp.response(201, MeetingSchema)
    def post(self, data, node, by):
        """One of the node's members marks a partner as interesting (state interested) or requests a meeting
        (requested, the default); a request after an interest moves it on. 409 for a second open intent"""
        return hub().meetings.create(f"{node}/{data['member']}", data["partner"], data["state"], by, data["note"],
                                     acting_node=node)


@matches_bp.route("/nodes/<node>/meetings/<int:meeting_id>/<action>", methods=["POST"])
@matches_bp.doc(security=NODE_ACTS, responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN", "404": "NOT_FOUND",
                                               "409": "CONFLICT"})
@node_itself
@matches_bp.arguments(MeetingActionSchema, required=False)
@matches_bp.response(200, MeetingSchema)
def meeting_action(data, node, meeting_id, action, by):
    """Move a meeting on: request (the member's node), accept or decline (the partner's node), held or cancel
    (either). 409 with the reason for a move its state does not allow"""
    return hub().meetings.act(meeting_id, action, by, node, (data or {}).get("note"))
