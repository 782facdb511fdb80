"""profile 1.3: a knowledge node's block, the cluster's cooperation profile, members' research domains,
identifiers and website

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('knowledge',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('block', sa.JSON(), nullable=True),
    sa.Column('visibility', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('cluster', schema=None) as batch_op:
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
    with op.batch_alter_table('cluster', schema=None) as batch_op:
        batch_op.drop_column('cooperation')
    op.drop_table('knowledge')
