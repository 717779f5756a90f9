"""Stored articles scored again with the current model (``monitor rescore``). Mixed into ``Store``.

A stored article that now scores relevant gets its match (and, when the policy has
destinations, its story's alerts, once per story as for new articles); one that no longer does
keeps the match it had: a match may already have been alerted and judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from monitor.models import Article, Match, OutboxPolicy, Story, utcnow

BATCH = 200


@dataclass(frozen=True, slots=True)
class Stored:
    """What a rescore needs of one stored article."""

    id: int
    title: str
    text: str
    score: float
    relevant: bool


@dataclass(frozen=True, slots=True)
class Rescored:
    id: int
    score: float
    relevant: bool
    reasons: str  # JSON list, as stored


class RescoreQueries:
    """SQL for rescoring; ``Store`` inherits these methods."""

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Session]: ...
        def _write(self) -> AbstractContextManager[Session]: ...
        def queue_alerts(
            self, s: Session, *, match: Match, policy: OutboxPolicy, now: datetime
        ) -> bool: ...

    def stored_articles(
        self, *, since: datetime | None, after_id: int = 0, limit: int = BATCH
    ) -> list[Stored]:
        """Articles fetched at or after ``since`` (all when ``None``), by id, after ``after_id``."""
        query = select(Article).where(col(Article.id) > after_id)
        if since is not None:
            query = query.where(col(Article.fetched_at) >= since)
        with self._read() as s:
            rows = s.exec(query.order_by(col(Article.id)).limit(limit)).all()
        return [
            Stored(id=a.id or 0, title=a.title, text=a.text, score=a.score, relevant=a.relevant)
            for a in rows
        ]

    def save_rescores(self, rescored: Sequence[Rescored], *, outbox: OutboxPolicy) -> list[int]:
        """Store the new scores; create the matches now found. Returns the matched article ids."""
        now = utcnow()
        matched: list[int] = []
        with self._write() as s:
            for r in rescored:
                article = s.get(Article, r.id)
                if article is None:
                    continue
                article.score, article.relevant, article.reasons = r.score, r.relevant, r.reasons
                s.add(article)
                if r.relevant and self._new_match(s, article, outbox=outbox, now=now):
                    matched.append(r.id)
        return matched

    def _new_match(
        self, s: Session, article: Article, *, outbox: OutboxPolicy, now: datetime
    ) -> bool:
        if s.exec(select(Match).where(Match.article_id == article.id)).first() is not None:
            return False
        match = Match(article_id=article.id or 0, score=article.score, created_at=now)
        s.add(match)
        s.flush()
        story = s.get(Story, article.story_id) if article.story_id else None
        if story is None or story.alerted_at is not None or not outbox.destinations:
            return True
        if self.queue_alerts(s, match=match, policy=outbox, now=now):
            story.alerted_at = now
            s.add(story)
        return True
