"""Node identity and signatures: Ed25519 keys, signed documents, signed hub requests.

Documents (profile, discovery) carry a detached JWS (RFC 7515 appendix F) with alg EdDSA over the RFC 8785 (JCS)
canonical JSON of the parsed document. The hub stores the exact bytes it fetched with their signature and must be able
to re-verify them later (``hub verify``): a signature over the document allows that, an HTTP message signature (tied to
one exchange) does not. JCS makes the signature independent of whitespace and member order.

Requests the hub makes to a node are signed with RFC 9421 HTTP Message Signatures covering ``@method``,
``@target-uri`` and, with a body, its ``Content-Digest``, with a random ``nonce`` against replays. Every verification
failure raises :class:`SignatureError` with a reason in ``errors["signature"]``.

One module per job:

- :mod:`.bounded`: strict JSON parsing within :class:`JsonLimits` (depth, values, number length, no duplicates);
- :mod:`.canonical`: RFC 8785 bytes, with a fast path for plain documents;
- :mod:`.keys`: the key folder (:class:`KeyStore`), public JWKs and key ids (RFC 7638 thumbprints);
- :mod:`.jws`: signing and verifying documents;
- :mod:`.httpsig`: signing and verifying requests (and the ``requests`` glue);
- :mod:`.urls`, :mod:`.base64url`, :mod:`.refusals`: what those share.

This package re-exports their public names (and the two private ones tests use), so ``from federation.signing
import ...`` keeps working; code in federation/ may import from the module that holds a name.
"""

from .base64url import b64url_decode, b64url_encode
from .bounded import DEFAULT_JSON_LIMITS, DocumentLimitError, JsonLimits, ParsedDocument, parse_bounded, parse_document
from .canonical import Canonical, _is_plain, _plain_canonical, canonical_json
from .httpsig import (
    HTTP_SIGNATURE_ALG,
    HTTP_SIGNATURE_LABEL,
    MAX_NONCE_LENGTH,
    MAX_REQUEST_SIGNATURE_BYTES,
    NONCE_BYTES,
    REQUIRED_REQUEST_COMPONENTS,
    HubRequestSigner,
    RequestSignature,
    precheck_request,
    request_signature_kid,
    sign_request,
    verify_request,
    verify_signed_request,
)
from .jws import JWS_ALG, JWS_TYP, sign_document, signature_kid, verify_document, verify_signatures
from .keys import KEEP_PREVIOUS, KEYS_FILE, KeyStore, jwk_to_public_key, keys_from_jwks, public_jwk, thumbprint
from .refusals import MAX_ECHO_CHARS, clip
from .urls import normalize_url, received_url

__all__ = [
    "b64url_decode", "b64url_encode",
    "DEFAULT_JSON_LIMITS", "DocumentLimitError", "JsonLimits", "ParsedDocument", "parse_bounded", "parse_document",
    "Canonical", "_is_plain", "_plain_canonical", "canonical_json",
    "HTTP_SIGNATURE_ALG", "HTTP_SIGNATURE_LABEL", "MAX_NONCE_LENGTH", "MAX_REQUEST_SIGNATURE_BYTES", "NONCE_BYTES",
    "REQUIRED_REQUEST_COMPONENTS", "HubRequestSigner", "RequestSignature", "precheck_request",
    "request_signature_kid", "sign_request", "verify_request", "verify_signed_request",
    "JWS_ALG", "JWS_TYP", "sign_document", "signature_kid", "verify_document", "verify_signatures",
    "KEEP_PREVIOUS", "KEYS_FILE", "KeyStore", "jwk_to_public_key", "keys_from_jwks", "public_jwk", "thumbprint",
    "MAX_ECHO_CHARS", "clip",
    "normalize_url", "received_url",
]
