"""The bench the hostile cases run on: a local HTTP server, one app, a fetcher that keeps the
production address policy, a log of every request that really went out, and a healthy feed.

The server listens on 127.0.0.1, which the production policy refuses. So the fetcher the cases
use has ``allow_private_networks = False`` and a resolver that calls the test server's own host
(the literal ``127.0.0.1``) public; every other name goes through the real resolver and every
other address through the real check. A guard that wrongly let a private address through would
show up in ``Recorder.urls`` (requests that reached the transport) and in the server's hits.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session, select

from bench.common import proc_status_mb
from faults.daemon_harness import SEEDS, drop_database, fresh_database, quiet_server
from monitor.app import App, build_app, build_fetcher
from monitor.fetch import Fetcher, resolve_host
from monitor.models import Article, Feed
from monitor.pipeline import PollResult, Stages, poll_feed
from monitor.settings import Settings
from tests.httpserver import FeedServer, Item, Route, html_page, rss

SERVER_HOST = "127.0.0.1"
PRETEND_PUBLIC = "93.184.215.14"  # what the test server's host "resolves" to for the guard
TIMEOUT = 2.0  # fetch.timeout of the bench, seconds
MAX_BYTES = 1_000_000  # fetch.max_bytes of the bench
MAX_RSS_GROWTH_MB = 30.0  # a bomb costs about max_bytes (inflated capped per step), never the bomb
INTERVAL = 60  # seconds, every feed's polling interval
GOOD = "good"
PASSWD_MARK = "root:x:0:0"  # a line of /etc/passwd that must never be stored
GOOD_TEXT = (
    "Wheat prices rose again this week as exporters reported smaller harvests across the region.\n"
    "Traders said the government would release part of its reserve stocks to calm the market.\n"
    "Millers warned that bread prices would follow unless import duties were lowered soon.\n"
)


class Recorder(httpx.BaseTransport):
    """Wraps the real transport and notes the URL of every request that went out."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.urls: list[str] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.urls.append(str(request.url))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def foreign(self) -> list[str]:
        """Requests that went anywhere but the test server."""
        with self._lock:
            return [u for u in self.urls if urlsplit(u).hostname != SERVER_HOST]


def pretend_server_is_public(host: str) -> list[str]:
    return [PRETEND_PUBLIC] if host == SERVER_HOST else resolve_host(host)


@dataclass
class Lab:
    server: FeedServer
    app: App
    stages: Stages
    recorder: Recorder
    good_rounds: int = 0

    def url(self, path: str) -> str:
        return self.server.url(path)

    def feed(self, name: str) -> Feed:
        return next(f for f in self.app.store.feeds(enabled_only=False) if f.name == name)

    def poll(self, name: str) -> tuple[PollResult | None, str]:
        """Poll one feed; the result, or None and the exception that escaped poll_feed."""
        try:
            return poll_feed(feed_id=self.feed(name).id or 0, stages=self.stages), ""
        except Exception as exc:  # the very thing the cases check never happens
            return None, f"{type(exc).__name__}: {exc}"

    def articles(self) -> list[Article]:
        with Session(self.app.store.engine) as s:
            return list(s.exec(select(Article)).all())

    def leaked_passwd(self) -> bool:
        return any(PASSWD_MARK in f"{a.title}\n{a.text}" for a in self.articles())

    def good_feed_still_polls(self) -> bool:
        """Publish one new article on the healthy feed; it must be polled, fetched, extracted."""
        self.good_rounds += 1
        publish_good(self.server, rounds=self.good_rounds)
        result, _escaped = self.poll(GOOD)
        link = self.url(f"/good/{self.good_rounds}.html")
        stored = [a for a in self.articles() if a.url == link]
        ok = result is not None and result.outcome == "ok" and result.new == 1
        return ok and len(stored) == 1 and stored[0].extraction == "trafilatura"


def publish_good(server: FeedServer, *, rounds: int) -> None:
    items = []
    for n in range(1, rounds + 1):
        path = f"/good/{n}.html"
        title = f"Wheat market report number {n}"
        server.routes[path] = Route(
            body=html_page(title=title, text=GOOD_TEXT), content_type="text/html; charset=utf-8"
        )
        items.append(Item(title=title, link=server.url(path), summary="Wheat prices rose."))
    server.routes["/good.xml"] = Route(body=rss(items))


@contextmanager
def lab(
    *, feeds: dict[str, str], server_url: str | None, workdir: Path, name: str
) -> Iterator[Lab]:
    """A started server and app with a feed per ``feeds`` entry (name -> path) plus the good one."""
    server = quiet_server()
    url = fresh_database(server_url=server_url, workdir=workdir, name=name)
    specs = [{"name": GOOD, "url": server.url("/good.xml"), "interval": f"{INTERVAL}s"}]
    specs += [
        {"name": n, "url": server.url(p), "interval": f"{INTERVAL}s"} for n, p in feeds.items()
    ]
    publish_good(server, rounds=0)
    app = build_app(_settings(url=url, workdir=workdir, feeds=specs))
    recorder = Recorder()
    fetcher = _guarded_fetcher(app.settings, recorder)
    try:
        yield Lab(
            server=server,
            app=app,
            stages=dataclasses.replace(app.stages, fetcher=fetcher),
            recorder=recorder,
        )
    finally:
        fetcher.close()
        app.close()
        server.stop()
        drop_database(server_url=server_url, url=url)


def _settings(*, url: str, workdir: Path, feeds: list[dict[str, str]]) -> Settings:
    return Settings.model_validate(
        {
            "storage": {"url": url},
            "classifier": {
                "seeds": str(SEEDS),
                "cache_dir": str(workdir / "model"),
            },
            "fetch": {"timeout": TIMEOUT, "max_bytes": MAX_BYTES, "allow_private_networks": True},
            "scheduler": {"tick": 0.2, "workers": 2, "entry_workers": 4, "extract_processes": 0},
            "feeds": feeds,
        }
    )


def _guarded_fetcher(settings: Settings, recorder: Recorder) -> Fetcher:
    """The app's fetcher with the production address policy, its requests recorded."""
    return build_fetcher(
        settings.fetch,
        client=httpx.Client(transport=recorder, timeout=httpx.Timeout(settings.fetch.timeout)),
        resolver=pretend_server_is_public,
        allow_private_networks=False,
    )


# -- hostile bodies ---------------------------------------------------------------------------


def endless(*, total_mb: int, piece: bytes) -> Iterable[bytes]:
    """About ``total_mb`` MB of ``piece`` repeated, 64 KiB at a time, never held whole."""
    chunk = piece * max(65536 // len(piece), 1)
    for _ in range(total_mb * 2**20 // len(chunk)):
        yield chunk


def gzip_bomb(*, megabytes: int) -> Iterator[bytes]:
    """A gzip stream of zeros that inflates to ``megabytes`` MB, compressed while it is sent."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(2**20)
    for _ in range(megabytes):
        out = compressor.compress(block)
        if out:
            yield out
    yield compressor.flush()


# -- measuring --------------------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident set size now, in MB."""
    return proc_status_mb(os.getpid(), "VmRSS")


@dataclass
class Memory:
    before: float = 0.0
    peak: float = 0.0

    @property
    def growth(self) -> float:
        return max(self.peak - self.before, 0.0)


@contextmanager
def sampled_memory(*, every: float = 0.005) -> Iterator[Memory]:
    """The resident set size before and at its highest while the block runs (sampled)."""
    memory = Memory(before=rss_mb())
    memory.peak = memory.before
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            memory.peak = max(memory.peak, rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield memory
    finally:
        done.set()
        sampler.join()
        memory.peak = max(memory.peak, rss_mb())


def slug(name: str) -> str:
    """A case name as a URL path segment and feed name."""
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")


def short_error(text: str | None, *, limit: int = 60) -> str:
    """An error for the table: without the URL in brackets, cut to ``limit`` characters."""
    text = (text or "none").split(" (http", 1)[0].split(" (file:", 1)[0].split(" (ftp:", 1)[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"
