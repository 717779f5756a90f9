"""SQL for the workers' job queue side: entries recorded for a "process entry" job, and the
queue's counts for ``monitor status`` and ``/metrics``. Mixed into ``Store``.

Procrastinate owns its own tables (``procrastinate_jobs``, ``procrastinate_workers``); this
module only reads them, to count.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, text
from sqlmodel import Session, col, select

from monitor.models import Entry, PendingEntry
from monitor.store.rows import driver_connection

# A worker whose heartbeat is older than this is not counted as alive (Procrastinate's own
# stalled-worker timeout is the same figure by default).
ALIVE_SECONDS = 30.0

_JOB_COUNTS = text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status")
_WORKERS_ALIVE = text(
    "SELECT count(*) FROM procrastinate_workers"
    " WHERE last_heartbeat > now() - make_interval(secs => :seconds)"
)


@dataclass(frozen=True, slots=True)
class QueueCounts:
    waiting: int
    running: int
    failed: int
    succeeded: int
    workers: int


class QueueQueries:
    if TYPE_CHECKING:
        is_sqlite: bool

        def _read(self) -> AbstractContextManager[Session]: ...
        def _write(self) -> AbstractContextManager[Session]: ...

    @staticmethod
    def pending_keys(s: Session, *, feed_id: int, keys: Iterable[str]) -> set[str]:
        query = select(PendingEntry.entry_key).where(
            PendingEntry.feed_id == feed_id, col(PendingEntry.entry_key).in_(set(keys))
        )
        return set(s.exec(query).all())

    @staticmethod
    def pending_urls(s: Session, *, urls: Iterable[str]) -> set[str]:
        query = select(PendingEntry.canonical_url).where(
            col(PendingEntry.canonical_url).in_(set(urls))
        )
        return {u for u in s.exec(query).all() if u}

    def pending_entry(self, pending_id: int) -> tuple[int, Entry] | None:
        """(feed id, entry) of a recorded entry; ``None`` once its article is stored."""
        with self._read() as s:
            row = s.get(PendingEntry, pending_id)
        return None if row is None else (row.feed_id, entry_from_json(row.data))

    def stale_entries(
        self, *, before: datetime, then: Callable[[Any, list[int]], None], limit: int = 1000
    ) -> list[int]:
        """Recorded entries older than ``before`` (their job gave up: its retries ran out while
        the database or a page was away); ``then`` gets the driver connection and their ids in
        the same transaction, to defer their jobs again."""
        query = (
            select(PendingEntry.id)
            .where(col(PendingEntry.created_at) < before)
            .order_by(col(PendingEntry.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._write() as s:
            ids = [i for i in s.exec(query).all() if i is not None]
            if ids:
                then(driver_connection(s), ids)
            return ids

    def forget_entry(self, pending_id: int) -> None:
        with self._write() as s:
            s.connection().execute(delete(PendingEntry).where(col(PendingEntry.id) == pending_id))

    def queue_counts(self) -> QueueCounts | None:
        """Jobs waiting, running, failed and succeeded, and workers alive; ``None`` without a
        job queue (SQLite, or a PostgreSQL database no worker has been set up on)."""
        if self.is_sqlite:
            return None
        with self._read() as s:
            conn = s.connection()
            exists = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
            if exists is None:
                return None
            jobs = {status: int(n) for status, n in conn.execute(_JOB_COUNTS).all()}
            alive = int(conn.execute(_WORKERS_ALIVE, {"seconds": ALIVE_SECONDS}).scalar() or 0)
        return QueueCounts(
            waiting=jobs.get("todo", 0),
            running=jobs.get("doing", 0),
            failed=jobs.get("failed", 0),
            succeeded=jobs.get("succeeded", 0),
            workers=alive,
        )


def entry_to_json(entry: Entry) -> str:
    return json.dumps(
        {
            "key": entry.key,
            "link": entry.link,
            "canonical_url": entry.canonical_url,
            "title": entry.title,
            "summary": entry.summary,
            "published": entry.published.isoformat() if entry.published else None,
            "author": entry.author,
        }
    )


def entry_from_json(data: str) -> Entry:
    raw = json.loads(data)
    published = raw.get("published")
    return Entry(
        key=raw["key"],
        link=raw.get("link"),
        canonical_url=raw.get("canonical_url"),
        title=raw.get("title") or "",
        summary=raw.get("summary") or "",
        published=datetime.fromisoformat(published) if published else None,
        author=raw.get("author"),
    )
