"""The hub's REST API: thin views over the node directory, the harvester and the read side.

Every write needs a token with the right scope (401 without one, 403 without the scope). Reads are open, but an
anonymous reader sees public data only; a token with ``federation:read`` sees the federation audience too.
"""

from __future__ import annotations

from flask import current_app, jsonify, make_response, request
from flask.views import MethodView

from ..signing.urls import received_url
from ..token_guard import current_principal, require
from ..web import Blueprint, signed_request
from .queries import embedded
from .schemas import (
    AuditEventSchema,
    AuditQuerySchema,
    HarvestReportSchema,
    HarvestRequestSchema,
    HubClusterSchema,
    HubDiscoverySchema,
    JoinRequestSchema,
    KnowledgeMemberSchema,
    MetaClusterQuerySchema,
    MetaClusterSchema,
    NodeDecisionSchema,
    NodeRegistrationSchema,
    NodeSchema,
    NodeStatusSchema,
    PlacedMemberSchema,
    RunSchema,
    TokenCreatedSchema,
    TokenRequestSchema,
    TokenSchema,
    VersionSchema,
    WhySchema,
)

nodes_bp = Blueprint("nodes", __name__, url_prefix="/api/v1/nodes", description="Registered nodes")
harvests_bp = Blueprint("harvests", __name__, url_prefix="/api/v1/harvests", description="Harvest runs")
metaclusters_bp = Blueprint("metaclusters", __name__, url_prefix="/api/v1",
                            description="Meta-clusters, clusters, and why each is in or out")
admin_bp = Blueprint("admin", __name__, description="Joining the federation, tokens, the audit log, hub keys")

#: Read endpoints open to anyone: a token with federation:read sees the federation audience too.
OPTIONAL_READER = [{}, {"bearerAuth": ["federation:read"]}]
#: Page sizes of the paginated lists (page, page_size; the X-Pagination header says the total).
LIST_PAGE = {"page_size": 100, "max_page_size": 1000}


def hub():
    return current_app.extensions["medmci"]


def paged(pagination_parameters, result: tuple[int, list]) -> list:
    """Hand ``(total, items)`` of a ``*_page`` query to flask-smorest's pagination (X-Pagination)."""
    pagination_parameters.item_count, items = result
    return items


def window(pagination_parameters) -> tuple[int, int]:
    return pagination_parameters.first_item, pagination_parameters.page_size


def actor() -> str:
    principal = current_principal()
    return f"{principal.role}:{principal.name}" if principal.name else "anonymous"


def embedded_members() -> int:
    return int(hub().settings.get("api.embedded_members"))


def federation_reader() -> bool:
    """Whether the caller may see federation data (not only what members made public)."""
    return current_principal().has("federation:read")


@nodes_bp.route("")
class Nodes(MethodView):
    @nodes_bp.response(200, NodeSchema(many=True))
    @nodes_bp.paginate(**LIST_PAGE)
    @require("federation:read")
    def get(self, pagination_parameters):
        """Registered nodes with their last harvest state, by id (paginated)"""
        return paged(pagination_parameters, hub().queries.nodes_page(*window(pagination_parameters)))

    @nodes_bp.arguments(NodeRegistrationSchema)
    @nodes_bp.response(201, NodeSchema)
    @require("nodes:write")
    def post(self, data):
        """Register a node (its cluster, country and keys are read from its signed discovery document)"""
        return hub().nodes.register(data["id"], data["url"], data.get("name"), data.get("country"), actor())


@nodes_bp.route("/<node_id>")
class Node(MethodView):
    @nodes_bp.response(200, NodeSchema)
    @require("federation:read")
    def get(self, node_id):
        """One node"""
        return hub().nodes.get(node_id)

    @nodes_bp.arguments(NodeStatusSchema)
    @nodes_bp.response(200, NodeSchema)
    @require("nodes:write")
    def patch(self, data, node_id):
        """Pause or resume a node (paused nodes are not harvested)"""
        return hub().nodes.set_status(node_id, data["status"], actor())


@nodes_bp.route("/<node_id>/decision", methods=["POST"])
@nodes_bp.arguments(NodeDecisionSchema)
@nodes_bp.response(200, NodeSchema)
@require("registrations:decide")
def decide(data, node_id):
    """Approve, reject or suspend a node"""
    return hub().nodes.decide(node_id, data["decision"], actor(), data.get("reason"))


@nodes_bp.route("/<node_id>/versions")
class Versions(MethodView):
    @nodes_bp.response(200, VersionSchema(many=True))
    @nodes_bp.paginate(**LIST_PAGE)
    @require("federation:read")
    def get(self, node_id, pagination_parameters):
        """Every accepted profile version of a node, oldest first (paginated)"""
        return paged(pagination_parameters, hub().queries.versions_page(node_id, *window(pagination_parameters)))


@nodes_bp.route("/<node_id>/versions/<int:version_id>", methods=["GET"])
@nodes_bp.doc(responses={"200": {"description": "The exact bytes the node served"}})
@require("federation:read")
def version_body(node_id, version_id):
    """The exact bytes of one stored version (with the node's signature, unless members were purged from it)"""
    body, sha256 = hub().queries.version_body(node_id, version_id)
    response = make_response(body)
    response.content_type = "application/json"
    response.headers["Digest-SHA256"] = sha256
    return response


@harvests_bp.route("")
class Harvests(MethodView):
    @harvests_bp.response(200, RunSchema(many=True))
    @harvests_bp.paginate(page_size=50, max_page_size=1000)
    @require("federation:read")
    def get(self, pagination_parameters):
        """Harvest runs with their counts, newest first (paginated)"""
        return paged(pagination_parameters, hub().queries.runs_page(*window(pagination_parameters)))

    @harvests_bp.arguments(HarvestRequestSchema, required=False)
    @harvests_bp.response(200, HarvestReportSchema)
    @require("harvest:run")
    def post(self, data):
        """Harvest now (every active node, or the ones named) and form the meta-clusters again"""
        return hub().harvester.harvest(data.get("nodes"))


@harvests_bp.route("/<int:run_id>")
class Harvest(MethodView):
    @harvests_bp.response(200, RunSchema)
    @require("federation:read")
    def get(self, run_id):
        """One run, node by node, with the reason of each failure"""
        return hub().queries.run(run_id)


@metaclusters_bp.route("/metaclusters")
class MetaClusters(MethodView):
    @metaclusters_bp.arguments(MetaClusterQuerySchema, location="query")
    @metaclusters_bp.response(200, MetaClusterSchema(many=True))
    @metaclusters_bp.paginate(page_size=20, max_page_size=100)
    @metaclusters_bp.doc(security=OPTIONAL_READER)
    def get(self, query, pagination_parameters):
        """Meta-clusters (formed ones by default; formed=false lists the value chains that did not form one),
        paginated; each embeds at most api.embedded_members members (members_total says how many there are;
        /metaclusters/{id}/members pages through them all)"""
        formed = {"true": True, "false": False, "all": None}[query["formed"]]
        federation = federation_reader()
        return paged(pagination_parameters, hub().queries.metaclusters_page(
            formed, federation, *window(pagination_parameters), embedded_members(),
            complete=lambda documents: hub().figures.complete(documents, federation)))


@metaclusters_bp.route("/metaclusters/<metacluster_id>")
class MetaCluster(MethodView):
    @metaclusters_bp.response(200, MetaClusterSchema)
    @metaclusters_bp.doc(security=OPTIONAL_READER)
    def get(self, metacluster_id):
        """One meta-cluster (by id, or by value chain id) with every explanation and its scientific representation;
        member lists as in the list"""
        return embedded(hub().figures.metacluster(metacluster_id, federation_reader()), embedded_members())


@metaclusters_bp.route("/metaclusters/<metacluster_id>/members")
class MetaClusterMembers(MethodView):
    @metaclusters_bp.response(200, PlacedMemberSchema(many=True))
    @metaclusters_bp.paginate(**LIST_PAGE)
    @metaclusters_bp.doc(security=OPTIONAL_READER)
    def get(self, metacluster_id, pagination_parameters):
        """Every chain member of a meta-cluster, where it was placed and why (paginated)"""
        return paged(pagination_parameters, hub().queries.metacluster_members(
            metacluster_id, federation_reader(), False, *window(pagination_parameters)))


@metaclusters_bp.route("/metaclusters/<metacluster_id>/knowledge-members")
class MetaClusterKnowledge(MethodView):
    @metaclusters_bp.response(200, KnowledgeMemberSchema(many=True))
    @metaclusters_bp.paginate(**LIST_PAGE)
    @metaclusters_bp.doc(security=OPTIONAL_READER)
    def get(self, metacluster_id, pagination_parameters):
        """Every knowledge member (university, research centre) serving a meta-cluster (paginated): those formation
        placed, then those that accepted an invitation (via invitation)"""
        knowledge = hub().figures.metacluster(metacluster_id, federation_reader())["knowledge_members"]
        offset, limit = window(pagination_parameters)
        return paged(pagination_parameters, (len(knowledge), knowledge[offset:offset + limit]))


@metaclusters_bp.route("/clusters")
class Clusters(MethodView):
    @metaclusters_bp.response(200, HubClusterSchema(many=True))
    @metaclusters_bp.paginate(**LIST_PAGE)
    @metaclusters_bp.doc(security=OPTIONAL_READER)
    def get(self, pagination_parameters):
        """Clusters as of each node's latest accepted profile, by country and id (paginated)"""
        return paged(pagination_parameters,
                     hub().queries.clusters_page(federation_reader(), *window(pagination_parameters)))


@metaclusters_bp.route("/clusters/<cluster_id>")
class ClusterOne(MethodView):
    @metaclusters_bp.response(200, HubClusterSchema)
    @metaclusters_bp.doc(security=OPTIONAL_READER)
    def get(self, cluster_id):
        """One cluster (by cluster or node id): its cooperation profile; a knowledge node's block (kind
        knowledge). An anonymous reader sees what the public may: the public rendering of the block, opportunities
        from public members only"""
        return hub().queries.cluster(cluster_id, federation_reader())


@metaclusters_bp.route("/clusters/<cluster_id>/why")
class ClusterWhy(MethodView):
    @metaclusters_bp.response(200, WhySchema)
    @metaclusters_bp.doc(security=OPTIONAL_READER)
    def get(self, cluster_id):
        """Why the cluster is in or out of each value chain's meta-cluster"""
        return hub().queries.why(cluster_id, federation=federation_reader())


@metaclusters_bp.route("/clusters/<cluster_id>/members/<member_id>/why")
class MemberWhy(MethodView):
    @metaclusters_bp.response(200, WhySchema)
    @metaclusters_bp.doc(security=OPTIONAL_READER)
    def get(self, cluster_id, member_id):
        """Where a member is placed (meta-cluster, sub-cluster) and by which rule"""
        return hub().queries.why(cluster_id, member_id, federation_reader())


@admin_bp.route("/api/v1/registrations", methods=["POST"])
@admin_bp.arguments(JoinRequestSchema)
@admin_bp.response(201, NodeSchema)
@signed_request
def join(data):
    """A node asks to join: the request is signed (RFC 9421) by a key its discovery document publishes; it waits,
    pending, for the operator's decision. The answer carries the hub's keys, which the node then trusts, and where
    the hub's signed catalogue is (value chains and schemes the node may then use without their plugins)."""
    node = hub().nodes.request_join(data["node_url"], request.method, received_url(request), request.headers,
                                    request.get_data(), data.get("name"), source=request.remote_addr)
    return {**node, "hub_keys": hub().keys.published(),
            "catalog_url": request.host_url.rstrip("/") + "/api/v1/catalog"}


@admin_bp.route("/api/v1/tokens", methods=["GET"])
@admin_bp.response(200, TokenSchema(many=True))
@require("tokens:admin")
def list_tokens():
    """Every token (never its secret)"""
    return hub().tokens.list()


@admin_bp.route("/api/v1/tokens", methods=["POST"])
@admin_bp.arguments(TokenRequestSchema)
@admin_bp.response(201, TokenCreatedSchema)
@require("tokens:admin")
def create_token(data):
    """Create a token; its secret is shown in this answer only"""
    if data.get("node_id"):
        hub().nodes.get(data["node_id"])  # a node operator's token is bound to an existing node
    if data.get("entity_key"):
        hub().hosted.check_key(data["entity_key"])  # a knowledge member's, to a profile the hub hosts
    record, plaintext = hub().tokens.create(data["name"], data["role"], data.get("scopes"), data.get("node_id"),
                                            entity_key=data.get("entity_key"), actor=actor())
    return {**record, "token": plaintext}


@admin_bp.route("/api/v1/tokens/<token_id>", methods=["DELETE"])
@admin_bp.response(200, TokenSchema)
@require("tokens:admin")
def revoke_token(token_id):
    """Revoke a token at once"""
    return hub().tokens.revoke(token_id, actor=actor())


@admin_bp.route("/api/v1/audit")
class Audit(MethodView):
    @admin_bp.arguments(AuditQuerySchema, location="query")
    @admin_bp.response(200, AuditEventSchema(many=True))
    @admin_bp.paginate(page_size=200, max_page_size=1000)
    @require("audit:read")
    def get(self, query, pagination_parameters):
        """The audit log, newest first (paginated; limit is the page size too, as before pagination)"""
        if query.get("limit"):
            pagination_parameters.page_size = query["limit"]
        return paged(pagination_parameters, hub().queries.audit_page(
            query.get("action"), query.get("node_id"), *window(pagination_parameters)))


@admin_bp.route("/.well-known/med-mci-hub", methods=["GET"])
@admin_bp.response(200, HubDiscoverySchema)
def hub_discovery():
    """The hub's public keys (nodes trust them to serve federation data) and where to ask to join"""
    base = request.host_url.rstrip("/")
    return jsonify({"schema": "med-mci/hub", "version": "1.0", "keys": hub().keys.published(),
                    "registrations_url": f"{base}/api/v1/registrations", "catalog_url": f"{base}/api/v1/catalog"})


@nodes_bp.route("/<node_id>/reset", methods=["POST"])
@nodes_bp.response(200, NodeSchema)
@require("nodes:write")
def reset(node_id):
    """Forget a node's failures and backoff (it is fetched at the next scheduled pass)"""
    return hub().nodes.reset(node_id, actor())


@nodes_bp.route("/<node_id>/notify", methods=["POST"])
@nodes_bp.response(202, NodeSchema)
@nodes_bp.doc(security=[{"bearerAuth": ["push:write"]}, {"httpSignature": []}],
              responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"})
def notify(node_id):
    """A node says its profile changed (by cluster or node id): a fetch is scheduled, never done inline; repeated
    notifications before that fetch cause one fetch. Authenticated by an RFC 9421 signature with the node's key, or
    a node_operator token bound to that node. The answer's ``ignored`` says what the hub set aside of the node's
    current version (value chains and activity schemes of plugins the hub lacks)."""
    if "Signature" in request.headers or "Signature-Input" in request.headers:
        hub().nodes.verify_node_request(node_id, request.method, received_url(request), request.headers,
                                        request.get_data())
    else:
        _require_push_token(node_id=hub().nodes.resolve_id(node_id))  # bound tokens name the hub's node id
    node = hub().nodes.request_fetch(node_id)
    if hub().scheduler is not None:
        hub().scheduler.wake()
    return node


@require("push:write", node_id_arg="node_id")
def _require_push_token(*, node_id):
    """Token check for a push that carries no signature (the scope and the node binding)."""


#: Views under a rate limit, by the name of their limit in the settings (``rate_limits.<name>``).
RATE_LIMITED = {"registration": (join,), "tokens": (create_token, revoke_token), "push": (notify,)}

