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
_CONTROL = {c: None for c in [*range(32), 127] if chr(c) not in "\t\n\r"}


def parse_feed(*, content: bytes, content_type: str | None, url: str) -> ParsedFeed:
    """Parse RSS/Atom bytes; raise ``NotAFeedError`` when they are not a feed."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
    except ValueError as exc:  # feedparser's own bugs on hostile bytes, e.g. &#xD800; or &#x110000;
        raise NotAFeedError(
            f"feeds: not an RSS or Atom document: {type(exc).__name__}: {exc} ({url})"
        ) from exc
    if not parsed.get("version") and not parsed.entries:
        raise NotAFeedError(f"feeds: not an RSS or Atom document: {_why(parsed)} ({url})")
    entries = tuple(_entry(raw, base_url=url) for raw in parsed.entries)
    return ParsedFeed(title=_clean(parsed.feed.get("title", "")), entries=entries)


def _clean(value: Any) -> str:
    """Text safe to store and print: no lone surrogates, no control characters but whitespace
    (PostgreSQL refuses NUL; escape sequences would reach terminals)."""
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    return text.translate(_CONTROL)


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
    title = _clean(raw.get("title", "")).strip()
    guid = raw.get("id")
    return Entry(
        key=entry_key(
            guid=_clean(guid) if isinstance(guid, str) else None,
            canonical=canonical,
            title=title,
            link=link,
        ),
        link=link,
        canonical_url=canonical,
        title=title,
        summary=_clean(raw.get("summary", ""))[:MAX_SUMMARY_CHARS],
        published=_published(raw),
        author=_clean(raw.get("author") or "") or None,
    )


def _absolute(link: Any, *, base_url: str) -> str | None:
    if not link or not isinstance(link, str):
        return None
    link = _clean(link).strip()
    try:
        absolute = urljoin(base_url, link)
        scheme = urlsplit(absolute).scheme
    except ValueError:  # e.g. an unclosed IPv6 bracket: not a URL we could ever fetch
        return None
    return absolute if scheme in ("http", "https") else link or None


def _published(raw: Any) -> datetime | None:
    # dict.get: FeedParserDict maps a missing updated_parsed to published_parsed with a warning
    parsed = dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
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

    Idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``. Text that cannot be
    split as a URL (an unclosed IPv6 bracket, lone surrogates) comes back only stripped.
    """
    try:
        return _canonical(url.strip())
    except ValueError:
        return url.strip()


def _canonical(url: str) -> str:
    parts = urlsplit(url)
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
    path = parts.path or "/"
    if not netloc and path.startswith("//"):  # would be read back as a host ("file://@//x")
        path = "/" + path.lstrip("/")
    # stripped again: dropping the query or fragment can leave whitespace at the end of the path
    return urlunsplit((scheme, netloc, path, query, "")).strip()


def _tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)
