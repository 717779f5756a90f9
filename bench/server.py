"""The benchmark's web: a threaded HTTP server on 127.0.0.1, in its own process.

    .venv/bin/python -m bench.server CORPUS_DIR   (prints "port N", serves until stdin closes)

It runs in a child process so that serving costs neither the monitor's GIL nor its CPU clock.
Every body is built once and answered with a single ``send`` (headers and body together, Nagle
off), so a 304 costs the server well under a millisecond. Paths:

``/aeb/<id>.html``   the 181 real article pages of the corpus
``/news/<i>.xml``    feed i of ``NEWS_FEEDS``: every NEWS_FEEDS-th page, by link (no guid)
``/quiet/<i>.xml``   a feed of ``QUIET_ITEMS`` items with guids, ETag ``"quiet-<i>"``; it answers
                     304 to that ETag. Feed i < 181 also lists one new item: corpus page i.
``/one/<i>.xml``     a feed of one item with a guid: corpus page i (a one-page poll)
``/_hits``           JSON: requests served so far, by first path segment (itself not counted)
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

NEWS_FEEDS = 10
QUIET_ITEMS = 20
MAX_LIFETIME_SECONDS = 900.0  # the server stops by itself even if its parent forgets it
STARTUP_SECONDS = 30.0
PUBLISHED = 1_735_689_600.0  # 2025-01-01, fixed so every run sees the same feeds
RSS_TYPE = "application/rss+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
_QUIET = re.compile(r"^/quiet/(\d+)\.xml$")
_NEWS = re.compile(r"^/news/(\d+)\.xml$")
_ONE = re.compile(r"^/one/(\d+)\.xml$")


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    link: str
    guid: str | None = None


def page_ids(corpus: Path) -> list[str]:
    """The corpus pages in a fixed order (sorted ids of the ground truth)."""
    truth = json.loads((corpus / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    return sorted(truth)


def read_page(corpus: Path, page_id: str) -> bytes:
    return gzip.decompress((corpus / "aeb" / "html" / f"{page_id}.html.gz").read_bytes())


def rss(items: list[Item], *, title: str) -> bytes:
    date = formatdate(PUBLISHED, usegmt=True)
    parts = [
        "<?xml version='1.0' encoding='utf-8'?>\n<rss version='2.0'><channel>"
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link>"
        "<description>benchmark feed</description>"
    ]
    for item in items:
        guid = f"<guid isPermaLink='false'>{escape(item.guid)}</guid>" if item.guid else ""
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>{guid}"
            f"<description>{escape(item.title)}: the summary.</description>"
            f"<pubDate>{date}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def quiet_items(base: str, index: int, ids: list[str]) -> list[Item]:
    """The items of quiet feed ``index``: QUIET_ITEMS old ones, and corpus page ``index`` if any."""
    items = [
        Item(
            title=f"Quiet {index} item {j}",
            link=f"{base}/old/{index}/{j}",
            guid=quiet_guid(index, j),
        )
        for j in range(QUIET_ITEMS)
    ]
    if index < len(ids):
        items.insert(0, Item(title=f"New {index}", link=f"{base}/aeb/{ids[index]}.html"))
    return items


def quiet_guid(index: int, j: int) -> str:
    return f"quiet-{index}-{j}"


class Site:
    """Every answer the server gives, built on first request and kept."""

    def __init__(self, *, corpus: Path, base: str) -> None:
        self.base = base
        self.ids = page_ids(corpus)
        self.pages = {f"/aeb/{pid}.html": read_page(corpus, pid) for pid in self.ids}
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    def news_feed(self, index: int) -> bytes:
        items = [
            Item(title=f"Page {n}", link=f"{self.base}/aeb/{pid}.html")
            for n, pid in enumerate(self.ids)
            if n % NEWS_FEEDS == index
        ]
        return rss(items, title=f"News {index}")

    def one_feed(self, index: int) -> bytes:
        page = self.ids[index]
        item = Item(title=f"Page {index}", link=f"{self.base}/aeb/{page}.html", guid=page)
        return rss([item], title=f"One {index}")

    def answer(self, path: str, if_none_match: str | None) -> tuple[int, bytes, str, str | None]:
        """(status, body, content type, etag) for a GET of ``path``."""
        if path == "/_hits":
            with self._lock:
                return 200, json.dumps(self.hits).encode(), "application/json", None
        with self._lock:
            self.hits[path.split("/", 2)[1]] += 1
        if path in self.pages:
            return 200, self.pages[path], HTML_TYPE, None
        if match := _NEWS.match(path):
            return 200, self._cached_news(int(match.group(1))), RSS_TYPE, '"news"'
        if match := _QUIET.match(path):
            index = int(match.group(1))
            etag = f'"quiet-{index}"'
            if if_none_match == etag:
                return 304, b"", RSS_TYPE, etag
            return 200, self._cached_quiet(index), RSS_TYPE, etag
        if (match := _ONE.match(path)) and int(match.group(1)) < len(self.ids):
            return 200, self.one_feed(int(match.group(1))), RSS_TYPE, None
        return 404, b"not found", "text/plain", None

    @lru_cache(maxsize=NEWS_FEEDS)  # noqa: B019 - one Site per process, kept for its lifetime
    def _cached_news(self, index: int) -> bytes:
        return self.news_feed(index)

    @lru_cache(maxsize=4096)  # noqa: B019
    def _cached_quiet(self, index: int) -> bytes:
        return rss(quiet_items(self.base, index, self.ids), title=f"Quiet {index}")


def handler_for(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status, body, ctype, etag = site.answer(self.path, self.headers.get("If-None-Match"))
            head = [f"HTTP/1.1 {status} {self.responses[status][0]}"]
            if status != 304:
                head += [f"Content-Type: {ctype}", f"Content-Length: {len(body)}"]
            if etag:
                head.append(f"ETag: {etag}")
            head.append("\r\n")
            try:
                self.wfile.write("\r\n".join(head).encode() + body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def serve(corpus: Path, *, out: IO[str], stop_when_closed: IO[bytes]) -> None:
    """Bind, announce the port on ``out``, serve until ``stop_when_closed`` reaches EOF."""
    httpd = Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = httpd.server_address[1]
    httpd.RequestHandlerClass = handler_for(Site(corpus=corpus, base=f"http://127.0.0.1:{port}"))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    print(f"port {port}", file=out, flush=True)
    waiter = threading.Thread(target=stop_when_closed.read, daemon=True)
    waiter.start()
    waiter.join(MAX_LIFETIME_SECONDS)
    httpd.shutdown()
    httpd.server_close()


@contextmanager
def running(corpus: Path) -> Iterator[str]:
    """Start the server in a child process; yield its base URL; stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.server", str(corpus)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            raise RuntimeError(f"bench server did not start (exit code {proc.poll()})")
        base = f"http://127.0.0.1:{line[1]}"
        _wait_listening(int(line[1]))
        yield base
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_listening(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=STARTUP_SECONDS):
        pass


if __name__ == "__main__":
    serve(Path(sys.argv[1]), out=sys.stdout, stop_when_closed=sys.stdin.buffer)
