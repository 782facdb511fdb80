"""profile_versions: the catalogue (value chains and schemes) the hub had when it set parts of a version aside

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-11 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('profile_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ignored_catalogue', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('profile_versions', schema=None) as batch_op:
        batch_op.drop_column('ignored_catalogue')
