"""metacluster parts: incremental formation; the rules each chain was formed under

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 07:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('metacluster_parts',
    sa.Column('metacluster_id', sa.String(length=80), nullable=False),
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('knowledge', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['metacluster_id'], ['metaclusters.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('metacluster_id', 'node_id')
    )
    with op.batch_alter_table('metaclusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rules', sa.String(length=64), nullable=True))
    # Documents formed before this revision embed their member lists: they are still read as they are, and the next
    # formation of their chain replaces them (and their placements) whole.


def downgrade() -> None:
    with op.batch_alter_table('metaclusters', schema=None) as batch_op:
        batch_op.drop_column('rules')
    op.drop_table('metacluster_parts')
    # Summaries without member lists mean nothing to the previous revision: the next harvest forms them again.
    op.execute("DELETE FROM placements")
    op.execute("DELETE FROM metaclusters")
