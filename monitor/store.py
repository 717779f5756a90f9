"""All SQL and sessions: feeds and their polling state, which entries are new, articles, matches.

SQLite (the default) runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` and are
serialised within the process, so concurrent pollers never hit "database is locked".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    TextClause,
    bindparam,
    delete,
    event,
    func,
    insert,
    or_,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError
from sqlmodel import Session, col, create_engine, select

from monitor import migrate
from monitor.errors import NotFound, ReadOnly, SchemaBehindError, Unavailable
from monitor.feed_store import FeedDef as FeedDef
from monitor.feed_store import FeedQueries
from monitor.imported_store import ImportedJudgementQueries
from monitor.models import (
    Article,
    Entry,
    Feed,
    Judgement,
    Match,
    OutboxPolicy,
    PendingEntry,
    Response,
    Story,
    StoryBand,
    StoryCandidate,
    fits_row_id,
    next_check_after_failure,
    next_check_after_success,
    utcnow,
)
from monitor.outbox_store import OutboxQueries, _copies
from monitor.queue_store import QueueQueries, entry_to_json
from monitor.rescore_store import RescoreQueries
from monitor.review_store import ReviewQueries
from monitor.session_store import SessionQueries

SQLITE_BUSY_TIMEOUT_MS = 30_000
NO_ALERTS = OutboxPolicy()
# A claimed feed is skipped by other pollers this long; a poller killed mid-poll leaves it due
# again after it (kept short, so a restarted single daemon is not kept waiting).
FEED_LEASE = timedelta(seconds=60)
GONE_AFTER = 3  # consecutive HTTP 410 answers before a feed is disabled as gone
STORY_LOCK_KEY = 0x5354_4F52  # "STOR": the advisory lock taken around story assignment


@dataclass(frozen=True, slots=True)
class MatchRow:
    match: Match
    article: Article
    feed: Feed


class Store(
    FeedQueries,
    ReviewQueries,
    OutboxQueries,
    SessionQueries,
    ImportedJudgementQueries,
    RescoreQueries,
    QueueQueries,
):
    def __init__(self, *, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.engine = engine or _make_engine(url)
        self._write_lock = threading.Lock()

    def prepare_schema(self, *, create_if_empty: bool = True) -> None:
        """Create the schema in a new, empty database; refuse one whose schema is behind."""
        with self._translate():
            state = migrate.schema_state(self.engine)
            if state.empty and create_if_empty:
                migrate.upgrade(self.engine)
                return
        if state.behind:
            raise SchemaBehindError(
                f"store: the database schema is at revision {state.current or 'none'}, this "
                f"version of monitor needs {state.head}: run `monitor db upgrade` first",
                hint="`monitor db upgrade` applies the migrations (back up the database first)",
            )

    def schema_state(self) -> migrate.SchemaState:
        """The schema revision of the database and the one this version needs."""
        with self._translate():
            return migrate.schema_state(self.engine)

    def upgrade_schema(self) -> tuple[str | None, str]:
        """Apply every pending migration; returns (revision before, revision after)."""
        with self._translate():
            before = migrate.schema_state(self.engine).current
            migrate.upgrade(self.engine)
            return before, migrate.head_revision()

    def close(self) -> None:
        self.engine.dispose()

    # -- sessions -------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._translate(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        engine = self.engine.execution_options(sqlite_immediate=True)
        with self._write_lock, self._translate(), Session(engine, expire_on_commit=False) as s:
            yield s
            s.commit()

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, InternalError) as exc:
            # one line: psycopg adds a hint on a second line ("Is the server running …?")
            reason = " ".join(str(exc.orig).split())
            if _read_only(exc.orig):
                raise ReadOnly(f"store: the database is read-only: {reason}") from exc
            raise Unavailable(f"store: database error: {reason}") from exc

    # -- feeds ----------------------------------------------------------------------------

    def feeds(self, *, enabled_only: bool = True) -> list[Feed]:
        with self._read() as s:
            query = select(Feed).order_by(col(Feed.name))
            if enabled_only:
                query = query.where(col(Feed.enabled).is_(True))
            return list(s.exec(query).all())

    def feed(self, feed_id: int) -> Feed:
        with self._read() as s:
            feed = s.get(Feed, feed_id)
        if feed is None:
            raise NotFound(f"store: no feed with id {feed_id}")
        return feed

    def due_feeds(self, *, now: datetime) -> list[Feed]:
        with self._read() as s:
            query = (
                select(Feed)
                .where(col(Feed.enabled).is_(True), col(Feed.next_check_at) <= now)
                .order_by(col(Feed.next_check_at))
            )
            return list(s.exec(query).all())

    def claim_due_feeds(
        self,
        *,
        now: datetime,
        lease: timedelta = FEED_LEASE,
        limit: int = 500,
        then: Callable[[Any, list[Feed]], None] | None = None,
    ) -> list[Feed]:
        """Take due feeds for this poller: their next check moves to ``now + lease`` (the poll
        then records the real one), so another daemon or worker skips them; a poller that dies
        leaves the feed due again once the lease runs out. Rows another poller is claiming
        right now are skipped (``FOR UPDATE SKIP LOCKED`` on PostgreSQL). ``then`` gets the
        driver connection and the feeds inside the claiming transaction (a worker defers their
        poll jobs there)."""
        query = (
            select(Feed)
            .where(col(Feed.enabled).is_(True), col(Feed.next_check_at) <= now)
            .order_by(col(Feed.next_check_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._write() as s:
            feeds = list(s.exec(query).all())
            for feed in feeds:
                feed.next_check_at = now + lease
                s.add(feed)
            if then is not None and feeds:
                s.flush()
                then(driver_connection(s), feeds)
            return feeds

    # -- polling state, on the feed row ---------------------------------------------------

    def record_success(
        self,
        *,
        feed_id: int,
        status: int,
        etag: str | None,
        last_modified: str | None,
        max_age: float | None,
        now: datetime,
    ) -> None:
        with self._write() as s:
            _apply_success(
                s,
                feed_id=feed_id,
                status=status,
                etag=etag,
                last_modified=last_modified,
                max_age=max_age,
                now=now,
            )

    def record_entries(
        self,
        *,
        feed_id: int,
        entries: Sequence[Entry],
        response: Response,
        now: datetime,
        then: Callable[[Any, list[int]], None],
    ) -> list[int]:
        """Record new entries for workers and the poll's success in one transaction; ``then``
        gets the driver connection and the recorded ids there (the worker defers one job per
        entry in it), so a crash either keeps entries and jobs together or loses neither."""
        with self._write() as s:
            rows = [
                PendingEntry(
                    feed_id=feed_id,
                    entry_key=e.key,
                    canonical_url=e.canonical_url,
                    data=entry_to_json(e),
                    created_at=now,
                )
                for e in entries
            ]
            s.add_all(rows)
            s.flush()
            ids = [r.id or 0 for r in rows]
            if ids:
                then(driver_connection(s), ids)
            _apply_success(
                s,
                feed_id=feed_id,
                status=response.status,
                etag=response.etag,
                last_modified=response.last_modified,
                max_age=response.max_age,
                now=now,
            )
            return ids

    def record_failure(
        self,
        *,
        feed_id: int,
        error: str,
        status: int | None,
        retry_after: float | None,
        now: datetime,
    ) -> Feed:
        with self._write() as s:
            feed = _get_feed(s, feed_id)
            gone_streak = status == 410 and (feed.last_status == 410 or feed.error_count == 0)
            feed.error_count += 1
            feed.last_error = error
            feed.last_status = status
            if gone_streak and feed.error_count >= GONE_AFTER:
                feed.enabled = False
                feed.last_error = (
                    f"feed gone: HTTP 410 {feed.error_count} times in a row, no longer polled "
                    "(add it again to resume)"
                )
            feed.last_polled_at = now
            feed.next_check_at = next_check_after_failure(
                now=now,
                interval=timedelta(seconds=feed.interval_seconds),
                error_count=feed.error_count,
                retry_after=retry_after,
            )
            s.add(feed)
            return feed

    # -- articles -------------------------------------------------------------------------

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
            return _copies(s, story_ids)

    def article(self, article_id: int) -> tuple[Article, Feed, Judgement | None] | None:
        if not fits_row_id(article_id):
            return None
        with self._read() as s:
            article = s.get(Article, article_id)
            if article is None:
                return None
            judgement = s.exec(select(Judgement).where(Judgement.article_id == article_id)).first()
            return article, _get_feed(s, article.feed_id), judgement

    def matches(
        self,
        *,
        since: datetime | None = None,
        min_score: float | None = None,
        limit: int = 50,
        copies: bool = True,
    ) -> list[MatchRow]:
        """Matches, newest first; with ``copies=False`` only each story's first match."""
        query = (
            select(Match, Article, Feed)
            .join(Article, col(Article.id) == Match.article_id)
            .join(Feed, col(Feed.id) == Article.feed_id)
            .order_by(col(Match.created_at).desc(), col(Match.id).desc())
            .limit(limit)
        )
        if not copies:
            first = (
                select(func.min(Match.id))
                .join(Article, col(Article.id) == Match.article_id)
                .group_by(col(Article.story_id))
            )
            query = query.where(or_(col(Article.story_id).is_(None), col(Match.id).in_(first)))
        if since is not None:
            query = query.where(col(Match.created_at) >= since)
        if min_score is not None:
            query = query.where(col(Match.score) >= min_score)
        with self._read() as s:
            return [MatchRow(match=m, article=a, feed=f) for m, a, f in s.exec(query).all()]

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

    # -- judgements -----------------------------------------------------------------------

    def set_judgement(self, *, article_id: int, relevant: bool) -> Judgement:
        if not fits_row_id(article_id):
            raise NotFound(f"store: no article with id {article_id}")
        with self._write() as s:
            if s.get(Article, article_id) is None:
                raise NotFound(f"store: no article with id {article_id}")
            row = s.exec(select(Judgement).where(Judgement.article_id == article_id)).first()
            row = row or Judgement(article_id=article_id, relevant=relevant)
            row.relevant = relevant
            row.created_at = utcnow()
            s.add(row)
            return row

    def clear_judgement(self, *, article_id: int) -> bool:
        """Forget the article's judgement (undo); ``False`` when it had none."""
        if not fits_row_id(article_id):
            raise NotFound(f"store: no article with id {article_id}")
        with self._write() as s:
            if s.get(Article, article_id) is None:
                raise NotFound(f"store: no article with id {article_id}")
            row = s.exec(select(Judgement).where(Judgement.article_id == article_id)).first()
            if row is None:
                return False
            s.delete(row)
            return True

    def judged_articles(self) -> list[tuple[Judgement, Article]]:
        query = select(Judgement, Article).join(Article, col(Article.id) == Judgement.article_id)
        with self._read() as s:
            return [(j, a) for j, a in s.exec(query.order_by(col(Judgement.id))).all()]


def reasons_of(article: Article) -> list[str]:
    try:
        value: Any = json.loads(article.reasons or "[]")
    except ValueError:
        return []
    return [str(r) for r in value] if isinstance(value, list) else []


def _get_feed(s: Session, feed_id: int) -> Feed:
    feed = s.get(Feed, feed_id)
    if feed is None:
        raise NotFound(f"store: no feed with id {feed_id}")
    return feed


def _apply_success(
    s: Session,
    *,
    feed_id: int,
    status: int,
    etag: str | None,
    last_modified: str | None,
    max_age: float | None,
    now: datetime,
) -> None:
    """The feed row after a successful poll, in two Core statements, not the ORM: every poll
    ends here, 304s included."""
    table = Feed.__table__  # type: ignore[attr-defined]
    conn = s.connection()
    interval = conn.execute(
        select(table.c.interval_seconds).where(table.c.id == feed_id)
    ).scalar_one_or_none()
    if interval is None:
        raise NotFound(f"store: no feed with id {feed_id}")
    conn.execute(
        update(table)
        .where(table.c.id == feed_id)
        .values(
            etag=func.coalesce(etag or None, table.c.etag),
            last_modified=func.coalesce(last_modified or None, table.c.last_modified),
            last_status=status,
            last_polled_at=now,
            error_count=0,
            last_error=None,
            next_check_at=next_check_after_success(
                now=now, interval=timedelta(seconds=interval), max_age=max_age
            ),
        )
    )


def driver_connection(s: Session) -> Any:
    """The DBAPI (psycopg) connection under the session's transaction, for a job queue that
    defers its jobs in that same transaction."""
    return s.connection().connection.driver_connection


def _read_only(error: BaseException | None) -> bool:
    """SQLite's SQLITE_READONLY (a read-only file or folder, ``mode=ro``), PostgreSQL's
    read_only_sql_transaction (a standby, ``default_transaction_read_only``)."""
    name = str(getattr(error, "sqlite_errorname", ""))
    return name.startswith("SQLITE_READONLY") or getattr(error, "sqlstate", None) == "25006"


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if (
        parsed.database
        and parsed.database != ":memory:"
        and not parsed.database.startswith("file:")
    ):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get("sqlite_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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
