"""A knowledge node: a university, research centre, technology centre or TTO that runs a node of its own.

`medmci node init --knowledge` puts the node in knowledge mode (a row in the ``knowledge`` table); from then on it
lists no members (adding one is a 409) and publishes, once its block is set, a knowledge profile per audience: the
cluster object (its identity, set as a cluster's is) and the ``knowledge`` block, holding only the fields that
audience may see. Each hideable field (federation.profile.knowledge.HIDEABLE_FIELDS) has a visibility: public,
federation or private; a field without one is public, except contact fields, private as a member's are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, ValidationError
from ..profile.knowledge import VISIBILITY_LEVELS, default_level, field_levels, rendering  # noqa: F401 - re-exported
from ..profile.reader import CodeChecker, first_message, knowledge_code_errors
from .models import KnowledgeRow, MemberRow

#: What a knowledge field's visibility may be; the rendering rules are the document's (shared with the hub, which
#: renders the profiles it hosts the same way).
LEVELS = VISIBILITY_LEVELS
levels = field_levels


# The functions below work in the caller's session: the node service calls them in its units of work, so a change
# republishes in the same transaction.

def knowledge_row(session: Session) -> KnowledgeRow | None:
    """The knowledge row: present on a knowledge node only."""
    return session.get(KnowledgeRow, 1)


def enable(session: Session, at: datetime) -> bool:
    """Make the node a knowledge node; False when it was one already. A node with members cannot be one."""
    if session.get(KnowledgeRow, 1) is not None:
        return False
    members = session.scalar(select(func.count()).select_from(MemberRow)) or 0
    if members:
        raise Conflict(f"this node holds {members} member(s): a knowledge node lists none (delete them first, or "
                       f"run the knowledge node in another instance)")
    session.add(KnowledgeRow(pk=1, block=None, visibility=None, created_at=at, updated_at=at))
    return True


def refuse_members(session: Session) -> None:
    """A knowledge node's member endpoints add nobody: 409 with the reason."""
    if session.get(KnowledgeRow, 1) is not None:
        raise Conflict("this is a knowledge node: it publishes its own knowledge profile and lists no members "
                       "(PUT /api/v1/knowledge; `medmci node knowledge set FILE`)")


def stored(session: Session) -> KnowledgeRow:
    """The knowledge row, or a 409 saying the node is no knowledge node."""
    row = session.get(KnowledgeRow, 1)
    if row is None:
        raise Conflict("this node is not a knowledge node (`medmci node init --knowledge` makes one)")
    return row


def check_codes(block: Mapping, codes: CodeChecker, value_chains: Mapping) -> None:
    """Refuse unknown activity codes, research domains, value chains and stages, each with its path."""
    errors = knowledge_code_errors(block, codes, value_chains)
    if errors:
        raise ValidationError(first_message(errors), errors)


def block_dict(row: KnowledgeRow) -> dict:
    """What the node's API answers: the block with every field's visibility."""
    if row.block is None:
        raise NotFound("this knowledge node has no knowledge block yet: PUT /api/v1/knowledge (or `medmci node "
                       "knowledge set FILE`)")
    return {**row.block, "visibility": levels(row.visibility)}
