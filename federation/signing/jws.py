"""Signed documents: a detached JWS (RFC 7515 appendix F), alg EdDSA, over the RFC 8785 form of a document.

The hub stores the exact bytes it fetched with their signature and must be able to re-verify them later (``hub
verify``): a signature over the document allows that, an HTTP message signature (tied to one exchange) does not.
Every verification failure raises :class:`SignatureError` with a reason in ``errors["signature"]``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import SignatureError, ValidationError
from .base64url import b64url_decode, b64url_encode
from .bounded import ParsedDocument, parse_strict
from .canonical import Canonical, canonical_json
from .refusals import refuse
from .urls import same_url

JWS_ALG = "EdDSA"
JWS_TYP = "med-mci+jws"


def sign_document(document: dict | bytes, private_key: Ed25519PrivateKey, kid: str, *, htu: str | None = None,
                  sub: str | None = None, created: int | None = None) -> str:
    """A detached compact JWS ("header..signature") over the JCS form of ``document``."""
    try:
        payload = canonical_json(document)
    except ValueError as exc:
        raise ValidationError(f"the document cannot be signed: it is {exc}") from exc
    header: dict[str, Any] = {"alg": JWS_ALG, "kid": kid, "typ": JWS_TYP,
                              "iat": int(time.time()) if created is None else int(created)}
    if htu is not None:
        header["htu"] = htu
    if sub is not None:
        header["sub"] = sub
    encoded_header = b64url_encode(rfc8785.dumps(header))
    signing_input = f"{encoded_header}.{b64url_encode(payload)}".encode("ascii")
    return f"{encoded_header}..{b64url_encode(private_key.sign(signing_input))}"


def _parse_jws(jws: str) -> tuple[str, dict, bytes]:
    """``(encoded header, header, signature)`` of a detached compact JWS, or SignatureError."""
    if not isinstance(jws, str):
        raise refuse("malformed signature", "a JWS is a string")
    parts = jws.strip().split(".")
    if len(parts) != 3 or parts[1] != "":
        raise refuse("malformed signature", "expected a detached compact JWS 'header..signature'")
    try:
        header = parse_strict(b64url_decode(parts[0]))
        signature = b64url_decode(parts[2])
    except (ValueError, RecursionError):
        raise refuse("malformed signature", "the header or signature is not base64url-encoded JSON / bytes") from None
    if not isinstance(header, dict):
        raise refuse("malformed signature", "the protected header is not a JSON object")
    if not isinstance(header.get("alg"), str):
        raise refuse("malformed signature", "the protected header has no 'alg'")
    if header["alg"] != JWS_ALG:
        raise refuse("unsupported algorithm", f"alg {header['alg']!r}; only {JWS_ALG} (Ed25519) is accepted")
    if "crit" in header:
        raise refuse("malformed signature", "critical header extensions ('crit') are not supported")
    if not isinstance(header.get("typ"), str) or header["typ"].lower() != JWS_TYP:
        raise refuse("malformed signature", f"typ must be {JWS_TYP!r}")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise refuse("malformed signature", "the protected header has no 'kid'")
    if type(header.get("iat")) is not int:
        raise refuse("malformed signature", "the protected header has no integer 'iat'")
    for claim in ("htu", "sub"):
        if claim in header and not isinstance(header[claim], str):
            raise refuse("malformed signature", f"'{claim}' must be a string")
    if len(signature) != 64:
        raise refuse("malformed signature", "an Ed25519 signature is 64 bytes")
    return parts[0], header, signature


def signature_kid(jws: str | None) -> str | None:
    """The key id a detached JWS names, without verifying it (to pick a key or explain a refusal)."""
    try:
        return _parse_jws(jws)[1]["kid"] if jws else None
    except SignatureError:
        return None


def verify_signatures(document: dict | bytes | ParsedDocument, signatures: str | None,
                      keys: Mapping[str, Ed25519PublicKey], *, max_signatures: int = 4,
                      deadline: float | None = None, budget_s: float | None = None, **checks) -> tuple[dict, str]:
    """Check a comma-separated list of detached JWSes (``Med-MCI-Signature``) over one document: the first that
    verifies with one of ``keys`` wins (its protected header and the JWS itself are returned); otherwise
    SignatureError.

    Bounded whatever the sender does: more than ``max_signatures`` entries are refused before any is read
    (``trust.max_signatures``); a signature by a key not in ``keys`` costs a header decode, no cryptography; the
    document is canonicalised once, on the first signature by a known key; past ``deadline`` (time.monotonic(),
    the fetch's or request's verification budget, ``trust.verify_budget_s``) the check stops and refuses.
    ``checks`` are :func:`verify_document`'s keyword arguments (max_age_s, expected_htu, expected_sub, now).
    """
    entries = [entry.strip() for entry in (signatures or "").split(",") if entry.strip()]
    if not entries:
        raise refuse("unsigned")
    if len(entries) > max_signatures:
        raise refuse("too many signatures", f"{len(entries)} signatures, over the limit of {max_signatures} "
                                             f"(trust.max_signatures)")
    payload: Canonical | None = None
    errors: list[SignatureError] = []
    for jws in entries:
        if deadline is not None and time.monotonic() > deadline:
            raise refuse("verification budget spent", f"signatures not checked within {budget_s or 0:g} s "
                                                       f"(trust.verify_budget_s)")
        try:
            kid = _parse_jws(jws)[1]["kid"]
            if kid not in keys:
                raise refuse(f"unknown key id {kid}")
            payload = payload or Canonical.of(document)
            return verify_document(payload, jws, keys, **checks), jws
        except SignatureError as exc:
            errors.append(exc)
    # The most telling refusal: a known key's (a mismatch, an age) before an unknown key or a malformed entry.
    known = [e for e in errors if not e.message.startswith(("unknown key id", "malformed signature"))]
    raise (known or errors)[0]


def verify_document(document: dict | bytes | ParsedDocument | Canonical, jws: str | None,
                    keys: Mapping[str, Ed25519PublicKey], *,
                    now: float | None = None, max_age_s: int | None = 300, skew_s: int = 60,
                    expected_htu: str | None = None, expected_sub: str | None = None) -> dict:
    """Check a detached JWS made by :func:`sign_document`; return its protected header or raise SignatureError.

    ``max_age_s=None`` skips the age check: re-verifying stored bytes later (``hub verify``) must not fail because
    they are old. ``expected_htu`` / ``expected_sub`` also refuse a signature that names no URL / cluster.
    """
    if jws is None or (isinstance(jws, str) and not jws.strip()):
        raise refuse("unsigned")
    encoded_header, header, signature = _parse_jws(jws)
    kid = header["kid"]
    key = keys.get(kid)
    if key is None:
        raise refuse(f"unknown key id {kid}")
    if not isinstance(key, Ed25519PublicKey):
        raise TypeError(f"keys[{kid!r}] is a {type(key).__name__}, not an Ed25519PublicKey")
    payload = Canonical.of(document).encoded
    try:
        key.verify(signature, f"{encoded_header}.{payload}".encode("ascii"))
    except CryptoInvalidSignature:
        raise refuse("signature does not match (document altered or wrong key)") from None
    now = time.time() if now is None else now
    if header["iat"] > now + skew_s:
        raise refuse("signature created in the future", f"{header['iat'] - now:.0f} s ahead of this clock")
    age = int(now - header["iat"])
    if max_age_s is not None and age > max_age_s:
        raise refuse(f"signature too old (created {age} s ago, limit {max_age_s} s): replayed?")
    if expected_htu is not None and not same_url(header.get("htu", ""), expected_htu):
        raise refuse("signed for another URL", f"signed for {header.get('htu')!r}, served at {expected_htu!r}")
    if expected_sub is not None and header.get("sub") != expected_sub:
        raise refuse("signed for another cluster", f"signed for {header.get('sub')!r}, expected {expected_sub!r}")
    return header
