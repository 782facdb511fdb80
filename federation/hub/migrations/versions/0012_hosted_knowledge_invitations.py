"""knowledge entities at the hub: hosted profiles, invitations to meta-clusters, tokens bound to an entity

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-20 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hosted_entities',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('value_chains', sa.JSON(), nullable=False),
    sa.Column('description', sa.JSON(), nullable=False),
    sa.Column('block', sa.JSON(), nullable=False),
    sa.Column('visibility', sa.JSON(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('knowledge_invitations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('metacluster_id', sa.String(length=80), nullable=False),
    sa.Column('entity_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('invited_by', sa.String(length=200), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_knowledge_invitations_mc_entity', 'knowledge_invitations', ['metacluster_id', 'entity_key'])
    op.create_index('ix_knowledge_invitations_entity_key', 'knowledge_invitations', ['entity_key'])
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entity_key', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_api_tokens_entity_key', ['entity_key'])


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_api_tokens_entity_key')
        batch_op.drop_column('entity_key')
    op.drop_index('ix_knowledge_invitations_entity_key', table_name='knowledge_invitations')
    op.drop_index('ix_knowledge_invitations_mc_entity', table_name='knowledge_invitations')
    op.drop_table('knowledge_invitations')
    op.drop_table('hosted_entities')
