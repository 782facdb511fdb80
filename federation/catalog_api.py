"""What a node or hub has loaded, as an API: plugins, taxonomies, value chains, the profile's JSON Schema, and the
signed catalogue (value chains with their stages, activity schemes with their codes) that lets a node accept what
its hub knows without installing the hub's plugins (federation/node/catalogs.py reads it)."""

from __future__ import annotations

import json

from flask import current_app, jsonify, make_response, request
from flask.views import MethodView
from marshmallow import Schema, fields

from .errors import NotFound
from .plugin_manager import describe_plugins
from .profile import SUPPORTED_VERSIONS
from .profile.jsonschema import profile_json_schema
from .signing import sign_document
from .web import Blueprint

CATALOG_SCHEMA = "med-mci/catalog"
CATALOG_VERSION = "1.0"
#: Response header of the detached JWS over the catalogue (as on a node's profile).
SIGNATURE_HEADER = "Med-MCI-Signature"

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



class CatalogStageSchema(StageSchema):
    prefixes = fields.List(fields.String(), metadata={"description": "Pivot-scheme code prefixes of the stage"})


class CatalogValueChainSchema(Schema):
    id = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    ecosystem = fields.String(allow_none=True)
    stages = fields.List(fields.Nested(CatalogStageSchema))


class CatalogSchemeSchema(Schema):
    scheme = fields.String()
    names = fields.Dict(keys=fields.String(), values=fields.String())
    codes = fields.List(fields.String(), metadata={"description": "Every code of the scheme"})


class CatalogSchema(Schema):
    """The value chains and activity schemes a hub (or node) knows, signed by its key: a node that trusts a hub
    accepts them in its cluster and members although it lacks the plugins that provide them."""

    schema = fields.String(metadata={"example": CATALOG_SCHEMA})
    version = fields.String(metadata={"example": CATALOG_VERSION})
    pivot = fields.String()
    value_chains = fields.List(fields.Nested(CatalogValueChainSchema))
    schemes = fields.List(fields.Nested(CatalogSchemeSchema))


def catalog_document(reg) -> dict:
    """The catalogue of a registry: its value chains with their stages, its activity schemes with their codes (the
    same document in every process with the same plugins: sorted throughout)."""
    return {"schema": CATALOG_SCHEMA, "version": CATALOG_VERSION, "pivot": reg.taxonomies.pivot,
            "value_chains": [{"id": c.id, "names": dict(c.names), "ecosystem": c.ecosystem,
                              "stages": [{"id": s.id, "names": dict(s.names), "kind": s.kind,
                                          "prefixes": sorted(s.prefixes)} for s in c.stages]}
                             for c in sorted(reg.value_chains.values(), key=lambda c: c.id)],
            "schemes": [{"scheme": t.scheme, "names": dict(t.names), "codes": sorted(t.codes)}
                        for t in sorted(reg.taxonomies.by_scheme.values(), key=lambda t: t.scheme) if t.activity]}


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


@catalog_bp.route("/catalog", methods=["GET"])
@catalog_bp.doc(responses={"200": {"description": "The catalogue, signed with this server's key (a detached JWS "
                                                  "in the Med-MCI-Signature header, made for the URL asked)",
                                   "content": {"application/json": {"schema": CatalogSchema}}}})
def catalog():
    """The value chains (with their stages) and activity schemes (with their codes) loaded here, signed: a node that
    trusts this hub accepts them without the plugins that provide them (`medmci node trusted-hubs refresh`)"""
    body = json.dumps(catalog_document(registry()), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = make_response(body)
    response.content_type = "application/json"
    kid, key = current_app.extensions["medmci"].keys.current
    response.headers[SIGNATURE_HEADER] = sign_document(body, key, kid, htu=request.base_url)
    response.headers["Cache-Control"] = "no-cache"
    return response


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
