"""profile_versions: the value chains and activity schemes the hub set aside (plugins the node has, the hub lacks)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('profile_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ignored', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('profile_versions', schema=None) as batch_op:
        batch_op.drop_column('ignored')
