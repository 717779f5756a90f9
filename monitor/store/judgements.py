"""Judgements: the reviewer's verdict on a stored article, judgements imported from labelled JSON
lines (``monitor label --import``), and stored articles scored again with the current model
(``monitor rescore``). Mixed into ``Store``.

Imported judgements are kept apart from the judgements of stored articles: an imported line is
not an article the monitor fetched, it has no feed and no match. Importing the same line again
(same ``id``, or the same title and text) updates its label instead of adding a copy.

A stored article that now scores relevant gets its match (and, when the policy has
destinations, its story's alerts, once per story as for new articles); one that no longer does
keeps the match it had: a match may already have been alerted and judged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, col, select

from monitor.errors import NotFound
from monitor.models import (
    Article,
    ImportedJudgement,
    Judgement,
    Match,
    OutboxPolicy,
    Story,
    fits_row_id,
    utcnow,
)


@dataclass(frozen=True, slots=True)
class LabelledLine:
    title: str
    text: str
    relevant: bool
    key: str | None = None  # the line's own `id`, when it has one


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class ImportedCount:
    source: str
    relevant: int
    irrelevant: int


def line_key(line: LabelledLine) -> str:
    if line.key:
        return f"id:{line.key}"
    digest = hashlib.sha256(f"{line.title}\0{line.text}".encode()).hexdigest()
    return f"sha256:{digest[:32]}"


class ImportedJudgementQueries:
    """SQL for imported judgements; ``Store`` inherits these methods."""

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Session]: ...
        def _write(self) -> AbstractContextManager[Session]: ...

    def import_judgements(self, lines: Sequence[LabelledLine], *, source: str) -> ImportResult:
        added = updated = unchanged = 0
        with self._write() as s:
            for line in lines:
                key = line_key(line)
                row = s.exec(select(ImportedJudgement).where(ImportedJudgement.key == key)).first()
                if row is None:
                    row = ImportedJudgement(key=key, source=source, relevant=line.relevant)
                    added += 1
                elif (row.title, row.text, row.relevant) == (line.title, line.text, line.relevant):
                    unchanged += 1
                    continue
                else:
                    updated += 1
                row.title, row.text, row.relevant = line.title, line.text, line.relevant
                row.source, row.created_at = source, utcnow()
                s.add(row)
        return ImportResult(added=added, updated=updated, unchanged=unchanged)

    def imported_judgements(self) -> list[ImportedJudgement]:
        with self._read() as s:
            return list(s.exec(select(ImportedJudgement).order_by(col(ImportedJudgement.id))))

    def imported_counts(self) -> list[ImportedCount]:
        query = (
            select(ImportedJudgement.source, ImportedJudgement.relevant, func.count())
            .group_by(col(ImportedJudgement.source), col(ImportedJudgement.relevant))
            .order_by(col(ImportedJudgement.source))
        )
        counts: dict[str, dict[bool, int]] = {}
        with self._read() as s:
            for source, relevant, n in s.exec(query).all():
                counts.setdefault(source, {})[bool(relevant)] = int(n)
        return [
            ImportedCount(source=k, relevant=v.get(True, 0), irrelevant=v.get(False, 0))
            for k, v in counts.items()
        ]


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


class JudgementQueries:
    """The reviewer's verdict on stored articles; ``Store`` inherits these methods."""

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Session]: ...
        def _write(self) -> AbstractContextManager[Session]: ...

    def set_judgement(self, *, article_id: int, relevant: bool) -> Judgement:
        with self._write() as s:
            row = _judgement_of(s, article_id=article_id)
            row = row or Judgement(article_id=article_id, relevant=relevant)
            row.relevant = relevant
            row.created_at = utcnow()
            s.add(row)
            return row

    def clear_judgement(self, *, article_id: int) -> bool:
        """Forget the article's judgement (undo); ``False`` when it had none."""
        with self._write() as s:
            row = _judgement_of(s, article_id=article_id)
            if row is None:
                return False
            s.delete(row)
            return True

    def judged_articles(self) -> list[tuple[Judgement, Article]]:
        query = select(Judgement, Article).join(Article, col(Article.id) == Judgement.article_id)
        with self._read() as s:
            return [(j, a) for j, a in s.exec(query.order_by(col(Judgement.id))).all()]


def _judgement_of(s: Session, *, article_id: int) -> Judgement | None:
    """The article's judgement, if it has one; ``NotFound`` when there is no such article (an
    id beyond 64 bits included)."""
    if not fits_row_id(article_id) or s.get(Article, article_id) is None:
        raise NotFound(f"store: no article with id {article_id}")
    return s.exec(select(Judgement).where(Judgement.article_id == article_id)).first()
