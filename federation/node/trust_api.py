"""The node's trust endpoints: a hub announces its new key (signed by its old one); the admin lists trusted keys
and the node's audit log. Thin views over :class:`federation.node.trust.NodeTrust`."""

from __future__ import annotations

import json

from flask import current_app, request
from flask_smorest import Blueprint
from werkzeug.exceptions import LengthRequired, RequestEntityTooLarge

from ..errors import BadRequest
from ..signing import received_url
from ..tokens import require
from .trust import request_target

#: Largest key-rotation message a node reads (a JWK and a URL fit in far less).
MAX_ROTATION_BYTES = 16 * 1024

trust_bp = Blueprint("trust", __name__, url_prefix="/api/v1/trusted-hubs",
                     description="The hub keys this node trusts, and how a hub rotates its key")


def _trust():
    return current_app.extensions["medmci"].hubs


_ROTATION_BODY = {"type": "object", "required": ["new_key"], "properties": {"new_key": {"type": "object"}}}


@trust_bp.route("/rotate", methods=["POST"])
@trust_bp.doc(requestBody={"content": {"application/json": {"schema": _ROTATION_BODY}}},
              responses={"401": {"description": "Not signed (RFC 9421) by a hub key this node trusts, not signed for "
                                                "this node, or replayed"}})
def rotate():
    """A hub's new key: the message must be signed (RFC 9421, with its Content-Digest) by a hub key this node trusts
    now, for this node's public URL. The node then trusts the new key and keeps the signing key for
    trust.hub_key_grace_days."""
    if "Signature" not in request.headers and "Signature-Input" not in request.headers:  # refused and audited,
        _trust().check_request(request.method, request_target(request), request.headers, b"",  # body unread
                               received_url(request), request.remote_addr)
    if request.content_length is None:
        raise LengthRequired("a key rotation message needs a Content-Length")
    if request.content_length > MAX_ROTATION_BYTES:
        raise RequestEntityTooLarge(f"a key rotation message has a Content-Length of at most {MAX_ROTATION_BYTES}")
    body = request.get_data()
    signature = _trust().check_request(request.method, request_target(request), request.headers, body,
                                       received_url(request), request.remote_addr)
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("the key rotation message is not JSON") from exc
    answer = _trust().rotate_hub_key(signature, message)
    return {**answer, "previous_until": answer["previous_until"].isoformat()}


@trust_bp.route("", methods=["GET"])
@require("members:write")
def list_keys():
    """The hub keys this node trusts (admin), each with its hub, and when a rotated-out key stops being accepted"""
    return {"public_url": _trust().public_url(),
            "keys": [{**k, "added_at": k["added_at"].isoformat(),
                      "not_after": k["not_after"].isoformat() if k["not_after"] else None} for k in _trust().list()]}


@trust_bp.route("/audit", methods=["GET"])
@require("members:write")
def audit():
    """The node's audit log, newest first (admin): refused signed requests, hub keys trusted and rotated"""
    limit = request.args.get("limit", "50")
    events = _trust().audit.events(request.args.get("action") or None, int(limit) if limit.isdigit() else 50)
    return {"events": [{**e, "at": e["at"].isoformat()} for e in events]}

