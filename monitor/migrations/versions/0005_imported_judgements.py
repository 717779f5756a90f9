"""imported judgements: labelled articles brought in with `monitor label --import FILE.jsonl`

Revision ID: 0005_imported_judgements
Revises: 0004_web_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_imported_judgements"
down_revision = "0004_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_judgement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("imported_judgement")
