"""Node identity and signatures: Ed25519 keys, signed documents, signed hub requests.

Documents (profile, discovery) carry a detached JWS (RFC 7515 appendix F) with alg EdDSA over the RFC 8785 (JCS)
canonical JSON of the parsed document. The hub stores the exact bytes it fetched with their signature and must be able
to re-verify them later (``hub verify``): a signature over the document allows that, an HTTP message signature (tied to
one exchange) does not. JCS makes the signature independent of whitespace and member order.

Requests the hub makes to a node are signed with RFC 9421 HTTP Message Signatures (package ``http-message-signatures``)
covering ``@method``, ``@target-uri`` (scheme, authority, path and query: the node a request is meant for) and, with a
body, its RFC 9530 ``Content-Digest``; ``created``, ``keyid`` and a random ``nonce`` are always signed, so a receiver
that remembers nonces for the freshness window refuses a replay. Every verification failure raises
:class:`SignatureError` with a reason in ``errors["signature"]``.

A key id (``kid``) is the RFC 7638 JWK thumbprint of the public key, so a key can be named without a registry.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import http_sf
import requests
import rfc8785
from requests.auth import AuthBase
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import (ContentDigest, HTTPMessageSignaturesException, HTTPMessageSigner,
                                     HTTPMessageVerifier, InvalidSignature, MappingKeyResolver, algorithms)

from .errors import ConfigurationError, SignatureError, ValidationError

try:  # POSIX: serialise key creation and rotation between processes (a CLI rotating while the node serves)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

JWS_ALG = "EdDSA"
JWS_TYP = "med-mci+jws"
HTTP_SIGNATURE_ALG = algorithms.ED25519.algorithm_id  # "ed25519"
#: The label of our entry in the Signature-Input and Signature dictionaries (labels are not signed).
HTTP_SIGNATURE_LABEL = "medmci"
REQUIRED_REQUEST_COMPONENTS = ("@method", "@target-uri")
#: Random bytes in a request signature's nonce, and the longest nonce a receiver accepts (it stores them).
NONCE_BYTES = 18
MAX_NONCE_LENGTH = 64
KEYS_FILE = "keys.json"
#: The largest Signature plus Signature-Input header of a request a receiver parses (``trust.max_request_signature_
#: bytes``): ours are about 300 bytes; anything larger is refused unread, so a stranger cannot make it parse or echo
#: megabytes.
MAX_REQUEST_SIGNATURE_BYTES = 4096
#: The most characters of an untrusted value (a key id, a URL) an error message or an audit line repeats.
MAX_ECHO_CHARS = 200
#: How many retired keys stay published (and usable for verification) after a rotation.
KEEP_PREVIOUS = 2

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


# --- helpers -------------------------------------------------------------------------------------------------------

def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding: no '=', no other alphabet, no non-canonical trailing bits."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def clip(text: Any, limit: int = MAX_ECHO_CHARS) -> str | None:
    """An untrusted value as an error message or an audit line may repeat it: at most ``limit`` characters, marked
    when cut (with the length it had). None stays None."""
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}...[cut: {len(text)} characters]"


def _refuse(reason: str, detail: str | None = None) -> SignatureError:
    return SignatureError(f"{reason}: {detail}" if detail else reason, errors={"signature": [reason]})


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _utcnow() -> str:
    return _iso(dt.datetime.now(dt.timezone.utc))


def _no_duplicate_members(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise ValueError(f"duplicate member {name!r}")
        seen[name] = value
    return seen


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _parse_json(data: bytes) -> Any:
    """Strict JSON: UTF-8, no duplicate member names (two parsers could read different values), no NaN/Infinity."""
    return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_members, parse_constant=_reject_constant)


#: Characters outside the Basic Multilingual Plane: where UTF-16 order (RFC 8785) and code-point order differ.
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


#: A surrogate escape (``\\ud83d``): how ASCII JSON writes a character outside the BMP.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]")


@dataclass(frozen=True)
class JsonLimits:
    """Bounds on a JSON document read from an untrusted source (settings ``limits.*``): checked while it is parsed,
    before anything else reads it. A refusal names the limit and its setting."""

    max_depth: int = 32  # limits.max_json_depth (a valid profile needs 6)
    max_items: int = 1_000_000  # limits.max_json_items: values of any kind in one document
    max_number_digits: int = 100  # limits.max_number_digits (Python refuses int() beyond 4,300 digits anyway)


class DocumentLimitError(ValueError):
    """A document over one of :class:`JsonLimits` (a ValueError: it is not a document this software reads)."""


DEFAULT_JSON_LIMITS = JsonLimits()


def _parse_json_noting(data: bytes, limits: JsonLimits = DEFAULT_JSON_LIMITS) -> tuple[Any, bool]:
    """:func:`_parse_json`, and whether the result is *plain*: no float, no integer outside the range RFC 8785
    writes as is, no member name outside the BMP (see :func:`_plain_canonical`). Numbers longer than
    ``limits.max_number_digits`` are refused before Python converts them (int() of a long one is quadratic)."""
    plain = True
    max_digits = limits.max_number_digits
    # Names outside the BMP need non-ASCII bytes or a surrogate escape: without either, no name is checked.
    check_names = not data.isascii() or _SURROGATE_ESCAPE.search(data) is not None

    def pairs(items: list[tuple[str, Any]]) -> dict:
        nonlocal plain
        members = dict(items)
        if len(members) != len(items):
            return _no_duplicate_members(items)  # raises, naming the first name seen twice
        if plain and check_names:
            names = "".join(members)
            if not names.isascii() and _ASTRAL.search(names):
                plain = False
        return members

    def number(text: str) -> int:
        nonlocal plain
        if len(text) > max_digits:
            raise DocumentLimitError(f"a number of {len(text)} digits is over the limit of {max_digits} "
                                     f"(limits.max_number_digits)")
        value = int(text)
        if not _INT_MIN <= value <= _INT_MAX:
            plain = False
        return value

    def real(text: str) -> float:
        nonlocal plain
        if len(text) > max_digits:
            raise DocumentLimitError(f"a number of {len(text)} characters is over the limit of {max_digits} "
                                     f"(limits.max_number_digits)")
        plain = False
        return float(text)

    document = json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_constant=_reject_constant,
                          parse_int=number, parse_float=real)
    return document, plain


_INT_MAX = 2**53 - 1  # RFC 8785 numbers are IEEE 754 doubles: integers beyond this are not exact
_INT_MIN = -_INT_MAX


def _is_plain(value: Any) -> bool:
    """Only objects with string names in the BMP, arrays, strings, integers in the exact range, booleans, null."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for name in item:
                if type(name) is not str or (not name.isascii() and _ASTRAL.search(name)):
                    return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is int:
            if not _INT_MIN <= item <= _INT_MAX:
                return False
        elif kind is not str and kind is not bool and item is not None:
            return False  # floats (ECMAScript number form), tuples, subclasses...: the reference implementation
    return True


def _plain_canonical(document: Any) -> bytes | None:
    """RFC 8785 bytes of a *plain* document the fast way, or None (then the reference implementation decides).

    For such documents ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes exactly
    the JCS bytes: the same escapes (two-character forms for quote, backslash, backspace, form feed, newline,
    carriage return and tab; six-character forms in lower-case hex for the other controls; nothing else escaped),
    integers as digits, and member names sorted by code point, which is UTF-16 order for names in the BMP.
    Strings that are not valid Unicode (lone surrogates) fail to encode: None. tests/test_signing.py checks the
    equality on generated documents.
    """
    try:
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
        return None


@dataclass(frozen=True)
class ParsedDocument:
    """JSON bytes parsed once, strictly (:func:`parse_document`): read it, and verify its signature, without
    parsing it again. Whoever reads ``document`` must not change it."""

    document: Any
    plain: bool


def parse_document(data: bytes) -> ParsedDocument | None:
    """The strict parse :func:`verify_document` makes of bytes, or None when they are not strict JSON (then each
    reader of the bytes says what is wrong in its own words)."""
    try:
        return ParsedDocument(*_parse_json_noting(bytes(data)))
    except (ValueError, RecursionError):
        return None


def parse_bounded(data: bytes, limits: JsonLimits = DEFAULT_JSON_LIMITS) -> ParsedDocument:
    """Strict JSON within ``limits``, or ValueError saying what is wrong (:class:`DocumentLimitError` for a limit).

    The cheapest checks first: an upper bound of the number of values is counted in the bytes (every value but the
    first follows a comma or an opening bracket), so only a document that may be over the limit is counted exactly,
    after parsing; depth is bounded by the parser's own recursion guard, then exactly.
    """
    data = bytes(data)
    try:
        document, plain = _parse_json_noting(data, limits)
    except DocumentLimitError:
        raise
    except RecursionError:
        raise DocumentLimitError(f"it nests deeper than {limits.max_depth} levels (limits.max_json_depth)") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"it is not valid JSON ({exc})") from exc
    bound = data.count(b",") + data.count(b"[") + data.count(b"{") + 1
    depth, items = _shape(document, limits.max_depth, limits.max_items if bound > limits.max_items else None)
    if depth > limits.max_depth:
        raise DocumentLimitError(f"it nests deeper than {limits.max_depth} levels (limits.max_json_depth)")
    if items is not None and items > limits.max_items:
        raise DocumentLimitError(f"it holds more than {limits.max_items} JSON values (limits.max_json_items)")
    return ParsedDocument(document, plain)


def _shape(value: Any, max_depth: int, max_items: int | None) -> tuple[int, int | None]:
    """(depth, number of values) of parsed JSON, without recursion; stops early past either limit; the count only
    when ``max_items`` is given (None otherwise)."""
    deepest, count, stack = 0, 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        kind = type(node)
        if kind is dict or kind is list:
            if depth > deepest:
                deepest = depth
                if deepest > max_depth:
                    break
            children = node.values() if kind is dict else node
            if max_items is not None:
                count += len(node) if kind is dict else 0  # member names are values too
                if count + len(children) > max_items:
                    return deepest, count + len(children)
            if any(type(c) is dict or type(c) is list for c in children):
                stack.extend((child, depth + 1) for child in children)
            else:
                count += len(children)
    return deepest, count if max_items is not None else None


def canonical_json(document: dict | list | bytes | ParsedDocument) -> bytes:
    """RFC 8785 bytes of a document; bytes are parsed (strictly) as JSON first. Raises ValueError."""
    if isinstance(document, ParsedDocument):
        document, plain = document.document, document.plain
    elif isinstance(document, (bytes, bytearray, memoryview)):
        try:
            document, plain = _parse_json_noting(bytes(document))
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise ValueError(f"not valid JSON ({exc})") from exc
    else:
        try:
            plain = _is_plain(document)
        except RecursionError:
            plain = False
    if plain:
        fast = _plain_canonical(document)
        if fast is not None:
            return fast
    try:
        return rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, RecursionError) as exc:
        raise ValueError(f"cannot be canonicalised per RFC 8785 ({exc!r})") from exc


def normalize_url(url: str) -> str:
    """The form in which URLs are signed and compared: lower-case scheme and host, no default port, no user
    information or fragment, an empty path as "/". Percent-encoding and the query are kept as they are."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port  # ValueError for a port that is not a number
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _same_url(a: str, b: str) -> bool:
    try:
        return normalize_url(a) == normalize_url(b)
    except ValueError:
        return a == b


# --- keys ----------------------------------------------------------------------------------------------------------

def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(public_key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """RFC 7638 JWK thumbprint (base64url SHA-256 of the required members, JCS-ordered): the key's ``kid``."""
    if isinstance(public_key, Ed25519PrivateKey):
        public_key = public_key.public_key()
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(_raw_public(public_key))}
    return b64url_encode(hashlib.sha256(rfc8785.dumps(members)).digest())


def public_jwk(public_key: Ed25519PublicKey, kid: str | None = None, *, status: str | None = None,
               created: str | dt.datetime | None = None) -> dict:
    """The public JWK (RFC 8037) of a key, as published in discovery documents; ``kid`` defaults to the thumbprint."""
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(_raw_public(public_key)),
           "kid": kid if kid is not None else thumbprint(public_key)}
    if status is not None:
        jwk["status"] = status
    if created is not None:
        jwk["created"] = _iso(created) if isinstance(created, dt.datetime) else created
    return jwk


def jwk_to_public_key(jwk: Mapping) -> Ed25519PublicKey:
    """The Ed25519 public key of a JWK; anything else (another key type, a private key, a bad ``x``) is refused."""
    if not isinstance(jwk, Mapping):
        raise _refuse("malformed key", "a JWK must be a JSON object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise _refuse("malformed key", f"kty {clip(jwk.get('kty'))!r} / crv {clip(jwk.get('crv'))!r}, expected OKP / "
                                       f"Ed25519")
    if "d" in jwk:
        raise _refuse("malformed key", "the JWK holds a private key ('d'); publish only the public part")
    try:
        raw = b64url_decode(jwk.get("x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise _refuse("malformed key", "'x' must be 32 bytes in base64url without padding")
    return Ed25519PublicKey.from_public_bytes(raw)


def keys_from_jwks(jwks: Iterable[Mapping]) -> dict[str, Ed25519PublicKey]:
    """``{kid: key}`` for :func:`verify_document` / :func:`verify_request` from published JWKs.

    A JWK whose ``kid`` is not its thumbprint is refused: a kid here always names one key.
    """
    keys = {}
    for jwk in jwks:
        key = jwk_to_public_key(jwk)
        kid = thumbprint(key)
        if jwk.get("kid", kid) != kid:
            raise _refuse("malformed key", f"kid {clip(jwk.get('kid'))!r} is not the key's JWK thumbprint {kid}")
        keys[kid] = key
    return keys


@dataclass
class _KeyRecord:
    kid: str
    created: str
    status: str  # "current" | "previous"
    retired_at: str | None
    private_key: Ed25519PrivateKey

    def metadata(self) -> dict:
        return {"kid": self.kid, "created": self.created, "status": self.status, "retired_at": self.retired_at}


class KeyStore:
    """The node's (or hub's) Ed25519 keys in a folder: ``<kid>.pem`` (PKCS#8, mode 0600) and ``keys.json``.

    One key is "current" (it signs); up to ``keep_previous`` retired ones stay "previous": still published and
    accepted, so documents signed before a rotation verify until they have been re-fetched.
    """

    def __init__(self, folder: Path, records: list[_KeyRecord], keep_previous: int = KEEP_PREVIOUS):
        self.folder = Path(folder)
        self.keep_previous = keep_previous
        self._records = records

    # loading and saving

    @classmethod
    def load_or_create(cls, folder: str | os.PathLike, *, keep_previous: int = KEEP_PREVIOUS) -> "KeyStore":
        """Open the key folder, creating it (0700) and a first key when there is none."""
        folder = Path(folder)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(folder.stat().st_mode) & 0o077:
            os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask, and an existing folder may be open
        with cls._locked(folder):
            if (folder / KEYS_FILE).exists():
                return cls(folder, cls._read(folder), keep_previous)
            if any(folder.glob("*.pem")):
                raise ConfigurationError(f"{folder} holds private keys but no {KEYS_FILE}: restore it, or move the "
                                         f"keys away to start with a new identity")
            store = cls(folder, [], keep_previous)
            store._records = [store._new_key(_utcnow())]
            store._write_metadata(store._records)
            return store

    @classmethod
    def load(cls, folder: str | os.PathLike, *, keep_previous: int = KEEP_PREVIOUS) -> "KeyStore":
        """Open an existing key folder; never make a key (a worker must sign as the hub it works for)."""
        folder = Path(folder)
        if not (folder / KEYS_FILE).exists():
            raise ConfigurationError(f"no keys in {folder}: copy the keys folder of the instance this process "
                                     f"works for (it must sign as that hub or node)")
        with cls._locked(folder):
            return cls(folder, cls._read(folder), keep_previous)

    @staticmethod
    @contextlib.contextmanager
    def _locked(folder: Path) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @staticmethod
    def _read(folder: Path) -> list[_KeyRecord]:
        path = folder / KEYS_FILE
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))["keys"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{path} cannot be read: {exc}") from exc
        records = []
        for entry in entries:
            try:
                kid, status = entry["kid"], entry["status"]
                created, retired_at = entry["created"], entry.get("retired_at")
            except (KeyError, TypeError) as exc:
                raise ConfigurationError(f"{path}: a key entry lacks {exc}") from exc
            if status not in ("current", "previous") or not isinstance(kid, str) or not _B64URL.fullmatch(kid):
                raise ConfigurationError(f"{path}: key entry {entry!r} is not valid")
            pem = folder / f"{kid}.pem"
            try:
                mode = stat.S_IMODE(pem.stat().st_mode)
                data = pem.read_bytes()
            except OSError as exc:
                raise ConfigurationError(f"private key {pem} cannot be read: {exc.strerror}") from exc
            if mode & 0o077:
                raise ConfigurationError(f"private key {pem} is accessible to other users (mode {mode:04o}); "
                                         f"run chmod 600 on it")
            try:
                key = serialization.load_pem_private_key(data, password=None)
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(f"private key {pem} cannot be loaded: {exc}") from exc
            if not isinstance(key, Ed25519PrivateKey):
                raise ConfigurationError(f"private key {pem} is not an Ed25519 key")
            if thumbprint(key) != kid:
                raise ConfigurationError(f"private key {pem} does not match its key id {kid}")
            records.append(_KeyRecord(kid, created, status, retired_at, key))
        if sum(record.status == "current" for record in records) != 1:
            raise ConfigurationError(f"{path} must name exactly one current key")
        return records

    def _new_key(self, created: str) -> _KeyRecord:
        key = Ed25519PrivateKey.generate()
        kid = thumbprint(key)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(self.folder / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        return _KeyRecord(kid, created, "current", None, key)

    def _write_metadata(self, records: list[_KeyRecord]) -> None:
        temporary = self.folder / f".{KEYS_FILE}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump({"keys": [record.metadata() for record in records]}, file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.folder / KEYS_FILE)

    # use

    @property
    def current(self) -> tuple[str, Ed25519PrivateKey]:
        """``(kid, private key)`` of the key that signs."""
        record = next(record for record in self._records if record.status == "current")
        return record.kid, record.private_key

    def private_key(self, kid: str) -> Ed25519PrivateKey:
        """The private key of a current or previous ``kid``; KeyError for any other."""
        for record in self._records:
            if record.kid == kid:
                return record.private_key
        raise KeyError(f"no key {kid} in {self.folder}")

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """``{kid: public key}`` of every published key, for verifying one's own signatures."""
        return {record.kid: record.private_key.public_key() for record in self._records}

    def published(self) -> list[dict]:
        """Public JWKs of the current and previous keys (current first), for discovery documents."""
        return [public_jwk(record.private_key.public_key(), record.kid, status=record.status, created=record.created)
                for record in self._records]

    def rotate(self) -> str:
        """Make a new current key; the old one becomes "previous". Returns the new kid.

        Only the ``keep_previous`` most recently retired keys are kept; older ones are removed from disk.
        """
        with self._locked(self.folder):
            records = self._read(self.folder)  # another process may have rotated since this store was loaded
            now = _utcnow()
            for record in records:
                if record.status == "current":
                    record.status, record.retired_at = "previous", now
            new = self._new_key(now)
            previous = [record for record in records if record.status == "previous"]  # most recent first
            kept, dropped = previous[:self.keep_previous], previous[self.keep_previous:]
            self._write_metadata([new, *kept])  # the metadata never names a file that is not there
            for record in dropped:
                (self.folder / f"{record.kid}.pem").unlink(missing_ok=True)
            self._records = [new, *kept]
            return new.kid


# --- documents: detached JWS over JCS -----------------------------------------------------------------------------

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
        raise _refuse("malformed signature", "a JWS is a string")
    parts = jws.strip().split(".")
    if len(parts) != 3 or parts[1] != "":
        raise _refuse("malformed signature", "expected a detached compact JWS 'header..signature'")
    try:
        header = _parse_json(b64url_decode(parts[0]))
        signature = b64url_decode(parts[2])
    except (ValueError, RecursionError):
        raise _refuse("malformed signature", "the header or signature is not base64url-encoded JSON / bytes") from None
    if not isinstance(header, dict):
        raise _refuse("malformed signature", "the protected header is not a JSON object")
    if not isinstance(header.get("alg"), str):
        raise _refuse("malformed signature", "the protected header has no 'alg'")
    if header["alg"] != JWS_ALG:
        raise _refuse("unsupported algorithm", f"alg {header['alg']!r}; only {JWS_ALG} (Ed25519) is accepted")
    if "crit" in header:
        raise _refuse("malformed signature", "critical header extensions ('crit') are not supported")
    if not isinstance(header.get("typ"), str) or header["typ"].lower() != JWS_TYP:
        raise _refuse("malformed signature", f"typ must be {JWS_TYP!r}")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise _refuse("malformed signature", "the protected header has no 'kid'")
    if type(header.get("iat")) is not int:
        raise _refuse("malformed signature", "the protected header has no integer 'iat'")
    for claim in ("htu", "sub"):
        if claim in header and not isinstance(header[claim], str):
            raise _refuse("malformed signature", f"'{claim}' must be a string")
    if len(signature) != 64:
        raise _refuse("malformed signature", "an Ed25519 signature is 64 bytes")
    return parts[0], header, signature


def signature_kid(jws: str | None) -> str | None:
    """The key id a detached JWS names, without verifying it (to pick a key or explain a refusal)."""
    try:
        return _parse_jws(jws)[1]["kid"] if jws else None
    except SignatureError:
        return None


@dataclass(frozen=True)
class Canonical:
    """A document's signing payload (base64url of its RFC 8785 bytes), computed once for every signature on it."""

    encoded: str

    @classmethod
    def of(cls, document: "dict | list | bytes | ParsedDocument | Canonical") -> "Canonical":
        if isinstance(document, Canonical):
            return document
        try:
            return cls(b64url_encode(canonical_json(document)))
        except ValueError as exc:
            raise _refuse("malformed document", f"the document is {exc}") from exc


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
        raise _refuse("unsigned")
    if len(entries) > max_signatures:
        raise _refuse("too many signatures", f"{len(entries)} signatures, over the limit of {max_signatures} "
                                             f"(trust.max_signatures)")
    payload: Canonical | None = None
    errors: list[SignatureError] = []
    for jws in entries:
        if deadline is not None and time.monotonic() > deadline:
            raise _refuse("verification budget spent", f"signatures not checked within {budget_s or 0:g} s "
                                                       f"(trust.verify_budget_s)")
        try:
            kid = _parse_jws(jws)[1]["kid"]
            if kid not in keys:
                raise _refuse(f"unknown key id {kid}")
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
        raise _refuse("unsigned")
    encoded_header, header, signature = _parse_jws(jws)
    kid = header["kid"]
    key = keys.get(kid)
    if key is None:
        raise _refuse(f"unknown key id {kid}")
    if not isinstance(key, Ed25519PublicKey):
        raise TypeError(f"keys[{kid!r}] is a {type(key).__name__}, not an Ed25519PublicKey")
    payload = Canonical.of(document).encoded
    try:
        key.verify(signature, f"{encoded_header}.{payload}".encode("ascii"))
    except CryptoInvalidSignature:
        raise _refuse("signature does not match (document altered or wrong key)") from None
    now = time.time() if now is None else now
    if header["iat"] > now + skew_s:
        raise _refuse("signature created in the future", f"{header['iat'] - now:.0f} s ahead of this clock")
    age = int(now - header["iat"])
    if max_age_s is not None and age > max_age_s:
        raise _refuse(f"signature too old (created {age} s ago, limit {max_age_s} s): replayed?")
    if expected_htu is not None and not _same_url(header.get("htu", ""), expected_htu):
        raise _refuse("signed for another URL", f"signed for {header.get('htu')!r}, served at {expected_htu!r}")
    if expected_sub is not None and header.get("sub") != expected_sub:
        raise _refuse("signed for another cluster", f"signed for {header.get('sub')!r}, expected {expected_sub!r}")
    return header


# --- requests: RFC 9421 HTTP message signatures ------------------------------------------------------------------

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
    for name in list(prepared.headers):  # signing again (a retry) replaces the previous signature and digest
        if name.lower() in ("signature-input", "signature", "content-digest"):
            del prepared.headers[name]
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519,
                               key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: private_key}))
    signer.sign(_Message(prepared.method, normalize_url(prepared.url), prepared.headers), key_id=kid,
                created=None if created is None else dt.datetime.fromtimestamp(created, dt.timezone.utc),
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
        raise _refuse("unsigned request")
    if size > max_bytes:
        raise _refuse("request signature too large", f"Signature and Signature-Input hold {size} bytes, over the "
                                                     f"limit of {max_bytes} (trust.max_request_signature_bytes)")
    try:
        inputs = http_sf.parse(", ".join(combined["signature-input"]).encode("ascii"), tltype="dictionary")
        signatures = http_sf.parse(", ".join(combined["signature"]).encode("ascii"), tltype="dictionary")
    except (KeyError, ValueError, UnicodeEncodeError) as exc:
        raise _refuse("malformed request signature", "Signature-Input and Signature must both be structured "
                                                     "dictionaries") from exc
    if len(inputs) != 1 or inputs.keys() != signatures.keys():
        raise _refuse("malformed request signature", "expected exactly one signature, under the same label in "
                                                     "Signature-Input and Signature")
    (components, parameters), = inputs.values()
    if not isinstance(components, list):
        raise _refuse("malformed request signature", "a Signature-Input member must be an inner list")
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
    repeats more than :data:`MAX_ECHO_CHARS` characters of what the request sent.
    """
    fields = _header_pairs(headers)
    components, parameters, kid, created, nonce = _read_signature(fields, max_bytes, require_nonce)
    key = keys.get(kid)
    if key is None:
        raise _refuse("unknown key id", clip(kid))
    verifier = _Verifier(signature_algorithm=algorithms.ED25519,
                         key_resolver=MappingKeyResolver(public_keys={kid: key}, private_keys={}))
    try:
        message = _Message(method, normalize_url(url), _FieldLines(fields))
        result, = verifier.verify(message, max_age=None, require_components=REQUIRED_REQUEST_COMPONENTS)
    except InvalidSignature as exc:
        if isinstance(exc.__cause__, CryptoInvalidSignature):
            raise _refuse("signature does not match", "method, URL or Content-Digest altered, or another key") \
                from None
        raise _refuse("malformed request signature", clip(exc)) from exc
    except (HTTPMessageSignaturesException, ValueError) as exc:
        raise _refuse("malformed request signature", clip(exc)) from exc
    _check_fresh(created, parameters, now, max_age_s, skew_s)
    body = bytes(body or b"")
    digest_covered = _check_digest_covered(components, body)
    if digest_covered:
        try:
            ContentDigest.verify_components(result.covered_components, body)
        except HTTPMessageSignaturesException:  # InvalidSignature included
            raise _refuse("content digest mismatch", "the body is not the one that was signed") from None
    return RequestSignature(kid, created, nonce)


def _read_signature(fields: list[tuple[str, str]], max_bytes: int, require_nonce: bool
                    ) -> tuple[list[tuple[str, dict]], dict, str, int, str | None]:
    """``(components, parameters, kid, created, nonce)`` of a request's one signature, checked for what needs no
    key: size, structure, the covered components, the key id, the algorithm, ``created`` and the nonce."""
    components, parameters = _signature_parameters(fields, max_bytes)
    covered = {name for name, params in components if isinstance(name, str) and not params}
    if not set(REQUIRED_REQUEST_COMPONENTS) <= covered:
        raise _refuse("signature does not cover @method/@target-uri")
    kid = parameters.get("keyid")
    if not isinstance(kid, str):
        raise _refuse("malformed request signature", "no keyid")
    if parameters.get("alg", HTTP_SIGNATURE_ALG) != HTTP_SIGNATURE_ALG:
        raise _refuse("unsupported algorithm", f"alg {clip(parameters['alg'])!r}; only {HTTP_SIGNATURE_ALG} is "
                                               f"accepted")
    created = parameters.get("created")
    if type(created) is not int:
        raise _refuse("malformed request signature", "no integer 'created' parameter")
    nonce = parameters.get("nonce")
    if nonce is not None and (not isinstance(nonce, str) or not 0 < len(nonce) <= MAX_NONCE_LENGTH):
        raise _refuse("malformed request signature", f"'nonce' must be a string of 1 to {MAX_NONCE_LENGTH} "
                                                     f"characters")
    if require_nonce and nonce is None:
        raise _refuse("request signature has no nonce", "this receiver refuses replays: sign a 'nonce' parameter")
    return components, parameters, kid, created, nonce


def _check_fresh(created: int, parameters: dict, now: float | None, max_age_s: int | None, skew_s: int) -> None:
    now = time.time() if now is None else now
    if created > now + skew_s:
        raise _refuse("request signature created in the future", f"{created - now:.0f} s ahead of this clock")
    if max_age_s is not None and now - created > max_age_s:
        raise _refuse("request signature too old", f"created {int(now - created)} s ago, limit {max_age_s} s")
    expires = parameters.get("expires")
    if type(expires) is int and expires < now - skew_s:
        raise _refuse("request signature expired")


def _check_digest_covered(components: list[tuple[str, dict]], body: bytes) -> bool:
    """Whether the signature covers Content-Digest; a request with a body must."""
    digest_covered = any(name == "content-digest" for name, _params in components)
    if body and not digest_covered:
        raise _refuse("signature does not cover content-digest", "a request with a body must sign its digest")
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


def received_url(request: Any) -> str:
    """The absolute URL a werkzeug/Flask request was sent to, its path and query exactly as on the wire.

    Uses ``REQUEST_URI`` (set by werkzeug's server and by waitress), falling back to ``request.url``.
    """
    target = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    if not target:
        return request.url
    if target.startswith(("http://", "https://")):  # absolute-form request target
        return target
    return f"{request.scheme}://{request.host}{target}"


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
        sign_request(prepared, key, kid)
        return prepared
