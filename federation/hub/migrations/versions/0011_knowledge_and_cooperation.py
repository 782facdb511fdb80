"""profile 1.3: a knowledge node's cluster view (kind, knowledge block), a cluster's cooperation profile, members'
research domains, identifiers and website

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='cluster'))
        batch_op.add_column(sa.Column('knowledge', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('cooperation', sa.JSON(), nullable=True))
    with op.batch_alter_table('members', schema=None) as batch_op:
        # Members already stored have none: an empty list, as the schema's default.
        batch_op.add_column(sa.Column('research_domains', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('identifiers', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('website', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('website')
        batch_op.drop_column('identifiers')
        batch_op.drop_column('research_domains')
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_column('cooperation')
        batch_op.drop_column('knowledge')
        batch_op.drop_column('kind')
