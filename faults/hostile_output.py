"""Hostile text for the terminal: feed titles and a redirect target written as rich markup
(``[/bold]``, ``[link=…]``), spreadsheet formulas and a script tag. Each feed is polled through
``poll_feed`` like the daemon does; then what was stored is printed through the very views the
commands use (poll summary, ``status``, ``feeds list``, ``matches list`` as a table and as CSV,
``matches show``) on a colour terminal. Nothing may raise, the text must come out as written, no
terminal hyperlink may appear and no CSV cell may start a formula.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from faults.common import Case, Progress
from faults.hostile_lab import Lab, lab, short_error, slug
from monitor import views
from monitor.models import Article, Feed, Match
from monitor.pipeline import PollResult
from monitor.store import MatchRow
from tests.httpserver import Item, Route, html_page, rss

GROUP = "hostile output"
WIDTH = 1000  # wide enough that no cell is cut
SGR = re.compile(r"\x1b\[[0-9;]*m")  # colours, dropped before looking for the text
HYPERLINK = "\x1b]8;"  # what rich writes for [link=…] on a terminal
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PAGE_TEXT = "Wheat prices rose again this week as exporters reported smaller harvests.\n" * 4


@dataclass(frozen=True)
class TextCase:
    name: str
    proves: str
    title: str  # the entry's title ("" when the feed redirects instead)
    shows: str  # what the rendered views must hold, literally
    redirect: str = ""  # the feed answers 302 to this path (which 404s) instead of an entry


def cases() -> list[TextCase]:
    return [
        TextCase(
            "closing markup tag in a title",
            "a title holding [/bold] is printed as written; no command crashes on it",
            title="Wheat [/bold] report",
            shows="Wheat [/bold] report",
        ),
        TextCase(
            "terminal hyperlink markup in a title",
            "[link=…] in a title is printed as written, never as a clickable terminal link",
            title="[link=http://x]y[/link] wheat report",
            shows="[link=http://x]y[/link] wheat report",
        ),
        TextCase(
            "spreadsheet formula in a title",
            "=HYPERLINK(…) is printed as written and quoted with ' in CSV",
            title='=HYPERLINK("http://x","y") wheat',
            shows='=HYPERLINK("http://x","y") wheat',
        ),
        TextCase(
            "command formula in a title",
            "+cmd|… is printed as written and quoted with ' in CSV",
            title="+cmd|' /C calc'!A0 wheat",
            shows="+cmd|' /C calc'!A0 wheat",
        ),
        TextCase(
            "script tag in a title",
            "<script> in a title is plain text on the terminal",
            title="<script>alert(1)</script> wheat",
            shows="<script>alert(1)</script> wheat",
        ),
        TextCase(
            "markup in a redirect URL",
            "a redirect to a path holding [/bold] and %5B/bold%5D fails as one error on the row, "
            "and poll --once and status print that error as written",
            title="",
            shows="[/bold]%5B/bold%5D",
            redirect="/gone[/bold]%5B/bold%5D.xml",
        ),
    ]


def case_names(*, reduced: bool) -> list[str]:
    del reduced
    return [c.name for c in cases()]


def run(
    *, reduced: bool, database_url: str | None, workdir: Path, progress: Progress
) -> list[Case]:
    del reduced
    all_cases = cases()
    feeds = {slug(c.name): f"/output/{slug(c.name)}.xml" for c in all_cases}
    with lab(feeds=feeds, server_url=database_url, workdir=workdir, name="output") as bench:
        results = []
        for case in all_cases:
            progress(f"hostile output: {case.name}")
            results.append(_run_case(bench, case))
        return results


def _run_case(bench: Lab, case: TextCase) -> Case:
    name, path = slug(case.name), f"/output/{slug(case.name)}.xml"
    bench.server.routes.update(_routes(bench, case, path))
    result, escaped = bench.poll(name)
    problems = [f"exception escaped poll_feed: {escaped}"] if escaped else []
    terminal, table_csv = "", ""
    if result is not None:
        try:
            terminal, table_csv = _render(bench, name, result)
        except Exception as exc:  # the very thing the case checks never happens
            problems.append(f"printing raised {type(exc).__name__}: {exc}")
    if not problems:
        problems += _output_problems(case, terminal=terminal, table_csv=table_csv)
    feed = bench.feed(name)
    return Case(
        group=GROUP,
        name=case.name,
        proves=case.proves,
        passed=not problems,
        figures={"chars printed": len(terminal), "error": short_error(feed.last_error)},
        detail="; ".join(problems) or "printed as written",
    )


def _routes(bench: Lab, case: TextCase, path: str) -> dict[str, Route]:
    if case.redirect:
        return {path: Route(status=302, headers={"Location": case.redirect})}
    page = f"{path}.html"
    body = html_page(title=case.title, text=PAGE_TEXT)
    return {
        path: Route(body=rss([Item(title=case.title, link=bench.url(page))])),
        page: Route(body=body, content_type="text/html; charset=utf-8"),
    }


def _render(bench: Lab, name: str, result: PollResult) -> tuple[str, str]:
    """Everything the commands would print about this feed: the terminal text and the CSV."""
    out, table_csv = io.StringIO(), io.StringIO()
    console = views.terminal(file=out, width=WIDTH, color=True)
    feed = bench.feed(name)
    rows = [_as_match(a, feed=feed) for a in bench.articles() if a.feed_id == feed.id]
    console.print(views.poll_table([result]))
    console.print(views.status_table([feed]))
    console.print(views.feeds_table([feed]))
    views.print_matches(rows, fmt=views.Format.table, console=console)
    for row in rows:
        views.print_article(row.article, feed, None, console=console)
    csv_console = views.terminal(file=table_csv)
    views.print_matches(rows, fmt=views.Format.csv, console=csv_console)
    return out.getvalue(), table_csv.getvalue()


def _as_match(article: Article, *, feed: Feed) -> MatchRow:
    """The article as ``matches list`` would show it, whatever its score."""
    match = Match(article_id=article.id or 0, score=article.score, created_at=article.fetched_at)
    return MatchRow(match=match, article=article, feed=feed)


def _output_problems(case: TextCase, *, terminal: str, table_csv: str) -> list[str]:
    problems = []
    if case.shows not in SGR.sub("", terminal):
        problems.append(f"{case.shows!r} was not printed as written")
    if HYPERLINK in terminal:
        problems.append("a terminal hyperlink was printed")
    cells = [v for row in csv.reader(io.StringIO(table_csv, newline="")) for v in row]
    formulas = [v for v in cells if v.startswith(FORMULA_START)]
    if formulas:
        problems.append(f"CSV cells start a formula: {formulas[:3]}")
    return problems
