"""HTML -> extracted article text and metadata (trafilatura), or ``None`` when nothing usable.

The caller decides the fallback (the feed entry's title and summary). The text comes from
trafilatura without its metadata pass (htmldate and the author/title heuristics cost ~40% more
CPU than the text itself); title, date, author and language are read from the page's own
``<meta>``/``<title>``/``<html lang>`` tags instead, and the feed entry's values come first
anyway. trafilatura is imported where extraction runs (the worker processes), not in the daemon.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml.html import HtmlElement

MIN_TEXT_CHARS = 40
MAX_META_CHARS = 500
_META = {  # which <meta> (by property, name or itemprop) carries each field, best first
    "title": ("og:title", "twitter:title", "dc.title"),
    "published": (
        "article:published_time",
        "datepublished",
        "og:published_time",
        "dc.date",
        "dc.date.issued",
        "pubdate",
        "date",
    ),
    "author": ("author", "article:author", "dc.creator", "byl"),
}

log = logging.getLogger(__name__)

# libxml2 (under lxml and trafilatura) is not safe to drive from several threads at once: it
# crashes the whole process now and then with SIGSEGV or SIGABRT (trafilatura issue #840). In
# the extraction workers there is one thread anyway; in the daemon (``extract_processes = 0``,
# feed summaries) every parse takes this lock, which costs nothing: parsing holds the GIL.
_LIBXML = threading.Lock()


@dataclass(frozen=True, slots=True)
class Extracted:
    """What extraction found on a page. Defined here, not in ``monitor.models``, so that the
    extraction worker processes import neither SQLModel nor pydantic (~40 MB each)."""

    text: str
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    language: str | None = None


def extract_article(*, html: bytes | str, url: str | None = None) -> Extracted | None:
    """Main text, title, author, date and language of an article page; ``None`` if not found."""
    if not html:
        return None
    with _LIBXML:
        return _extract(html=html, url=url)


def _extract(*, html: bytes | str, url: str | None) -> Extracted | None:
    from trafilatura import bare_extraction
    from trafilatura.utils import load_html

    try:
        tree = load_html(html)
        if tree is None:
            return None
        meta = page_metadata(tree)
        doc = bare_extraction(tree, url=url, with_metadata=False, include_comments=False)
    except Exception as exc:  # trafilatura/lxml raise many types on hostile markup
        log.info("extract: extraction failed: %s", exc, extra={"url": url})
        return None
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if len(text) < MIN_TEXT_CHARS:
        return None
    return Extracted(
        text=text,
        title=meta.get("title"),
        author=meta.get("author"),
        published=_date(meta.get("published")),
        language=meta.get("language"),
    )


def page_metadata(tree: HtmlElement) -> dict[str, str]:
    """Title, published date, author and language from the page's own tags (cheap look-ups)."""
    tags: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or ""
        content = (element.get("content") or "").strip()
        if key and content:
            tags.setdefault(key.strip().lower(), content[:MAX_META_CHARS])
    found = {
        field: next((tags[k] for k in keys if k in tags and not _is_url(tags[k])), "")
        for field, keys in _META.items()
    }
    if not found["title"]:
        found["title"] = _first_text(tree, "title")
    if not found["published"]:
        stamp = next(tree.iter("time"), None)
        found["published"] = (stamp.get("datetime") or "") if stamp is not None else ""
    found["language"] = (tree.get("lang") or "").strip()[:20]
    return {k: " ".join(v.split()) for k, v in found.items() if v and v.strip()}


def _first_text(tree: HtmlElement, tag: str) -> str:
    element = next(tree.iter(tag), None)
    return (element.text_content() or "")[:MAX_META_CHARS] if element is not None else ""


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment such as a feed summary."""
    if "<" not in html:
        return html.strip()
    try:
        from lxml import html as lxml_html

        with _LIBXML:
            return str(lxml_html.fromstring(html).text_content()).strip()
    except Exception:
        return html.strip()


def _clean(value: object) -> str | None:
    return str(value).strip() or None if value else None


def _date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _warm_up() -> None:
    """Import trafilatura when a worker starts, not during its first article."""
    import trafilatura.utils  # noqa: F401


def _ready() -> None:
    """A no-op job: submitting it starts a worker (which runs ``_warm_up`` first)."""


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

    def start(self) -> None:
        """Start the workers now, so that their imports overlap the caller's own start-up and
        are not paid by the first pages (each no-op job finds no idle worker: one is spawned)."""
        if self.workers <= 0:
            return
        executor = self._executor()
        for _ in range(self.workers):
            executor.submit(_ready)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=context, initializer=_warm_up
                )
            return self._pool

    def _reset(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._reset()
