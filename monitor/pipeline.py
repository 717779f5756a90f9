"""The one function that polls one feed, stage by stage. The daemon and ``poll --once`` share it.

load feed row → conditional GET → not modified? reschedule, done
→ parse → keep only entries storage has never seen → for each: fetch page, extract
(or fall back to the feed summary), score → store article (+ match) → reset the error count
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from monitor import extract, feeds, stories
from monitor.classify import Classifier
from monitor.errors import FetchError, HTTPStatusError, MonitorError
from monitor.fetch import Fetcher
from monitor.models import (
    Article,
    Entry,
    Feed,
    Match,
    OutboxPolicy,
    Response,
    utcnow,
)
from monitor.store import Store

DEFAULT_ENTRY_WORKERS = 4
DEFAULT_STORY_WINDOW = 7 * 86400.0
_STORY_LOCK = threading.Lock()

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stages:
    """What the pipeline needs, built once at the edge and passed in."""

    store: Store
    fetcher: Fetcher
    classifier: Callable[[], Classifier]
    outbox: Callable[[], OutboxPolicy] = OutboxPolicy
    extractor: Callable[..., extract.Extracted | None] = extract.extract_article
    entry_workers: int = DEFAULT_ENTRY_WORKERS
    story_window: float = DEFAULT_STORY_WINDOW  # seconds
    story_threshold: float = stories.DEFAULT_THRESHOLD
    # called after a match is stored (its alerts queued): the daemon wakes delivery with it
    match_stored: Callable[[], object] = lambda: None
    # the daemon calls it once before its first poll: the extraction workers start
    warm_up: Callable[[], object] = lambda: None


@dataclass(frozen=True, slots=True)
class PollResult:
    feed: str
    outcome: str  # "ok", "not-modified", "error", "stopped"
    http_status: int | None = None
    new: int = 0
    matches: int = 0
    seconds: float = 0.0
    error: str | None = None


def _never() -> bool:
    return False


def poll_feed(
    *, feed_id: int, stages: Stages, should_stop: Callable[[], bool] = _never
) -> PollResult:
    started = time.monotonic()
    feed = stages.store.feed(feed_id)
    fetched = fetch_new_entries(feed=feed, stages=stages, started=started)
    if isinstance(fetched, PollResult):
        return fetched
    response, entries = fetched
    classifier = stages.classifier()
    outbox = stages.outbox()
    matches = 0
    for article, sig in _process_entries(entries, feed=feed, stages=stages, classifier=classifier):
        if should_stop():
            return _done(feed, "stopped", started, http_status=response.status, new=len(entries))
        if _store_in_story(article, sig, stages=stages, outbox=outbox) is not None:
            matches += 1
            stages.match_stored()
    _record_success(stages, feed, response)
    return _done(
        feed, "ok", started, http_status=response.status, new=len(entries), matches=matches
    )


def fetch_new_entries(
    *, feed: Feed, stages: Stages, started: float
) -> tuple[Response, list[Entry]] | PollResult:
    """Conditional GET and parse; the entries storage has never seen, or the poll's outcome
    when there is nothing to process (not modified, or failed: both recorded on the feed)."""
    try:
        response = stages.fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        if response.not_modified:
            _record_success(stages, feed, response)
            return _done(feed, "not-modified", started, http_status=304)
        parsed = feeds.parse_feed(
            content=response.content, content_type=response.content_type, url=response.url
        )
    except MonitorError as exc:
        return _record_failure(stages, feed, exc, started)
    return response, stages.store.new_entries(feed_id=feed.id or 0, entries=parsed.entries)


def store_entry(
    entry: Entry, *, feed: Feed, stages: Stages, pending_id: int | None = None
) -> Match | None:
    """One entry end to end (page, extraction, score, story, article, alerts): what a worker's
    "process entry" job does. ``pending_id`` is the recorded entry it settles."""
    article, sig = _article_of(entry, feed=feed, stages=stages, classifier=stages.classifier())
    return _store_in_story(
        article, sig, stages=stages, outbox=stages.outbox(), pending_id=pending_id
    )


def _article_of(
    entry: Entry, *, feed: Feed, stages: Stages, classifier: Classifier
) -> tuple[Article, stories.Signature]:
    article = _process_entry(entry, feed=feed, stages=stages, classifier=classifier)
    sig = stories.signature(f"{article.title}\n{article.text}")
    article.signature = sig.values or None
    return article, sig


def _process_entries(
    entries: list[Entry], *, feed: Feed, stages: Stages, classifier: Classifier
) -> Iterator[tuple[Article, stories.Signature]]:
    """Articles in entry order; pages are fetched and extracted a few at a time, concurrently."""
    width = max(stages.entry_workers, 1)

    def process(entry: Entry) -> tuple[Article, stories.Signature]:
        return _article_of(entry, feed=feed, stages=stages, classifier=classifier)

    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="entry") as pool:
        for start in range(0, len(entries), width * 2):
            yield from pool.map(process, entries[start : start + width * 2])


def _process_entry(entry: Entry, *, feed: Feed, stages: Stages, classifier: Classifier) -> Article:
    """Fetch and extract the linked page, falling back to the entry's own title and summary."""
    extracted, error = _fetch_and_extract(entry, stages=stages)
    if extracted is not None:
        title, text, method = entry.title or extracted.title or "", extracted.text, "trafilatura"
    else:
        title, text, method = entry.title, extract.html_to_text(entry.summary), "feed-summary"
    score = classifier.score(title=title, text=text)
    return Article(
        feed_id=feed.id or 0,
        entry_key=entry.key,
        canonical_url=entry.canonical_url or entry.key,
        url=entry.link or "",
        title=title,
        text=text,
        author=(extracted.author if extracted else None) or entry.author,
        published=entry.published or (extracted.published if extracted else None),
        language=extracted.language if extracted else None,
        extraction=method,
        extraction_error=error,
        score=score.value,
        relevant=score.relevant,
        reasons=json.dumps(list(score.reasons)),
    )


def _store_in_story(
    article: Article,
    sig: stories.Signature,
    *,
    stages: Stages,
    outbox: OutboxPolicy,
    pending_id: int | None = None,
) -> Match | None:
    """Join the story of a near-duplicate stored within the window, or start one; store."""
    # look-up and insert together, so two copies never start two stories (in this process,
    # and across processes and machines sharing a PostgreSQL database)
    with _STORY_LOCK, stages.store.story_lock():
        candidates = stages.store.story_candidates(
            bands=sig.bands, since=utcnow() - timedelta(seconds=stages.story_window)
        )
        story_id = stories.best_story(sig, candidates, threshold=stages.story_threshold)
        return stages.store.save_article(
            article=article,
            outbox=outbox,
            story_id=story_id,
            bands=sig.bands,
            pending_id=pending_id,
        )


def _fetch_and_extract(
    entry: Entry, *, stages: Stages
) -> tuple[extract.Extracted | None, str | None]:
    if not entry.link:
        return None, "entry has no link"
    try:
        page = stages.fetcher.fetch(entry.link)
    except FetchError as exc:
        log.info(
            "extract: article page unavailable, using feed summary: %s",
            exc,
            extra={"url": entry.link},
        )
        return None, str(exc)
    extracted = stages.extractor(html=page.content, url=page.url)
    return extracted, None if extracted else "no article text found on the page"


def _record_success(stages: Stages, feed: Feed, response: Response) -> None:
    stages.store.record_success(
        feed_id=feed.id or 0,
        status=response.status,
        etag=response.etag,
        last_modified=response.last_modified,
        max_age=response.max_age,
        now=utcnow(),
    )


def _record_failure(stages: Stages, feed: Feed, exc: MonitorError, started: float) -> PollResult:
    status = exc.status if isinstance(exc, HTTPStatusError) else None
    retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
    row = stages.store.record_failure(
        feed_id=feed.id or 0, error=str(exc), status=status, retry_after=retry_after, now=utcnow()
    )
    log.warning(
        "poll: %s failed (%d in a row, next try %s UTC): %s",
        feed.name,
        row.error_count,
        row.next_check_at.strftime("%H:%M:%S"),
        exc,
        extra={"feed": feed.name, "error_count": row.error_count},
    )
    return _done(feed, "error", started, http_status=status, error=str(exc))


def _done(
    feed: Feed,
    outcome: str,
    started: float,
    *,
    http_status: int | None = None,
    new: int = 0,
    matches: int = 0,
    error: str | None = None,
) -> PollResult:
    result = PollResult(
        feed=feed.name,
        outcome=outcome,
        http_status=http_status,
        new=new,
        matches=matches,
        seconds=time.monotonic() - started,
        error=error,
    )
    if outcome != "error":
        log.info(
            "poll: %s %s status=%s new=%d matches=%d in %.2fs",
            feed.name,
            outcome,
            http_status,
            new,
            matches,
            result.seconds,
            extra={"feed": feed.name, "new": new, "matches": matches},
        )
    return result


def check_feed(*, url: str, fetcher: Fetcher) -> feeds.ParsedFeed:
    """Fetch ``url`` and parse it as the poll would; raise the poll's ``FetchError`` or
    ``NotAFeedError`` when it does not answer with a feed (``feeds add`` asks first)."""
    response = fetcher.fetch(url)
    return feeds.parse_feed(
        content=response.content, content_type=response.content_type, url=response.url
    )
