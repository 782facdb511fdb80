"""The benchmark endpoints: a cluster's indicators against its peers, as data and as a chart.

Open to anyone, like the clusters they are about: an anonymous reader's benchmark is computed from what it may see
(public members only, no pilots) for every cluster alike; a token with ``federation:read`` sees the federation's.
"""

from __future__ import annotations

from flask import make_response
from flask.views import MethodView

from ..benchmarking.chart import draw_benchmark
from ..web import Blueprint
from .api import OPTIONAL_READER, federation_reader, hub
from .benchmark_schemas import BenchmarkQuerySchema, BenchmarkSchema

benchmarks_bp = Blueprint("benchmarks", __name__, url_prefix="/api/v1",
                          description="Clusters benchmarked against their peers")


@benchmarks_bp.route("/clusters/<cluster_id>/benchmark")
class ClusterBenchmark(MethodView):
    @benchmarks_bp.arguments(BenchmarkQuerySchema, location="query")
    @benchmarks_bp.response(200, BenchmarkSchema)
    @benchmarks_bp.doc(security=OPTIONAL_READER)
    def get(self, query, cluster_id):
        """A cluster's indicators, each with its percentile and the peers' median and quartiles, against the whole
        federation and each peer group asked (peers=large, peers=chain:agri-food, peers=countries:eu)"""
        return hub().benchmarks.benchmark(cluster_id, query["peers"], federation_reader())


@benchmarks_bp.route("/clusters/<cluster_id>/benchmark.png")
class ClusterBenchmarkChart(MethodView):
    @benchmarks_bp.arguments(BenchmarkQuerySchema, location="query")
    @benchmarks_bp.doc(security=OPTIONAL_READER,
                       responses={"200": {"description": "The benchmark as a PNG chart",
                                          "content": {"image/png": {"schema": {"type": "string",
                                                                               "format": "binary"}}}}})
    def get(self, query, cluster_id):
        """The same benchmark as a chart: the cluster's percentile per indicator and peer group, over the band of
        the middle half of the peers"""
        png = draw_benchmark(hub().benchmarks.benchmark(cluster_id, query["peers"], federation_reader()))
        response = make_response(png)
        response.content_type = "image/png"
        return response
