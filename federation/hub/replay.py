"""Replays of node-signed requests: the hub remembers each accepted request signature's nonce for as long as the
signature could be fresh (``trust.signature_max_age_s`` + ``trust.signature_skew_s``), so the same signed request
sent again (a captured "request a meeting", a pilot answer) is refused, as a node refuses a replayed hub request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..errors import SignatureError, TooManyRequests
from ..signing.httpsig import RequestSignature
from .models import SeenNonce


class NonceLedger:
    """The nonces of accepted node-signed requests, bounded by ``trust.max_nonces``."""

    def __init__(self, db: Database, max_age_s: int, skew_s: int, max_nonces: int):
        self.db = db
        self.skew_s = skew_s  # a signature made this far in the hub's future is still fresh (clocks)
        self.window = timedelta(seconds=max_age_s + skew_s)
        self.max_nonces = max_nonces

    def remember(self, node_id: str, signature: RequestSignature) -> None:
        """Store the nonce until its signature expires; one stored already is a replay (401), and a full ledger
        refuses new signed requests (429) until old nonces expire."""
        at = datetime.now(UTC)
        expires = datetime.fromtimestamp(signature.created, UTC) + self.window
        try:
            with self.db.session() as session:
                session.execute(delete(SeenNonce).where(SeenNonce.expires_at < at))
                if (session.scalar(select(func.count()).select_from(SeenNonce)) or 0) >= self.max_nonces:
                    raise TooManyRequests(f"more than {self.max_nonces} signed requests within the freshness window "
                                          f"(trust.max_nonces): try again later")
                session.add(SeenNonce(nonce=signature.nonce, node_id=node_id, expires_at=expires))
        except IntegrityError:
            reason = "request replayed: its nonce was seen already within the freshness window"
            raise SignatureError(reason, {"signature": [reason]}) from None
