"""The public key (JWK, RFC 8037 OKP / Ed25519) as node and hub discovery documents publish it: one schema for both
OpenAPI documents, since node and hub never import each other."""

from __future__ import annotations

from marshmallow import Schema, fields


class PublishedKeySchema(Schema):
    """A public key in a discovery document (JWK, RFC 8037 OKP / Ed25519)."""

    kid = fields.String(required=True)
    kty = fields.String(metadata={"example": "OKP"})
    crv = fields.String(metadata={"example": "Ed25519"})
    x = fields.String(metadata={"description": "The public key, base64url"})
    status = fields.String(metadata={"description": "current, or previous during a rotation"})
    created = fields.String(metadata={"description": "When the key was made"})
