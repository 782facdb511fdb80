"""one open invitation per entity and meta-cluster: a partial unique index over the invitations waiting or accepted
(two concurrent invitations both passed the check on PostgreSQL, where FOR UPDATE over no row locks nothing)

Revision ID: 0013
Revises: 0012
Create Date: 2027-01-05 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('invited', 'accepted')")


def upgrade() -> None:
    # Duplicates made before this index: the newest open one of each pair stays open, the others are withdrawn.
    op.execute("""
        UPDATE knowledge_invitations SET status = 'withdrawn', answered_by = 'migration:0013'
        WHERE status IN ('invited', 'accepted') AND id NOT IN (
            SELECT MAX(id) FROM knowledge_invitations WHERE status IN ('invited', 'accepted')
            GROUP BY metacluster_id, entity_key)
    """)
    op.create_index('uq_knowledge_invitations_open', 'knowledge_invitations', ['metacluster_id', 'entity_key'],
                    unique=True, sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index('uq_knowledge_invitations_open', table_name='knowledge_invitations')
