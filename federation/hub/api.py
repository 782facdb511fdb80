"""The hub's REST API: thin views over the node directory, the harvester and the read side."""

from __future__ import annotations

from flask import current_app, make_response
from flask.views import MethodView
from flask_smorest import Blueprint

from .schemas import (HarvestReportSchema, HarvestRequestSchema, HubClusterSchema, MetaClusterQuerySchema,
                      MetaClusterSchema, NodeRegistrationSchema, NodeSchema, NodeStatusSchema, RunSchema,
                      VersionSchema, WhySchema)

nodes_bp = Blueprint("nodes", __name__, url_prefix="/api/v1/nodes", description="Registered nodes")
harvests_bp = Blueprint("harvests", __name__, url_prefix="/api/v1/harvests", description="Harvest runs")
metaclusters_bp = Blueprint("metaclusters", __name__, url_prefix="/api/v1",
                            description="Meta-clusters, clusters, and why each is in or out")


def hub():
    return current_app.extensions["medmci"]


@nodes_bp.route("")
class Nodes(MethodView):
    @nodes_bp.response(200, NodeSchema(many=True))
    def get(self):
        """Registered nodes with their last harvest state"""
        return hub().nodes.list()

    @nodes_bp.arguments(NodeRegistrationSchema)
    @nodes_bp.response(201, NodeSchema)
    def post(self, data):
        """Register a node"""
        return hub().nodes.register(data["id"], data["url"], data.get("name"))


@nodes_bp.route("/<node_id>")
class Node(MethodView):
    @nodes_bp.response(200, NodeSchema)
    def get(self, node_id):
        """One node"""
        return hub().nodes.get(node_id)

    @nodes_bp.arguments(NodeStatusSchema)
    @nodes_bp.response(200, NodeSchema)
    def patch(self, data, node_id):
        """Pause or resume a node (paused nodes are not harvested)"""
        return hub().nodes.set_status(node_id, data["status"])


@nodes_bp.route("/<node_id>/versions")
class Versions(MethodView):
    @nodes_bp.response(200, VersionSchema(many=True))
    def get(self, node_id):
        """Every accepted profile version of a node, oldest first"""
        return hub().queries.versions(node_id)


@nodes_bp.route("/<node_id>/versions/<int:version_id>", methods=["GET"])
@nodes_bp.doc(responses={"200": {"description": "The exact bytes the node served"}})
def version_body(node_id, version_id):
    """The exact bytes of one stored version"""
    body, sha256 = hub().queries.version_body(node_id, version_id)
    response = make_response(body)
    response.content_type = "application/json"
    response.headers["Digest-SHA256"] = sha256
    return response


@harvests_bp.route("")
class Harvests(MethodView):
    @harvests_bp.response(200, RunSchema(many=True))
    def get(self):
        """Recent harvest runs with their counts"""
        return hub().queries.runs()

    @harvests_bp.arguments(HarvestRequestSchema)
    @harvests_bp.response(200, HarvestReportSchema)
    def post(self, data):
        """Harvest now (every active node, or the ones named) and form the meta-clusters again"""
        return hub().harvester.harvest(data.get("nodes"))


@harvests_bp.route("/<int:run_id>")
class Harvest(MethodView):
    @harvests_bp.response(200, RunSchema)
    def get(self, run_id):
        """One run, node by node, with the reason of each failure"""
        return hub().queries.run(run_id)


@metaclusters_bp.route("/metaclusters")
class MetaClusters(MethodView):
    @metaclusters_bp.arguments(MetaClusterQuerySchema, location="query")
    @metaclusters_bp.response(200, MetaClusterSchema(many=True))
    def get(self, query):
        """Meta-clusters (formed ones by default; formed=false lists the value chains that did not form one)"""
        formed = {"true": True, "false": False, "all": None}[query["formed"]]
        return hub().queries.metaclusters(formed)


@metaclusters_bp.route("/metaclusters/<metacluster_id>")
class MetaCluster(MethodView):
    @metaclusters_bp.response(200, MetaClusterSchema)
    def get(self, metacluster_id):
        """One meta-cluster (by id, or by value chain id) with every explanation"""
        return hub().queries.metacluster(metacluster_id)


@metaclusters_bp.route("/clusters")
class Clusters(MethodView):
    @metaclusters_bp.response(200, HubClusterSchema(many=True))
    def get(self):
        """Clusters as of each node's latest accepted profile"""
        return hub().queries.clusters()


@metaclusters_bp.route("/clusters/<cluster_id>/why")
class ClusterWhy(MethodView):
    @metaclusters_bp.response(200, WhySchema)
    def get(self, cluster_id):
        """Why the cluster is in or out of each value chain's meta-cluster"""
        return hub().queries.why(cluster_id)


@metaclusters_bp.route("/clusters/<cluster_id>/members/<member_id>/why")
class MemberWhy(MethodView):
    @metaclusters_bp.response(200, WhySchema)
    def get(self, cluster_id, member_id):
        """Where a member is placed (meta-cluster, sub-cluster) and by which rule"""
        return hub().queries.why(cluster_id, member_id)
