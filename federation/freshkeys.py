"""A key store that follows ``keys.json`` on disk: what a running node or hub signs with after a rotation.

``medmci node rotate-key`` and ``medmci hub rotate-key`` run in another process than the server: the server's
:class:`FreshKeyStore` looks at ``keys/keys.json`` before each use (one ``stat``) and loads the folder again when the
file changed, so the new key signs, and is published, at once, without a restart.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .signing.keys import KEYS_FILE, KeyStore


class FreshKeyStore:
    """A :class:`KeyStore` that reloads itself when ``keys.json`` changes (another process rotated the key)."""

    def __init__(self, folder: str | os.PathLike, create: bool = False):
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._store = (KeyStore.load_or_create if create else KeyStore.load)(self.folder)
        self._stamp = self._stat()

    def _stat(self) -> tuple | None:
        try:
            info = (self.folder / KEYS_FILE).stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size, info.st_ino

    @property
    def store(self) -> KeyStore:
        stamp = self._stat()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    if stamp is None:
                        raise ConfigurationError(f"{self.folder / KEYS_FILE} is gone: this process cannot sign "
                                                 f"with its keys")
                    self._store, self._stamp = KeyStore.load(self.folder), stamp
        return self._store

    @property
    def current(self):
        return self.store.current

    def current_key(self):
        """``(kid, private key)`` now: for :class:`federation.signing.httpsig.HubRequestSigner`."""
        return self.store.current

    def __getattr__(self, name: str) -> Any:  # published(), private_key(), public_keys(), rotate(), keep_previous
        return getattr(self.store, name)
