"""The review web page over a database filled by a real poll of a local feed server.

One poll per module fills a database; each test works on its own copy of it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
import uvicorn
from sqlalchemy import text

from monitor import migrate
from monitor.app import App, build_app
from monitor.errors import ConfigError
from monitor.models import Article, Feed, Match
from monitor.pipeline import poll_feed
from monitor.settings import Settings, StorageSettings
from monitor.store import Store
from monitor.store.matches import MatchFilter, fts5_query, tsquery_text
from monitor.web import check_binding, create_app, serve, token_from_env
from monitor.web.query import parse_query
from tests.conftest import Page, database_url, make_settings, publish, seed_pages
from tests.httpserver import FeedServer, html_page

SCRIPT_TITLE = 'Pakistan and Russia <script>alert("owned")</script> sign a gas deal'
TOKEN = "correct-horse-battery-staple"
LOCAL = "http://127.0.0.1:8080"


# --- a polled database, and an app over a copy of it -------------------------------------------


@dataclass(frozen=True)
class Polled:
    db: Path
    feeds: list[dict[str, object]]


def review_pages() -> list[Page]:
    """The seed articles (relevant), the first retitled with markup, and one irrelevant page."""
    pages = seed_pages()
    first = pages[0]
    text = (Path(__file__).parent.parent / "seed_articles").glob("*.txt")
    body = next(iter(sorted(text))).read_text(encoding="utf-8")
    pages[0] = replace(first, title=SCRIPT_TITLE, body=html_page(title=SCRIPT_TITLE, text=body))
    cricket = "Cricket: Lahore Qalandars win the final\nA last-ball six decided the match."
    pages.append(
        Page(path="/cricket.html", title="Cricket final", body=html_page(title="x", text=cricket))
    )
    return pages


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Polled]:
    tmp = tmp_path_factory.mktemp("polled")
    server = FeedServer().start()
    try:
        url = publish(server, feed_path="/news.xml", pages=review_pages())
        feeds: list[dict[str, object]] = [{"name": "Local news", "url": url}]
        application = build_app(sqlite_settings(tmp, feeds=feeds))
        try:
            feed_id = application.store.feeds()[0].id or 0
            result = poll_feed(feed_id=feed_id, stages=application.stages)
            assert result.outcome == "ok" and result.new == 6 and result.matches == 5, result
        finally:
            application.close()
        yield Polled(db=tmp / "monitor.db", feeds=feeds)
    finally:
        server.stop()


def sqlite_settings(tmp_path: Path, *, feeds: list[dict[str, object]]) -> Settings:
    """The page tests copy one polled SQLite file per test; the FTS tests below run on both."""
    settings = make_settings(tmp_path, feeds=feeds)
    settings.storage = StorageSettings(url=f"sqlite:///{tmp_path / 'monitor.db'}")
    return settings


def app_over_copy(polled: Polled, tmp_path: Path) -> App:
    shutil.copy(polled.db, tmp_path / "monitor.db")
    return build_app(sqlite_settings(tmp_path, feeds=polled.feeds))


@pytest.fixture
def review(polled: Polled, tmp_path: Path) -> Iterator[App]:
    application = app_over_copy(polled, tmp_path)
    yield application
    application.close()


class Client:
    """httpx against the ASGI app in-process, with cookies kept between requests."""

    def __init__(self, asgi: Any, *, base_url: str = LOCAL, **kwargs: Any) -> None:
        self._runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=asgi)
        self._client = httpx.AsyncClient(transport=transport, base_url=base_url, **kwargs)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


@pytest.fixture
def client(review: App) -> Iterator[Client]:
    c = Client(create_app(app=review, token=None))
    yield c
    c.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def first_match_id(client: Client) -> int:
    return int(client.get("/api/matches").json()["items"][0]["id"])


# --- pages ------------------------------------------------------------------------------------

PAGES = [
    ("/", ["5 stories", "Matches per day", "Local news", "not relevant"]),
    ("/feeds", ["Local news", ">ok<", "200"]),
    ("/?judgement=unjudged", ["5 stories for this filter"]),
    ("/?judgement=relevant", ["0 stories for this filter"]),
    ("/?min_score=1", ["0 stories for this filter"]),
    ("/?source=Elsewhere", ["0 stories for this filter"]),
    ("/?since=2999-01-01", ["0 stories for this filter"]),
    ("/?until=2000-01-01", ["0 stories for this filter"]),
    ("/?q=Kremlin", ["2 stories for this filter"]),
    ("/?q=khawaja+asif", ["1 story for this filter", "Both sides will deliberate"]),
    ("/?q=kreml*", ["2 stories for this filter"]),
    ("/?q=cricket", ["0 stories for this filter"]),
    ("/?min_score=lots", ["Ignored min_score: expected a number", "5 stories"]),
    ("/?since=yesterday", ["Ignored since: expected a date"]),
]


@pytest.mark.parametrize(("path", "expected"), PAGES)
def test_pages_show_what_was_polled(client: Client, path: str, expected: list[str]) -> None:
    response = client.get(path)
    assert response.status_code == 200
    for words in expected:
        assert words in response.text, words


def test_article_page_shows_text_score_reasons_and_source(client: Client, review: App) -> None:
    row = review.store.review_matches()[0]
    response = client.get(f"/articles/{row.article.id}")
    html = response.text
    assert response.status_code == 200 and "Extracted text" in html
    assert f'href="{row.article.url}"' in html and "Local news" in html
    assert f"{row.article.score:.3f}" in html and "not judged yet" in html
    assert "Why it scored" in html
    assert client.get("/articles/99999").status_code == 404


def test_titles_with_markup_are_escaped(client: Client) -> None:
    for path in ("/", "/?q=gas"):
        html = client.get(path).text
        assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html
        assert "<script>" not in html


def test_security_headers_on_every_page(client: Client) -> None:
    response = client.get("/")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "monitor_csrf" in response.headers["set-cookie"]


def test_css_is_served_locally_and_nothing_external_is_loaded(client: Client) -> None:
    assert client.get("/static/style.css").status_code == 200
    html = client.get("/").text
    assert not re.search(r'<(link|script|img|iframe)[^>]*(src|href)="(https?:)?//', html)


# --- judgements -------------------------------------------------------------------------------


def test_judgement_is_stored_and_shown(client: Client, review: App) -> None:
    article_id = first_match_id(client)
    csrf = csrf_of(client.get("/").text)
    response = client.post(
        f"/articles/{article_id}/judgement",
        data={"csrf": csrf, "verdict": "irrelevant", "next": "/?judgement=irrelevant"},
    )
    location = f"/?judgement=irrelevant&judged={article_id}"  # the list offers an undo
    assert response.status_code == 303 and response.headers["location"] == location
    found = review.store.article(article_id)
    assert found is not None and found[2] is not None and found[2].relevant is False
    assert "judged not relevant" in client.get("/?judgement=irrelevant").text
    assert "1 story for this filter" in client.get("/?judgement=irrelevant").text
    assert [j.article_id for j, _ in review.store.judged_articles()] == [article_id]


REFUSED_POSTS = [
    ({"verdict": "relevant"}, {}, 403),  # no CSRF token
    ({"verdict": "relevant", "csrf": "forged"}, {}, 403),
    ({"verdict": "relevant", "csrf": "*"}, {"origin": "https://evil.example"}, 403),
    ({"verdict": "relevant", "csrf": "*"}, {"sec-fetch-site": "cross-site"}, 403),
    ({"verdict": "relevant", "csrf": "*"}, {"origin": "null"}, 403),
    ({"verdict": "maybe", "csrf": "*"}, {}, 400),
]


@pytest.mark.parametrize(("form", "headers", "status"), REFUSED_POSTS)
def test_judgement_posts_that_are_refused(
    client: Client, review: App, form: dict[str, str], headers: dict[str, str], status: int
) -> None:
    csrf = csrf_of(client.get("/").text)
    data = {k: (csrf if v == "*" else v) for k, v in form.items()}
    response = client.post(
        f"/articles/{first_match_id(client)}/judgement", data=data, headers=headers
    )
    assert response.status_code == status
    assert review.store.judged_articles() == []


def test_same_origin_post_and_unknown_article(client: Client) -> None:
    csrf = csrf_of(client.get("/").text)
    headers = {"origin": LOCAL, "sec-fetch-site": "same-origin"}
    ok = client.post(
        f"/articles/{first_match_id(client)}/judgement",
        data={"csrf": csrf, "verdict": "relevant", "next": "//evil.example/"},
        headers=headers,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    missing = client.post("/articles/99999/judgement", data={"csrf": csrf, "verdict": "relevant"})
    assert missing.status_code == 404
    assert client.get(f"/articles/{first_match_id(client)}/judgement").status_code == 405


def test_without_a_token_only_loopback_host_names_are_answered(review: App) -> None:
    for base, status in [("http://localhost:8080", 200), ("http://[::1]:8080", 200)]:
        c = Client(create_app(app=review, token=None), base_url=base)
        assert c.get("/healthz").status_code == status
        c.close()
    rebound = Client(create_app(app=review, token=None), base_url="http://evil.example:8080")
    assert rebound.get("/").status_code == 400
    rebound.close()


# --- the token --------------------------------------------------------------------------------


@pytest.fixture
def guarded(review: App) -> Iterator[Client]:
    c = Client(create_app(app=review, token=TOKEN), base_url="http://monitor.example.org")
    yield c
    c.close()


TOKEN_CASES = [
    ("/healthz", {}, 200),
    ("/static/style.css", {}, 200),
    ("/login", {}, 200),
    ("/api/matches", {}, 401),
    ("/metrics", {}, 401),
    ("/feed.xml", {}, 401),
    ("/", {"accept": "text/html"}, 303),
    ("/api/matches", {"authorization": "Bearer wrong-token-wrong-token"}, 401),
    ("/api/matches", {"authorization": f"Bearer {TOKEN}"}, 200),
    ("/feed.xml", {"authorization": f"bearer {TOKEN}"}, 200),
    ("/", {"authorization": f"Bearer {TOKEN}"}, 200),
]


@pytest.mark.parametrize(("path", "headers", "status"), TOKEN_CASES)
def test_token_is_required_except_for_health(
    guarded: Client, path: str, headers: dict[str, str], status: int
) -> None:
    response = guarded.get(path, headers=headers, follow_redirects=False)
    assert response.status_code == status
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_login_form_sets_a_session_cookie_that_is_not_the_token(guarded: Client) -> None:
    redirect = guarded.get("/feeds?x=1", headers={"accept": "text/html"})
    assert redirect.status_code == 303 and redirect.headers["location"].startswith("/login?next=")
    form = guarded.get(redirect.headers["location"]).text
    csrf = csrf_of(form)
    wrong = guarded.post("/login", data={"csrf": csrf, "token": "nope", "next": "/feeds"})
    assert wrong.status_code == 401 and "Wrong token" in wrong.text
    right = guarded.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/feeds"})
    assert right.status_code == 303 and right.headers["location"] == "/feeds"
    assert TOKEN not in right.headers["set-cookie"]
    assert "HttpOnly" in right.headers["set-cookie"]
    assert guarded.get("/feeds").status_code == 200
    page = guarded.get("/")
    logout = guarded.post("/logout", data={"csrf": csrf_of(page.text)})
    assert logout.status_code == 303
    assert guarded.get("/api/matches").status_code == 401


def test_bearer_clients_may_post_without_a_form_token(guarded: Client, review: App) -> None:
    headers = {"authorization": f"Bearer {TOKEN}"}
    article_id = guarded.get("/api/matches", headers=headers).json()["items"][0]["id"]
    response = guarded.post(
        f"/articles/{article_id}/judgement", data={"verdict": "relevant"}, headers=headers
    )
    assert response.status_code == 303
    assert [j.relevant for j, _ in review.store.judged_articles()] == [True]


BINDINGS = [
    ("127.0.0.1", None, None),
    ("localhost", None, None),
    ("::1", None, None),
    ("127.0.0.2", None, None),
    ("0.0.0.0", None, "refusing to listen on 0.0.0.0 without a token"),
    ("192.168.1.10", None, "MONITOR_WEB_TOKEN"),
    ("example.org", None, "without a token"),
    ("0.0.0.0", TOKEN, None),
    ("0.0.0.0", "short", "too short"),
]


@pytest.mark.parametrize(("host", "token", "error"), BINDINGS)
def test_binding_beyond_loopback_needs_a_token(
    host: str, token: str | None, error: str | None
) -> None:
    if error is None:
        check_binding(host=host, token=token)
    else:
        with pytest.raises(ConfigError, match=error):
            check_binding(host=host, token=token)


def test_serve_refuses_a_public_address_without_a_token(review: App) -> None:
    with pytest.raises(ConfigError, match="MONITOR_WEB_TOKEN"):
        serve(app=review, host="0.0.0.0", port=free_port(), token=None)


def test_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_WEB_TOKEN", "")
    assert token_from_env() is None
    monkeypatch.setenv("MONITOR_WEB_TOKEN", TOKEN)
    assert token_from_env() == TOKEN


def test_oversized_form_is_refused(client: Client) -> None:
    csrf = csrf_of(client.get("/").text)
    data = {"csrf": csrf, "verdict": "relevant", "padding": "x" * 100_000}
    response = client.post(f"/articles/{first_match_id(client)}/judgement", data=data)
    assert response.status_code == 413


# --- machine endpoints ------------------------------------------------------------------------


def test_api_matches_are_shaped_like_the_cli_records(client: Client) -> None:
    body = client.get("/api/matches?limit=2").json()
    assert body["total"] == 5 and len(body["items"]) == 2 and body["next"].endswith("page=2")
    keys = {"id", "match_id", "url", "title", "source", "published", "score", "matched_at"}
    assert all(keys | {"reasons", "judgement"} <= set(i) for i in body["items"])
    rest = client.get(body["next"]).json()
    assert len(rest["items"]) == 2 and rest["page"] == 2
    assert not {i["id"] for i in rest["items"]} & {i["id"] for i in body["items"]}
    assert client.get("/api/matches?q=Kremlin").json()["total"] == 2
    assert client.get("/api/matches?judgement=maybe").status_code == 400


def test_atom_feed_parses_cleanly_with_feedparser(client: Client) -> None:
    response = client.get("/feed.xml")
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10" and len(parsed.entries) == 5
    assert SCRIPT_TITLE in [e.title for e in parsed.entries]
    entry = parsed.entries[0]
    assert entry.link.startswith("http://127.0.0.1") and entry.updated_parsed
    assert any(link.rel == "related" and "/articles/" in link.href for link in entry.links)


def test_atom_feed_survives_control_characters(client: Client, review: App) -> None:
    with review.store._write() as s:
        s.connection().execute(text("UPDATE article SET title = 'bell\x07 and\x0b tab'"))
    parsed = feedparser.parse(client.get("/feed.xml").content)
    assert not parsed.bozo and parsed.entries[0].title == "bell and tab"


def test_healthz_and_metrics(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = dict(
        line.rsplit(" ", 1) for line in metrics.text.splitlines() if not line.startswith("#")
    )
    assert samples["monitor_matches"] == "5" and samples["monitor_articles"] == "6"
    assert samples['monitor_feeds{state="ok"}'] == "1"
    assert samples['monitor_feed_errors{feed="Local news"}'] == "0"
    assert samples['monitor_judgements{judgement="irrelevant"}'] == "0"
    assert float(samples['monitor_feed_last_poll_timestamp_seconds{feed="Local news"}']) > 1e9


def test_metrics_count_alerts_only_when_the_table_exists(client: Client, review: App) -> None:
    with review.store._write() as s:
        s.connection().exec_driver_sql(
            "INSERT INTO alert (match_id, destination, mode, status, attempts, next_attempt_at,"
            " created_at) SELECT id, 'd1', 'instant', 'sent', 1, created_at, created_at FROM match"
        )
    assert 'monitor_alerts{status="sent"} 5' in client.get("/metrics").text
    with review.store._write() as s:
        s.connection().exec_driver_sql("DROP TABLE alert")
    text_ = client.get("/metrics").text
    assert "monitor_alerts" not in text_ and "monitor_matches 5" in text_


# --- the full-text index ----------------------------------------------------------------------


def store_with(tmp_path: Path, titles_and_texts: list[tuple[str, str]]) -> Store:
    store = Store(url=database_url(tmp_path, "fts"))
    store.prepare_schema()
    with store._write() as s:
        feed = Feed(name="f", url="http://f.example/rss")
        s.add(feed)
        s.flush()
        for i, (title, body) in enumerate(titles_and_texts):
            article = Article(
                feed_id=feed.id or 0,
                entry_key=str(i),
                canonical_url=f"http://f.example/{i}",
                url=f"http://f.example/{i}",
                title=title,
                text=body,
            )
            s.add(article)
            s.flush()
            s.add(Match(article_id=article.id or 0, score=0.9))
    return store


ARTICLES = [
    ("Gas pipeline talks in Moscow", "Pakistan Stream Gas Pipeline, delayed again."),
    ("Wheat deal", "Karachi receives Russian wheat; the ministry welcomed it."),
    ("Cricket", "Nothing about pipelines at all: a Résumé of the season."),
]
SEARCHES = [
    ("pipeline", {"Gas pipeline talks in Moscow"}),
    ("PIPELINE moscow", {"Gas pipeline talks in Moscow"}),
    ("pipe*", {"Gas pipeline talks in Moscow", "Cricket"}),
    ("wheat karachi", {"Wheat deal"}),
    ("season résumé", {"Cricket"}),
    ('"stream', {"Gas pipeline talks in Moscow"}),  # quotes are text, not syntax
    ("NEAR(gas wheat) OR", set()),  # operators are text too
    ("absent", set()),
    ("*** ---", {"Gas pipeline talks in Moscow", "Wheat deal", "Cricket"}),  # nothing to search
]


@pytest.mark.parametrize(("words", "titles"), SEARCHES)
def test_full_text_search(tmp_path: Path, words: str, titles: set[str]) -> None:
    store = store_with(tmp_path, ARTICLES)
    found = store.review_matches(where=MatchFilter(search=words))
    assert {r.article.title for r in found} == titles
    assert store.count_matches(where=MatchFilter(search=words)) == len(titles)
    store.close()


def test_index_follows_updates_and_deletes_and_is_backfilled(tmp_path: Path) -> None:
    store = store_with(tmp_path, ARTICLES)
    with store._write() as s:
        s.connection().exec_driver_sql("UPDATE article SET title = 'Barley deal' WHERE id = 2")
        s.connection().exec_driver_sql("DELETE FROM match WHERE article_id = 3")
        s.connection().exec_driver_sql("DELETE FROM article WHERE id = 3")
    migrate.downgrade(store.engine, revision="0001")  # the index is dropped …
    migrate.upgrade(store.engine)  # … recreated and filled from the existing rows
    store.prepare_schema()  # and nothing left to do
    titles = {r.article.title for r in store.review_matches(where=MatchFilter(search="barley"))}
    assert titles == {"Barley deal"}
    assert store.review_matches(where=MatchFilter(search="wheat")) != []  # text still indexed
    assert store.review_matches(where=MatchFilter(search="season")) == []
    if store.is_sqlite:
        with store._read() as s:
            rows = s.connection().exec_driver_sql("SELECT count(*) FROM article_fts").scalar()
        assert rows == 2
    else:
        with store._read() as s:
            index = s.connection().exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_article_fts'"
            )
            assert "gin" in str(index.scalar()).lower()
    store.close()


@pytest.mark.parametrize(
    ("words", "expected"),
    [("a b", '"a" "b"'), ('x"y', '"x""y"'), ("pre*", '"pre"*'), ("- * ()", None)],
)
def test_fts5_query_quotes_every_word(words: str, expected: str | None) -> None:
    assert fts5_query(words) == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("Gas pipe*", "'gas' & 'pipe':*"),
        ("x'y", "'x' & 'y'"),
        ("a|b & !c", "'a' & 'b' & 'c'"),
        ("- * ()", None),
    ],
)
def test_tsquery_text_quotes_every_word(words: str, expected: str | None) -> None:
    assert tsquery_text(words) == expected


def test_postgres_search_uses_the_indexed_expression() -> None:
    from sqlalchemy.dialects import postgresql

    probe = Store.__new__(Store)  # no PostgreSQL here: compile the condition only
    probe.is_sqlite = False
    condition = probe._search_condition("gas pipeline")
    assert condition is not None
    sql = str(condition.compile(dialect=postgresql.dialect()))
    assert "to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(text, ''))" in sql
    assert "to_tsquery" in sql and "@@" in sql


def test_query_string_parsing_and_links() -> None:
    query = parse_query(
        {"since": "2025-01-02", "until": "2025-01-02", "min_score": "1", "page": "2"}
    )
    assert query.where.since is not None and query.where.until is not None
    assert (query.where.until - query.where.since).days == 1  # "until" includes its day
    assert query.where.offset == 50 and query.where.min_score == 1.0
    assert query.link(page=1) == "?since=2025-01-02&until=2025-01-02&min_score=1"


# --- a real server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(asgi: Any) -> Iterator[str]:
    """The ASGI app under a real uvicorn on 127.0.0.1 and a free port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(asgi, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_real_server_on_loopback(review: App) -> None:
    with running(create_app(app=review, token=None)) as base, httpx.Client(base_url=base) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        page = c.get("/")
        assert page.status_code == 200 and "5 stories" in page.text
        article_id = c.get("/api/matches").json()["items"][0]["id"]
        judged = c.post(
            f"/articles/{article_id}/judgement",
            data={"csrf": csrf_of(page.text), "verdict": "relevant", "next": "/"},
        )
        assert judged.status_code == 303
        assert feedparser.parse(c.get("/feed.xml").content).bozo is False
    assert [j.relevant for j, _ in review.store.judged_articles()] == [True]


def test_links_that_are_not_http_are_not_linked(client: Client, review: App) -> None:
    with review.store._write() as s:
        s.connection().exec_driver_sql("UPDATE article SET url = 'javascript:alert(1)'")
    article_id = first_match_id(client)
    html = client.get(f"/articles/{article_id}").text
    assert "javascript:alert(1)" in html and 'href="javascript:' not in html
    parsed = feedparser.parse(client.get("/feed.xml").content)
    assert not parsed.bozo and all("/articles/" in e.link for e in parsed.entries)


MISSING_ARTICLES = ["99999", "9223372036854775807", "9223372036854775808", "9" * 23]


@pytest.mark.parametrize("article_id", MISSING_ARTICLES)
def test_unknown_and_impossible_article_ids_are_404(review: App, article_id: str) -> None:
    with running(create_app(app=review, token=None)) as base, httpx.Client(base_url=base) as c:
        form = {"csrf": csrf_of(c.get("/").text), "verdict": "relevant", "next": "/"}
        shown = c.get(f"/articles/{article_id}")
        judged = c.post(f"/articles/{article_id}/judgement", data=form)
    assert (shown.status_code, judged.status_code) == (404, 404), shown.text
    assert shown.text == f"web: no article with id {article_id}"


LINKS = [  # stored article link -> what /api/matches says (the page links the same or nothing)
    ("javascript:alert(1)", None),
    ("JaVaScRiPt:alert(1)", None),
    (" javascript:alert(1)", None),
    ("data:text/html,<script>alert(1)</script>", None),
    ("file:///etc/passwd", None),
    ("https://www.dawn.com/news/1", "https://www.dawn.com/news/1"),
]


@pytest.mark.parametrize(("stored", "served"), LINKS)
def test_api_links_follow_the_page_rule(review: App, stored: str, served: str | None) -> None:
    with review.store._write() as s:
        s.connection().exec_driver_sql("UPDATE article SET url = ?", (stored,))
    with running(create_app(app=review, token=None)) as base, httpx.Client(base_url=base) as c:
        items = c.get("/api/matches").json()["items"]
        page = c.get(f"/articles/{items[0]['id']}").text
    assert items and {i["url"] for i in items} == {served}
    assert (f'href="{served}"' in page) if served else ('href="' + stored.strip()) not in page


def test_page_queries_on_this_backend(tmp_path: Path) -> None:
    """The chart, the source list and the metrics queries, on SQLite or PostgreSQL."""
    store = store_with(tmp_path, ARTICLES)
    store.ping()
    today = datetime.now(UTC).date()
    days = store.matches_per_day(days=3, today=today)
    assert days == [(today - timedelta(days=2), 0), (today - timedelta(days=1), 0), (today, 3)]
    assert store.sources() == ["f"]
    store.set_judgement(article_id=1, relevant=False)
    assert store.judgement_counts() == {False: 1}
    judged = store.review_matches(where=MatchFilter(judgement="irrelevant", search="gas"))
    assert [r.article.id for r in judged] == [1] and judged[0].judgement is not None
    assert store.count_matches(where=MatchFilter(judgement="unjudged")) == 2
    assert store.alert_counts() == {}
    assert [r.article.id for r in store.matches_since(since=None)] == [3, 2, 1]
    store.close()
