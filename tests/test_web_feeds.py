"""The feeds page: state, last error and next check of each feed; add, pause, resume and remove
with the rules of the CLI, behind the token when one is set."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from monitor.app import App
from monitor.web import create_app
from tests.test_web import TOKEN, Client, client, csrf_of, polled, review

__all__ = ["client", "polled", "review"]  # fixtures: a polled database, an app and a client

ADDS = [  # (form, status, text on the page)
    ({"url": "https://example.org/feed.xml"}, 303, "Added 'example.org'"),
    ({"url": "https://example.org/a.xml", "name": "A", "interval": "1h"}, 303, "Added 'A'"),
    ({"url": "ftp://example.org/feed.xml"}, 400, "feed URL must be http(s)"),
    ({"url": "https://example.org/b.xml", "interval": "soon"}, 400, "feeds add:"),
    ({"url": "https://example.org/c.xml", "name": "Local news"}, 400, "already watched"),
]


@pytest.mark.parametrize(("form", "status", "shown"), ADDS)
def test_adding_a_feed_follows_the_cli_rules(
    client: Client, review: App, form: dict[str, str], status: int, shown: str
) -> None:
    csrf = csrf_of(client.get("/feeds").text)
    response = client.post("/feeds", data={"csrf": csrf, **form})
    assert response.status_code == status
    page = client.get(response.headers["location"]) if status == 303 else response
    assert shown in page.text.replace("&#39;", "'"), page.text
    names = {f.name for f in review.store.feeds(enabled_only=False)}
    assert (len(names) == 2) == (status == 303)
    if status == 400:
        assert f'value="{form["url"]}"' in page.text  # the form keeps what was typed


def test_pause_resume_and_remove(client: Client, review: App) -> None:
    feed = review.store.feeds()[0]
    csrf = csrf_of(client.get("/feeds").text)
    added = client.post("/feeds", data={"csrf": csrf, "url": "https://example.org/feed.xml"})
    assert added.status_code == 303
    mine = review.store.feed_named("example.org")
    assert mine is not None
    steps = [  # (feed, action, enabled after, notice): the CLI's rules for remove
        (feed, "pause", False, "Paused"),
        (feed, "resume", True, "Resumed"),
        (feed, "remove", True, "comes from the config file"),
        (mine, "remove", False, "Removed"),
    ]
    for row, action, enabled, notice in steps:
        response = client.post(f"/feeds/{row.id}", data={"csrf": csrf, "action": action})
        assert response.status_code == 303
        assert notice in client.get(response.headers["location"]).text
        assert review.store.feed(row.id or 0).enabled is enabled
    html = client.get("/feeds").text
    assert ">paused<" in html and 'value="resume"' in html
    assert client.post("/feeds/999", data={"csrf": csrf, "action": "pause"}).status_code == 404
    assert client.post(f"/feeds/{feed.id}", data={"csrf": csrf, "action": "x"}).status_code == 400
    assert client.post(f"/feeds/{feed.id}", data={"action": "pause"}).status_code == 403  # CSRF


def test_the_page_shows_state_error_and_next_check(client: Client, review: App) -> None:
    feed = review.store.feeds()[0]
    review.store.record_failure(
        feed_id=feed.id or 0,
        error="fetch: <b>boom</b>",
        status=503,
        retry_after=None,
        now=feed.next_check_at,
    )
    html = client.get("/feeds").text
    row = re.search(rf'<tr class="failing" id="feed-{feed.id}">(.*?)</tr>', html, re.S)
    assert row is not None, html
    assert "fetch: &lt;b&gt;boom&lt;/b&gt;" in row.group(
        1
    ) and 'data-label="Next check"' in row.group(1)


@pytest.fixture
def guarded(review: App) -> Iterator[Client]:
    c = Client(create_app(app=review, token=TOKEN))
    yield c
    c.close()


def test_feed_changes_need_the_token(guarded: Client, review: App) -> None:
    feed = review.store.feeds()[0]
    for path, form in (
        ("/feeds", {"url": "https://example.org/x.xml"}),
        (f"/feeds/{feed.id}", {"action": "pause"}),
    ):
        assert guarded.post(path, data=form).status_code == 401
    assert [f.enabled for f in review.store.feeds(enabled_only=False)] == [True]
    bearer = {"authorization": f"Bearer {TOKEN}"}
    assert (
        guarded.post(f"/feeds/{feed.id}", data={"action": "pause"}, headers=bearer).status_code
        == 303
    )
    assert review.store.feed(feed.id or 0).enabled is False
