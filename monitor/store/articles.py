"""Articles and the stories they join: which entries are new, saving an article with its match
and alerts in one transaction, the story index. Mixed into ``Store``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    TextClause,
    bindparam,
    delete,
    func,
    insert,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from monitor.models import (
    Article,
    Entry,
    Feed,
    Judgement,
    Match,
    OutboxPolicy,
    PendingEntry,
    Story,
    StoryBand,
    StoryCandidate,
    fits_row_id,
    utcnow,
)
from monitor.store.rows import copies_of_stories, get_feed

NO_ALERTS = OutboxPolicy()
STORY_LOCK_KEY = 0x5354_4F52  # "STOR": the advisory lock taken around story assignment


class ArticleQueries:
    if TYPE_CHECKING:
        engine: Engine
        is_sqlite: bool

        def _read(self) -> AbstractContextManager[Session]: ...
        def _write(self) -> AbstractContextManager[Session]: ...
        def _translate(self) -> AbstractContextManager[None]: ...
        def queue_alerts(
            self, s: Session, *, match: Match, policy: OutboxPolicy, now: datetime
        ) -> bool: ...
        @staticmethod
        def pending_keys(s: Session, *, feed_id: int, keys: Iterable[str]) -> set[str]: ...
        @staticmethod
        def pending_urls(s: Session, *, urls: Iterable[str]) -> set[str]: ...
        def forget_entry(self, pending_id: int) -> None: ...

    def new_entries(self, *, feed_id: int, entries: Sequence[Entry]) -> list[Entry]:
        """Entries never stored before (nor recorded for a worker's job): not by this feed's
        key, nor by canonical URL anywhere."""
        keys = {e.key for e in entries}
        urls = {e.canonical_url for e in entries if e.canonical_url}
        with self._read() as s:
            seen_keys = set(
                s.exec(
                    select(Article.entry_key).where(
                        Article.feed_id == feed_id, col(Article.entry_key).in_(keys)
                    )
                ).all()
            )
            seen_urls = set(
                s.exec(
                    select(Article.canonical_url).where(col(Article.canonical_url).in_(urls))
                ).all()
            )
            seen_keys |= self.pending_keys(s, feed_id=feed_id, keys=keys)
            seen_urls |= self.pending_urls(s, urls=urls)
        fresh: list[Entry] = []
        for entry in entries:
            if entry.key in seen_keys or (entry.canonical_url or entry.key) in seen_urls:
                continue
            seen_keys.add(entry.key)
            seen_urls.add(entry.canonical_url or entry.key)
            fresh.append(entry)
        return fresh

    def save_article(
        self,
        *,
        article: Article,
        outbox: OutboxPolicy = NO_ALERTS,
        story_id: int | None = None,
        bands: Sequence[int] = (),
        pending_id: int | None = None,
    ) -> Match | None:
        """Store the article in its story (a new one unless ``story_id``) and, when the
        classifier found it relevant, its match; the story's first relevant copy also queues
        its alerts. All of it commits together: a match never exists without its alerts.

        Returns the match created, or ``None``. An article that another poller stored first is
        skipped silently (it is the same article). ``pending_id``: the recorded entry (a worker's
        "process entry" job) this article settles, forgotten in the same transaction.
        """
        now = utcnow()
        try:
            with self._write() as s:
                if pending_id is not None:
                    s.connection().execute(
                        delete(PendingEntry).where(col(PendingEntry.id) == pending_id)
                    )
                story = (s.get(Story, story_id) if story_id else None) or Story(created_at=now)
                s.add(story)
                s.flush()
                article.story_id = story.id
                s.add(article)
                s.flush()
                if bands:  # one Core executemany: 64 ORM objects per article cost ~5 ms of GIL
                    s.connection().execute(
                        insert(StoryBand.__table__),  # type: ignore[attr-defined]
                        [{"band": b, "article_id": article.id, "created_at": now} for b in bands],
                    )
                if not article.relevant or article.id is None:
                    return None
                match = Match(article_id=article.id, score=article.score)
                s.add(match)
                s.flush()
                if story.alerted_at is None and self.queue_alerts(
                    s, match=match, policy=outbox, now=now
                ):
                    story.alerted_at = now
                    s.add(story)
                return match
        except IntegrityError:
            if pending_id is not None:
                self.forget_entry(pending_id)
            return None

    @contextmanager
    def story_lock(self) -> Iterator[None]:
        """Held around a story look-up and the insert that follows it. On PostgreSQL a session
        advisory lock, so pollers in other processes and on other machines wait their turn too
        (SQLite writers are one process, serialised by the caller's lock)."""
        if self.is_sqlite:
            yield
            return
        with self._translate(), self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STORY_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STORY_LOCK_KEY})
                conn.commit()

    def story_candidates(self, *, bands: Sequence[int], since: datetime) -> list[StoryCandidate]:
        """Stored articles since ``since`` sharing at least one LSH band key (an index lookup)."""
        if not bands:
            return []
        params: dict[str, Any] = {f"b{i}": band for i, band in enumerate(bands)}
        with self._read() as s:
            rows = s.connection().execute(_candidates_query(len(bands)), {"since": since, **params})
            return [
                StoryCandidate(article_id=a or 0, story_id=st or 0, signature=sig or b"")
                for a, st, sig in rows.all()
            ]

    def prune_story_index(self, *, before: datetime) -> int:
        """Forget band keys older than the story window (stories themselves stay)."""
        with self._write() as s:
            result = s.connection().execute(
                delete(StoryBand).where(col(StoryBand.created_at) < before)
            )
            return int(result.rowcount or 0)

    def story_copies(self, story_ids: set[int]) -> dict[int, list[tuple[int, str, str]]]:
        """(article id, source, url) of every copy of each story, oldest first."""
        with self._read() as s:
            return copies_of_stories(s, story_ids)

    def article(self, article_id: int) -> tuple[Article, Feed, Judgement | None] | None:
        if not fits_row_id(article_id):
            return None
        with self._read() as s:
            article = s.get(Article, article_id)
            if article is None:
                return None
            judgement = s.exec(select(Judgement).where(Judgement.article_id == article_id)).first()
            return article, get_feed(s, article.feed_id), judgement

    def counts(self) -> dict[str, int]:
        with self._read() as s:
            return {
                name: int(s.exec(select(func.count()).select_from(table)).one())
                for name, table in (
                    ("feeds", Feed),
                    ("articles", Article),
                    ("matches", Match),
                    ("judgements", Judgement),
                )
            }


@lru_cache(maxsize=4)
def _candidates_query(count: int) -> TextClause:
    """One prepared statement per number of band keys (always BANDS in practice): SQLAlchemy
    re-renders an expanding ``IN`` on every call, which was a third of the look-up's time."""
    keys = ", ".join(f":b{i}" for i in range(count))
    return text(
        "SELECT a.id, a.story_id, a.signature FROM article a WHERE a.story_id IS NOT NULL"
        " AND a.id IN (SELECT DISTINCT sb.article_id FROM story_band sb"
        f" WHERE sb.band IN ({keys}) AND sb.created_at >= :since)"
    ).bindparams(
        bindparam("since", type_=DateTime()),
        *(bindparam(f"b{i}", type_=BigInteger()) for i in range(count)),
    )
