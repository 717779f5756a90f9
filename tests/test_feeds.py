"""Feed parsing and entry identity. Fixture files state their own expectation in a comment."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.errors import NotAFeedError
from monitor.feeds import canonical_url, entry_key, parse_feed

FIXTURES = sorted((Path(__file__).parent / "data" / "feeds").glob("*.xml"))
EXPECT = re.compile(rb"<!-- expect: version=(\S+) entries=(\d+) keys=(\S+) -->")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_feeds_parse_as_they_declare(path: Path) -> None:
    content = path.read_bytes()
    match = EXPECT.search(content)
    assert match, f"{path.name} has no expect comment"
    parsed = parse_feed(
        content=content, content_type="application/xml", url="https://example.org/feed"
    )
    keys = [e.key for e in parsed.entries]
    assert len(parsed.entries) == int(match.group(2))
    for key, pattern in zip(keys, match.group(3).decode().split(","), strict=True):
        assert key.startswith(pattern[:-1]) if pattern.endswith("*") else key == pattern


CANONICAL = [
    ("https://Example.ORG/a?utm_source=x&utm_medium=y", "https://example.org/a"),
    ("https://example.org:443/a#frag", "https://example.org/a"),
    ("http://example.org:8080/a?id=3&fbclid=1&gclid=2", "http://example.org:8080/a?id=3"),
    ("https://example.org", "https://example.org/"),
    ("https://example.org/a?b=2&a=1", "https://example.org/a?b=2&a=1"),
    ("HTTPS://WWW.DAWN.COM/news/1?mc_cid=1&ref=x", "https://www.dawn.com/news/1?ref=x"),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@given(
    st.from_regex(
        r"https?://[a-zA-Z0-9.-]{1,20}(:[0-9]{1,5})?(/[a-zA-Z0-9%._~-]{0,10}){0,3}"
        r"(\?[a-z_]{1,8}=[a-z0-9]{0,5}(&[a-z_]{1,8}=[a-z0-9]{0,5}){0,3})?(#\w*)?",
        fullmatch=True,
    )
)
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


KEYS = [
    ({"guid": "abc", "canonical": "https://x/", "title": "t", "link": "https://x/"}, "guid:abc"),
    (
        {"guid": "  ", "canonical": "https://x/", "title": "t", "link": "https://x/"},
        "url:https://x/",
    ),
    ({"guid": None, "canonical": None, "title": "t", "link": None}, "hash:"),
]


@pytest.mark.parametrize(("fields", "prefix"), KEYS)
def test_entry_key_prefers_guid_then_url_then_hash(
    fields: dict[str, str | None], prefix: str
) -> None:
    assert entry_key(**fields).startswith(prefix)  # type: ignore[arg-type]


NOT_FEEDS = [
    b"",
    b"<html><head><title>Hi</title></head><body><p>web page</p></body></html>",
    b"\x00\x01\x02 binary garbage",
    b'{"json": true}',
]


@pytest.mark.parametrize("content", NOT_FEEDS)
def test_non_feeds_are_refused_clearly(content: bytes) -> None:
    with pytest.raises(NotAFeedError, match="not an RSS or Atom document"):
        parse_feed(content=content, content_type="text/html", url="https://example.org/feed")


@given(st.binary(max_size=2000))
def test_no_exception_but_not_a_feed_escapes_parsing(content: bytes) -> None:
    with contextlib.suppress(NotAFeedError):
        parse_feed(content=content, content_type=None, url="https://example.org/feed")


def test_huge_links_are_identified_by_hash() -> None:
    link = "https://example.org/a?" + "x" * 5000
    feed = f"<rss version='2.0'><channel><title>t</title><item><title>a</title><link>{link}</link>"
    feed += "</item></channel></rss>"
    entry = parse_feed(
        content=feed.encode(), content_type=None, url="https://example.org/"
    ).entries[0]
    assert entry.canonical_url is not None and entry.canonical_url.startswith("sha256:")
    assert len(entry.key) < 600
