"""Small helpers over rows that several table modules share (no SQL of their own tables)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from monitor.errors import NotFound
from monitor.models import Article, Feed


def get_feed(s: Session, feed_id: int) -> Feed:
    feed = s.get(Feed, feed_id)
    if feed is None:
        raise NotFound(f"store: no feed with id {feed_id}")
    return feed


def copies_of_stories(s: Session, story_ids: set[int]) -> dict[int, list[tuple[int, str, str]]]:
    """(article id, source, url) of every stored copy of each story, oldest first."""
    query = (
        select(Article.story_id, Article.id, Feed.name, Article.url)
        .join(Feed, col(Feed.id) == Article.feed_id)
        .where(col(Article.story_id).in_(story_ids))
        .order_by(col(Article.id))
    )
    found: dict[int, list[tuple[int, str, str]]] = {}
    for story_id, article_id, source, url in s.exec(query).all():
        found.setdefault(story_id or 0, []).append((article_id or 0, source, url))
    return found


def driver_connection(s: Session) -> Any:
    """The DBAPI (psycopg) connection under the session's transaction, for a job queue that
    defers its jobs in that same transaction."""
    return s.connection().connection.driver_connection
