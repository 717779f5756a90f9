"""All SQL and sessions, one module per table group behind one ``Store`` (the handle: engine,
sessions, schema gate): ``feeds`` (feed rows, polling state, config sync), ``articles`` (articles
and stories), ``matches`` (matches and review queries), ``alerts`` (the outbox), ``sessions``,
``judgements`` (verdicts, imported judgements, rescoring), ``queue`` (entries recorded for
workers); ``rows`` holds the small helpers several of them share.

SQLite (the default) runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` and are
serialised within the process, so concurrent pollers never hit "database is locked".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InternalError, OperationalError
from sqlmodel import Session, create_engine

from monitor import migrate
from monitor.errors import ReadOnly, SchemaBehindError, Unavailable
from monitor.store.alerts import AlertQueries
from monitor.store.articles import NO_ALERTS, STORY_LOCK_KEY, ArticleQueries
from monitor.store.feeds import FEED_LEASE, GONE_AFTER, FeedDef, FeedQueries
from monitor.store.judgements import ImportedJudgementQueries, JudgementQueries, RescoreQueries
from monitor.store.matches import MatchFilter, MatchQueries, MatchRow, ReviewRow
from monitor.store.queue import QueueCounts, QueueQueries
from monitor.store.rows import driver_connection
from monitor.store.sessions import SessionQueries

__all__ = [
    "FEED_LEASE",
    "GONE_AFTER",
    "NO_ALERTS",
    "SQLITE_BUSY_TIMEOUT_MS",
    "STORY_LOCK_KEY",
    "FeedDef",
    "MatchFilter",
    "MatchRow",
    "QueueCounts",
    "ReviewRow",
    "Store",
    "driver_connection",
]

SQLITE_BUSY_TIMEOUT_MS = 30_000


class Store(
    FeedQueries,
    ArticleQueries,
    MatchQueries,
    AlertQueries,
    JudgementQueries,
    ImportedJudgementQueries,
    RescoreQueries,
    SessionQueries,
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
