"""Reading the list: snippets with the search words marked, a chart that follows the filters, a
per-feed view, "not relevant" hidden by default (the Atom feed too), and undoing a judgement."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest

from monitor.app import App
from monitor.models import Article, Story
from monitor.store.matches import MARK_END, MARK_START, MatchFilter
from tests.test_web import ARTICLES, Client, client, csrf_of, polled, review, store_with

__all__ = ["client", "polled", "review"]  # fixtures: a polled database, an app and a client

MARKED = re.compile(f"{MARK_START}(.*?){MARK_END}")
SNIPPETS = [  # (search, word that must be marked in every snippet, rows)
    ("Kremlin", "Kremlin", 2),
    ("kreml*", "Kremlin", 2),
    ("khawaja asif", "Khawaja", 1),
]


@pytest.mark.parametrize(("words", "marked", "rows"), SNIPPETS)
def test_search_shows_a_snippet_with_the_words_marked(
    client: Client, words: str, marked: str, rows: int
) -> None:
    html = client.get("/", params={"q": words}).text
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', html, flags=re.S)
    assert len(snippets) == rows
    assert all(re.search(rf"<mark>{marked}</mark>", s, flags=re.I) for s in snippets), snippets


def test_without_search_the_snippet_is_the_start_of_the_text(client: Client) -> None:
    html = client.get("/").text
    snippets = re.findall(r'<p class="snippet">(.*?)</p>', html, flags=re.S)
    assert len(snippets) == 5 and all(s.strip() and "<mark>" not in s for s in snippets)
    assert "&lt;script&gt;" in html and "<script>alert" not in html  # escaped here too


CHARTS = [  # (query, chart range shown, total in the chart)
    ("", None, "5 in all"),
    ("?source=Elsewhere", None, "0 in all"),
    ("?q=Kremlin", None, "2 in all"),
    ("?since=2000-01-01&until=2000-01-10", "2000-01-01 – 2000-01-10", "0 in all"),
]


@pytest.mark.parametrize(("query", "span", "total"), CHARTS)
def test_the_chart_follows_the_filters(
    client: Client, query: str, span: str | None, total: str
) -> None:
    heading = re.search(r'<h2 id="chart-title">(.*?)</h2>', client.get("/" + query).text, re.S)
    assert heading is not None and total in heading.group(1)
    if span is not None:
        assert span in heading.group(1)


def test_each_row_links_to_its_feeds_view(client: Client) -> None:
    html = client.get("/").text
    assert html.count('href="?source=Local+news"') == 5
    assert "5 stories for this filter" in client.get("/?source=Local+news").text


def test_not_relevant_is_hidden_by_default_and_undo_brings_it_back(
    client: Client, review: App
) -> None:
    article_id = int(client.get("/api/matches").json()["items"][0]["id"])
    csrf = csrf_of(client.get("/").text)

    def judge(verdict: str) -> None:
        form = {"csrf": csrf, "verdict": verdict, "next": "/"}
        assert client.post(f"/articles/{article_id}/judgement", data=form).status_code == 303

    judge("irrelevant")
    assert f'id="article-{article_id}"' not in client.get("/").text
    assert "4 stories" in client.get("/").text
    assert "5 stories for this filter" in client.get("/?judgement=all").text
    assert f'id="article-{article_id}"' in client.get("/?judgement=irrelevant").text
    atom = feedparser.parse(client.get("/feed.xml").content)
    assert len(atom.entries) == 4
    assert len(feedparser.parse(client.get("/feed.xml?judgement=all").content).entries) == 5
    assert client.get("/api/matches").json()["total"] == 4

    judge("clear")  # undo
    assert review.store.judged_articles() == []
    assert f'id="article-{article_id}"' in client.get("/").text
    judge("relevant")
    assert 'value="clear"' in client.get(f"/articles/{article_id}").text


STORE_SNIPPETS = [  # (search, article titles with a snippet, the marked words)
    ("pipeline", {"Gas pipeline talks in Moscow"}, {"pipeline"}),
    ("pipe*", {"Gas pipeline talks in Moscow", "Cricket"}, {"pipeline", "pipelines"}),
    ("wheat karachi", {"Wheat deal"}, {"wheat", "karachi"}),
    ("absent", set(), set()),
]


@pytest.mark.parametrize(("words", "titles", "marks"), STORE_SNIPPETS)
def test_the_database_makes_the_snippets(
    tmp_path: Path, words: str, titles: set[str], marks: set[str]
) -> None:
    """SQLite's FTS5 ``snippet`` or PostgreSQL's ``ts_headline`` (MONITOR_TEST_DATABASE_URL)."""
    store = store_with(tmp_path, ARTICLES)
    try:
        rows = store.review_matches(where=MatchFilter())
        found = store.snippets([r.article.id or 0 for r in rows], words=words)
        by_title = {r.article.title: found[r.article.id] for r in rows if r.article.id in found}
        assert set(by_title) == titles
        marked = {m.lower() for s in by_title.values() for m in re.findall(MARKED, s)}
        assert marked == marks
    finally:
        store.close()


def test_story_rows_hidden_judgements_and_chart_on_this_database(tmp_path: Path) -> None:
    """The per-story window query, the hidden "not relevant" and the filtered chart (both
    backends: SQLite, or PostgreSQL with MONITOR_TEST_DATABASE_URL)."""
    store = store_with(tmp_path, ARTICLES)
    try:
        rows = store.review_matches(where=MatchFilter())
        with store._write() as s:  # the first two articles become copies of one story
            story = Story()
            s.add(story)
            s.flush()
            for row in rows[-2:]:
                article = s.get(Article, row.article.id)
                assert article is not None
                article.story_id = story.id
                s.add(article)
        store.set_judgement(article_id=rows[0].article.id or 0, relevant=False)
        stories = MatchFilter(per_story=True)
        shown = MatchFilter(per_story=True, hide_irrelevant=True)
        assert (store.count_matches(where=stories), store.count_matches(where=shown)) == (2, 1)
        today = rows[0].match.created_at.date()
        per_day = store.matches_per_day(days=2, today=today, where=shown)
        assert [n for _, n in per_day] == [0, 2]  # the chart counts every copy it keeps
    finally:
        store.close()
