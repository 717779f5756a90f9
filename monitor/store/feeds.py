"""The feed table: feeds from the config file and from ``feeds add``, and each feed's polling
state (etag, last_modified, next_check_at, error_count, last_error). Mixed into ``Store``.


A config feed is the row with its URL; failing that, the config feed row with its name whose old
URL the config no longer lists (the URL was edited: same feed, new address, its articles kept).
A CLI feed (``feeds add``) that the config also lists by URL is used as it is.

Removing a CLI feed disables its row (its articles stay); adding it again, by URL or by name,
enables that row again. Config feeds are removed from the config file, not here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from monitor.errors import AlreadyExists, ConfigError, NotFound
from monitor.models import (
    Entry,
    Feed,
    PendingEntry,
    Response,
    next_check_after_failure,
    next_check_after_success,
    utcnow,
)
from monitor.store.queue import entry_to_json
from monitor.store.rows import driver_connection, get_feed

# A claimed feed is skipped by other pollers this long; a poller killed mid-poll leaves it due
# again after it (kept short, so a restarted single daemon is not kept waiting).
FEED_LEASE = timedelta(seconds=60)
GONE_AFTER = 3  # consecutive HTTP 410 answers before a feed is disabled as gone


@dataclass(frozen=True, slots=True)
class FeedDef:
    name: str
    url: str
    interval_seconds: int


class FeedQueries:
    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Session]: ...
        def _write(self) -> AbstractContextManager[Session]: ...

    def add_feed(self, *, name: str, url: str, interval_seconds: int) -> Feed:
        """Watch a feed; a removed feed with this URL or name is watched again."""
        try:
            with self._write() as s:
                feed = _reusable_row(s, name=name, url=url) or Feed(name=name, url=url)
                if feed.url != url:
                    _move(feed, url=url)
                feed.name, feed.interval_seconds, feed.origin = name, interval_seconds, "cli"
                feed.enabled = True
                s.add(feed)
        except IntegrityError as exc:  # added by another process meanwhile
            raise AlreadyExists(f"store: a feed named {name!r} or with URL {url} exists") from exc
        return feed

    def feed_named(self, name: str) -> Feed | None:
        with self._read() as s:
            return s.exec(select(Feed).where(Feed.name == name)).first()

    def remove_feed(self, *, name: str) -> Feed | None:
        """Stop watching the CLI feed ``name``; ``None`` when no such feed is watched."""
        with self._write() as s:
            feed = s.exec(
                select(Feed).where(Feed.name == name, Feed.origin == "cli", col(Feed.enabled))
            ).first()
            if feed is not None:
                feed.enabled = False
                s.add(feed)
            return feed

    def set_feed_enabled(self, *, feed_id: int, enabled: bool) -> Feed:
        """Pause or resume a feed (the feeds page); a resumed feed is due at once."""
        with self._write() as s:
            feed = get_feed(s, feed_id)
            feed.enabled = enabled
            if enabled:
                feed.next_check_at = utcnow()
            s.add(feed)
            return feed

    def sync_config_feeds(self, feeds: Sequence[FeedDef]) -> None:
        """Make the config file's feeds exist and be enabled; disable config feeds no longer
        listed. Raises ``ConfigError`` when a config feed's name is a CLI feed's."""
        with self._write() as s:
            rows = list(s.exec(select(Feed)).all())
            plan = _match_rows(rows, feeds)
            _free_names(s, plan, feeds)
            for spec in feeds:
                _apply(s, plan.get(spec.url), spec, taken=_names_held(rows, plan))
            kept = {id(row) for row in plan.values()}
            for row in rows:
                if row.origin == "config" and id(row) not in kept:
                    row.enabled = False
                    s.add(row)

    # -- reading and claiming feeds -------------------------------------------------------

    def feeds(self, *, enabled_only: bool = True) -> list[Feed]:
        with self._read() as s:
            query = select(Feed).order_by(col(Feed.name))
            if enabled_only:
                query = query.where(col(Feed.enabled).is_(True))
            return list(s.exec(query).all())

    def feed(self, feed_id: int) -> Feed:
        with self._read() as s:
            return get_feed(s, feed_id)

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
            feed = get_feed(s, feed_id)
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


def _reusable_row(s: Session, *, name: str, url: str) -> Feed | None:
    """The removed feed a new one with this name and URL takes over; an error if either is
    watched, or if they belong to two different removed feeds."""
    rows = list(s.exec(select(Feed).where(or_(col(Feed.url) == url, col(Feed.name) == name))).all())
    watched = [r for r in rows if r.enabled]
    if watched:
        raise AlreadyExists(
            f"store: feed {watched[0].name!r} ({watched[0].url}) is already watched"
        )
    if len(rows) > 1:
        raise AlreadyExists(
            f"store: {name!r} is the name of a removed feed with another URL "
            f"({rows[0].url if rows[0].name == name else rows[1].url}); pick another name"
        )
    return rows[0] if rows else None


def _match_rows(rows: Sequence[Feed], feeds: Sequence[FeedDef]) -> dict[str, Feed]:
    """Config feed URL -> the existing row that is that feed."""
    by_url = {r.url: r for r in rows}
    wanted = {f.url for f in feeds}
    moved = {r.name: r for r in rows if r.origin == "config" and r.url not in wanted}
    plan: dict[str, Feed] = {}
    for spec in feeds:
        row = by_url.get(spec.url) or moved.get(spec.name)
        if row is not None:
            plan[spec.url] = row
    return plan


def _free_names(s: Session, plan: dict[str, Feed], feeds: Sequence[FeedDef]) -> None:
    """Give config rows that change name a placeholder first, so that names can swap."""
    names = {f.url: f.name for f in feeds}
    for url, row in plan.items():
        if row.origin == "config" and row.name != names[url]:
            row.name = f"~renaming {row.id}~"
            s.add(row)
    s.flush()


def _names_held(rows: Sequence[Feed], plan: dict[str, Feed]) -> dict[str, Feed]:
    """Names of rows the config does not take over (CLI feeds, config feeds removed)."""
    kept = {id(row) for row in plan.values()}
    return {r.name: r for r in rows if id(r) not in kept}


def _apply(s: Session, row: Feed | None, spec: FeedDef, *, taken: dict[str, Feed]) -> None:
    holder = taken.get(spec.name)
    if holder is not None and (row is None or row.origin == "config"):
        if holder.origin != "config":
            raise ConfigError(
                f"config: feeds: {spec.name!r} is already the name of a feed added with "
                f"`monitor feeds add` ({holder.url}); rename one of them"
            )
        holder.name = f"{holder.name} (removed from config, id {holder.id})"
        s.add(holder)
        s.flush()
    if row is None:
        row = Feed(name=spec.name, url=spec.url, origin="config")
    elif row.origin == "config":
        row.name = spec.name
    if row.url != spec.url:
        _move(row, url=spec.url)
    row.interval_seconds = spec.interval_seconds
    row.enabled = True
    s.add(row)


def _move(row: Feed, *, url: str) -> None:
    """A new address for the same feed: forget the old one's validators and errors."""
    row.url = url
    row.etag = None
    row.last_modified = None
    row.error_count = 0
    row.last_error = None
    row.last_status = None
    row.next_check_at = utcnow()


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
