"""HTML -> extracted article text and metadata (trafilatura), or ``None`` when nothing usable.

The caller decides the fallback (the feed entry's title and summary).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime

import trafilatura

from monitor.models import Extracted

MIN_TEXT_CHARS = 40

log = logging.getLogger(__name__)


def extract_article(*, html: bytes | str, url: str | None = None) -> Extracted | None:
    """Main text, title, author, date and language of an article page; ``None`` if not found."""
    if not html:
        return None
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
        )
    except Exception as exc:  # trafilatura/lxml raise many types on hostile markup
        log.info("extract: extraction failed: %s", exc, extra={"url": url})
        return None
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if len(text) < MIN_TEXT_CHARS:
        return None
    return Extracted(
        text=text,
        title=_clean(getattr(doc, "title", None)),
        author=_clean(getattr(doc, "author", None)),
        published=_date(getattr(doc, "date", None)),
        language=_clean(getattr(doc, "language", None)),
    )


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment such as a feed summary."""
    if "<" not in html:
        return html.strip()
    try:
        from lxml import html as lxml_html

        return str(lxml_html.fromstring(html).text_content()).strip()
    except Exception:
        return html.strip()


def _clean(value: object) -> str | None:
    return str(value).strip() or None if value else None


def _date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ExtractorPool:
    """``extract_article`` in worker processes, so extraction uses every core.

    trafilatura holds the GIL, so threads cannot extract in parallel. Workers are started with
    "spawn" (safe beside the daemon's threads) on first use; ``workers=0`` extracts in-process.
    """

    def __init__(self, *, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def __call__(self, *, html: bytes | str, url: str | None = None) -> Extracted | None:
        if self.workers <= 0:
            return extract_article(html=html, url=url)
        try:
            return self._executor().submit(extract_article, html=html, url=url).result()
        except BrokenProcessPool as exc:
            log.error("extract: worker process died (%s); restarting the pool", exc)
            self._reset()
            return None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            return self._pool

    def _reset(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._reset()
