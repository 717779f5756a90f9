"""The review page in a real headless browser (Debian's chromium driven by Playwright).

Set ``MONITOR_SCREENSHOT=docs/matches.png`` to keep the screenshot of the matches page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.app import App
from monitor.web import create_app
from tests.test_web import SCRIPT_TITLE, polled, review, running

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
__all__ = ["polled", "review"]  # fixtures: a database filled by one real poll, an app over it


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
        assert re.fullmatch(re.escape(base) + r"/#article-\d+", page.url), page.content()
        judged = page.locator("li.match").filter(has_text="Both sides will deliberate")
        expect(judged.locator(".verdict")).to_have_text("judged not relevant")
        expect(judged.get_by_role("button", name="not relevant")).to_have_attribute(
            "aria-pressed", "true"
        )
        shot = Path(os.environ.get("MONITOR_SCREENSHOT") or tmp_path / "matches.png")
        page.screenshot(path=str(shot), full_page=True)
        page.goto(base + "/?judgement=irrelevant")
        expect(page.locator(".summary")).to_contain_text("1 story for this filter")

    stored = [(a.title, j.relevant) for j, a in review.store.judged_articles()]
    assert stored == [(stored[0][0], False)] and stored[0][0].startswith("Both sides")
