"""Fuzzing: hypothesis-generated feeds through the feed parsing stage, random URLs through
canonicalisation. Nothing but ``NotAFeedError`` may escape parsing; every entry that comes out
must be storable; ``canonical_url`` never raises and is idempotent.

The strategies live here so tests/test_fuzz.py checks the same properties at a smaller size.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faults.common import Case, Progress
from monitor.errors import NotAFeedError
from monitor.feeds import MAX_SUMMARY_CHARS, MAX_URL_CHARS, canonical_url, parse_feed

GROUP = "fuzzing"
FEED_URL = "https://example.org/feed.xml"
MAX_KEY_CHARS = 600  # "guid:" + 500, "url:" + 500, "hash:" + 64
UNSTORABLE = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r")  # NUL: PostgreSQL

# -- URLs -------------------------------------------------------------------------------------

SCHEMES = st.sampled_from(
    ["http", "https", "HTTPS", "hTtP", "ftp", "file", "javascript", "", "a b"]
)
HOSTS = st.one_of(
    st.from_regex(r"[a-zA-Z0-9.-]{0,20}", fullmatch=True),
    st.sampled_from(
        [
            "[::1]",
            "[2001:DB8::1]",
            "[::ffff:10.0.0.1]",
            "[fe80::1%25eth0]",
            "[",
            "]",
            "[abc",
            "Example.COM.",
            "bücher.example",
            "user:pass@host",
            "@",
            "a@b@c",
            "%41%42",
            "127.0.0.1",
            "0x7f.1",
            "ex\uff03ample",
            "host:",
            "h\ud800st",
            "\x00",
        ]
    ),
    st.text(max_size=15),
)
PORTS = st.one_of(
    st.just(""),
    st.integers(0, 70_000).map(lambda p: f":{p}"),
    st.sampled_from([":", ":abc", ":-1", ":80", ":443", ":0080"]),
)
URL_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from([*"abcXYZ019-._~%/?#&=;:@!$'()*+,[] \t\x00\x1e\xa0", "\ud800"]),
        st.characters(codec="utf-8"),
    ),
    max_size=30,
)
PARAMS = st.sampled_from(
    ["utm_source", "UTM_Medium", "fbclid", "gclid", "id", "q", "", "a b", "_ga"]
)
QUERIES = st.lists(st.tuples(st.one_of(PARAMS, URL_TEXT), URL_TEXT), max_size=4).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    """URL-shaped strings: mostly plausible, often broken, sometimes just random text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=60))
    scheme, host, port = draw(SCHEMES), draw(HOSTS), draw(PORTS)
    path, query, fragment = draw(URL_TEXT), draw(QUERIES), draw(URL_TEXT)
    url = f"{scheme}://{host}{port}/{path}"
    if draw(st.booleans()):
        url += f"?{query}"
    if draw(st.booleans()):
        url += f"#{fragment}"
    return url


# -- feeds ------------------------------------------------------------------------------------

DATES = st.one_of(
    st.integers(-(2**36), 2**36),
    st.text(max_size=30),
    st.sampled_from(
        [
            "2024-13-45T99:99:99Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59-14:00",
            "Mon, 32 Jan 2024 25:61:61 GMT",
            "Tue, 01 Jan 10000 00:00:00 +9999",
            "",
        ]
    ),
)
TEXT = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            '"><img src=x onerror=alert(1)>',
            "</textarea><b>bold</b>",
            "]]>",
            "<![CDATA[x]]>",
            "&amp;&lt;&#0;&#x0;&#xD800;&#1114112;&nbsp;&undefined;",
            "\x00\x01\x1b[31m",
        ]
    ),
)
ENCODINGS = st.sampled_from(
    ["utf-8", "UTF-8", "iso-8859-1", "windows-1252", "utf-16", "shift_jis", "bogus", None]
)
BYTES_AS = st.sampled_from(["utf-8", "latin-1", "utf-16", "cp1252"])


@dataclass
class Doc:
    """A feed under construction: a list of text pieces, some escaped and some not."""

    parts: list[str] = field(default_factory=list)

    def tag(self, name: str, value: str, *, raw: bool = False, cdata: bool = False) -> None:
        if cdata:
            value = f"<![CDATA[{value}]]>"
        elif not raw:
            value = escape(value)
        self.parts.append(f"<{name}>{value}</{name}>")


def _date(value: Any) -> str:
    if isinstance(value, int):
        try:
            return formatdate(value, usegmt=True)
        except (OverflowError, OSError, ValueError):
            return str(value)
    return str(value)


@st.composite
def entries(draw: st.DrawFn, *, doc: Doc, kind: str) -> None:
    item = {"rss": "item", "atom": "entry", "rdf": "item"}[kind]
    doc.parts.append(f"<{item}>")
    for name in draw(st.permutations(["title", "link", "guid", "date", "summary", "author"])):
        if draw(st.integers(0, 4)) == 0:
            continue
        raw, cdata = draw(st.integers(0, 5)) == 0, draw(st.integers(0, 5)) == 0
        if name == "link":
            link = draw(urls())
            if kind == "atom":
                doc.parts.append(
                    f'<link rel="alternate" href="{escape(link, {chr(34): "&quot;"})}"/>'
                )
            else:
                doc.tag("link", link, raw=raw)
        elif name == "date":
            doc.tag("updated" if kind == "atom" else "pubDate", _date(draw(DATES)), raw=raw)
        elif name == "guid":
            doc.tag("id" if kind == "atom" else "guid", draw(TEXT), raw=raw, cdata=cdata)
        elif name == "summary":
            doc.tag(
                "summary" if kind == "atom" else "description", draw(TEXT), raw=raw, cdata=cdata
            )
        else:
            doc.tag(name, draw(TEXT), raw=raw, cdata=cdata)
    doc.parts.append(f"</{item}>")


HEADS = {
    "rss": ("<rss version='2.0'><channel>", "</channel></rss>"),
    "atom": ("<feed xmlns='http://www.w3.org/2005/Atom'>", "</feed>"),
    "rdf": (
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
        "xmlns='http://purl.org/rss/1.0/'><channel><title>r</title></channel>",
        "</rdf:RDF>",
    ),
}


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    """RSS/Atom-ish bytes: random fields, lying encodings, spliced garbage, truncation."""
    kind = draw(st.sampled_from(sorted(HEADS)))
    declared = draw(ENCODINGS)
    doc = Doc([f"<?xml version='1.0' encoding='{declared}'?>" if declared else ""])
    head, tail = HEADS[kind]
    doc.parts.append(head)
    doc.tag("title", draw(TEXT))
    for _ in range(draw(st.integers(0, 5))):
        draw(entries(doc=doc, kind=kind))
    doc.parts.append(tail)
    data = "".join(doc.parts).encode(draw(BYTES_AS), errors="replace")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=20)) + data[at:]
    if draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


# -- properties -------------------------------------------------------------------------------


def parse_problems(content: bytes, content_type: str | None) -> list[str]:
    """What is wrong with parsing ``content``: an escaping exception, or an unstorable entry."""
    try:
        parsed = parse_feed(content=content, content_type=content_type, url=FEED_URL)
    except NotAFeedError:
        return []
    except Exception as exc:
        return [f"{type(exc).__name__} escaped parse_feed: {exc}"]
    problems = []
    for entry in parsed.entries:
        problems += entry_problems(entry)
    if set(parsed.title) & UNSTORABLE:
        problems.append(f"feed title holds control characters: {parsed.title!r}")
    return problems


def entry_problems(entry: Any) -> list[str]:
    problems = []
    if not entry.key or len(entry.key) > MAX_KEY_CHARS:
        problems.append(f"entry key empty or too long: {entry.key[:80]!r}")
    url = entry.canonical_url
    if url is not None and len(url) > MAX_URL_CHARS:
        problems.append(f"canonical URL of {len(url)} characters")
    if url is not None and not url.startswith("sha256:") and canonical_url(url) != url:
        problems.append(f"canonical URL not canonical: {url!r}")
    if len(entry.summary) > MAX_SUMMARY_CHARS:
        problems.append(f"summary of {len(entry.summary)} characters")
    if entry.published is not None and entry.published.tzinfo is None:
        problems.append(f"published without a time zone: {entry.published!r}")
    texts = [entry.key, entry.title, entry.summary, entry.author or "", entry.link or ""]
    if any(set(t) & UNSTORABLE for t in texts):
        problems.append(f"entry holds control characters: {entry.title[:60]!r}")
    return problems


def url_problems(url: str) -> list[str]:
    try:
        once = canonical_url(url)
        twice = canonical_url(once)
    except Exception as exc:
        return [f"{type(exc).__name__} escaped canonical_url({url!r}): {exc}"]
    return [] if twice == once else [f"not idempotent: {url!r} -> {once!r} -> {twice!r}"]


# -- the runner -------------------------------------------------------------------------------


@dataclass
class Tally:
    examples: int = 0
    failures: list[str] = field(default_factory=list)


def explore(
    strategy: st.SearchStrategy[Any], check: Callable[[Any], list[str]], *, n: int
) -> Tally:
    """Run ``check`` on ``n`` generated examples; count them and keep what failed."""
    tally = Tally()

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def probe(example: Any) -> None:
        tally.examples += 1
        tally.failures += check(example)

    probe()
    return tally


@dataclass(frozen=True)
class Property:
    name: str
    proves: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], list[str]]


CONTENT_TYPES = st.sampled_from(
    [None, "application/rss+xml", "text/xml; charset=latin-1", "text/html", "application/json"]
)
PROPERTIES = [
    Property(
        "generated feeds -> parse_feed",
        "random RSS/Atom/RDF with lying encodings, garbage and truncation: only NotAFeedError "
        "escapes, and every entry is storable (bounded key, canonical URL, no control chars)",
        st.tuples(feeds(), CONTENT_TYPES),
        lambda pair: parse_problems(*pair),
    ),
    Property(
        "random bytes -> parse_feed",
        "arbitrary bytes: only NotAFeedError escapes parse_feed",
        st.tuples(st.binary(max_size=3000), CONTENT_TYPES),
        lambda pair: parse_problems(*pair),
    ),
    Property(
        "random URLs -> canonical_url",
        "canonical_url never raises and canonical_url(canonical_url(u)) == canonical_url(u)",
        urls(),
        url_problems,
    ),
]


def case_names(*, reduced: bool) -> list[str]:
    """The names ``run`` returns cases for, without running anything."""
    return [prop.name for prop in PROPERTIES]


def run(
    *, reduced: bool, database_url: str | None, workdir: Path, progress: Progress
) -> list[Case]:
    n = 300 if reduced else 5000
    cases = []
    for prop in PROPERTIES:
        progress(f"fuzzing: {prop.name}, {n} examples")
        started = time.perf_counter()
        tally = explore(prop.strategy, prop.check, n=n)
        cases.append(
            Case(
                group=GROUP,
                name=prop.name,
                proves=prop.proves,
                passed=tally.examples > 0 and not tally.failures,
                figures={
                    "examples": tally.examples,
                    "failures": len(tally.failures),
                    "seconds": round(time.perf_counter() - started, 1),
                },
                detail="; ".join(dict.fromkeys(tally.failures[:5]))[:600],
            )
        )
    return cases
