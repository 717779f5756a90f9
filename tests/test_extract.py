"""Page metadata read from the page's own tags, beside trafilatura's text (case table)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.extract import extract_article

BODY = "<p>" + "Islamabad and Moscow signed a barter trade protocol on Tuesday. " * 5 + "</p>"

CASES = [
    (  # og:title wins over <title>; ISO date with offset; author; <html lang>
        '<html lang="en"><head><title>Site | Story</title>'
        '<meta property="og:title" content="Barter deal signed">'
        '<meta property="article:published_time" content="2025-03-04T10:00:00+05:00">'
        '<meta name="author" content="A. Reporter"></head>',
        {
            "title": "Barter deal signed",
            "published": datetime(2025, 3, 4, 5, 0, tzinfo=UTC),
            "author": "A. Reporter",
            "language": "en",
        },
    ),
    (  # only <title>; a <time datetime>; author given as a profile URL is not a name
        "<html><head><title>  Wheat \n shipments resume </title>"
        '<meta property="article:author" content="https://example.org/staff/1"></head>'
        '<time datetime="2025-01-02">Jan 2</time>',
        {
            "title": "Wheat shipments resume",
            "published": datetime(2025, 1, 2, tzinfo=UTC),
            "author": None,
            "language": None,
        },
    ),
    (  # unparseable date and no title at all
        '<html><head><meta itemprop="datePublished" content="last Tuesday"></head>',
        {"title": None, "published": None, "author": None, "language": None},
    ),
]


@pytest.mark.parametrize(("head", "expected"), CASES)
def test_metadata_from_the_pages_own_tags(head: str, expected: dict[str, object]) -> None:
    extracted = extract_article(html=f"{head}<body><article>{BODY}</article></body></html>")
    assert extracted is not None
    assert "barter trade protocol" in extracted.text
    found = {k: getattr(extracted, k) for k in expected}
    assert found == expected


@pytest.mark.parametrize("html", ["", "<html></html>", "<p>too short</p>", b"\xff\xfe\x00<<<"])
def test_pages_without_an_article_give_none(html: str | bytes) -> None:
    assert extract_article(html=html) is None
