"""job queue: Procrastinate's schema (PostgreSQL only) and the entries waiting for their job

Revision ID: 0006_job_queue
Revises: 0005_imported_judgements
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_job_queue"
down_revision = "0005_imported_judgements"
branch_labels = None
depends_on = None

# (a literal % is written %%: the driver is handed parameters)
_PROCRASTINATE_OBJECTS = """
SELECT 'DROP TABLE IF EXISTS ' || string_agg(quote_ident(tablename), ', ') || ' CASCADE'
  FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%%'
UNION ALL
SELECT 'DROP FUNCTION IF EXISTS ' || string_agg(p.oid::regprocedure::text, ', ') || ' CASCADE'
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%%'
UNION ALL
SELECT 'DROP TYPE IF EXISTS ' || string_agg(quote_ident(typname), ', ') || ' CASCADE'
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = current_schema() AND typname LIKE 'procrastinate%%' AND typtype IN ('c', 'e')
"""


def upgrade() -> None:
    op.create_table(
        "pending_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(), nullable=False),
        sa.Column("canonical_url", sa.String(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["feed_id"], ["feed.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("feed_id", "entry_key"),
    )
    op.create_index("ix_pending_entry_feed_id", "pending_entry", ["feed_id"])
    op.create_index("ix_pending_entry_canonical_url", "pending_entry", ["canonical_url"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # the driver is handed parameters, so a literal % is written %% (as procrastinate does)
        bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for (statement,) in bind.exec_driver_sql(_PROCRASTINATE_OBJECTS).all():
            if statement:
                bind.exec_driver_sql(statement)
    op.drop_index("ix_pending_entry_canonical_url", table_name="pending_entry")
    op.drop_index("ix_pending_entry_feed_id", table_name="pending_entry")
    op.drop_table("pending_entry")
