"""stories: copies of one news event share a story; LSH band index for near-duplicates

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_story_created_at", "story", ["created_at"])
    op.create_table(
        "story_band",
        sa.Column("band", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"]),
        sa.PrimaryKeyConstraint("band", "article_id"),
    )
    op.create_index("ix_story_band_article_id", "story_band", ["article_id"])
    op.create_index("ix_story_band_created_at", "story_band", ["created_at"])
    # Plain ALTER TABLE, not a batch copy: copying `article` would drop the full-text triggers.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        present = {c["name"] for c in sa.inspect(bind).get_columns("article")}
        if "story_id" not in present:  # left behind by a SQLite downgrade
            op.execute("ALTER TABLE article ADD COLUMN story_id INTEGER REFERENCES story (id)")
    else:
        story_ref = sa.ForeignKey("story.id", name="fk_article_story_id_story")
        op.add_column("article", sa.Column("story_id", sa.Integer(), story_ref, nullable=True))
    op.add_column("article", sa.Column("signature", sa.LargeBinary(), nullable=True))
    op.create_index("ix_article_story_id", "article", ["story_id"])


def downgrade() -> None:
    op.drop_index("ix_article_story_id", "article")
    op.drop_column("article", "signature")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a column that references another table without copying `article`
        # (which would lose the full-text triggers): the column stays, emptied and unused.
        op.execute("UPDATE article SET story_id = NULL")
    else:
        op.drop_constraint("fk_article_story_id_story", "article", type_="foreignkey")
        op.drop_column("article", "story_id")
    op.drop_index("ix_story_band_created_at", "story_band")
    op.drop_index("ix_story_band_article_id", "story_band")
    op.drop_table("story_band")
    op.drop_index("ix_story_created_at", "story")
    op.drop_table("story")
