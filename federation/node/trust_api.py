"""The node's trust endpoints: a hub announces its new key (signed by its old one); the admin lists trusted keys,
the trusted hubs' catalogues (and reads them again), and the node's audit log. Thin views over
:class:`federation.node.trust.NodeTrust` and :class:`federation.node.catalogs.HubCatalogs`."""

from __future__ import annotations

from flask import current_app, request
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import LengthRequired

from ..settings import packaged_settings
from ..signing import received_url
from ..token_guard import require
from ..web import Blueprint, Text, body_limit, parse_json_body
from .trust import request_target

#: Largest key-rotation message a node reads by default (``trust.max_rotation_bytes``; a JWK fits in far less).
MAX_ROTATION_BYTES = int(packaged_settings().get("trust.max_rotation_bytes"))

trust_bp = Blueprint("trust", __name__, url_prefix="/api/v1/trusted-hubs",
                     description="The hub keys this node trusts, and how a hub rotates its key")


def _trust():
    return current_app.extensions["medmci"].hubs


def _catalogs():
    return current_app.extensions["medmci"].catalogs


_ROTATION_BODY = {"type": "object", "required": ["new_key"], "properties": {"new_key": {"type": "object"}}}


@trust_bp.route("/rotate", methods=["POST"])
@trust_bp.doc(requestBody={"content": {"application/json": {"schema": _ROTATION_BODY}}},
              responses={"401": {"description": "Not signed (RFC 9421) by a hub key this node trusts, not signed for "
                                                "this node, or replayed"},
                         "400": {"description": "The message is not JSON, or nested too deeply"},
                         "413": {"description": f"The message is over trust.max_rotation_bytes ({MAX_ROTATION_BYTES} "
                                                f"bytes by default): refused before it is read"},
                         "422": {"description": "The message names no valid Ed25519 key (errors name new_key)"}},
              security=[{"httpSignature": []}])
@body_limit("trust.max_rotation_bytes")  # the request guard refuses a larger one, unread
def rotate():
    """A hub's new key: the message must be signed (RFC 9421, with its Content-Digest) by a hub key this node trusts
    now, for this node's public URL. The node then trusts the new key and keeps the signing key for
    trust.hub_key_grace_days."""
    if "Signature" not in request.headers and "Signature-Input" not in request.headers:  # refused and audited,
        _trust().check_request(request.method, request_target(request), request.headers, b"",  # body unread
                               received_url(request), request.remote_addr)
    if request.content_length is None:
        raise LengthRequired("a key rotation message needs a Content-Length")
    body = request.get_data()
    signature = _trust().check_request(request.method, request_target(request), request.headers, body,
                                       received_url(request), request.remote_addr)
    message = parse_json_body(body, int(current_app.config["MEDMCI_MAX_JSON_DEPTH"]))
    answer = _trust().rotate_hub_key(signature, message)
    if _catalogs() is not None:  # read the hubs' catalogues again, after this answer (the hub waits for it)
        _catalogs().refresh_in_background()
    return {**answer, "previous_until": answer["previous_until"].isoformat()}


@trust_bp.route("", methods=["GET"])
@require("members:write")
def list_keys():
    """The hub keys this node trusts (admin), each with its hub, and when a rotated-out key stops being accepted"""
    return {"public_url": _trust().public_url(),
            "keys": [{**k, "added_at": k["added_at"].isoformat(),
                      "not_after": k["not_after"].isoformat() if k["not_after"] else None} for k in _trust().list()]}


def _iso(value):
    return value.isoformat() if value is not None else None


def _catalog_entry(entry: dict) -> dict:
    return {**entry, **{k: _iso(entry[k]) for k in ("fetched_at", "checked_at", "ignored_at")}}


@trust_bp.route("/catalogs", methods=["GET"])
@require("members:write")
def list_catalogs():
    """The catalogue of each trusted hub (admin): the value chains and schemes this node accepts because that hub
    publishes them, when it was read, why the last reading failed, and what that hub set aside of this node's
    profile (value chains and schemes of plugins the hub lacks)"""
    return {"hubs": [_catalog_entry(e) for e in _catalogs().list()]}


@trust_bp.route("/catalogs/refresh", methods=["POST"])
@require("members:write")
def refresh_catalogs():
    """Read every trusted hub's signed catalogue again (admin); a hub whose catalogue is refused keeps its previous
    one, and the answer says why"""
    return {"results": _catalogs().refresh()}


class AuditQuerySchema(Schema):
    action = Text(load_default=None, validate=validate.Length(max=64))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 1000))


@trust_bp.route("/audit", methods=["GET"])
@trust_bp.arguments(AuditQuerySchema, location="query")
@require("members:write")
def audit(query):
    """The node's audit log, newest first (admin): refused signed requests, hub keys trusted and rotated"""
    events = _trust().audit.events(query["action"], query["limit"])
    return {"events": [{**e, "at": e["at"].isoformat()} for e in events]}

