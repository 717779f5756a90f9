"""Hostile articles: a healthy feed whose entries link to pages that are huge, endless, bombs,
broken, in the wrong encoding, or on schemes and addresses the monitor must never fetch.

One poll of that feed must complete; each entry is stored, from its page when the page is fine,
else degraded to the feed's own title and summary with the reason in ``extraction_error``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faults.common import Case, Progress
from faults.hostile_lab import (
    MAX_BYTES,
    MAX_RSS_GROWTH_MB,
    TIMEOUT,
    Lab,
    endless,
    gzip_bomb,
    lab,
    sampled_memory,
    short_error,
    slug,
)
from monitor.models import Article
from tests.httpserver import Item, Route, html_page, rss

GROUP = "hostile articles"
FEED = "articles"
SUMMARY = "feed-summary"
ANY = ""  # expected extraction: either the page or the feed summary
REFUSED_SCHEME = ("only http and https",)
PRIVATE = ("non-public address",)
MAX_POLL_SECONDS = 3 * TIMEOUT + 4  # a few stalled pages, fetched four at a time
WINDOWS_1252 = (
    "<html><head><title>Caf\xe9 prices</title></head><body><article><h1>Caf\xe9 prices</h1>"
    + "<p>Le caf\xe9 co\xfbte plus cher cette ann\xe9e \xe0 cause de la s\xe9cheresse.</p>" * 8
    + "</article></body></html>"
).encode("cp1252")
CONTROL_PAGE = (
    b"<html><head><title>Wheat\x00 prices</title></head><body><article><h1>Wheat\x00 prices</h1>"
    + b"<p>Wheat prices\x00 rose \x1b[31msharply\x07 this week across the region.</p>" * 6
    + b"</article></body></html>"
)
MALFORMED = (
    b"<html><head><title>Broken <b>page</title><body><div><p>Wheat prices rose sharply"
    b"<table><tr><td>in the<p>northern <i>region <div></span></table></b></i>"
    + b"<p>Exporters reported smaller harvests across the region this season." * 10
    + b"<script>document.write('<p>')</script><!-- unclosed comment <p>tail"
)


@dataclass(frozen=True)
class Size:
    stream_mb: int
    bomb_mb: int


REDUCED = Size(stream_mb=50, bomb_mb=1024)
FULL = Size(stream_mb=500, bomb_mb=10 * 1024)


@dataclass(frozen=True)
class PageCase:
    name: str
    proves: str
    link: Callable[[Lab], str]
    route: Route | None  # served at /pages/<slug> when the link points there
    extraction: str  # "feed-summary", "trafilatura" or ANY
    expect: tuple[str, ...] = ()  # any of these words in extraction_error
    never_hit: str = ""  # a server path that must never be requested
    keeps: str = ""  # words the stored text must hold when the page was extracted


def run(
    *, reduced: bool, database_url: str | None, workdir: Path, progress: Progress
) -> list[Case]:
    size = REDUCED if reduced else FULL
    cases = page_cases(size)
    feeds = {FEED: "/articles.xml"}
    with lab(feeds=feeds, server_url=database_url, workdir=workdir, name="articles") as bench:
        _serve(bench, cases)
        progress(f"hostile articles: one poll over {len(cases)} hostile pages")
        started = time.perf_counter()
        with sampled_memory() as memory:
            result, escaped = bench.poll(FEED)
        seconds = time.perf_counter() - started
        poll_problems = _poll_problems(
            bench, result_ok=result is not None and result.outcome == "ok"
        )
        if escaped:
            poll_problems.append(f"exception escaped poll_feed: {escaped}")
        if seconds > MAX_POLL_SECONDS:
            poll_problems.append(f"the poll took {seconds:.1f}s")
        if memory.growth > MAX_RSS_GROWTH_MB:
            poll_problems.append(f"peak memory grew by {memory.growth:.0f} MB")
        stored = {a.title: a for a in bench.articles()}
        figures = {"poll s": round(seconds, 2), "RSS growth MB": round(memory.growth, 1)}
        return [
            _verdict(bench, c, stored=stored, poll_problems=poll_problems, figures=figures)
            for c in cases
        ]


def _title(case: PageCase) -> str:
    return f"Entry {case.name}"


def _serve(bench: Lab, cases: list[PageCase]) -> None:
    items = []
    for case in cases:
        if case.route is not None:
            bench.server.routes[f"/pages/{slug(case.name)}"] = case.route
        summary = f"Summary of {case.name}: wheat prices rose."
        items.append(Item(title=_title(case), link=case.link(bench), summary=summary))
    bench.server.routes["/articles.xml"] = Route(body=rss(items))


def _poll_problems(bench: Lab, *, result_ok: bool) -> list[str]:
    problems = [] if result_ok else ["the poll of the feed did not complete ok"]
    if bench.recorder.foreign():
        problems.append(f"requests left the test server: {bench.recorder.foreign()[:3]}")
    if bench.leaked_passwd():
        problems.append("/etc/passwd content was stored")
    if not bench.good_feed_still_polls():
        problems.append("the healthy feed stopped polling")
    return problems


def _verdict(
    bench: Lab,
    case: PageCase,
    *,
    stored: dict[str, Article],
    poll_problems: list[str],
    figures: dict[str, float],
) -> Case:
    article = stored.get(_title(case))
    problems = list(poll_problems)
    if article is None:
        problems.append("the entry was not stored")
    else:
        problems += _article_problems(case, article)
    if case.never_hit and bench.server.hits(case.never_hit):
        problems.append(f"{case.never_hit} was requested")
    error = (article.extraction_error if article else None) or ""
    return Case(
        group=GROUP,
        name=case.name,
        proves=case.proves,
        passed=not problems,
        figures={
            "stored as": article.extraction if article else "-",
            "chars": len(article.text) if article else 0,
            **figures,
            "error": short_error(error),
        },
        detail="; ".join(problems) or error or "page extracted",
    )


def _article_problems(case: PageCase, article: Article) -> list[str]:
    problems = []
    if case.extraction and article.extraction != case.extraction:
        problems.append(f"extraction {article.extraction}, expected {case.extraction}")
    error = article.extraction_error or ""
    if case.expect and not any(words in error for words in case.expect):
        problems.append(f"extraction error {error!r} does not say {case.expect[0]!r}")
    if article.extraction != SUMMARY and case.keeps not in article.text:
        problems.append(f"extracted text lost {case.keeps!r}: {article.text[:80]!r}")
    if article.extraction == SUMMARY and "wheat prices rose" not in article.text:
        problems.append("degraded, but the feed summary was not kept")
    return problems


# -- the cases --------------------------------------------------------------------------------


def _page(name: str) -> Callable[[Lab], str]:
    return lambda bench: bench.url(f"/pages/{slug(name)}")


def _fixed(url: str) -> Callable[[Lab], str]:
    return lambda _bench: url


def _port(bench: Lab) -> int:
    return int(bench.server.httpd.server_address[1])


def page_cases(size: Size) -> list[PageCase]:
    return served_cases(size) + forbidden_cases()


def served_cases(size: Size) -> list[PageCase]:
    html = "text/html; charset=utf-8"
    text = "Wheat prices rose again this week.\n" * 20
    flood = b"<p>" + b"wheat " * 200 + b"</p>\n"
    return [
        PageCase(
            f"{size.stream_mb} MB page",
            "a page far over max_bytes is cut off and the entry keeps its feed summary",
            _page(f"{size.stream_mb} MB page"),
            Route(stream=lambda: endless(total_mb=size.stream_mb, piece=flood), content_type=html),
            SUMMARY,
            (f"over the {MAX_BYTES}-byte limit",),
        ),
        PageCase(
            "page that never finishes",
            f"a page dripping a byte a second is cut off after {TIMEOUT:g}s; summary kept",
            _page("page that never finishes"),
            Route(body=html_page(title="Slow", text=text), content_type=html, drip=1.0),
            SUMMARY,
            ("took longer than", "timed out"),
        ),
        PageCase(
            f"gzip bomb page, {size.bomb_mb // 1024} GB",
            "a page that inflates to gigabytes is cut off at max_bytes decoded; summary kept",
            _page(f"gzip bomb page, {size.bomb_mb // 1024} GB"),
            Route(
                stream=lambda: gzip_bomb(megabytes=size.bomb_mb),
                content_type=html,
                headers={"Content-Encoding": "gzip"},
            ),
            SUMMARY,
            (f"over the {MAX_BYTES}-byte limit",),
        ),
        PageCase(
            "malformed HTML",
            "tag soup with unclosed elements and comments is stored (extracted or summary)",
            _page("malformed HTML"),
            Route(body=MALFORMED, content_type=html),
            ANY,
        ),
        PageCase(
            "windows-1252 page, no charset",
            "a windows-1252 page without a declared charset is stored with its accents intact",
            _page("windows-1252 page, no charset"),
            Route(body=WINDOWS_1252, content_type="text/html"),
            ANY,
            keeps="café coûte",
        ),
        PageCase(
            "NUL and control bytes in a page",
            "NUL and escape bytes inside the text are stored (PostgreSQL refuses NUL in text)",
            _page("NUL and control bytes in a page"),
            Route(body=CONTROL_PAGE, content_type=html),
            ANY,
            keeps="Wheat prices",
        ),
        PageCase(
            "random bytes as HTML",
            "binary garbage served as text/html is stored (extracted or summary)",
            _page("random bytes as HTML"),
            Route(body=random.Random(8).randbytes(50_000), content_type=html),
            ANY,
        ),
    ]


def forbidden_cases() -> list[PageCase]:
    secret = "/secret.html"
    return [
        PageCase(
            "file:///etc/passwd",
            "a file: link is never opened; the entry keeps its feed summary",
            lambda _b: "file:///etc/passwd",
            None,
            SUMMARY,
            REFUSED_SCHEME,
        ),
        PageCase(
            "ftp:// link",
            "an ftp: link is never fetched; the entry keeps its feed summary",
            lambda b: f"ftp://127.0.0.1:{_port(b)}/pub/file.txt",
            None,
            SUMMARY,
            REFUSED_SCHEME,
        ),
        *[
            PageCase(
                f"link to {address}",
                f"a link to the private address {address} is refused before connecting",
                _fixed(f"http://{address}/admin"),
                None,
                SUMMARY,
                (f"non-public address {address}",),
            )
            for address in ("10.0.0.1", "192.168.1.1", "169.254.169.254")
        ],
        PageCase(
            "link to localhost",
            "a link to a name resolving to loopback is refused and never reaches the server",
            lambda b: f"http://localhost:{_port(b)}{secret}",
            None,
            SUMMARY,
            PRIVATE,
            never_hit=secret,
        ),
        PageCase(
            "link to [::1]",
            "a link to the IPv6 loopback address is refused",
            lambda b: f"http://[::1]:{_port(b)}{secret}",
            None,
            SUMMARY,
            ("non-public address ::1",),
        ),
        PageCase(
            "page redirecting to metadata",
            "an allowed page redirecting to 169.254.169.254 is refused at the redirect hop",
            _page("page redirecting to metadata"),
            Route(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
            SUMMARY,
            ("non-public address 169.254.169.254",),
        ),
    ]
