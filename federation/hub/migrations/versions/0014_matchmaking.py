"""matchmaking: stored partner suggestions, the node versions they came from, meeting intents

Revision ID: 0014
Revises: 0013
Create Date: 2027-01-12 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('match_suggestions',
    sa.Column('member_key', sa.String(length=200), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('member_node_id', sa.String(length=64), nullable=False),
    sa.Column('member_country', sa.String(length=2), nullable=False),
    sa.Column('member_audience', sa.String(length=16), nullable=False),
    sa.Column('partner_key', sa.String(length=200), nullable=False),
    sa.Column('partner_node_id', sa.String(length=64), nullable=False),
    sa.Column('partner_country', sa.String(length=2), nullable=False),
    sa.Column('partner_audience', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('member_key', 'rank')
    )
    op.create_index('ix_match_suggestions_member_node', 'match_suggestions', ['member_node_id'])
    op.create_index('ix_match_suggestions_partner_node_id', 'match_suggestions', ['partner_node_id'])
    op.create_table('match_sources',
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('node_id')
    )
    op.create_table('match_meetings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('member_key', sa.String(length=200), nullable=False),
    sa.Column('partner_key', sa.String(length=200), nullable=False),
    sa.Column('member_node_id', sa.String(length=64), nullable=False),
    sa.Column('partner_node_id', sa.String(length=64), nullable=False),
    sa.Column('member_country', sa.String(length=2), nullable=False),
    sa.Column('partner_country', sa.String(length=2), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_match_meetings_pair', 'match_meetings', ['member_key', 'partner_key'])
    op.create_index('ix_match_meetings_member_node_id', 'match_meetings', ['member_node_id'])
    op.create_index('ix_match_meetings_partner_node_id', 'match_meetings', ['partner_node_id'])


def downgrade() -> None:
    op.drop_table('match_meetings')
    op.drop_table('match_sources')
    op.drop_table('match_suggestions')
