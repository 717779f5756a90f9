"""Feeds from the config file and from ``feeds add``, in the feed table. Mixed into ``Store``.

A config feed is the row with its URL; failing that, the config feed row with its name whose old
URL the config no longer lists (the URL was edited: same feed, new address, its articles kept).
A CLI feed (``feeds add``) that the config also lists by URL is used as it is.

Removing a CLI feed disables its row (its articles stay); adding it again, by URL or by name,
enables that row again. Config feeds are removed from the config file, not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from monitor.errors import AlreadyExists, ConfigError
from monitor.models import Feed, utcnow


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
