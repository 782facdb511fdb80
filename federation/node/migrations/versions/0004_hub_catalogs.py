"""hub_catalogs: the signed catalogue of each trusted hub, and what that hub set aside of this node's profile

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hub_catalogs',
    sa.Column('hub_url', sa.String(length=500), nullable=False),
    sa.Column('document', sa.JSON(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('kid', sa.String(length=100), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('ignored', sa.JSON(), nullable=True),
    sa.Column('ignored_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('hub_url')
    )


def downgrade() -> None:
    op.drop_table('hub_catalogs')
