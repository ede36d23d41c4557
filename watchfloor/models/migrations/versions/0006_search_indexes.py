"""search indexes: events by score, tracks by first seen

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchfloor.models.base


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_score', ['score'], unique=False)

    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.create_index('ix_tracks_first_seen', ['first_seen'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_index('ix_tracks_first_seen')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_score')
