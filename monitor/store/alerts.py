"""The alert outbox's SQL. Mixed into ``Store``.

An alert row moves pending → sending (claimed with a lease) → sent | pending (retry) | failed.
Claiming happens in one write transaction, so two senders never take the same row; a sender
that dies while holding a lease leaves the row to be taken over once the lease expires.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, inspect, or_
from sqlmodel import Session, col, select

from monitor.models import Alert, AlertItem, Article, Feed, Match, OutboxPolicy, fits_row_id
from monitor.store.rows import copies_of_stories

EXCERPT_CHARS = 400
LEASE = timedelta(minutes=5)


class AlertQueries:
    if TYPE_CHECKING:
        engine: Engine

        def _read(self) -> AbstractContextManager[Session]: ...
        def _write(self) -> AbstractContextManager[Session]: ...

    def queue_alerts(
        self, s: Session, *, match: Match, policy: OutboxPolicy, now: datetime
    ) -> bool:
        """One pending alert per destination, in the caller's transaction; False when the
        match scores below the alert threshold."""
        if match.id is None or match.score < policy.min_score:
            return False
        for destination in policy.destinations:
            s.add(
                Alert(
                    match_id=match.id,
                    destination=destination,
                    mode=policy.mode,
                    next_attempt_at=policy.due_at or now,
                    created_at=now,
                )
            )
        return True

    def claim_due_alerts(self, *, now: datetime, limit: int = 100) -> list[Alert]:
        """Take due alerts (pending, or sending with an expired lease) for this sender. Rows
        another sender is claiming at this moment are skipped, not waited for and taken again."""
        due = or_(
            col(Alert.status) == "pending",
            (col(Alert.status) == "sending") & (col(Alert.lease_until) < now),
        )
        query = (
            select(Alert)
            .where(due, col(Alert.next_attempt_at) <= now)
            .order_by(col(Alert.id))
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL: another sender's rows are skipped
        )
        with self._write() as s:
            alerts = list(s.exec(query).all())
            for alert in alerts:
                alert.status = "sending"
                alert.lease_until = now + LEASE
                s.add(alert)
            return alerts

    def alert_items(self, alerts: Sequence[Alert]) -> dict[int, AlertItem]:
        """The message content of each claimed alert's match, by alert id."""
        ids = {a.match_id for a in alerts}
        query = (
            select(Match, Article, Feed)
            .join(Article, col(Article.id) == Match.article_id)
            .join(Feed, col(Feed.id) == Article.feed_id)
            .where(col(Match.id).in_(ids))
        )
        with self._read() as s:
            rows = s.exec(query).all()
            story_ids = {a.story_id for _m, a, _f in rows if a.story_id is not None}
            copies = copies_of_stories(s, story_ids)
        by_match = {
            m.id: _item(m, a, f, also=_also(copies.get(a.story_id or 0, []), a.id))
            for m, a, f in rows
        }
        return {a.id or 0: by_match[a.match_id] for a in alerts if a.match_id in by_match}

    def mark_sent(self, *, alert_ids: Sequence[int], now: datetime) -> None:
        with self._write() as s:
            for alert in _alerts(s, alert_ids):
                alert.status, alert.sent_at, alert.lease_until = "sent", now, None
                alert.attempts += 1
                alert.last_error = None
                s.add(alert)

    def mark_unsent(
        self,
        *,
        alert_ids: Sequence[int],
        error: str,
        now: datetime,
        retry_base: float,
        retry_max: float,
        give_up_after: float,
    ) -> list[Alert]:
        """Record a failed attempt: back off exponentially, or give up after ``give_up_after``."""
        with self._write() as s:
            alerts = list(_alerts(s, alert_ids))
            for alert in alerts:
                alert.attempts += 1
                alert.last_error = error
                alert.lease_until = None
                wait = min(retry_base * 2 ** (alert.attempts - 1), retry_max)
                expired = now - alert.created_at >= timedelta(seconds=give_up_after)
                alert.status = "failed" if expired else "pending"
                alert.next_attempt_at = now + timedelta(seconds=wait)
                s.add(alert)
            return alerts

    def list_alerts(self, *, status: str | None = None, limit: int = 100) -> list[Alert]:
        query = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
        if status:
            query = query.where(col(Alert.status) == status)
        with self._read() as s:
            return list(s.exec(query).all())

    def retry_alerts(self, *, alert_id: int | None, now: datetime) -> int:
        """Make failed alerts (or the one given, whatever its state but sent) due now."""
        if alert_id is not None and not fits_row_id(alert_id):
            return 0
        query = select(Alert).where(col(Alert.status) != "sent")
        query = (
            query.where(col(Alert.id) == alert_id)
            if alert_id
            else query.where(col(Alert.status) == "failed")
        )
        with self._write() as s:
            alerts = list(s.exec(query).all())
            for alert in alerts:
                alert.status, alert.next_attempt_at, alert.lease_until = "pending", now, None
                alert.created_at = now  # a fresh retry window
                s.add(alert)
            return len(alerts)

    def alert_counts(self) -> dict[str, int] | None:
        """Alerts by status, or ``None`` when the database has no ``alert`` table."""
        if not inspect(self.engine).has_table("alert"):
            return None
        query = select(Alert.status, func.count()).group_by(col(Alert.status))
        with self._read() as s:
            return {str(status): int(n) for status, n in s.exec(query).all()}


def _alerts(s: Session, ids: Sequence[int]) -> Iterator[Alert]:
    yield from s.exec(select(Alert).where(col(Alert.id).in_(list(ids)))).all()


def _also(copies: list[tuple[int, str, str]], article_id: int | None) -> tuple[str, ...]:
    return tuple(f"{source} ({url})" for cid, source, url in copies if cid != article_id)


def _item(match: Match, article: Article, feed: Feed, *, also: tuple[str, ...] = ()) -> AlertItem:
    return AlertItem(
        alert_ids=(),
        article_id=article.id or 0,
        title=article.title or article.url,
        url=article.url,
        source=feed.name,
        published=article.published,
        score=match.score,
        excerpt=_excerpt(article.text),
        reasons=tuple(article.reason_list()),
        also=also,
    )


def _excerpt(text: str) -> str:
    """The first sentences, up to about EXCERPT_CHARS characters."""
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT_CHARS:
        return flat
    cut = flat[:EXCERPT_CHARS]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    return cut[: end + 1] if end > EXCERPT_CHARS // 3 else cut.rsplit(" ", 1)[0] + " …"
