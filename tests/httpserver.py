"""A real HTTP server on 127.0.0.1 for tests: feeds and article pages, ETag/304, faults.

Each path maps to a ``Route``; every request is logged so tests can count fetches.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # answer 304 when If-None-Match matches
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between bytes of the body
    reset: bool = False  # close the connection without answering
    # a body produced while sending, without Content-Length (then the connection is closed)
    stream: Callable[[], Iterable[bytes]] | None = None


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes = b""


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> FeedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, prefix: str = "/") -> int:
        with self._lock:
            return sum(r.path.startswith(prefix) for r in self.requests)

    def _log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                server._log(Request(path=self.path, headers=dict(self.headers.items()), body=body))
                route = server.routes.get(self.path) or Route(status=404)
                return self._send(route)

            def do_GET(self) -> None:
                server._log(Request(path=self.path, headers=dict(self.headers.items())))
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                if route is None:
                    return self._send(
                        Route(status=404, body=b"not found", content_type="text/plain")
                    )
                if route.reset:
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    return None
                time.sleep(route.delay)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    return self._send(Route(status=304, headers={"ETag": route.etag}))
                return self._send(route)

            def _send(self, route: Route) -> None:
                if route.stream is not None:
                    return self._send_stream(route, route.stream)
                self.send_response(route.status)
                body = b"" if route.status == 304 else route.body
                if route.status != 304:
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Content-Length", str(len(body)))
                if route.etag:
                    self.send_header("ETag", route.etag)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self._write(body, drip=route.drip)

            def _send_stream(self, route: Route, stream: Callable[[], Iterable[bytes]]) -> None:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Connection", "close")
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.close_connection = True
                try:
                    for chunk in stream():
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _write(self, body: bytes, *, drip: float) -> None:
                try:
                    if not drip:
                        self.wfile.write(body)
                        return
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


@dataclass(frozen=True)
class Item:
    title: str
    link: str
    guid: str | None = None
    summary: str = ""
    published: float | None = None


def rss(items: list[Item], *, title: str = "Test feed") -> bytes:
    parts = [
        f"<?xml version='1.0' encoding='utf-8'?>\n<rss version='2.0'><channel>"
        f"<title>{escape(title)}</title><link>http://example.org/</link>"
        "<description>test</description>"
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title><link>{escape(item.link)}</link>")
        if item.guid:
            parts.append(f"<guid isPermaLink='false'>{escape(item.guid)}</guid>")
        if item.summary:
            parts.append(f"<description>{escape(item.summary)}</description>")
        if item.published is not None:
            parts.append(f"<pubDate>{formatdate(item.published, usegmt=True)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def html_page(*, title: str, text: str) -> bytes:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip())
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
        f"</title></head><body><nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>"
        f"{paragraphs}</article><footer>Copyright</footer></body></html>"
    ).encode()


def gzip_bomb(*, size: int) -> bytes:
    return gzip.compress(b"\0" * size)
