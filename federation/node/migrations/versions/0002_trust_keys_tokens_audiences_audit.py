"""trust: keys, tokens, audiences, audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 04:09:48.294043
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('node_id', sa.String(length=64), nullable=True),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_node_id'), ['node_id'], unique=False)

    op.create_table('publications',
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('etag', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('audience')
    )
    op.create_table('trusted_hub_keys',
    sa.Column('kid', sa.String(length=100), nullable=False),
    sa.Column('jwk', sa.JSON(), nullable=False),
    sa.Column('hub_url', sa.String(length=500), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kid')
    )
    op.drop_table('publication')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('contact_visibility', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('contact_visibility')
        batch_op.drop_column('contact')

    op.create_table('publication',
    sa.Column('pk', sa.INTEGER(), nullable=False),
    sa.Column('sequence', sa.INTEGER(), nullable=False),
    sa.Column('published_at', sa.DATETIME(), nullable=False),
    sa.Column('body', sa.BLOB(), nullable=False),
    sa.Column('etag', sa.VARCHAR(length=80), nullable=False),
    sa.PrimaryKeyConstraint('pk')
    )
    op.drop_table('trusted_hub_keys')
    op.drop_table('publications')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_node_id'))

    op.drop_table('api_tokens')
