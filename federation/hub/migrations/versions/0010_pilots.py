"""pilots: participants, teams, activities and outcomes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-18 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pilots',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('goal', sa.Text(), nullable=False),
    sa.Column('metacluster_id', sa.String(length=80), nullable=False),
    sa.Column('coordinator_node_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('figures_at_start', sa.JSON(), nullable=True),
    sa.Column('team_constraints', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_pilots_metacluster_id', 'pilots', ['metacluster_id'])
    op.create_table('pilot_participants',
    sa.Column('pilot_id', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['pilot_id'], ['pilots.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pilot_id', 'key')
    )
    op.create_table('pilot_teams',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('pilot_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['pilot_id'], ['pilots.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pilot_id', 'name', name='uq_pilot_teams_name')
    )
    op.create_index('ix_pilot_teams_pilot_id', 'pilot_teams', ['pilot_id'])
    for table, text_column in (('pilot_activities', sa.Column('notes', sa.Text(), nullable=True)),
                               ('pilot_outcomes', sa.Column('link', sa.String(length=500), nullable=True))):
        op.create_table(table,
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('pilot_id', sa.String(length=64), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        text_column,
        sa.Column('participants', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['pilot_id'], ['pilots.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
        )
        op.create_index(f'ix_{table}_pilot_id', table, ['pilot_id'])


def downgrade() -> None:
    for table in ('pilot_outcomes', 'pilot_activities', 'pilot_teams', 'pilot_participants'):
        op.drop_table(table)
    op.drop_index('ix_pilots_metacluster_id', table_name='pilots')
    op.drop_table('pilots')
