"""trust: public URL, seen nonces, withdrawals, audit, hub key rotation

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('node_identity',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('public_url', sa.String(length=500), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pk')
    )
    op.create_table('seen_nonces',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('kid', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('nonce')
    )
    op.create_index('ix_seen_nonces_expires_at', 'seen_nonces', ['expires_at'])
    op.create_table('withdrawals',
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('member_id', sa.String(length=128), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('audience', 'member_id')
    )
    op.create_index('ix_withdrawals_withdrawn_at', 'withdrawals', ['withdrawn_at'])
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_events_at', 'audit_events', ['at'])
    with op.batch_alter_table('trusted_hub_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_after', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('replaced_by', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('trusted_hub_keys', schema=None) as batch_op:
        batch_op.drop_column('replaced_by')
        batch_op.drop_column('not_after')
    op.drop_index('ix_audit_events_at', 'audit_events')
    op.drop_table('audit_events')
    op.drop_index('ix_withdrawals_withdrawn_at', 'withdrawals')
    op.drop_table('withdrawals')
    op.drop_index('ix_seen_nonces_expires_at', 'seen_nonces')
    op.drop_table('seen_nonces')
    op.drop_table('node_identity')
