"""Marshmallow schemas of the benchmark endpoints (``federation/hub/benchmark_api.py``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..web import Text

#: Longest peer group name a request may give (``chain:`` or ``countries:`` and an id of 64 characters).
MAX_PEER_NAME = 80


class BenchmarkQuerySchema(Schema):
    peers = fields.List(Text(validate=validate.Length(1, MAX_PEER_NAME)), load_default=list,
                        validate=validate.Length(max=20), metadata={
                            "description": "Peer groups besides the whole federation (repeat the parameter): large, "
                                           "chain:<value chain>, countries:<group> (eu, mena, or one of "
                                           "benchmark.country_groups)"})


class PeerStatsSchema(Schema):
    n = fields.Integer(metadata={"description": "Peers with a value (the cluster itself is never its own peer)"})
    percentile = fields.Float(allow_none=True, metadata={
        "description": "0..100: the share of peers below the cluster's value, ties counting half"})
    median = fields.Float(allow_none=True)
    q1 = fields.Float(allow_none=True)
    q3 = fields.Float(allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "Why a figure is missing (too few peers...)"})


class BenchmarkRowSchema(Schema):
    name = fields.String()
    label = fields.String()
    labels = fields.Dict(keys=fields.String(), values=fields.String())
    unit = fields.String()
    higher_is_better = fields.Boolean(allow_none=True)
    description = fields.String()
    value = fields.Float(allow_none=True, metadata={"description": "None: the indicator does not apply"})
    peers = fields.Dict(keys=fields.String(), values=fields.Nested(PeerStatsSchema), metadata={
        "description": "Per peer group: the cluster's percentile, the peers' median and quartiles"})


class PeerGroupSchema(Schema):
    name = fields.String()
    label = fields.String()
    clusters = fields.List(fields.String())


class BenchmarkClusterSchema(Schema):
    id = fields.String()
    node_id = fields.String()
    name = fields.String()
    country = fields.String()
    members = fields.Integer()


class BenchmarkSchema(Schema):
    cluster = fields.Nested(BenchmarkClusterSchema)
    as_of = fields.Date()
    audience = fields.String(metadata={"description": "public (an anonymous reader: public members only, no "
                                                      "pilots) or federation"})
    min_peers = fields.Integer()
    peer_groups = fields.List(fields.Nested(PeerGroupSchema))
    indicators = fields.List(fields.Nested(BenchmarkRowSchema))
