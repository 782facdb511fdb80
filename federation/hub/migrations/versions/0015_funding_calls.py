"""funding calls: one row per call for proposals, as the last import gave it

Revision ID: 0015
Revises: 0014
Create Date: 2027-01-20 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('funding_calls',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('programme', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('opens', sa.Date(), nullable=True),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_funding_calls_deadline', 'funding_calls', ['deadline'])


def downgrade() -> None:
    op.drop_index('ix_funding_calls_deadline', table_name='funding_calls')
    op.drop_table('funding_calls')
