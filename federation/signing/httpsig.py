"""Signed requests: RFC 9421 HTTP Message Signatures (package ``http-message-signatures``), Ed25519.

A signature covers ``@method``, ``@target-uri`` (scheme, authority, path and query: the node a request is meant
for) and, with a body, its RFC 9530 ``Content-Digest``; ``created``, ``keyid`` and a random ``nonce`` are always
signed, so a receiver that remembers nonces for the freshness window refuses a replay. Signing is ``requests`` glue
(:func:`sign_request`, :class:`HubRequestSigner`); verifying reads what werkzeug/Flask received (pass
:func:`.urls.received_url` as the URL). Every verification failure raises :class:`SignatureError` with a reason in
``errors["signature"]``; none repeats more than :data:`.refusals.MAX_ECHO_CHARS` characters of what was sent.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import http_sf
import requests
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from requests.auth import AuthBase

from ..errors import SignatureError
from .refusals import clip, refuse
from .urls import normalize_url

HTTP_SIGNATURE_ALG = algorithms.ED25519.algorithm_id  # "ed25519"
#: The label of our entry in the Signature-Input and Signature dictionaries (labels are not signed).
HTTP_SIGNATURE_LABEL = "medmci"
REQUIRED_REQUEST_COMPONENTS = ("@method", "@target-uri")
#: Random bytes in a request signature's nonce, and the longest nonce a receiver accepts (it stores them).
NONCE_BYTES = 18
MAX_NONCE_LENGTH = 64
#: The largest Signature plus Signature-Input header of a request a receiver parses (``trust.max_request_signature_
#: bytes``): ours are about 300 bytes; anything larger is refused unread, so a stranger cannot make it parse or echo
#: megabytes.
MAX_REQUEST_SIGNATURE_BYTES = 4096


class _FieldLines:
    """Read-write header view in the shape http-message-signatures reads (``items()``) and writes."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self._pairs = [(str(name), str(value)) for name, value in pairs]

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._pairs))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(field.lower() == name.lower() for field, _ in self._pairs)


@dataclass
class _Message:
    """A request as the library reads it: method, absolute URL, headers. (No ``status_code``: not a response.)"""

    method: str
    url: str
    headers: Any


class _Verifier(HTTPMessageVerifier):
    """The library's verifier without its own clock: :func:`verify_request` checks ``created`` against ``now``."""

    def validate_created_and_expires(self, sig_input, max_age=None):
        pass


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    return list(headers.items() if hasattr(headers, "items") else headers)


def sign_request(prepared: requests.PreparedRequest, private_key: Ed25519PrivateKey, kid: str, *,
                 created: int | None = None, nonce: str | None = None) -> None:
    """Add Signature-Input and Signature (and Content-Digest when there is a body) to a prepared request.

    The target URI is signed in :func:`normalize_url` form. ``created`` (unix seconds) defaults to now; ``nonce`` to
    a new random value (each signing is a new request: a retry is signed again with a new nonce).
    """
    body = prepared.body
    if isinstance(body, str):
        body = body.encode("utf-8")  # what urllib3 sends for a str body
    elif body is not None and not isinstance(body, bytes):
        raise ValueError("a streamed or file body cannot be signed: pass the body as bytes")
    if prepared.method is None or prepared.url is None:
        raise ValueError("only a prepared request with a method and a URL can be signed")
    for name in list(prepared.headers):  # signing again (a retry) replaces the previous signature and digest
        if name.lower() in ("signature-input", "signature", "content-digest"):
            del prepared.headers[name]
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                               key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: private_key}))
    signer.sign(_Message(prepared.method, normalize_url(prepared.url), prepared.headers), key_id=kid,
                created=None if created is None else dt.datetime.fromtimestamp(created, dt.UTC),
                nonce=nonce or secrets.token_urlsafe(NONCE_BYTES), label=HTTP_SIGNATURE_LABEL,
                covered_component_ids=REQUIRED_REQUEST_COMPONENTS,
                body=body or None)  # with a body, the library adds Content-Digest and covers it


def _signature_parameters(fields: list[tuple[str, str]], max_bytes: int = MAX_REQUEST_SIGNATURE_BYTES
                          ) -> tuple[list[tuple[str, dict]], dict]:
    """The covered components and parameters of the one signature of a request (SignatureError otherwise).

    The size of the Signature and Signature-Input headers is checked first, before they are parsed."""
    combined: dict[str, list[str]] = {}
    size = 0
    for name, value in fields:
        lower = name.lower()
        if lower in ("signature-input", "signature"):
            size += len(value)
            combined.setdefault(lower, []).append(value)
    if "signature-input" not in combined and "signature" not in combined:
        raise refuse("unsigned request")
    if size > max_bytes:
        raise refuse("request signature too large", f"Signature and Signature-Input hold {size} bytes, over the "
                                                     f"limit of {max_bytes} (trust.max_request_signature_bytes)")
    try:
        # tltype="dictionary": both parse to a dict (the library's return type is the union of all field types).
        inputs = cast(dict[str, Any], http_sf.parse(", ".join(combined["signature-input"]).encode("ascii"),
                                                    tltype="dictionary"))
        signatures = cast(dict[str, Any], http_sf.parse(", ".join(combined["signature"]).encode("ascii"),
                                                        tltype="dictionary"))
    except (KeyError, ValueError, UnicodeEncodeError) as exc:
        raise refuse("malformed request signature", "Signature-Input and Signature must both be structured "
                                                     "dictionaries") from exc
    if len(inputs) != 1 or inputs.keys() != signatures.keys():
        raise refuse("malformed request signature", "expected exactly one signature, under the same label in "
                                                     "Signature-Input and Signature")
    (components, parameters), = inputs.values()
    if not isinstance(components, list):
        raise refuse("malformed request signature", "a Signature-Input member must be an inner list")
    return components, parameters


@dataclass(frozen=True)
class RequestSignature:
    """What a verified request signature says: who signed, when, and its nonce (None if it carries none)."""

    kid: str
    created: int
    nonce: str | None


def request_signature_kid(headers: Any, max_bytes: int = MAX_REQUEST_SIGNATURE_BYTES) -> str | None:
    """The key id a request's signature names, without verifying it (to explain a refusal); None if unreadable
    (or its headers are over ``max_bytes``)."""
    try:
        _components, parameters = _signature_parameters(_header_pairs(headers), max_bytes)
    except SignatureError:
        return None
    kid = parameters.get("keyid")
    return kid if isinstance(kid, str) else None


def verify_request(method: str, url: str, headers: Any, body: bytes | None, keys: Mapping[str, Ed25519PublicKey],
                   *, max_age_s: int | None = 300, now: float | None = None, skew_s: int = 60,
                   max_bytes: int = MAX_REQUEST_SIGNATURE_BYTES) -> str:
    """Check the RFC 9421 signature of a received request; return the signer's kid or raise SignatureError
    (:func:`verify_signed_request` also returns its ``created`` and ``nonce``)."""
    return verify_signed_request(method, url, headers, body, keys, max_age_s=max_age_s, now=now, skew_s=skew_s,
                                 max_bytes=max_bytes).kid


def verify_signed_request(method: str, url: str, headers: Any, body: bytes | None,
                          keys: Mapping[str, Ed25519PublicKey], *, max_age_s: int | None = 300,
                          now: float | None = None, skew_s: int = 60, require_nonce: bool = False,
                          max_bytes: int = MAX_REQUEST_SIGNATURE_BYTES) -> RequestSignature:
    """Check the RFC 9421 signature of a received request; return what it says or raise SignatureError.

    ``url`` is the absolute URL the request was sent to; ``headers`` anything with ``items()`` (werkzeug, requests,
    dict) or a list of pairs; ``body`` the raw body bytes. With Flask, pass ``received_url(request)`` rather than
    ``request.url``: werkzeug rebuilds ``request.url`` from the decoded path and query, so percent-escapes such as
    ``%3A`` or ``%C3%A9`` (``params=`` in requests) come back changed and the signature would not match.

    Signature and Signature-Input over ``max_bytes`` together are refused before they are parsed; no refusal
    repeats more than :data:`.refusals.MAX_ECHO_CHARS` characters of what the request sent.
    """
    fields = _header_pairs(headers)
    components, parameters, kid, created, nonce = _read_signature(fields, max_bytes, require_nonce)
    key = keys.get(kid)
    if key is None:
        raise refuse("unknown key id", clip(kid))
    verifier = _Verifier(signature_algorithm=algorithms.ED25519,
                         key_resolver=MappingKeyResolver(public_keys={kid: key}, private_keys={}))
    try:
        message = _Message(method, normalize_url(url), _FieldLines(fields))
        result, = verifier.verify(message, max_age=None, require_components=REQUIRED_REQUEST_COMPONENTS)
    except InvalidSignature as exc:
        if isinstance(exc.__cause__, CryptoInvalidSignature):
            raise refuse("signature does not match", "method, URL or Content-Digest altered, or another key") \
                from None
        raise refuse("malformed request signature", clip(exc)) from exc
    except (HTTPMessageSignaturesException, ValueError) as exc:
        raise refuse("malformed request signature", clip(exc)) from exc
    _check_fresh(created, parameters, now, max_age_s, skew_s)
    body = bytes(body or b"")
    digest_covered = _check_digest_covered(components, body)
    if digest_covered:
        try:
            ContentDigest.verify_components(result.covered_components, body)
        except HTTPMessageSignaturesException:  # InvalidSignature included
            raise refuse("content digest mismatch", "the body is not the one that was signed") from None
    return RequestSignature(kid, created, nonce)


def _read_signature(fields: list[tuple[str, str]], max_bytes: int, require_nonce: bool
                    ) -> tuple[list[tuple[str, dict]], dict, str, int, str | None]:
    """``(components, parameters, kid, created, nonce)`` of a request's one signature, checked for what needs no
    key: size, structure, the covered components, the key id, the algorithm, ``created`` and the nonce."""
    components, parameters = _signature_parameters(fields, max_bytes)
    covered = {name for name, params in components if isinstance(name, str) and not params}
    if not set(REQUIRED_REQUEST_COMPONENTS) <= covered:
        raise refuse("signature does not cover @method/@target-uri")
    kid = parameters.get("keyid")
    if not isinstance(kid, str):
        raise refuse("malformed request signature", "no keyid")
    if parameters.get("alg", HTTP_SIGNATURE_ALG) != HTTP_SIGNATURE_ALG:
        raise refuse("unsupported algorithm", f"alg {clip(parameters['alg'])!r}; only {HTTP_SIGNATURE_ALG} is "
                                               f"accepted")
    created = parameters.get("created")
    if type(created) is not int:
        raise refuse("malformed request signature", "no integer 'created' parameter")
    nonce = parameters.get("nonce")
    if nonce is not None and (not isinstance(nonce, str) or not 0 < len(nonce) <= MAX_NONCE_LENGTH):
        raise refuse("malformed request signature", f"'nonce' must be a string of 1 to {MAX_NONCE_LENGTH} "
                                                     f"characters")
    if require_nonce and nonce is None:
        raise refuse("request signature has no nonce", "this receiver refuses replays: sign a 'nonce' parameter")
    return components, parameters, kid, created, nonce


def _check_fresh(created: int, parameters: dict, now: float | None, max_age_s: int | None, skew_s: int) -> None:
    now = time.time() if now is None else now
    if created > now + skew_s:
        raise refuse("request signature created in the future", f"{created - now:.0f} s ahead of this clock")
    if max_age_s is not None and now - created > max_age_s:
        raise refuse("request signature too old", f"created {int(now - created)} s ago, limit {max_age_s} s")
    expires = parameters.get("expires")
    if type(expires) is int and expires < now - skew_s:
        raise refuse("request signature expired")


def _check_digest_covered(components: list[tuple[str, dict]], body: bytes) -> bool:
    """Whether the signature covers Content-Digest; a request with a body must."""
    digest_covered = any(name == "content-digest" for name, _params in components)
    if body and not digest_covered:
        raise refuse("signature does not cover content-digest", "a request with a body must sign its digest")
    return digest_covered


def precheck_request(headers: Any, body: bytes | None, *, max_age_s: int | None = 300, now: float | None = None,
                     skew_s: int = 60, max_bytes: int = MAX_REQUEST_SIGNATURE_BYTES) -> str:
    """Everything :func:`verify_signed_request` checks that needs no key (size, structure, covered components,
    freshness, a digest for a body): run it before any work the key would cost, such as fetching a joining node's
    discovery document. Returns the key id the signature names."""
    components, parameters, kid, created, _nonce = _read_signature(_header_pairs(headers), max_bytes, False)
    _check_fresh(created, parameters, now, max_age_s, skew_s)
    _check_digest_covered(components, bytes(body or b""))
    return kid


class HubRequestSigner(AuthBase):
    """``requests`` auth that signs each request (RFC 9421): ``session.get(url, auth=HubRequestSigner(key, kid))``.

    ``current``, if given, is called for each request and returns ``(kid, private key)``: the signer then follows a
    key store that may change under it (a hub key rotated while workers run). A redirect is not re-signed: the
    redirected request keeps the signature of the first URL and is refused.
    """

    def __init__(self, private_key: Ed25519PrivateKey | None = None, kid: str | None = None, *,
                 current: Any = None):
        if current is None and (private_key is None or kid is None):
            raise ValueError("give a private key and its kid, or a 'current' callable")
        self.private_key = private_key
        self.kid = kid
        self.current = current

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        kid, key = self.current() if self.current is not None else (self.kid, self.private_key)
        if kid is None or key is None:  # only with a 'current' callable that gave none
            raise ValueError("no hub key to sign with")
        sign_request(prepared, key, kid)
        return prepared
