"""The review page lists stories: two feeds publishing the same five stories give five rows.

One real poll of two feeds on a local feed server fills a database; each test copies it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.app import App, build_app
from monitor.models import Article
from monitor.pipeline import poll_feed
from monitor.store.matches import MatchFilter
from monitor.web import create_app
from tests.conftest import publish, seed_pages
from tests.httpserver import FeedServer
from tests.test_web import Client, Polled, sqlite_settings

FEEDS = ("Wire one", "Wire two")
STORIES = 5


@pytest.fixture(scope="module")
def two_feeds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Polled]:
    """``FEEDS`` each publish the same ``STORIES`` seed articles under their own URLs."""
    tmp = tmp_path_factory.mktemp("two_feeds")
    server = FeedServer().start()
    try:
        pages = seed_pages()[:STORIES]
        feeds: list[dict[str, object]] = []
        for n, name in enumerate(FEEDS):
            copies = [replace(p, path=f"/wire{n}{p.path}") for p in pages]
            url = publish(server, feed_path=f"/wire{n}.xml", pages=copies)
            feeds.append({"name": name, "url": url})
        application = build_app(sqlite_settings(tmp, feeds=feeds))
        try:
            for feed in application.store.feeds():
                result = poll_feed(feed_id=feed.id or 0, stages=application.stages)
                assert result.outcome == "ok" and result.matches == STORIES, result
        finally:
            application.close()
        yield Polled(db=tmp / "monitor.db", feeds=feeds)
    finally:
        server.stop()


@pytest.fixture
def stories(two_feeds: Polled, tmp_path: Path) -> Iterator[App]:
    shutil.copy(two_feeds.db, tmp_path / "monitor.db")
    application = build_app(sqlite_settings(tmp_path, feeds=two_feeds.feeds))
    yield application
    application.close()


@pytest.fixture
def client(stories: App) -> Iterator[Client]:
    c = Client(create_app(app=stories, token=None))
    yield c
    c.close()


ROWS = [  # (query, rows on the page, summary)
    ("/", STORIES, f"{STORIES} stories"),
    ("/?copies=1", 2 * STORIES, f"{2 * STORIES} matches"),
    ("/?source=Wire+two", STORIES, f"{STORIES} stories for this filter"),
    ("/?source=Wire+two&copies=1", STORIES, f"{STORIES} matches for this filter"),
    ("/?copies=2", STORIES, "Ignored copies: expected 0 or 1"),
]


@pytest.mark.parametrize(("path", "rows", "summary"), ROWS)
def test_one_row_per_story_unless_every_copy_is_asked_for(
    client: Client, path: str, rows: int, summary: str
) -> None:
    html = client.get(path).text
    assert len(re.findall(r'<li class="match"', html)) == rows
    assert summary in html


def test_each_story_names_its_other_copy(client: Client, stories: App) -> None:
    html = client.get("/").text
    assert html.count("also reported by") == STORIES
    shown = re.findall(r'<li class="match" id="article-(\d+)"', html)
    linked = re.findall(r'also reported by <a href="/articles/(\d+)">(Wire \w+)</a>', html)
    copies = stories.store.story_copies({a.story_id or 0 for a in _articles(stories)})
    for article_id, (other, source) in zip(shown, linked, strict=True):
        ids = next(c for c in copies.values() if int(article_id) in {i for i, _, _ in c})
        assert {int(article_id), int(other)} == {i for i, _, _ in ids}
        assert source in FEEDS
    assert 'href="?copies=1"' in html and "Show every copy" in html


def test_the_best_copy_leads(stories: App) -> None:
    """The row shown for a story is its highest-scored copy."""
    best = stories.store.review_matches(where=MatchFilter(per_story=True))
    every = stories.store.review_matches(where=MatchFilter())
    for row in best:
        rivals = [r for r in every if r.article.story_id == row.article.story_id]
        assert row.match.score == max(r.match.score for r in rivals)
    assert stories.store.count_matches(where=MatchFilter(per_story=True)) == STORIES


def _articles(application: App) -> list[Article]:
    return [r.article for r in application.store.review_matches(where=MatchFilter())]


def test_judging_a_story_not_relevant_hides_the_story_not_just_its_copy(
    client: Client, stories: App
) -> None:
    html = client.get("/").text
    first = re.findall(r'<li class="match" id="article-(\d+)"', html)[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "verdict": "irrelevant", "next": "/"}
    assert client.post(f"/articles/{first}/judgement", data=form).status_code == 303
    after = client.get("/").text
    assert f"{STORIES - 1} stories" in after  # its other copy does not take its place
    assert len(re.findall(r'<li class="match"', after)) == STORIES - 1
    assert f"{STORIES} stories for this filter" in client.get("/?judgement=all").text
    assert "1 story for this filter" in client.get("/?judgement=irrelevant").text
