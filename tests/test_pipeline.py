"""The pipeline end to end over real sockets: a local HTTP server, real pages, SQLite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from monitor.app import App
from monitor.models import Article, Feed, Match, utcnow
from monitor.pipeline import poll_feed
from monitor.scheduler import poll_now
from tests.conftest import aeb_pages, publish, seed_pages
from tests.httpserver import FeedServer, Item, Route, rss

MakeApp = Callable[..., App]


def _articles(app: App) -> list[Article]:
    with Session(app.store.engine) as s:
        return list(s.exec(select(Article)).all())


def _feed(app: App, name: str) -> Feed:
    return next(f for f in app.store.feeds() if f.name == name)


def test_full_poll_stores_and_scores_every_article(
    server: FeedServer, corpus: Path, make_app: MakeApp
) -> None:
    pages = aeb_pages(corpus, limit=12) + seed_pages()
    url = publish(server, feed_path="/news.xml", pages=pages)
    app = make_app(feeds=[{"name": "News", "url": url}])

    result = poll_feed(feed_id=_feed(app, "News").id or 0, stages=app.stages)

    articles = _articles(app)
    assert (result.outcome, result.new) == ("ok", len(pages))
    assert len(articles) == len(pages)
    assert all(a.extraction == "trafilatura" and len(a.text) > 100 for a in articles)
    seeds = [a for a in articles if "/seed/" in a.url]
    assert all(a.relevant and a.score >= 0.5 for a in seeds), [(a.url, a.score) for a in seeds]
    assert not any(a.relevant for a in articles if "/aeb/" in a.url)
    with Session(app.store.engine) as s:
        assert len(s.exec(select(Match)).all()) == result.matches == len(seeds)


def test_second_poll_answered_304_fetches_no_article(
    server: FeedServer, corpus: Path, make_app: MakeApp
) -> None:
    url = publish(server, feed_path="/news.xml", pages=aeb_pages(corpus, limit=3))
    app = make_app(feeds=[{"name": "News", "url": url}])
    feed_id = _feed(app, "News").id or 0
    poll_feed(feed_id=feed_id, stages=app.stages)
    before = server.hits("/aeb/")

    second = poll_feed(feed_id=feed_id, stages=app.stages)

    assert (second.outcome, second.http_status) == ("not-modified", 304)
    assert server.hits("/aeb/") == before == 3
    assert server.requests[-1].headers.get("If-None-Match") == "v1"


def test_tracking_parameter_variants_are_stored_once(server: FeedServer, make_app: MakeApp) -> None:
    page = seed_pages()[0]
    server.routes[page.path] = Route(body=page.body, content_type="text/html")
    variants = ["", "?utm_source=twitter", "?utm_medium=rss&fbclid=abc", "#comments", "?gclid=x"]
    items = [Item(title=page.title, link=server.url(page.path) + v) for v in variants]
    server.routes["/a.xml"] = Route(body=rss(items[:3]))
    server.routes["/b.xml"] = Route(body=rss(items[3:]))
    app = make_app(
        feeds=[
            {"name": "A", "url": server.url("/a.xml")},
            {"name": "B", "url": server.url("/b.xml")},
        ]
    )

    poll_feed(feed_id=_feed(app, "A").id or 0, stages=app.stages)
    poll_feed(feed_id=_feed(app, "B").id or 0, stages=app.stages)

    assert len(_articles(app)) == 1
    assert server.hits(page.path) == 1


FAILURES = [
    # (name, route or None for a dead port, expected words in the error)
    ("http-500", Route(status=500, body=b"oops", content_type="text/plain"), "HTTP 500"),
    ("timeout", Route(body=rss([]), delay=2.0), "timed out"),
    (
        "not-a-feed",
        Route(body=b"<html><body><p>Hello</p></body></html>", content_type="text/html"),
        "not an RSS or Atom",
    ),
    ("oversized", Route(body=b"<rss>" + b" " * 20_000 + b"</rss>"), "over the 10000-byte limit"),
    ("reset", Route(reset=True), "network error"),
    ("dead", None, "cannot connect"),
]


def _dead_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.xml"


def test_failing_feeds_back_off_and_others_keep_polling(
    server: FeedServer, make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    good = publish(server, feed_path="/good.xml", pages=seed_pages()[:2])
    feeds = [{"name": "good", "url": good}]
    for name, route, _words in FAILURES:
        if route is None:
            feeds.append({"name": name, "url": _dead_url()})
        else:
            server.routes[f"/{name}.xml"] = route
            feeds.append({"name": name, "url": server.url(f"/{name}.xml")})
    app = make_app(feeds=feeds, timeout=1, max_bytes=10_000)

    results = {
        r.feed: r
        for r in poll_now(
            stages=app.stages, feed_ids=[f.id or 0 for f in app.store.feeds()], workers=4
        )
    }

    assert results["good"].outcome == "ok" and results["good"].new == 2
    for name, _route, words in FAILURES:
        feed = _feed(app, name)
        assert results[name].outcome == "error", name
        assert words in (feed.last_error or ""), (name, feed.last_error)
        assert feed.error_count == 1
        assert feed.next_check_at > utcnow() + timedelta(seconds=30)
        assert sum(name in r.getMessage() for r in caplog.records if r.levelname == "WARNING") == 1


def test_error_count_grows_and_backs_off_exponentially(
    server: FeedServer, make_app: MakeApp
) -> None:
    server.routes["/down.xml"] = Route(status=503, body=b"", headers={"Retry-After": "120"})
    app = make_app(feeds=[{"name": "down", "url": server.url("/down.xml"), "interval": "1m"}])
    feed_id = _feed(app, "down").id or 0
    waits = []
    for _ in range(4):
        poll_feed(feed_id=feed_id, stages=app.stages)
        feed = app.store.feed(feed_id)
        waits.append(
            round((feed.next_check_at - (feed.last_polled_at or utcnow())).total_seconds())
        )
    assert waits == [120, 120, 240, 480]
    assert app.store.feed(feed_id).error_count == 4


def test_success_resets_error_count(server: FeedServer, make_app: MakeApp) -> None:
    server.routes["/flaky.xml"] = Route(status=500)
    app = make_app(feeds=[{"name": "flaky", "url": server.url("/flaky.xml")}])
    feed_id = _feed(app, "flaky").id or 0
    poll_feed(feed_id=feed_id, stages=app.stages)
    server.routes["/flaky.xml"] = Route(body=rss([]), headers={"Cache-Control": "max-age=3600"})

    poll_feed(feed_id=feed_id, stages=app.stages)

    feed = app.store.feed(feed_id)
    assert (feed.error_count, feed.last_error, feed.last_status) == (0, None, 200)
    assert feed.next_check_at - (feed.last_polled_at or utcnow()) == timedelta(hours=1)


def test_private_addresses_are_refused_by_default(server: FeedServer, make_app: MakeApp) -> None:
    url = publish(server, feed_path="/news.xml", pages=seed_pages()[:1])
    app = make_app(feeds=[{"name": "local", "url": url}], allow_private_networks=False)

    result = poll_feed(feed_id=_feed(app, "local").id or 0, stages=app.stages)

    assert result.outcome == "error"
    assert "non-public address 127.0.0.1" in (_feed(app, "local").last_error or "")
    assert server.hits() == 0


def test_unfetchable_article_falls_back_to_feed_summary(
    server: FeedServer, make_app: MakeApp
) -> None:
    items = [
        Item(
            title="Pakistan and Russia sign wheat deal",
            link=server.url("/gone.html"),
            summary="<p>Pakistan and Russia signed a barter deal for Russian wheat.</p>",
        ),
        Item(title="Local file", link="file:///etc/passwd", summary="nothing here"),
    ]
    server.routes["/f.xml"] = Route(body=rss(items))
    app = make_app(feeds=[{"name": "f", "url": server.url("/f.xml")}])

    poll_feed(feed_id=_feed(app, "f").id or 0, stages=app.stages)

    by_title = {a.title: a for a in _articles(app)}
    gone = by_title["Pakistan and Russia sign wheat deal"]
    assert gone.extraction == "feed-summary" and "HTTP 404" in (gone.extraction_error or "")
    assert gone.text == "Pakistan and Russia signed a barter deal for Russian wheat."
    assert "only http and https" in (by_title["Local file"].extraction_error or "")


def test_extraction_in_worker_processes_matches_in_process(
    server: FeedServer, corpus: Path, tmp_path: Path
) -> None:
    from monitor.app import build_app
    from monitor.extract import extract_article
    from tests.conftest import make_settings

    pages = aeb_pages(corpus, limit=6)
    url = publish(server, feed_path="/news.xml", pages=pages)
    settings = make_settings(tmp_path, feeds=[{"name": "News", "url": url}])
    settings.scheduler.extract_processes = 2
    app = build_app(settings)
    try:
        poll_feed(feed_id=_feed(app, "News").id or 0, stages=app.stages)
        stored = {a.url.rsplit("/", 1)[-1]: a.text for a in _articles(app)}
    finally:
        app.close()
    expected = {p.path.rsplit("/", 1)[-1]: extract_article(html=p.body) for p in pages}
    assert stored == {k: v.text for k, v in expected.items() if v is not None}


def test_a_feed_answering_410_repeatedly_is_marked_gone(
    server: FeedServer, make_app: MakeApp
) -> None:
    server.routes["/gone.xml"] = Route(status=410, body=b"gone", content_type="text/plain")
    app = make_app(feeds=[{"name": "gone", "url": server.url("/gone.xml")}])
    feed_id = _feed(app, "gone").id or 0
    for _ in range(3):
        poll_feed(feed_id=feed_id, stages=app.stages)
    feed = app.store.feed(feed_id)
    assert not feed.enabled and "feed gone: HTTP 410 3 times" in (feed.last_error or "")
    assert app.store.due_feeds(now=utcnow() + timedelta(days=30)) == []


OLD_DATE, NEW_DATE = "Tue, 01 Dec 2026 10:00:00 GMT", "Wed, 02 Dec 2026 10:00:00 GMT"


@pytest.mark.parametrize(
    ("etag", "last_modified", "max_age", "kept_etag", "kept_modified", "wait"),
    [
        ('"v2"', NEW_DATE, None, '"v2"', NEW_DATE, 900),
        (None, None, None, '"v1"', OLD_DATE, 900),  # a 304 without validators keeps the old
        ("", "", 3600.0, '"v1"', OLD_DATE, 3600),  # max-age stretches the interval
    ],
)
def test_a_success_records_validators_and_the_next_check_on_the_feed_row(
    make_app: MakeApp,
    etag: str | None,
    last_modified: str | None,
    max_age: float | None,
    kept_etag: str,
    kept_modified: str,
    wait: int,
) -> None:
    app = make_app(feeds=[{"name": "n", "url": "http://127.0.0.1:9/feed", "interval": 900}])
    feed_id = app.store.feeds()[0].id or 0
    app.store.record_failure(feed_id=feed_id, error="x", status=500, retry_after=None, now=utcnow())
    first = utcnow()
    app.store.record_success(
        feed_id=feed_id,
        status=200,
        etag='"v1"',
        last_modified=OLD_DATE,
        max_age=None,
        now=first,
    )
    now = first + timedelta(seconds=60)
    app.store.record_success(
        feed_id=feed_id,
        status=304,
        etag=etag,
        last_modified=last_modified,
        max_age=max_age,
        now=now,
    )
    row = app.store.feed(feed_id)
    assert (row.etag, row.last_modified, row.last_status) == (kept_etag, kept_modified, 304)
    assert (row.error_count, row.last_error) == (0, None)
    checked = row.next_check_at.replace(tzinfo=now.tzinfo) - now
    assert checked == timedelta(seconds=wait)
