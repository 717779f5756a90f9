"""Which third-party links may go in an href: one rule for the web page, the Atom feed and the
alert emails (their own tests render them; this is the rule's table)."""

from __future__ import annotations

import pytest

from monitor.links import web_url

CASES = [
    ("https://www.dawn.com/news/1", "https://www.dawn.com/news/1"),
    ("  HTTP://Example.org/a  ", "HTTP://Example.org/a"),
    ("javascript:alert(1)", None),
    ("JaVaScRiPt:alert(1)", None),
    ("data:text/html,<script>alert(1)</script>", None),
    ("file:///etc/passwd", None),
    ("ftp://example.org/x", None),
    ("//example.org/no-scheme", None),
    ("http://[::1", None),  # not a URL: urlsplit raises
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_only_http_and_https_links_are_kept(url: str | None, expected: str | None) -> None:
    assert web_url(url) == expected
