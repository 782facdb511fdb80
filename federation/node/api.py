"""The node's REST API: thin views over :class:`NodeService`, marshmallow at the edge."""

from __future__ import annotations

from flask import current_app, jsonify, make_response, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ..errors import NotFound
from ..profile import SUPPORTED_VERSIONS
from ..profile.schema import ClusterSchema
from .schemas import (ImportQuerySchema, ImportReportSchema, MemberQuerySchema, NodeMemberInputSchema,
                      NodeMemberSchema)
from .service import NodeService

DISCOVERY_SCHEMA = "med-mci/discovery"

cluster_bp = Blueprint("cluster", __name__, url_prefix="/api/v1/cluster",
                       description="The cluster this node speaks for")
members_bp = Blueprint("members", __name__, url_prefix="/api/v1/members",
                       description="The cluster's members, each with its visibility")
profile_bp = Blueprint("profile", __name__, description="The published profile and how to find it")


def service() -> NodeService:
    return current_app.extensions["medmci"].service


@cluster_bp.route("")
class ClusterResource(MethodView):
    @cluster_bp.response(200, ClusterSchema)
    def get(self):
        """The cluster profile"""
        return service().get_cluster()

    @cluster_bp.arguments(ClusterSchema)
    @cluster_bp.response(200, ClusterSchema)
    def put(self, data):
        """Create or replace the cluster profile"""
        return service().put_cluster(data)


@members_bp.route("")
class MembersResource(MethodView):
    @members_bp.arguments(MemberQuerySchema, location="query")
    @members_bp.response(200, NodeMemberSchema(many=True))
    def get(self, query):
        """Every member, private ones included (this is the node's own API)"""
        return service().list_members(query.get("visibility"))

    @members_bp.arguments(NodeMemberInputSchema)
    @members_bp.response(201, NodeMemberSchema)
    def post(self, data):
        """Add a member; the id is generated when left out"""
        return service().create_member(data)


@members_bp.route("/<member_id>")
class MemberResource(MethodView):
    @members_bp.response(200, NodeMemberSchema)
    def get(self, member_id):
        """One member"""
        return service().get_member(member_id)

    @members_bp.arguments(NodeMemberInputSchema)
    @members_bp.response(200, NodeMemberSchema)
    def put(self, data, member_id):
        """Replace a member"""
        return service().update_member(member_id, data)

    @members_bp.response(204)
    def delete(self, member_id):
        """Remove a member (the next harvest removes it from the hub)"""
        service().delete_member(member_id)


@members_bp.route("/import", methods=["POST"])
@members_bp.arguments(ImportQuerySchema, location="query")
@members_bp.response(200, ImportReportSchema)
@members_bp.doc(requestBody={"content": {"text/csv": {"schema": {"type": "string"}},
                                         "multipart/form-data": {"schema": {"type": "object", "properties": {
                                             "file": {"type": "string", "format": "binary"}}}}}})
def import_members(query):
    """Import members from CSV (body text/csv, or a multipart field "file"): all rows or none"""
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    return service().import_members(data, replace=query["replace"])


@profile_bp.route("/api/v1/profile", methods=["GET"])
@profile_bp.doc(responses={"200": {"description": "The profile document (JSON Schema: /api/v1/schema/profile-1.json)"},
                           "304": {"description": "Not modified since the ETag given in If-None-Match"}})
def profile():
    """The published profile: public and federation members, never private ones

    If-None-Match uses the weak comparison (RFC 9110): a proxy that compressed the body sends the tag as W/"...".
    """
    publication = service().publication()
    if request.if_none_match.contains_weak(publication.etag.strip('"')):
        response = make_response("", 304)
    else:
        response = make_response(publication.body)
        response.content_type = "application/json"
    response.set_etag(publication.etag.strip('"'))
    response.last_modified = publication.published_at
    response.headers["Cache-Control"] = "no-cache"
    return response


@profile_bp.route("/.well-known/med-mci", methods=["GET"])
def discovery():
    """Discovery document: where the profile is and which schema versions this node serves"""
    base = current_app.extensions["medmci"].settings.get("node.public_url") or request.host_url
    base = base.rstrip("/")

    def url(endpoint, **values):
        return base + url_for(endpoint, **values)

    try:
        cluster_id = service().get_cluster()["id"]
    except NotFound:  # a node without a cluster still answers discovery
        cluster_id = None
    return jsonify({
        "schema": DISCOVERY_SCHEMA,
        "version": "1.0",
        "cluster_id": cluster_id,
        "profiles": [{"version": f"{major}.{minor}", "url": url("profile.profile"),
                      "schema_url": url("catalog.profile_schema", major=major), "media_type": "application/json"}
                     for major, (_schema, minor) in sorted(SUPPORTED_VERSIONS.items())],
        "openapi_url": url("api-docs.openapi_json"),
    })
