"""From the alert back to the review page: with ``[web] public_url`` every alert links to the
story on the page and carries a signed, expiring "not relevant" link whose page only asks.

Real parts: a local feed server, aiosmtpd for email, a JSON webhook for the chat format, and the
review page under uvicorn on loopback, all reached through sockets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from monitor.app import App, build_app
from monitor.models import utcnow
from monitor.outbox import deliver_due, next_digest_at
from monitor.pipeline import poll_feed
from monitor.review_links import TOKEN_ENV, ReviewLinks, link_key
from monitor.settings import WebSettings
from monitor.web import create_app
from tests.conftest import make_settings, publish, seed_pages
from tests.httpserver import FeedServer, Route
from tests.smtpserver import SMTPServer, parts
from tests.test_web import running

TOKEN = "correct-horse-battery-staple"
STORIES = 3
LINK = re.compile(r"https?://[^\s\"<>]+/judge/(\d+)/(\d+)/([0-9a-f]+)")


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def alerting(tmp_path: Path, server: FeedServer) -> Iterator[Callable[..., App]]:
    """An app polling ``STORIES`` seed articles, alerting ``urls``, with a public URL set."""
    apps: list[App] = []

    def factory(*, urls: list[str], public_url: str, **alerts: object) -> App:
        feed = publish(server, feed_path="/news.xml", pages=seed_pages()[:STORIES])
        settings = make_settings(tmp_path, feeds=[{"name": "Local news", "url": feed}])
        settings = settings.model_copy(
            update={
                "alerts": settings.alerts.model_copy(update={"urls": urls, **alerts}),
                "web": WebSettings(public_url=public_url),
            }
        )
        apps.append(build_app(settings))
        for row in apps[-1].store.feeds():
            poll_feed(feed_id=row.id or 0, stages=apps[-1].stages)
        return apps[-1]

    yield factory
    for application in apps:
        application.close()


def test_every_alert_email_links_to_the_review_page(
    alerting: Callable[..., App], smtp: SMTPServer
) -> None:
    app = alerting(urls=[smtp.url], public_url="https://monitor.example.org/review/")
    assert deliver_due(app.outbox).sent == STORIES
    ids = {str(r.article.id) for r in app.store.review_matches()}
    for message in smtp.messages:
        for kind, body in parts(message).items():  # the HTML and its plain-text alternative
            pages = set(re.findall(r"https://monitor\.example\.org/review/articles/(\d+)", body))
            signed = {m[0] for m in LINK.findall(body)}
            assert len(pages) == 1 and pages == signed and pages <= ids, (kind, body)
    assert app.store.judged_articles() == []  # sending judged nothing


def test_digest_has_a_link_per_article_in_plain_text_and_one_markdown_line_each(
    alerting: Callable[..., App], smtp: SMTPServer, server: FeedServer
) -> None:
    server.routes["/hook"] = Route(status=200, body=b"{}", content_type="application/json")
    hook = f"json://127.0.0.1:{server.httpd.server_address[1]}/hook"
    app = alerting(urls=[smtp.url, hook], public_url="https://m.example", mode="digest")
    at = next_digest_at(schedule=app.settings.alerts.digest_schedule, now=utcnow())
    assert deliver_due(app.outbox, now=at + timedelta(seconds=1)).sent == 2 * STORIES

    text = parts(smtp.messages[0])["text/plain"]
    assert len(set(re.findall(r"https://m\.example/articles/\d+", text))) == STORIES
    assert len(LINK.findall(text)) == STORIES
    (post,) = [r for r in server.requests if r.path == "/hook"]
    lines = json.loads(post.body)["message"].strip().splitlines()
    items = [line for line in lines if line.startswith("• ")]
    assert len(items) == STORIES and all("https://m.example/articles/" in i for i in items)


def test_the_not_relevant_link_asks_and_only_its_button_judges(
    alerting: Callable[..., App], smtp: SMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)  # the sender and the page share the token
    app = alerting(urls=[smtp.url], public_url="http://127.0.0.1:9")
    deliver_due(app.outbox)
    article_id, expires, sig = LINK.findall(parts(smtp.messages[0])["text/html"])[0]
    path = f"/judge/{article_id}/{expires}/{sig}"

    with running(create_app(app=app, token=TOKEN)) as base, httpx.Client(base_url=base) as web:
        asked = web.get(path)  # what a mail scanner does: no cookie, no token
        assert asked.status_code == 200 and "Yes, not relevant" in asked.text
        assert 'href="/feeds"' not in asked.text  # a visitor sees no navigation
        assert app.store.judged_articles() == []
        assert web.post(path, data={"csrf": "forged"}).status_code == 403
        csrf = re.search(r'name="csrf" value="([^"]+)"', asked.text)
        assert csrf is not None
        done = web.post(path, data={"csrf": csrf.group(1)})
        assert done.status_code == 200 and "Marked not relevant" in done.text
        for bad in _refused(int(article_id), int(expires), sig):
            refused = web.get(bad)
            assert refused.status_code == 403 and "does not work" in refused.text, bad
            assert web.post(bad, data={"csrf": csrf.group(1)}).status_code == 403
    judged = [(j.article_id, j.relevant) for j, _ in app.store.judged_articles()]
    assert judged == [(int(article_id), False)]


def _refused(article_id: int, expires: int, sig: str) -> list[str]:
    """Altered links, a link signed with another token, and an expired link."""
    other = ReviewLinks(public_url="", key=link_key("another-token-of-16+"), ttl_seconds=60)
    expired = ReviewLinks(public_url="", key=link_key(TOKEN), ttl_seconds=-60)
    return [
        f"/judge/{article_id + 1}/{expires}/{sig}",
        f"/judge/{article_id}/{expires + 1}/{sig}",
        f"/judge/{article_id}/{expires}/{'0' * len(sig)}",
        other.not_relevant(article_id, now=utcnow()),
        expired.not_relevant(article_id, now=utcnow()),
    ]
