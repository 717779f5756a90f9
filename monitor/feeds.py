"""Feed bytes and headers -> entries, and the identity of an entry. No network, no database.

feedparser always parses bytes we fetched ourselves; it never sees a URL.
"""

from __future__ import annotations

import calendar
import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser

from monitor.errors import NotAFeedError
from monitor.models import Entry, ParsedFeed

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_ga",
        "_gl",
        "ocid",
        "cmpid",
        "spm",
        "at_medium",
        "at_campaign",
        "ito",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "hsa_")
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_SUMMARY_CHARS = 20_000
MAX_URL_CHARS = 2_000


def parse_feed(*, content: bytes, content_type: str | None, url: str) -> ParsedFeed:
    """Parse RSS/Atom bytes; raise ``NotAFeedError`` when they are not a feed."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
    if not parsed.get("version") and not parsed.entries:
        raise NotAFeedError(f"feeds: not an RSS or Atom document: {_why(parsed)} ({url})")
    entries = tuple(_entry(raw, base_url=url) for raw in parsed.entries)
    return ParsedFeed(title=str(parsed.feed.get("title", "")), entries=entries)


def _bounded(url: str) -> str:
    """A canonical URL short enough to index (databases cap index entries); else its hash."""
    if len(url) <= MAX_URL_CHARS:
        return url
    return "sha256:" + hashlib.sha256(url.encode()).hexdigest()


def _why(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}" if exc else "no feed elements found"


def _entry(raw: Any, *, base_url: str) -> Entry:
    link = _absolute(raw.get("link"), base_url=base_url)
    canonical = _bounded(canonical_url(link)) if link else None
    title = str(raw.get("title", "")).strip()
    return Entry(
        key=entry_key(guid=raw.get("id"), canonical=canonical, title=title, link=link),
        link=link,
        canonical_url=canonical,
        title=title,
        summary=str(raw.get("summary", ""))[:MAX_SUMMARY_CHARS],
        published=_published(raw),
        author=raw.get("author") or None,
    )


def _absolute(link: Any, *, base_url: str) -> str | None:
    if not link or not isinstance(link, str):
        return None
    link = link.strip()
    absolute = urljoin(base_url, link)
    return absolute if urlsplit(absolute).scheme in ("http", "https") else link


def _published(raw: Any) -> datetime | None:
    parsed = raw.get("published_parsed") or raw.get("updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def entry_key(*, guid: Any, canonical: str | None, title: str, link: str | None) -> str:
    """guid if present, else the canonical link, else a hash of title + link."""
    if isinstance(guid, str) and guid.strip():
        return "guid:" + guid.strip()[:500]
    if canonical:
        return "url:" + canonical[:500]
    digest = hashlib.sha256(f"{title}\n{link or ''}".encode()).hexdigest()
    return "hash:" + digest


def canonical_url(url: str) -> str:
    """Lower-cased scheme and host, no default port, no fragment, no tracking parameters.

    Idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        netloc = f"[{host}]" if port in (None, DEFAULT_PORTS.get(scheme)) else f"[{host}]:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)
