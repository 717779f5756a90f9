"""The review page in a real headless browser (Debian's chromium driven by Playwright).

Set ``MONITOR_SCREENSHOT=docs/matches.png`` to keep the screenshot of the matches page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from monitor.app import App
from monitor.web import create_app
from tests.test_web import SCRIPT_TITLE, polled, review, running
from tests.test_web_stories import STORIES, stories, two_feeds

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"
)
# fixtures: a database filled by one real poll (of two feeds with the same stories), an app over it
__all__ = ["polled", "review", "stories", "two_feeds"]


@pytest.fixture
def browser_page() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(
            viewport={"width": 1200, "height": 900}, java_script_enabled=False
        )
        yield context.new_page()
        context.close()
        browser.close()


def test_judging_a_match_in_the_browser(review: App, browser_page: object, tmp_path: Path) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(browser_page, Page)
    page = browser_page
    with running(create_app(app=review, token=None)) as base:
        page.goto(base + "/")
        expect(page.locator(".summary")).to_contain_text("5 stories")
        expect(page.get_by_role("link", name=SCRIPT_TITLE)).to_be_visible()  # shown as text
        row = page.locator("li.match").filter(has_text="Both sides will deliberate")
        with page.expect_navigation():
            row.get_by_role("button", name="not relevant").click()
        assert re.fullmatch(re.escape(base) + r"/\?judged=(\d+)#article-\1", page.url), page.url
        expect(page.locator(".summary")).to_contain_text("4 stories")  # hidden by default
        expect(page.locator(".judged")).to_contain_text("Both sides will deliberate")
        with page.expect_navigation():  # the notice's undo brings it back
            page.locator(".judged").get_by_role("button", name="Undo").click()
        expect(page.locator(".summary")).to_contain_text("5 stories")
        assert page.url == base + "/", page.url
        with page.expect_navigation():
            row.get_by_role("button", name="not relevant").click()
        page.goto(base + "/?judgement=irrelevant")
        expect(page.locator(".summary")).to_contain_text("1 story for this filter")
        judged = page.locator("li.match").filter(has_text="Both sides will deliberate")
        expect(judged.locator(".verdict")).to_have_text("judged not relevant")
        expect(judged.get_by_role("button", name="not relevant")).to_have_attribute(
            "aria-pressed", "true"
        )
        shot = Path(os.environ.get("MONITOR_SCREENSHOT") or tmp_path / "matches.png")
        page.screenshot(path=str(shot), full_page=True)
        with page.expect_navigation():
            judged.get_by_role("button", name="undo").click()
        expect(page.locator(".summary")).to_contain_text("0 stories for this filter")
        page.goto(base + "/")
        expect(page.locator(".summary")).to_contain_text("5 stories")
        stored = [(a.title, j.relevant) for j, a in review.store.judged_articles()]
        assert stored == []
        with page.expect_navigation():
            row.get_by_role("button", name="not relevant").click()

    stored = [(a.title, j.relevant) for j, a in review.store.judged_articles()]
    assert stored == [(stored[0][0], False)] and stored[0][0].startswith("Both sides")


# --- the bar, checked from outside: two feeds publishing the same five stories ------------------

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")
MIN_TITLE_PX = 200
NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
BODY_BACKGROUND = "getComputedStyle(document.body).backgroundColor"


@contextmanager
def browser_context(*, viewport: str, scheme: str, javascript: bool = True) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(
            viewport=VIEWPORTS[viewport], color_scheme=scheme, java_script_enabled=javascript
        )
        try:
            yield context
        finally:
            context.close()
            browser.close()


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_stories_fit_the_screen_in_both_themes(stories: App, viewport: str, scheme: str) -> None:
    from playwright.sync_api import expect

    with (
        running(create_app(app=stories, token=None)) as base,
        browser_context(viewport=viewport, scheme=scheme) as context,
    ):
        page = context.new_page()
        page.goto(base + "/")
        expect(page.locator("li.match")).to_have_count(STORIES)
        widths = page.locator("li.match a.title").evaluate_all(
            "links => links.map(a => a.getBoundingClientRect().width)"
        )
        assert min(widths) >= MIN_TITLE_PX, widths
        article = page.locator("li.match a.title").first.get_attribute("href")
        for path in ("/", str(article), "/feeds", "/?copies=1"):
            page.goto(base + path)
            assert page.evaluate(NO_SIDEWAYS), f"{path} scrolls sideways at {viewport}"
        if viewport == "phone":  # the buttons sit below the title, not beside it
            page.goto(base + "/")
            row = page.locator("li.match").first
            title = row.locator("a.title").bounding_box()
            button = row.get_by_role("button", name="not relevant").bounding_box()
            assert title and button and button["y"] >= title["y"] + title["height"]
        shot = os.environ.get(f"MONITOR_SCREENSHOT_{viewport.upper()}_{scheme.upper()}")
        if shot:
            page.goto(base + "/")
            page.screenshot(path=shot, full_page=viewport == "desktop")


def test_dark_scheme_changes_the_background_and_the_toggle_remembers(stories: App) -> None:
    with running(create_app(app=stories, token=None)) as base:
        backgrounds = {}
        for scheme in SCHEMES:
            with browser_context(viewport="desktop", scheme=scheme) as context:
                page = context.new_page()
                page.goto(base + "/")
                backgrounds[scheme] = page.evaluate(BODY_BACKGROUND)
        assert backgrounds["light"] != backgrounds["dark"], backgrounds
        with browser_context(viewport="desktop", scheme="light") as context:
            page = context.new_page()
            page.goto(base + "/")
            page.get_by_role("button", name="Dark theme").click()
            assert page.evaluate(BODY_BACKGROUND) == backgrounds["dark"]
            page.goto(base + "/feeds")  # remembered on the next page
            assert page.evaluate(BODY_BACKGROUND) == backgrounds["dark"]
            page.get_by_role("button", name="Light theme").click()
            assert page.evaluate(BODY_BACKGROUND) == backgrounds["light"]


def test_keyboard_moves_opens_and_judges(stories: App) -> None:
    from playwright.sync_api import expect

    with (
        running(create_app(app=stories, token=None)) as base,
        browser_context(viewport="desktop", scheme="light") as context,
    ):
        page = context.new_page()
        page.goto(base + "/")
        rows = page.locator("li.match")
        page.keyboard.press("j")
        page.keyboard.press("j")
        expect(rows.nth(1)).to_be_focused()
        outline = rows.nth(1).evaluate("r => getComputedStyle(r).outlineStyle")
        assert outline != "none"  # visibly
        page.keyboard.press("k")
        expect(rows.nth(0)).to_be_focused()
        expect(page.locator("#keys-help")).to_be_hidden()
        page.keyboard.press("?")
        expect(page.locator("#keys-help")).to_be_visible()
        page.keyboard.press("Escape")
        first_id = str(rows.nth(0).get_attribute("id"))
        with page.expect_navigation():
            page.keyboard.press("r")
        expect(page.locator(f"#{first_id} .verdict")).to_have_text("judged relevant")
        expect(page.locator(f"#{first_id}")).to_be_focused()  # back where we were
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert re.search(r"/articles/\d+$", page.url), page.url
        expect(page.locator("h1")).to_be_visible()
