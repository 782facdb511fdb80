"""What a harvested document says about its audience and its withdrawn members, and what the hub may purge.

Since profile 1.2 a node's signed document states the audience it was made for and lists the ids of the members it
withdrew (deleted, made private, no longer shared). The hub, which always asks for the federation audience with a
signed request, refuses a document made for another audience (a node that did not recognise the hub's key, a cache
that ignored ``Vary``): a failed fetch, nothing purged, the last good version kept. It purges from its stored
history only the members the node lists as withdrawn; a member merely missing from a smaller document leaves the
current view (a tombstone) but the versions that hold it are not rewritten.

1.0 and 1.1 documents state neither: they are read as before, except that the hub no longer purges history on their
account (the conservative reading: absence is not withdrawal).
"""

from __future__ import annotations

from sqlalchemy import select

from ..errors import SignatureError
from ..profile.reader import parse_version
from .models import MemberTombstone, ProfileVersion

#: The audience the hub asks for: its requests are signed with its key.
FEDERATION = "federation"


class AudienceError(SignatureError):
    """A signed document made for another audience than the hub asked for."""


def states_audience(profile: dict) -> bool:
    """A 1.2 (or later 1.x) document: it must say its audience and its withdrawals."""
    return parse_version(profile.get("version")) >= (1, 2)


def check_audience(profile: dict, asked: str = FEDERATION) -> None:
    """Refuse a document whose signed audience is not ``asked`` (or, from 1.2 on, that names none)."""
    if not states_audience(profile):
        return
    audience = profile.get("audience")
    if audience != asked:
        reason = (f"the node's document was made for the {audience!r} audience, not {asked!r} as the hub asked with a "
                  f"signed request (does the node trust the hub's current key? a cache that ignores Vary?): "
                  f"refused, nothing changed, the last good version is kept"
                  if audience else f"a {profile.get('version')} document must state its audience")
        raise AudienceError(reason, {"audience": [reason]})


def to_purge(session, node_id: str, profile: dict, previous_ids: set[str], present: set[str]) -> set[str]:
    """Member ids to purge from the node's stored versions: those the node's document says it withdrew and that the
    hub still holds (in its current view, or left it earlier and not purged since). Nothing for 1.0/1.1."""
    if not states_audience(profile):
        return set()
    withdrawn = set(profile.get("withdrawn") or ()) - present
    purge = withdrawn & previous_ids
    earlier = withdrawn - previous_ids
    if earlier:  # left the view before (a tombstone), maybe without being purged: unless a version says so
        tombstoned = set(session.scalars(select(MemberTombstone.member_id).where(
            MemberTombstone.node_id == node_id, MemberTombstone.member_id.in_(earlier))))
        if tombstoned:
            redacted: set[str] = set()
            for redactions in session.scalars(select(ProfileVersion.redactions).where(
                    ProfileVersion.node_id == node_id, ProfileVersion.redactions.is_not(None))):
                redacted.update(redactions or ())
            purge |= tombstoned - redacted
    return purge
