"""seen nonces: the hub refuses a replayed node-signed request

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 02:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('seen_nonces',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('nonce')
    )
    op.create_index('ix_seen_nonces_expires_at', 'seen_nonces', ['expires_at'])


def downgrade() -> None:
    op.drop_index('ix_seen_nonces_expires_at', table_name='seen_nonces')
    op.drop_table('seen_nonces')
