"""nodes: an operator-accepted sequence reset; profile_versions: sequence as a 64-bit integer, published_at

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence_reset_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('profile_versions', schema=None) as batch_op:
        batch_op.alter_column('sequence', existing_type=sa.Integer(), type_=sa.BigInteger())
        batch_op.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('profile_versions', schema=None) as batch_op:
        batch_op.drop_column('published_at')
        batch_op.alter_column('sequence', existing_type=sa.BigInteger(), type_=sa.Integer())
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_column('sequence_reset_at')
