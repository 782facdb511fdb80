"""jobs, node health, tombstones

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 04:43:54.951326
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('member_tombstones',
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.String(length=128), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['profile_versions.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('node_id', 'member_id')
    )
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stale_since', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('fetch_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('finished_at',
               existing_type=sa.DateTime(timezone=True),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_fetch_attempts_outcome'), ['outcome'], unique=False)

    with op.batch_alter_table('harvest_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='finished', nullable=False))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_harvest_runs_status'), ['status'], unique=False)

    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('health', sa.String(length=16), server_default='ok', nullable=False))
        batch_op.add_column(sa.Column('first_failure_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('fetch_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_push_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_column('last_push_at')
        batch_op.drop_column('fetch_requested_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('first_failure_at')
        batch_op.drop_column('health')

    with op.batch_alter_table('harvest_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_harvest_runs_status'))
        batch_op.drop_column('error')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('status')

    with op.batch_alter_table('fetch_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fetch_attempts_outcome'))
        batch_op.alter_column('finished_at',
               existing_type=sa.DateTime(timezone=True),
               nullable=False)
        batch_op.drop_column('lease_until')

    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_column('stale_since')

    op.drop_table('member_tombstones')
