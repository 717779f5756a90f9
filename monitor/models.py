"""Database tables (SQLModel) and the small frozen records passed between stages. No I/O here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

MAX_BACKOFF = timedelta(hours=24)
MIN_INTERVAL = timedelta(minutes=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- tables -------------------------------------------------------------------------------


class Feed(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    url: str = Field(unique=True)
    interval_seconds: int = 900
    origin: str = "config"  # "config" (from monitor.toml) or "cli" (feeds add / import-opml)
    enabled: bool = True
    etag: str | None = None
    last_modified: str | None = None
    next_check_at: datetime = Field(default_factory=utcnow, index=True)
    last_polled_at: datetime | None = None
    last_status: int | None = None
    error_count: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class Story(SQLModel, table=True):
    """Copies of one news event (syndicated, rewritten, republished) share a story."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    alerted_at: datetime | None = None  # when its first relevant copy was queued for alerts


class StoryBand(SQLModel, table=True):
    """The LSH index: one row per (article, band key) for articles inside the story window."""

    __tablename__ = "story_band"
    band: int = Field(sa_column=Column(BigInteger, primary_key=True))
    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id"), primary_key=True, index=True)
    )
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Article(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("feed_id", "entry_key"),)
    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feed.id", index=True)
    entry_key: str
    canonical_url: str = Field(unique=True)
    url: str
    title: str = ""
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    author: str | None = None
    published: datetime | None = None
    fetched_at: datetime = Field(default_factory=utcnow, index=True)
    language: str | None = None
    extraction: str = "trafilatura"  # or "feed-summary" when the page could not be used
    extraction_error: str | None = None
    score: float = 0.0
    relevant: bool = False
    reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    story_id: int | None = Field(default=None, foreign_key="story.id", index=True)
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary))

    def reason_list(self) -> list[str]:
        """The classifier's reasons stored as a JSON list; ``[]`` when unreadable."""
        try:
            value: Any = json.loads(self.reasons or "[]")
        except ValueError:
            return []
        return [str(r) for r in value] if isinstance(value, list) else []


class Match(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", unique=True)
    score: float
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Judgement(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", unique=True)
    relevant: bool
    created_at: datetime = Field(default_factory=utcnow)


class WebSession(SQLModel, table=True):
    """A signed-in browser of the review page. ``key`` is a keyed hash of the session id the
    cookie holds (so the table holds no usable id, and a new web token voids every session)."""

    __tablename__ = "web_session"
    key: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class ImportedJudgement(SQLModel, table=True):
    """A labelled article brought in with ``monitor label --import`` (not a stored article)."""

    __tablename__ = "imported_judgement"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # the line's `id`, else a hash of its title and text
    source: str  # the file it came from (name only)
    title: str = ""
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    relevant: bool
    created_at: datetime = Field(default_factory=utcnow)


class Alert(SQLModel, table=True):
    """One (match, destination) pair in the outbox: sent at most once, retried until it is."""

    __table_args__ = (UniqueConstraint("match_id", "destination"),)
    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="match.id", index=True)
    destination: str  # Destination.key: its stable name (older rows: a hash of the URL)
    mode: str = "instant"  # or "digest": grouped with the destination's other due alerts
    status: str = Field(default="pending", index=True)  # pending, sending, sent, failed
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    lease_until: datetime | None = None  # while "sending": when another sender may take it over
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class PendingEntry(SQLModel, table=True):
    """A new entry recorded by a worker's feed poll, waiting for its "process entry" job; the row
    and the job commit together, and the row goes when the entry's article is stored."""

    __tablename__ = "pending_entry"
    __table_args__ = (UniqueConstraint("feed_id", "entry_key"),)
    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feed.id", index=True)
    entry_key: str
    canonical_url: str | None = Field(default=None, index=True)
    data: str = Field(sa_column=Column(Text, nullable=False))  # the Entry, as JSON
    created_at: datetime = Field(default_factory=utcnow)


# --- records passed between stages --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    content: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    max_age: float | None = None
    not_modified: bool = False


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    link: str | None
    canonical_url: str | None
    title: str = ""
    summary: str = ""
    published: datetime | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class AlertItem:
    """What a message says about one match."""

    alert_ids: tuple[int, ...]
    article_id: int
    title: str
    url: str
    source: str
    published: datetime | None
    score: float
    excerpt: str
    reasons: tuple[str, ...]
    also: tuple[str, ...] = ()  # where else the story appeared: "Source (url)"
    page_url: str = ""  # the story on the review page (with ``[web] public_url``)
    not_relevant_url: str = ""  # signed, expiring link to a "not relevant" confirmation


@dataclass(frozen=True, slots=True)
class StoryCandidate:
    """A stored article that shares an LSH band with a new one."""

    article_id: int
    story_id: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    """Which destinations a new match is queued for, from what score, and when it is due."""

    destinations: tuple[str, ...] = ()
    min_score: float = 0.0
    mode: str = "instant"
    due_at: datetime | None = None  # None: now


# --- polling schedule (state lives on the feed row) ---------------------------------------


def next_check_after_success(
    *, now: datetime, interval: timedelta, max_age: float | None = None
) -> datetime:
    """The feed's own interval, stretched when the server says its content stays fresh longer."""
    wait = max(interval, timedelta(seconds=max_age or 0))
    return now + min(wait, MAX_BACKOFF)


def next_check_after_failure(
    *, now: datetime, interval: timedelta, error_count: int, retry_after: float | None = None
) -> datetime:
    """Exponential back-off from the feed interval, capped at a day; Retry-After wins if later."""
    exponent = min(max(error_count - 1, 0), 16)
    wait = min(max(interval, MIN_INTERVAL) * (2**exponent), MAX_BACKOFF)
    if retry_after is not None:
        wait = max(wait, min(timedelta(seconds=retry_after), MAX_BACKOFF))
    return now + wait


ROW_ID_BITS = 63  # ids are signed 64-bit integers (SQLite INTEGER, PostgreSQL BIGINT)


def fits_row_id(value: int) -> bool:
    """Whether ``value`` can be an id at all: a larger number typed in a URL or on the command
    line matches no row (the drivers would raise instead of finding nothing)."""
    return -(2**ROW_ID_BITS) <= value < 2**ROW_ID_BITS
