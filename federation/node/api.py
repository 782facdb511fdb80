"""The node's REST API: thin views over :class:`NodeService`, marshmallow at the edge."""

from __future__ import annotations

import json
from typing import BinaryIO, cast

from flask import current_app, jsonify, make_response, request, url_for
from flask.views import MethodView
from marshmallow import RAISE

from ..errors import NotFound, ValidationError
from ..profile import SUPPORTED_VERSIONS
from ..profile.cooperation import CooperationSchema
from ..profile.schema import ProfileSchema
from ..signing import received_url, sign_document
from ..token_guard import current_principal, require
from ..web import Blueprint, body_limit
from .compression import accepts_gzip, gzip_etag
from .schemas import (
    CheckReportSchema,
    DiscoverySchema,
    ImportQuerySchema,
    ImportReportSchema,
    MemberQuerySchema,
    NodeClusterSchema,
    NodeCooperationSchema,
    NodeKnowledgeSchema,
    NodeMemberInputSchema,
    NodeMemberSchema,
)
from .service import NodeService
from .trust import request_target

DISCOVERY_SCHEMA = "med-mci/discovery"
#: Response header carrying the detached JWS of the document (several, comma-separated, on discovery).
SIGNATURE_HEADER = "Med-MCI-Signature"

cluster_bp = Blueprint("cluster", __name__, url_prefix="/api/v1/cluster",
                       description="The cluster this node speaks for")
members_bp = Blueprint("members", __name__, url_prefix="/api/v1/members",
                       description="The cluster's members, each with its visibility")
profile_bp = Blueprint("profile", __name__, description="The published profile and how to find it")
knowledge_bp = Blueprint("knowledge", __name__, url_prefix="/api/v1/knowledge",
                         description="A knowledge node's own profile: its block and who may see each field")
check_bp = Blueprint("check", __name__, url_prefix="/api/v1/check",
                     description="What the node tells its cluster manager about its data")


def node():
    return current_app.extensions["medmci"]


def service() -> NodeService:
    return node().service


@cluster_bp.route("")
class ClusterResource(MethodView):
    @cluster_bp.response(200, NodeClusterSchema)
    def get(self):
        """The cluster profile (on a knowledge node: the organisation's identity)"""
        return service().get_cluster()

    @cluster_bp.arguments(NodeClusterSchema)
    @cluster_bp.response(200, NodeClusterSchema)
    @require("cluster:write")
    def put(self, data):
        """Create or replace the cluster profile (its cooperation profile stays: /api/v1/cluster/cooperation)"""
        return service().put_cluster(data)


@cluster_bp.route("/cooperation")
class CooperationResource(MethodView):
    @cluster_bp.response(200, CooperationSchema)
    @require("cluster:write")
    def get(self):
        """The cooperation profile, with the opportunities the federation's document carries (the offered and
        needed codes of the members shared with it, up to 20 each, most members first)"""
        return service().get_cooperation()

    @cluster_bp.arguments(NodeCooperationSchema)
    @cluster_bp.response(200, CooperationSchema)
    @require("cluster:write")
    def put(self, data):
        """Set the cooperation profile (priority topics, partners sought, target markets); published at once, its
        opportunities derived for each audience"""
        return service().put_cooperation(data)


@knowledge_bp.route("")
class KnowledgeResource(MethodView):
    @knowledge_bp.response(200, NodeKnowledgeSchema)
    @require("cluster:write")
    def get(self):
        """The knowledge block and each field's visibility (409 on a node that is no knowledge node)"""
        return service().get_knowledge()

    @knowledge_bp.arguments(NodeKnowledgeSchema)
    @knowledge_bp.response(200, NodeKnowledgeSchema)
    @require("cluster:write")
    def put(self, data):
        """Replace the knowledge block and its visibility; the knowledge profile is published for each audience
        with the fields it may see (once the cluster object, the organisation's identity, is set)"""
        return service().put_knowledge(data)


@members_bp.route("")
class MembersResource(MethodView):
    @members_bp.arguments(MemberQuerySchema, location="query")
    @members_bp.response(200, NodeMemberSchema(many=True))
    @require("members:write")
    def get(self, query):
        """Every member, private ones included (this is the node's own API)"""
        return service().list_members(query.get("visibility"))

    @members_bp.arguments(NodeMemberInputSchema)
    @members_bp.response(201, NodeMemberSchema)
    @members_bp.doc(responses={"409": "CONFLICT"})
    @require("members:write")
    def post(self, data):
        """Add a member; the id is generated when left out (a knowledge node refuses: 409)"""
        return service().create_member(data)


@members_bp.route("/<member_id>")
class MemberResource(MethodView):
    @members_bp.response(200, NodeMemberSchema)
    @require("members:write")
    def get(self, member_id):
        """One member"""
        return service().get_member(member_id)

    @members_bp.arguments(NodeMemberInputSchema)
    @members_bp.response(200, NodeMemberSchema)
    @require("members:write")
    def put(self, data, member_id):
        """Replace a member (the audit log records the token's name and what changed)"""
        return service().update_member(member_id, data, actor=f"admin:{current_principal().name}")

    @members_bp.response(204)
    @require("members:write")
    def delete(self, member_id):
        """Remove a member (the next harvest removes it from the hub)"""
        service().delete_member(member_id)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@members_bp.route("/import", methods=["POST"])
@members_bp.arguments(ImportQuerySchema, location="query", unknown=RAISE)  # webargs would exclude them
@members_bp.response(200, ImportReportSchema)
@members_bp.doc(requestBody={"content": {"text/csv": {"schema": {"type": "string"}},
                                         XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
                                         "multipart/form-data": {"schema": {"type": "object", "properties": {
                                             "file": {"type": "string", "format": "binary"}}}}}},
                responses={"413": "REQUEST_ENTITY_TOO_LARGE"})
@require("members:write")
@body_limit("api.max_import_bytes")
def import_members(query):
    """Import members from a CSV (UTF-8, UTF-16 or Windows-1252; comma, semicolon or tab) or .xlsx file: the body,
    or a multipart field "file". All rows or none: a refusal lists every error of every row (line, member, field,
    value, suggestion). dry_run=true reports what would change and changes nothing."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationError("a multipart import needs its file in the field \"file\"", {"file": ["missing"]})
        # werkzeug types a file's stream as IO[bytes]; the import reads it as the binary stream it is.
        data: bytes | BinaryIO = cast(BinaryIO, upload.stream)
    else:  # the body is the file, whatever it is labelled (curl --data-binary says x-www-form-urlencoded)
        data = request.get_data(parse_form_data=False)
    return service().import_members(data, replace=query["replace"], dry_run=query["dry_run"])


@check_bp.route("", methods=["GET"])
@check_bp.response(200, CheckReportSchema)
@require("members:write")
def check():
    """The node's checks of its shared members, errors first: e.g. activity codes too coarse for the hub to place
    precisely, with the finer code that would"""
    return node().check()


@profile_bp.route("/api/v1/profile", methods=["GET"])
@profile_bp.doc(responses={"200": {"description": "The profile document (JSON Schema: /api/v1/schema/profile-1.json)",
                                   "content": {"application/json": {"schema": ProfileSchema}}},
                           "304": {"description": "Not modified since the ETag given in If-None-Match"},
                           "401": "UNAUTHORIZED"},
                security=[{}, {"httpSignature": []}])
def profile():
    """The published profile: public members to anyone; public and federation members to a request signed (RFC 9421)
    by a hub this node trusts. Private members never leave the node. The body is signed with the node's key (a
    detached JWS in the Med-MCI-Signature header, made at response time for the URL asked).

    Served in gzip (Content-Encoding) to a request that accepts it, with that representation's own ETag (the
    document's tag with "-gzip"): If-None-Match is compared with the tag of the representation the request selects,
    with the weak comparison (RFC 9110): a proxy that compressed the body sends the tag as W/"...".
    """
    audience = "public"
    if "Signature" in request.headers or "Signature-Input" in request.headers:
        # Checked against this node's public URL (never the Host header), the key must be one this node trusts
        # (an unknown key is a 401 naming it, not the public document), and the nonce must be new: 401 otherwise.
        node().hubs.check_request(request.method, request_target(request), request.headers, request.get_data(),
                                  received_url(request), request.remote_addr)
        audience = "federation"
    publication = service().publication(audience)
    compressed = accepts_gzip(request.accept_encodings)
    etag = gzip_etag(publication.etag) if compressed else publication.etag.strip('"')
    if request.if_none_match.contains_weak(etag):
        response = make_response("", 304)
    else:
        body = node().gzip.get(audience, publication.etag, publication.body) if compressed else publication.body
        response = make_response(body)
        response.content_type = "application/json"
        if compressed:
            response.headers["Content-Encoding"] = "gzip"
        kid, key = node().keys.current
        cluster_id = json.loads(publication.body)["cluster"]["id"]
        # Over the document itself (the decompressed bytes), whichever representation carries it.
        response.headers[SIGNATURE_HEADER] = sign_document(publication.body, key, kid, htu=profile_url(),
                                                           sub=cluster_id)
    response.headers["Vary"] = "Signature, Signature-Input, Accept-Encoding"
    response.set_etag(etag)
    response.last_modified = publication.published_at
    response.headers["Cache-Control"] = "no-cache"
    return response


def profile_url() -> str:
    """The absolute URL the profile is published at (the JWS names it), from the node's public URL; without one, the
    URL as received (the hub, which must find it, refuses a document signed for another URL than it asked)."""
    base = node().hubs.public_url()
    return base + url_for("profile.profile") if base else received_url(request).split("?")[0]


@profile_bp.route("/.well-known/med-mci", methods=["GET"])
@profile_bp.response(200, DiscoverySchema, description="The discovery document, signed by every key it publishes "
                     "(detached JWS, comma-separated, in the Med-MCI-Signature header)")
def discovery():
    """Discovery document: where the profile is and which schema versions this node serves. Its URLs start with the
    node's public URL; a node that has none gives them relative to itself (never built from the Host header a
    client sent, which this node would then sign)."""
    base = node().hubs.public_url() or ""

    def url(endpoint, **values):
        return base + url_for(endpoint, **values)

    try:
        cluster = service().get_cluster()
    except NotFound:  # a node without a cluster still answers discovery
        cluster = None
    keystore = node().keys
    document = {
        "schema": DISCOVERY_SCHEMA,
        "version": "1.0",
        "cluster_id": cluster["id"] if cluster else None,
        "cluster": {"id": cluster["id"], "country": cluster["country"], "names": cluster["names"]} if cluster else None,
        "keys": keystore.published(),
        "profiles": [{"version": f"{major}.{minor}", "url": url("profile.profile"),
                      "schema_url": url("catalog.profile_schema", major=major), "media_type": "application/json"}
                     for major, (_schema, minor) in sorted(SUPPORTED_VERSIONS.items())],
        "openapi_url": url("api-docs.openapi_json"),
    }
    response = jsonify(document)
    # Signed by every key the node publishes, so a hub that knows only the previous key learns the new one.
    response.headers[SIGNATURE_HEADER] = ",".join(
        sign_document(document, keystore.private_key(k["kid"]), k["kid"]) for k in keystore.published())
    return response
