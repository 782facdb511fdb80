"""fetch attempts: the worker that did them and the value chains they touched

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 06:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fetch_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('chains', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('fetch_attempts', schema=None) as batch_op:
        batch_op.drop_column('chains')
        batch_op.drop_column('worker')
