"""api tokens: the knowledge entity a token is bound to (the token table is shared by both apps; a node issues none)

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entity_key', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_api_tokens_entity_key', ['entity_key'])


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_api_tokens_entity_key')
        batch_op.drop_column('entity_key')
