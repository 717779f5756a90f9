"""Alembic environment: the monitor's tables, on the connection the store hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import monitor.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata


def include_object(obj: object, name: str | None, type_: str, *_: object) -> bool:
    """The full-text index (migration 0002) and Procrastinate's job queue (0006, PostgreSQL)
    live outside the models: leave them alone."""
    return not (name or "").startswith(("article_fts", "ix_article_fts", "procrastinate"))


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
