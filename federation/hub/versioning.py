"""A node's version history at the hub: it moves forward only, and it is bounded.

- **Forward only.** A document whose ``sequence`` is lower than the current version's, or equal to it with other
  bytes, is refused with the reason (the last good version stays): otherwise a node, or anyone replaying its traffic
  within the signature's freshness window, could roll the hub back to an old version. A node that really restarted
  its numbering (reinstalled) needs the operator's ``medmci hub accept-sequence-reset NODE``, which is audited and
  lets the next good version carry any sequence.
- **Bounded.** The bytes kept for one node stay under ``limits.max_stored_bytes_per_node``: when a new version goes
  over, the oldest superseded versions are deleted (audit ``version.pruned``), never the current version nor the last
  one whose signature still verifies (not redacted), so ``hub verify`` always has the node's latest signed bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..db import Database
from ..errors import NotFound, ValidationError
from . import audit
from .models import ClusterView, FetchAttempt, MemberTombstone, NodeRecord, ProfileVersion


class SequenceError(ValidationError):
    """A document that would move the node's history backwards."""


def sequence_refusal(current: int | None, sequence, reset_accepted: bool,
                     same_version: bool | None = None) -> str | None:
    """Why a document with ``sequence`` may not follow the current version (``current``), or None if it may.

    ``same_version``: for a document with the current sequence and other bytes, whether it is another rendering
    of the same version (the same ``published_at``: a node renders each version once per audience, public and
    federation, with one sequence); None when not known yet (checked again when the version is stored).
    """
    if current is None or reset_accepted or type(sequence) is not int:  # (a non-integer: validation says why)
        return None
    if sequence < current:
        return (f"sequence {sequence} is lower than the current version's {current}: an old version served again "
                f"(replayed?); if the node was reinstalled, the operator can run `medmci hub accept-sequence-reset`")
    if sequence == current and same_version is False:
        return (f"sequence {sequence} is the current version's, with other bytes and another publication time: a "
                f"node numbers each new version higher")
    return None


def check_sequence(current: int | None, sequence, reset_accepted: bool, same_version: bool | None = None) -> None:
    reason = sequence_refusal(current, sequence, reset_accepted, same_version)
    if reason:
        raise SequenceError(reason, {"sequence": [reason]})


def accept_sequence_reset(db: Database, node_id: str, actor: str = "operator") -> dict:
    """The operator accepts that the node restarted its sequence: the next good version may carry any number."""
    with db.session() as session:
        node = session.get(NodeRecord, node_id)
        if node is None:
            raise NotFound(f"no node {node_id!r} is registered")
        current = session.scalar(select(ProfileVersion.sequence).join(
            ClusterView, ClusterView.version_id == ProfileVersion.id).where(ClusterView.node_id == node_id))
        node.sequence_reset_at = datetime.now(UTC)
        node.discovered_at = None  # read the node's discovery document again too: a reinstalled node may have moved
        audit.record(session, "sequence.reset_accepted", actor, node_id, current_sequence=current)
        return {"node_id": node_id, "sequence_reset_at": node.sequence_reset_at, "current_sequence": current}


def prune(session: Session, node_id: str, current_id: int, max_bytes: int | None) -> list[int]:
    """Delete the node's oldest superseded versions while its kept bytes are over ``max_bytes``; never the current
    version (``current_id``) nor the latest unredacted signed one. Returns the ids deleted."""
    if not max_bytes:
        return []
    rows = session.execute(select(ProfileVersion.id, func.length(ProfileVersion.body), ProfileVersion.redacted_at,
                                  ProfileVersion.signature)
                           .where(ProfileVersion.node_id == node_id).order_by(ProfileVersion.id)).all()
    total = sum(size or 0 for _id, size, _r, _s in rows)
    if total <= max_bytes:
        return []
    verified = [vid for vid, _size, redacted, signature in rows
                if redacted is None and signature and vid != current_id]
    keep = {current_id, *(verified[-1:])}
    doomed: list[int] = []
    for vid, size, _redacted, _signature in rows:  # oldest first
        if total <= max_bytes:
            break
        if vid in keep:
            continue
        doomed.append(vid)
        total -= size or 0
    if doomed:
        # The rows that point at them keep their own facts; the version they named is gone.
        session.execute(update(FetchAttempt).where(FetchAttempt.version_id.in_(doomed)).values(version_id=None))
        session.execute(update(MemberTombstone).where(MemberTombstone.version_id.in_(doomed)).values(version_id=None))
        session.execute(delete(ProfileVersion).where(ProfileVersion.id.in_(doomed)))
        audit.record(session, "version.pruned", "system", node_id, versions=doomed, kept_bytes=total,
                     limit=max_bytes, setting="limits.max_stored_bytes_per_node")
    return doomed
