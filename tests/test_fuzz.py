"""Fuzzing at test size: generated feeds through parse_feed, random URLs through canonical_url
(the strategies and checks are faults/fuzzing.py's; ``python -m faults --only fuzzing`` runs
thousands). Below them, the inputs fuzzing found, kept as a table."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faults.fuzzing import (
    CONTENT_TYPES,
    FEED_URL,
    entry_problems,
    feeds,
    parse_problems,
    url_problems,
    urls,
)
from monitor.errors import NotAFeedError
from monitor.feeds import canonical_url, parse_feed

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(feeds(), CONTENT_TYPES)
def test_generated_feeds_parse_to_storable_entries_or_are_refused(
    content: bytes, content_type: str | None
) -> None:
    assert parse_problems(content, content_type) == []


@FUZZ
@given(st.binary(max_size=3000), CONTENT_TYPES)
def test_random_bytes_are_parsed_or_refused(content: bytes, content_type: str | None) -> None:
    assert parse_problems(content, content_type) == []


@FUZZ
@given(urls())
def test_canonical_url_never_raises_and_is_idempotent(url: str) -> None:
    assert url_problems(url) == []


FOUND_URLS = [
    # (input fuzzing found, canonical form)
    ("http://[::1/feed", "http://[::1/feed"),  # unclosed IPv6 bracket: urlsplit raised
    ("http://h/?a=\ud800", "http://h/?a=\ud800"),  # lone surrogate: urlencode raised
    ("https://h/a\x1e?utm_source=x", "https://h/a"),  # dropped query left a strippable end
    ("file://@//S½?#x", "file:///S½"),  # empty host + "//path" was read back as a host
    ("http://@//x/y", "http:///x/y"),
]


@pytest.mark.parametrize(("url", "canonical"), FOUND_URLS)
def test_urls_fuzzing_found_are_canonical_and_stable(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical
    assert canonical_url(canonical) == canonical


RSS = "<rss version='2.0'><channel><title>t</title>{}</channel></rss>"
FOUND_FEEDS = [
    # feedparser itself raised on these: they are now refused as not a feed
    b"<?xml version='1.0' encoding='ut\x87f'?>" + RSS.format("").encode(),
    RSS.format("<item><title>a &#xD800; b</title></item><item><title>x</title>").encode(),
    RSS.format("<item><title>a &#x110000; b</title></item><item><title>x</title>").encode(),
]


@pytest.mark.parametrize("content", FOUND_FEEDS)
def test_feeds_that_crashed_feedparser_are_refused_as_not_a_feed(content: bytes) -> None:
    with pytest.raises(NotAFeedError, match="not an RSS or Atom document"):
        parse_feed(content=content, content_type=None, url=FEED_URL)


DIRTY_ITEM = (
    "<item><title>a \x00\x1b[31m b</title><link>http://[::1/x</link>"
    "<author>x\x07y</author><description>s\x00um</description></item>"
)


def test_control_characters_and_unusable_links_are_dropped_from_entries() -> None:
    parsed = parse_feed(content=RSS.format(DIRTY_ITEM).encode(), content_type=None, url=FEED_URL)
    (entry,) = parsed.entries
    assert (entry.title, entry.summary, entry.author, entry.link) == ("a [31m b", "sum", "xy", None)
    assert entry_problems(entry) == []
