"""Hostile feeds: servers that fail, stall, flood, bomb, loop or point inward, and documents built
to hurt an XML parser. Each feed is polled through ``poll_feed`` like the daemon does; the feed row
must say what went wrong and back off, nothing may escape, and a healthy feed in the same app must
keep polling. The article pages are in ``faults/hostile_articles.py``, text built to hurt the
terminal and spreadsheets in ``faults/hostile_output.py``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faults import hostile_articles, hostile_output, rebinding
from faults.common import Case, Progress
from faults.hostile_lab import (
    INTERVAL,
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
from tests.httpserver import Item, Route, rss

GROUP = "hostile feeds"
ACCEPTED = ()  # expect: the feed is parsed and its entries stored, no error on the row
NOT_A_FEED = ("not an RSS or Atom document",)
OVER_LIMIT = (f"over the {MAX_BYTES}-byte limit",)


@dataclass(frozen=True)
class Size:
    rounds: int  # polls of each failing feed (back-off is checked across them)
    stream_mb: int  # the endless body
    bomb_mb: int  # what the streamed gzip bomb inflates to
    sized_bomb_mb: int  # the gzip bomb sent whole, with a Content-Length under max_bytes


REDUCED = Size(rounds=2, stream_mb=50, bomb_mb=1024, sized_bomb_mb=256)
FULL = Size(rounds=3, stream_mb=500, bomb_mb=10 * 1024, sized_bomb_mb=768)

Routes = Callable[[Lab, str], dict[str, Route]]  # (lab, feed path) -> routes to serve
Check = Callable[[Lab, str], str]  # (lab, feed name) -> "" or what went wrong


@dataclass(frozen=True)
class FeedCase:
    name: str
    proves: str
    routes: Routes
    expect: tuple[str, ...]  # any of these words in last_error; () = accepted without error
    rounds: int | None = None  # None: Size.rounds
    check: Check | None = None


def run(
    *, reduced: bool, database_url: str | None, workdir: Path, progress: Progress
) -> list[Case]:
    size = REDUCED if reduced else FULL
    cases = feed_cases(size)
    feeds = {slug(c.name): f"/hostile/{slug(c.name)}.xml" for c in cases}
    results = []
    with lab(feeds=feeds, server_url=database_url, workdir=workdir, name="hostile") as bench:
        for case in cases:
            progress(f"hostile feeds: {case.name}")
            results.append(_run_case(bench, case, size=size))
        progress(f"hostile feeds: {rebinding.NAME}")
        results.append(rebinding.run_case(bench))
    return [
        *results,
        *hostile_articles.run(
            reduced=reduced, database_url=database_url, workdir=workdir, progress=progress
        ),
        *hostile_output.run(
            reduced=reduced, database_url=database_url, workdir=workdir, progress=progress
        ),
    ]


def case_names(*, reduced: bool) -> list[str]:
    """The names ``run`` returns cases for, without running anything."""
    size = REDUCED if reduced else FULL
    pages = hostile_articles.page_cases(
        hostile_articles.REDUCED if reduced else hostile_articles.FULL
    )
    return (
        [c.name for c in feed_cases(size)]
        + [rebinding.NAME]
        + [c.name for c in pages]
        + hostile_output.case_names(reduced=reduced)
    )


def _run_case(bench: Lab, case: FeedCase, *, size: Size) -> Case:
    name, path = slug(case.name), f"/hostile/{slug(case.name)}.xml"
    bench.server.routes.update(case.routes(bench, path))
    bench.recorder.urls.clear()
    rounds = case.rounds or size.rounds
    with sampled_memory() as memory:
        seconds, waits, escaped = _poll_rounds(bench, name, rounds=rounds)
    feed = bench.feed(name)
    problems = [f"exception escaped poll_feed: {escaped}"] if escaped else []
    problems += _verdict(bench, case, name, rounds=rounds, waits=waits)
    problems += _limits(bench, seconds=seconds, rss_growth=memory.growth)
    if not bench.good_feed_still_polls():
        problems.append("the healthy feed stopped polling after this one")
    return Case(
        group=GROUP,
        name=case.name,
        proves=case.proves,
        passed=not problems,
        figures={
            "polls": rounds,
            "max s": round(max(seconds, default=0.0), 2),
            "waits s": "/".join(str(round(w)) for w in waits) or "-",
            "RSS growth MB": round(memory.growth, 1),
            "error": short_error(feed.last_error),
        },
        detail="; ".join(problems) or (feed.last_error or "accepted, entries stored"),
    )


def _poll_rounds(bench: Lab, name: str, *, rounds: int) -> tuple[list[float], list[float], str]:
    seconds: list[float] = []
    waits: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        _result, escaped = bench.poll(name)
        seconds.append(time.perf_counter() - started)
        if escaped:
            return seconds, waits, escaped
        feed = bench.feed(name)
        if feed.last_polled_at is not None:
            waits.append((feed.next_check_at - feed.last_polled_at).total_seconds())
    return seconds, waits, ""


def _verdict(
    bench: Lab, case: FeedCase, name: str, *, rounds: int, waits: list[float]
) -> list[str]:
    feed = bench.feed(name)
    problems = []
    if case.expect:
        if not any(words in (feed.last_error or "") for words in case.expect):
            problems.append(f"feed error {feed.last_error!r} does not say {case.expect[0]!r}")
        if feed.error_count != rounds:
            problems.append(f"error count {feed.error_count} after {rounds} failing polls")
        if any(w < INTERVAL * 2**k for k, w in enumerate(waits)):
            problems.append(f"no exponential back-off: waits {waits}")
    else:
        if feed.last_error:
            problems.append(f"feed was expected to be accepted, but: {feed.last_error}")
        if not any(a.feed_id == feed.id for a in bench.articles()):
            problems.append("no entry of the feed was stored")
    if case.check:
        problems += [p for p in [case.check(bench, name)] if p]
    return problems


def _limits(bench: Lab, *, seconds: list[float], rss_growth: float) -> list[str]:
    problems = []
    if max(seconds, default=0.0) > TIMEOUT + 3:
        problems.append(f"a poll took {max(seconds):.1f}s with a {TIMEOUT:g}s fetch timeout")
    if rss_growth > MAX_RSS_GROWTH_MB:
        problems.append(f"peak memory grew by {rss_growth:.0f} MB")
    if bench.leaked_passwd():
        problems.append("/etc/passwd content was stored")
    if bench.recorder.foreign():
        problems.append(f"requests left the test server: {bench.recorder.foreign()[:3]}")
    return problems


# -- the cases --------------------------------------------------------------------------------


def _serve(route: Route) -> Routes:
    return lambda _bench, path: {path: route}


def _one_item(bench: Lab, path: str, *, title: str = "Wheat report") -> bytes:
    return rss([Item(title=title, link=bench.url(f"{path}.html"), summary="Wheat prices rose.")])


def _redirect(target: Callable[[Lab], str]) -> Routes:
    return lambda bench, path: {
        path: Route(status=302, body=b"", headers={"Location": target(bench)})
    }


def feed_cases(size: Size) -> list[FeedCase]:
    return status_cases() + stream_cases(size) + document_cases() + redirect_cases()


def status_cases() -> list[FeedCase]:
    text = "text/plain"
    return [
        FeedCase(
            "HTTP 500",
            "a server error is recorded on the feed row and the feed backs off",
            _serve(Route(status=500, body=b"internal error", content_type=text)),
            ("HTTP 500",),
        ),
        FeedCase(
            "HTTP 503 with Retry-After",
            "an unavailable server is recorded, Retry-After and back-off are honoured",
            _serve(Route(status=503, body=b"", headers={"Retry-After": "120"})),
            ("HTTP 503",),
        ),
        FeedCase(
            "HTTP 404",
            "a missing feed is recorded on the row and backs off",
            _serve(Route(status=404, body=b"not found", content_type=text)),
            ("HTTP 404",),
        ),
        FeedCase(
            "HTTP 410 three times",
            "a feed answering 410 three times in a row is marked gone and no longer polled",
            _serve(Route(status=410, body=b"gone", content_type=text)),
            ("feed gone: HTTP 410 3 times",),
            rounds=3,
            check=lambda bench, name: "" if not bench.feed(name).enabled else "still enabled",
        ),
        FeedCase(
            "connection reset",
            "a connection reset without an answer is a network error on the row",
            _serve(Route(reset=True)),
            ("network error",),
        ),
    ]


def stream_cases(size: Size) -> list[FeedCase]:
    item = b"<item><title>flood</title><link>http://example.org/flood</link></item>"
    gz = {"Content-Encoding": "gzip"}
    return [
        FeedCase(
            "one byte per second",
            f"a server dripping one byte a second is cut off by the {TIMEOUT:g}s fetch timeout",
            lambda bench, path: {path: Route(body=_one_item(bench, path), drip=1.0)},
            ("took longer than", "timed out"),
        ),
        FeedCase(
            f"{size.stream_mb} MB body, no length",
            "an endless body without Content-Length is cut off at max_bytes",
            _serve(Route(stream=lambda: endless(total_mb=size.stream_mb, piece=item))),
            OVER_LIMIT,
        ),
        FeedCase(
            f"gzip bomb, {size.bomb_mb // 1024} GB streamed",
            "a gzip body inflating to gigabytes is cut off at max_bytes of decoded data; "
            "peak memory stays bounded",
            _serve(Route(stream=lambda: gzip_bomb(megabytes=size.bomb_mb), headers=gz)),
            OVER_LIMIT,
        ),
        FeedCase(
            f"gzip bomb, {size.sized_bomb_mb} MB with length",
            "a gzip body whose Content-Length is under max_bytes is still cut off once decoded",
            lambda _b, path: {
                path: Route(body=b"".join(gzip_bomb(megabytes=size.sized_bomb_mb)), headers=gz)
            },
            OVER_LIMIT,
        ),
    ]


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + ']>\n<rss version="2.0"><channel><title>laughs</title><item><title>&lol9;</title>'
    "<link>{link}</link><description>&lol9;</description></item></channel></rss>"
)
XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
    '<!ENTITY probe SYSTEM "{probe}">]>\n<rss version="2.0"><channel><title>xxe</title>'
    "<item><title>Wheat &xxe; &probe;</title><link>{link}</link>"
    "<description>Prices &xxe; &probe;</description></item></channel></rss>"
)
LATIN1 = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Caf\xe9</title>"
    "<item><title>Caf\xe9 cr\xe8me prices</title><link>{link}</link>"
    "<description>Pr\xeat \xe0 porter</description></item></channel></rss>"
)


def _garbage(bench: Lab, path: str) -> bytes:
    rng = random.Random(6)
    noise = bytes(rng.randrange(256) for _ in range(300)).replace(b"<", b"").replace(b"&", b"")
    body = _one_item(bench, path, title="Wheat NOISE report")
    return body.replace(b"NOISE", noise)


def _no_laughs(bench: Lab, name: str) -> str:
    longest = max((len(a.title) + len(a.text) for a in bench.articles()), default=0)
    return f"an entity was expanded: {longest} characters stored" if longest > 100_000 else ""


def _no_probe(bench: Lab, _name: str) -> str:
    hits = bench.server.hits("/xxe-probe")
    return f"the external entity was fetched {hits} times" if hits else ""


def document_cases() -> list[FeedCase]:
    html = b"<!doctype html><html><head><title>Home</title></head><body><p>Hi</p></body></html>"
    return [
        FeedCase(
            "billion laughs",
            "nested entity definitions are not expanded (no blow-up in time, memory or storage)",
            lambda b, p: {p: Route(body=BILLION_LAUGHS.replace("{link}", b.url(p)).encode())},
            ACCEPTED,
            check=_no_laughs,
        ),
        FeedCase(
            "external entities (XXE)",
            "SYSTEM entities are neither read from file:///etc/passwd nor fetched over HTTP",
            lambda b, p: {
                p: Route(
                    body=XXE.replace("{link}", b.url(p + ".html"))
                    .replace("{probe}", b.url("/xxe-probe"))
                    .encode()
                )
            },
            ACCEPTED,
            check=_no_probe,
        ),
        FeedCase(
            "declared UTF-8, latin-1 bytes",
            "a feed lying about its encoding is still read and its entries stored",
            lambda b, p: {
                p: Route(body=LATIN1.replace("{link}", b.url(p + ".html")).encode("latin-1"))
            },
            ACCEPTED,
        ),
        FeedCase(
            "garbage bytes in a title",
            "control characters and invalid UTF-8 inside an entry do not stop the poll",
            lambda b, p: {p: Route(body=_garbage(b, p))},
            ACCEPTED,
        ),
        FeedCase(
            "random binary body",
            "bytes that are no document at all are refused as not a feed",
            _serve(Route(body=random.Random(7).randbytes(20_000))),
            NOT_A_FEED,
        ),
        FeedCase(
            "HTML instead of XML",
            "a web page served at the feed URL is refused as not a feed",
            _serve(Route(body=html, content_type="text/html; charset=utf-8")),
            NOT_A_FEED,
        ),
        FeedCase(
            "empty body",
            "an empty 200 answer is refused as not a feed",
            _serve(Route(body=b"")),
            NOT_A_FEED,
        ),
    ]


def _no_hits(prefix: str) -> Check:
    def check(bench: Lab, _name: str) -> str:
        hits = bench.server.hits(prefix)
        return f"{prefix} was fetched {hits} times" if hits else ""

    return check


def redirect_cases() -> list[FeedCase]:
    private = "non-public address"
    return [
        FeedCase(
            "redirect loop",
            "a redirect loop ends after fetch.max_redirects hops",
            lambda _b, path: {path: Route(status=302, headers={"Location": path})},
            ("more than 5 redirects",),
        ),
        FeedCase(
            "redirect to 10.0.0.1",
            "a redirect from an allowed host to a private address is refused before connecting",
            _redirect(lambda _b: "http://10.0.0.1/feed.xml"),
            (f"{private} 10.0.0.1",),
        ),
        FeedCase(
            "redirect to 169.254.169.254",
            "a redirect to the cloud metadata address is refused before connecting",
            _redirect(lambda _b: "http://169.254.169.254/latest/meta-data/"),
            (f"{private} 169.254.169.254",),
        ),
        FeedCase(
            "redirect to localhost",
            "a redirect to a name resolving to loopback is refused and never reaches it",
            _redirect(lambda b: f"http://localhost:{b.server.httpd.server_address[1]}/secret"),
            (private,),
            check=_no_hits("/secret"),
        ),
        FeedCase(
            "redirect to a malformed URL",
            "a Location header that is no URL at all is an error on the row, not a crash",
            _redirect(lambda _b: "http://[::1/feed.xml"),
            ("Invalid URL in location header",),
        ),
        FeedCase(
            "redirect to file:///etc/passwd",
            "a redirect to a file: URL is refused",
            _redirect(lambda _b: "file:///etc/passwd"),
            ("only http and https",),
        ),
    ]
