"""Ed25519 keys: a node's (or hub's) key folder with rotation, public JWKs (RFC 8037) and key ids.

A key id (``kid``) is the RFC 7638 JWK thumbprint of the public key, so a key can be named without a registry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ConfigurationError
from .base64url import B64URL_TEXT, b64url_decode, b64url_encode
from .refusals import clip, refuse

fcntl: ModuleType | None
try:  # POSIX: serialise key creation and rotation between processes (a CLI rotating while the node serves)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

#: The key folder's index: which ``<kid>.pem`` is current, which are previous, and since when.
KEYS_FILE = "keys.json"
#: How many retired keys stay published (and usable for verification) after a rotation.
KEEP_PREVIOUS = 2


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _utcnow() -> str:
    return _iso(dt.datetime.now(dt.UTC))


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
        raise refuse("malformed key", "a JWK must be a JSON object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise refuse("malformed key", f"kty {clip(jwk.get('kty'))!r} / crv {clip(jwk.get('crv'))!r}, expected OKP / "
                                       f"Ed25519")
    if "d" in jwk:
        raise refuse("malformed key", "the JWK holds a private key ('d'); publish only the public part")
    try:
        raw = b64url_decode(jwk.get("x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise refuse("malformed key", "'x' must be 32 bytes in base64url without padding")
    return Ed25519PublicKey.from_public_bytes(raw)


def keys_from_jwks(jwks: Iterable[Mapping]) -> dict[str, Ed25519PublicKey]:
    """``{kid: key}`` for :func:`.jws.verify_document` / :func:`.httpsig.verify_request` from published JWKs.

    A JWK whose ``kid`` is not its thumbprint is refused: a kid here always names one key.
    """
    keys = {}
    for jwk in jwks:
        key = jwk_to_public_key(jwk)
        kid = thumbprint(key)
        if jwk.get("kid", kid) != kid:
            raise refuse("malformed key", f"kid {clip(jwk.get('kid'))!r} is not the key's JWK thumbprint {kid}")
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
    def load_or_create(cls, folder: str | os.PathLike, *, keep_previous: int = KEEP_PREVIOUS) -> KeyStore:
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
    def load(cls, folder: str | os.PathLike, *, keep_previous: int = KEEP_PREVIOUS) -> KeyStore:
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
            if status not in ("current", "previous") or not isinstance(kid, str) or not B64URL_TEXT.fullmatch(kid):
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

