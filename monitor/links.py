"""Links that come from third parties (feeds, pages): which ones may be put in an ``href``."""

from __future__ import annotations

from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")


def web_url(url: str | None) -> str | None:
    """The URL, stripped, when it is http(s); ``None`` for ``javascript:``, ``data:``, ``file:``
    or text that is not a URL at all (such as an unclosed IPv6 bracket)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in WEB_SCHEMES else None
