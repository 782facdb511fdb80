"""The hub's knowledge API: hosted profiles, the knowledge-entity directory, invitation suggestions, invitations and
their answers. Thin views over :class:`~federation.hub.hosted.HostedProfiles`,
:class:`~federation.hub.knowledge.KnowledgeDirectory` and :class:`~federation.hub.invitations.InvitationService`.

Who may do what: the operator (``knowledge:write``) hosts profiles, invites and withdraws invitations; a hosted
entity reads and edits its own profile with its ``knowledge_member`` token (or the operator does); an invited entity
answers for itself only (:func:`entity_itself`): a hosted profile with its ``knowledge_member`` token, a knowledge
node with its ``node_operator`` token or a request signed with its node's key, a member of a cluster with that
cluster's ``node_operator`` token or signature. Both checks run before the body is parsed.

A hosted profile's document (``GET /api/v1/knowledge/hosted/<id>/profile``) is signed with the hub's key like the
catalogue: a detached JWS in ``Med-MCI-Signature`` whose protected header names the URL asked (``htu``, the hub's
own) and the entity (``sub``: ``hosted:<id>``). That envelope is what says the hub hosts it, with the
``Med-MCI-Hosted-By`` header (the hub's base URL, whose ``/.well-known/med-mci-hub`` publishes the key): the document
itself is a plain profile 1.3, as a knowledge node would publish it.
"""

from __future__ import annotations

from functools import wraps

from flask import make_response, request
from flask.views import MethodView

from ..catalog_api import SIGNATURE_HEADER
from ..errors import Forbidden, Unauthorized
from ..signing import sign_document
from ..signing.urls import received_url
from ..token_guard import current_principal, require
from ..tokens import ERROR_HEADERS_ATTRIBUTE, bearer_challenge
from ..web import Blueprint
from .api import LIST_PAGE, OPTIONAL_READER, actor, federation_reader, hub, paged, window
from .knowledge_schemas import (
    HostedCreatedSchema,
    HostedCreateSchema,
    HostedProfileInSchema,
    HostedProfileSchema,
    InvitationAnswerSchema,
    InvitationQuerySchema,
    InvitationSchema,
    KnowledgeEntityQuerySchema,
    KnowledgeEntitySchema,
    KnowledgeInviteSchema,
    SuggestionSchema,
)
from .knowledge_tables import HOSTED_PREFIX

#: Response header naming the hub that hosts a profile document (its base URL).
HOSTED_BY_HEADER = "Med-MCI-Hosted-By"
#: Who may write at all: the operator's scope.
WRITE_SCOPE = "knowledge:write"

knowledge_bp = Blueprint("knowledge", __name__, url_prefix="/api/v1",
                         description="Knowledge entities: hosted profiles, the directory with same-as links, "
                                     "invitations to meta-clusters")


def _anonymous(message: str) -> Unauthorized:
    exc = Unauthorized(message)
    setattr(exc, ERROR_HEADERS_ATTRIBUTE, bearer_challenge())
    return exc


def owner_or_operator(view):
    """A hosted profile is read and edited by its own entity (a knowledge_member token bound to it) or the
    operator (``knowledge:write``); anyone else gets 401 or 403 with the reason, before the body is parsed."""

    @wraps(view)
    def guarded(*args, **kwargs):
        principal = current_principal()
        key = f"{HOSTED_PREFIX}{kwargs['hosted_id']}"
        if principal.is_anonymous:
            raise _anonymous(f"{key} is read and edited by its own knowledge_member token or the operator")
        if not principal.has(WRITE_SCOPE) and principal.entity_key != key:
            bound = (f"is bound to {principal.entity_key}" if principal.entity_key else
                     f"({principal.role}) speaks for no hosted profile")
            raise Forbidden(f"token '{principal.name}' {bound}, not {key}: a hosted entity edits its own profile only")
        return view(*args, **kwargs)

    return guarded


def entity_itself(view):
    """Only the invited entity answers (see the module docstring); the invitation is read first to know who that
    is. Checked before flask-smorest parses the body (this decorator sits above ``arguments``)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        key = hub().invitations.get(kwargs["invitation_id"])["entity_key"]
        node_id = None if key.startswith(HOSTED_PREFIX) else key.split("/", 1)[0]
        if node_id is not None and ("Signature" in request.headers or "Signature-Input" in request.headers):
            hub().nodes.verify_node_request(node_id, request.method, received_url(request), request.headers,
                                            request.get_data())
            return view(*args, **kwargs, answered_by=f"node:{node_id}")
        how = ("its knowledge_member token" if node_id is None else
               f"the node_operator token of node {node_id} or a request signed with its key")
        principal = current_principal()
        if principal.is_anonymous:
            raise _anonymous(f"only {key} answers its invitation: send {how}")
        speaks_for = principal.entity_key if node_id is None else principal.node_id
        if speaks_for != (key if node_id is None else node_id):
            said = (f"is bound to {principal.entity_key or principal.node_id}" if principal.entity_key
                    or principal.node_id else f"({principal.role}) speaks for no knowledge entity")
            raise Forbidden(f"token '{principal.name}' {said}: only {key} answers its invitation, with {how}")
        return view(*args, **kwargs, answered_by=f"{principal.role}:{principal.name}")

    return guarded


# -- hosted profiles ------------------------------------------------------------------------------------------------

@knowledge_bp.route("/knowledge/hosted", methods=["POST"])
@knowledge_bp.arguments(HostedCreateSchema)
@knowledge_bp.response(201, HostedCreatedSchema)
@require(WRITE_SCOPE)
def host(data):
    """Host a knowledge entity's profile (key hosted:<id>) and make the knowledge_member token it edits it with:
    the token is in this answer only"""
    token_name = data.pop("token_name")
    profile, token, plaintext = hub().hosted.create(data, actor(), token_name)
    return {**profile, "token": plaintext, "token_record": token}


@knowledge_bp.route("/knowledge/hosted/<hosted_id>")
class Hosted(MethodView):
    @knowledge_bp.response(200, HostedProfileSchema)
    @knowledge_bp.doc(security=[{"bearerAuth": ["federation:read"]}, {"bearerAuth": [WRITE_SCOPE]}],
                      responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"})
    @owner_or_operator
    def get(self, hosted_id):
        """A hosted profile with every field's visibility: for its own entity's token or the operator"""
        return hub().hosted.get(hosted_id)

    @knowledge_bp.doc(security=[{"bearerAuth": ["federation:read"]}, {"bearerAuth": [WRITE_SCOPE]}],
                      responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"})
    @owner_or_operator
    @knowledge_bp.arguments(HostedProfileInSchema)
    @knowledge_bp.response(200, HostedProfileSchema)
    def put(self, data, hosted_id):
        """Replace the profile (identity, knowledge block, visibility): its own entity's token or the operator; all
        or nothing"""
        return hub().hosted.update(hosted_id, data, actor(), by_operator=WRITE_SCOPE in current_principal().scopes)


@knowledge_bp.route("/knowledge/hosted/<hosted_id>/profile", methods=["GET"])
@knowledge_bp.doc(security=OPTIONAL_READER, responses={"200": {
    "description": "The profile document 1.3, rendered for the reader's audience and signed with the hub's key (a "
                   "detached JWS in Med-MCI-Signature naming this URL and hosted:<id>); Med-MCI-Hosted-By names the "
                   "hub", "content": {"application/json": {"schema": {"type": "object"}}}}, "404": "NOT_FOUND"})
def hosted_profile(hosted_id):
    """A hosted profile as a signed profile document 1.3 (the public rendering to an anonymous reader)"""
    body = hub().hosted.document(hosted_id, "federation" if federation_reader() else "public")
    response = make_response(body)
    response.content_type = "application/json"
    kid, key = hub().keys.current
    response.headers[SIGNATURE_HEADER] = sign_document(body, key, kid, htu=request.base_url,
                                                       sub=f"{HOSTED_PREFIX}{hosted_id}")
    response.headers[HOSTED_BY_HEADER] = request.host_url.rstrip("/")
    return response


# -- the directory --------------------------------------------------------------------------------------------------

@knowledge_bp.route("/knowledge-entities")
class KnowledgeEntities(MethodView):
    @knowledge_bp.arguments(KnowledgeEntityQuerySchema, location="query")
    @knowledge_bp.response(200, KnowledgeEntitySchema(many=True))
    @knowledge_bp.paginate(**LIST_PAGE)
    @knowledge_bp.doc(security=OPTIONAL_READER)
    def get(self, query, pagination_parameters):
        """Every knowledge entity the hub knows, by key (paginated): its source, stage links per value chain and
        same-as links with what matched. An anonymous reader sees public entities and fields only"""
        return paged(pagination_parameters, hub().knowledge.page(
            federation_reader(), *window(pagination_parameters), query.get("source")))


@knowledge_bp.route("/knowledge-entities/<path:key>")
class KnowledgeEntity(MethodView):
    @knowledge_bp.response(200, KnowledgeEntitySchema)
    @knowledge_bp.doc(security=OPTIONAL_READER)
    def get(self, key):
        """One knowledge entity (key <node_id>/<member_id>, <node_id> or hosted:<id>)"""
        return hub().knowledge.one(key, federation_reader())


# -- invitations ----------------------------------------------------------------------------------------------------

@knowledge_bp.route("/metaclusters/<metacluster_id>/invitation-suggestions", methods=["GET"])
@knowledge_bp.response(200, SuggestionSchema(many=True))
@require("federation:read")
def suggestions(metacluster_id):
    """Knowledge entities a formed meta-cluster could invite, ranked (medmci_rank_invitations), each with its score
    and reasons"""
    return hub().invitations.suggestions(metacluster_id)


@knowledge_bp.route("/metaclusters/<metacluster_id>/invitations", methods=["POST"])
@knowledge_bp.arguments(KnowledgeInviteSchema)
@knowledge_bp.response(201, InvitationSchema)
@require(WRITE_SCOPE)
def invite(data, metacluster_id):
    """Invite a knowledge entity to a formed meta-cluster (409 when it serves it already or is invited)"""
    return hub().invitations.invite(metacluster_id, data["entity"], actor())


@knowledge_bp.route("/invitations", methods=["GET"])
@knowledge_bp.arguments(InvitationQuerySchema, location="query")
@knowledge_bp.response(200, InvitationSchema(many=True))
@knowledge_bp.paginate(**LIST_PAGE)
@require("federation:read")
def invitations(query, pagination_parameters):
    """Invitations, newest first (paginated; of one meta-cluster with ?metacluster=)"""
    return paged(pagination_parameters, hub().invitations.page(
        query.get("metacluster"), query.get("status"), *window(pagination_parameters)))


@knowledge_bp.route("/invitations/<int:invitation_id>/answer", methods=["POST"])
@knowledge_bp.doc(security=[{"bearerAuth": ["federation:read"]}, {"httpSignature": []}],
                  responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"})
@entity_itself
@knowledge_bp.arguments(InvitationAnswerSchema)
@knowledge_bp.response(200, InvitationSchema)
def answer(data, invitation_id, answered_by):
    """The invited entity accepts or declines, once: a hosted profile with its knowledge_member token, a knowledge
    node or a cluster's member with its node's node_operator token or a request signed with its node's key"""
    return hub().invitations.answer(invitation_id, data["answer"], answered_by)


@knowledge_bp.route("/invitations/<int:invitation_id>/withdraw", methods=["POST"])
@knowledge_bp.response(200, InvitationSchema)
@require(WRITE_SCOPE)
def withdraw(invitation_id):
    """The operator withdraws an invitation, waiting or accepted"""
    return hub().invitations.withdraw(invitation_id, actor())
