"""What a visitor who is not logged in sees, and the site's own error page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.app import App
from monitor.web import create_app
from tests.test_web import TOKEN, Client, client, polled, review, running
from tests.test_web_browser import CHROMIUM, browser_context

__all__ = ["client", "polled", "review"]  # fixtures: a polled database, an app and a client

HTML = {"accept": "text/html"}
NAVIGATION = ('href="/feeds"', 'href="/api/matches"', "Log out")


@pytest.fixture
def guarded(review: App) -> Iterator[Client]:
    c = Client(create_app(app=review, token=TOKEN))
    yield c
    c.close()


def test_the_login_page_shows_no_navigation_to_a_visitor(guarded: Client) -> None:
    html = guarded.get("/login", headers=HTML).text
    assert "Log in" in html and not [n for n in NAVIGATION if n in html]
    page = guarded.get("/feeds", headers={"authorization": f"Bearer {TOKEN}", **HTML}).text
    assert all(n in page for n in NAVIGATION)


ERRORS = [  # (path, status, text on the page)
    ("/articles/99999", 404, "no article with id 99999"),
    ("/no/such/page", 404, "Not found"),
]


@pytest.mark.parametrize(("path", "status", "text"), ERRORS)
def test_errors_get_the_sites_page_in_a_browser_and_text_for_scripts(
    client: Client, path: str, status: int, text: str
) -> None:
    page = client.get(path, headers=HTML)
    assert page.status_code == status and page.headers["content-type"].startswith("text/html")
    assert text in page.text and 'class="brand"' in page.text and "Back to the matches" in page.text
    plain = client.get(path)
    assert plain.status_code == status and plain.headers["content-type"].startswith("text/plain")


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed")
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_token_label_is_one_line(review: App, viewport: str) -> None:
    with (
        running(create_app(app=review, token=TOKEN)) as base,
        browser_context(viewport=viewport, scheme="light") as context,
    ):
        page = context.new_page()
        page.goto(base + "/")  # sent to the login form
        label = page.locator("form.login label > span")
        height = label.evaluate("e => e.getBoundingClientRect().height")
        line = label.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
        assert height < 1.5 * line, (height, line)
        assert page.locator("header nav").count() == 0
        assert page.get_by_role("button", name="Log out").count() == 0
