"""What a node or hub has loaded, as an API: plugins, taxonomies, value chains, the profile's JSON Schema."""

from __future__ import annotations

from flask import current_app, jsonify
from flask.views import MethodView
from marshmallow import Schema, fields

from .errors import NotFound
from .plugin_manager import describe_plugins
from .profile import SUPPORTED_VERSIONS
from .profile.jsonschema import profile_json_schema
from .web import Blueprint


class StageSchema(Schema):
    id = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    kind = fields.String()

class PluginSchema(Schema):
    name = fields.String()
    module = fields.String()
    distribution = fields.String(allow_none=True)
    version = fields.String(allow_none=True)
    hooks = fields.List(fields.String())

class ValueChainSchema(Schema):
    id = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    description = fields.Dict(keys=fields.String(), values=fields.String())
    ecosystem = fields.String(allow_none=True)
    stages = fields.List(fields.Nested(StageSchema))
    sub_clusters = fields.List(fields.String())

class TaxonomySchema(Schema):
    scheme = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    codes = fields.Integer()
    activity = fields.Boolean()
    source = fields.String()



catalog_bp = Blueprint("catalog", __name__, url_prefix="/api/v1",
                       description="Loaded plugins, taxonomies and value chains; the profile's JSON Schema")


def registry():
    return current_app.extensions["medmci"].registry


@catalog_bp.route("/plugins")
class Plugins(MethodView):
    @catalog_bp.response(200, PluginSchema(many=True))
    def get(self):
        """Loaded plugins and the hooks each implements"""
        return describe_plugins(registry().pm)


@catalog_bp.route("/taxonomies")
class Taxonomies(MethodView):
    @catalog_bp.response(200, TaxonomySchema(many=True))
    def get(self):
        """Loaded taxonomies (code lists)"""
        return [{"scheme": t.scheme, "names": dict(t.names), "codes": len(t.codes), "activity": t.activity,
                 "source": t.source} for t in registry().taxonomies.by_scheme.values()]


@catalog_bp.route("/value-chains")
class ValueChains(MethodView):
    @catalog_bp.response(200, ValueChainSchema(many=True))
    def get(self):
        """Loaded value chains with their ordered stages and sub-clusters"""
        reg = registry()
        return [{"id": c.id, "names": dict(c.names), "description": dict(c.description), "ecosystem": c.ecosystem,
                 "stages": [{"id": s.id, "names": dict(s.names), "kind": s.kind} for s in c.stages],
                 # A config rule may be registered twice (codes, then keywords): list each sub-cluster once.
                 "sub_clusters": list(dict.fromkeys(r.name for r in reg.subcluster_rules.get(c.id, ())))}
                for c in sorted(reg.value_chains.values(), key=lambda c: c.id)]


@catalog_bp.route("/schema/profile-<int:major>.json", methods=["GET"])
@catalog_bp.doc(responses={"200": {"description": "A JSON Schema (draft 2020-12)", "content": {
    "application/schema+json": {"schema": {"type": "object"}}}}, "404": "NOT_FOUND"})
def profile_schema(major):
    """The JSON Schema of the profile document, derived from its marshmallow schemas"""
    if major not in SUPPORTED_VERSIONS:
        raise NotFound(f"no profile schema version {major} here (served: {', '.join(map(str, SUPPORTED_VERSIONS))})")
    response = jsonify(profile_json_schema())
    response.content_type = "application/schema+json"
    return response
